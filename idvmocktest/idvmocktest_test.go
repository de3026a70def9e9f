package idvmocktest

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// New serves on a random port, answers every vendor hostname through Client, and its
// journal helpers see the calls; the mock stops at cleanup.
func TestNewRoutesVendorHostsAndAssertsCalls(t *testing.T) {
	srv := New(t, WithTLS(), WithScenarioYAML("users:\n  ph_user: {regions: [ph], scenario: active}\n"))
	for _, region := range []string{"ph", "sg"} {
		req, _ := http.NewRequest(http.MethodGet, srv.VendorURL(region)+PathLatest+"?userId=ph_user", nil)
		req.Header.Set("X-ACCESS-TOKEN", "t")
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	srv.AssertCalls(t, Filter{UserID: "ph_user", Region: "ph", Code: "SUCCESS"}, 1)
	srv.AssertCalls(t, Filter{UserID: "ph_user", Region: "sg", Code: "PARAMETER_ERROR"}, 1)

	// AssertCalls fails, listing the journal, when the count is wrong.
	rec := &recordingTB{TB: t}
	srv.AssertCalls(rec, Filter{UserID: "ph_user"}, 5)
	if !rec.failed || !strings.Contains(rec.msg, "2 requests match") || !strings.Contains(rec.msg, "(sg): HTTP 200 PARAMETER_ERROR") {
		t.Errorf("AssertCalls on a wrong count: failed %v, %q", rec.failed, rec.msg)
	}
	if err := srv.DeleteUser("nobody-declared"); !IsRefused(err) || !strings.Contains(err.Error(), "404") {
		t.Errorf("deleting an unknown user: %v", err)
	}
}

// A broken scenario given to New is refused with its problems, before any request.
func TestStartRefusesABrokenScenario(t *testing.T) {
	_, err := Start(WithScenarioYAML("users:\n  x: {profileStatus: ACTIVE, sesions: []}\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown key "sesions"`) {
		t.Errorf("%v", err)
	}
}

// recordingTB records a failure instead of failing the test.
type recordingTB struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.failed = true
	r.msg = fmt.Sprintf(format, args...)
}
func (r *recordingTB) Helper() {}

// Closing a server twice (a deferred Close of a server New closes again at cleanup) returns
// at once with the first Close's result, and the mock is stopped.
func TestCloseTwice(t *testing.T) {
	srv := New(t)
	if err := srv.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("second Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second Close blocks")
	}
	if resp, err := http.Get(srv.URL + "/__admin/health"); err == nil {
		resp.Body.Close()
		t.Error("the mock still answers after Close")
	}
}

// Mocks with TLS of one process share their CA, made once: each Client reaches its mock by
// a vendor hostname, and the CA certificate is the same.
func TestTLSMocksShareTheProcessCA(t *testing.T) {
	a, b := New(t, WithTLS()), New(t, WithTLS())
	if !bytes.Equal(a.CACert, b.CACert) || len(a.CACert) == 0 {
		t.Error("two mocks with TLS have two CAs")
	}
	for _, s := range []*Server{a, b} {
		resp, err := s.Client.Get(s.VendorURL("sg") + "/__admin/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("health over HTTPS: HTTP %d", resp.StatusCode)
		}
	}
}
