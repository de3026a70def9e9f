package mockserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios/files"
)

// liveServer serves s on a loopback port until the test ends.
func liveServer(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}

func faultRequest(t *testing.T, base, kind string) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+idvmock.PathLatest+"?userId=user_active", nil)
	req.Header.Set(idvmock.TokenHeader, "t")
	req.Header.Set("X-Fault", kind)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if kind == "hang" {
		client.Timeout = 300 * time.Millisecond
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// Each fault does on the wire what docs/scenarios.md says, and the journal marks it.
func TestFaultsOnTheWire(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0, "qa.yaml")})
	base := liveServer(t, s)
	sc := newSpecChecker(t)
	envelopeOf := func(t *testing.T, resp *http.Response, body []byte) envelope {
		var env envelope
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("not JSON: %v: %s", err, body)
		}
		rec := recorded(resp, body)
		sc.check(t, latestCall("userId=user_active", ""), rec)
		return env
	}
	checks := map[string]func(t *testing.T, resp *http.Response, body []byte, err error){
		"latency": func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || envelopeOf(t, resp, body).Code != "SUCCESS" {
				t.Fatalf("latency lets the answer through: %v %s", err, body)
			}
		},
		"hang": func(t *testing.T, _ *http.Response, _ []byte, err error) {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("a hang must leave the client to time out: %v", err)
			}
		},
		"gateway": func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 503 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "503 Service Unavailable") {
				t.Fatalf("gateway: %v %v %s", err, resp, body)
			}
		},
		"reset": func(t *testing.T, _ *http.Response, _ []byte, err error) {
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("reset: want ECONNRESET, got %v", err)
			}
		},
		"empty": func(t *testing.T, _ *http.Response, _ []byte, err error) {
			if err == nil || !(errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF")) {
				t.Fatalf("empty: want an EOF before any byte, got %v", err)
			}
		},
		"truncated": func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 200 || json.Valid(body) || !strings.HasPrefix(string(body), `{"code":"SUCCESS"`) {
				t.Fatalf("truncated: %v %s", err, body)
			}
		},
		"malformed": func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 200 || json.Valid(body) || !strings.Contains(string(body), "'code'") {
				t.Fatalf("malformed: %v %s", err, body)
			}
		},
		"service_busy": func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.Header.Get("Retry-After") != "10" || envelopeOf(t, resp, body).Code != "SERVICE_BUSY" {
				t.Fatalf("service_busy: %v %v %s", err, resp.Header, body)
			}
		},
		"token_expired": func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || envelopeOf(t, resp, body).Code != "IAM_FAILED" {
				t.Fatalf("token_expired: %v %s", err, body)
			}
		},
		"server_error": func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || envelopeOf(t, resp, body).Code != "ERROR" {
				t.Fatalf("server_error: %v %s", err, body)
			}
		},
	}
	for kind, check := range checks {
		t.Run(kind, func(t *testing.T) {
			start := time.Now()
			resp, body, err := faultRequest(t, base, kind)
			check(t, resp, body, err)
			if kind == "latency" && time.Since(start) < 60*time.Millisecond {
				t.Errorf("latency of 60ms answered after %v", time.Since(start))
			}
			waitFor(t, func() bool { return s.journal.count(filter{}) > 0 && len(s.journal.find(filterFault(kind), 1)) == 1 },
				"the journal marks the "+kind+" fault")
		})
	}
}

func filterFault(kind string) filter { return filter{Kind: "request", Fault: kind} }

// recorded turns a live response into a recorder the spec checker reads.
func recorded(resp *http.Response, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	for k, v := range resp.Header {
		rec.Header()[k] = v
	}
	rec.WriteHeader(resp.StatusCode)
	rec.Write(body)
	return rec
}

// waitFor polls cond for up to 5 s: the journal entry of a broken connection is written when
// the handler returns, after the client has seen the break.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not so after 5 s: %s", what)
}

// A shutdown lets hanging requests go at once: they do not hold the server for its grace
// period.
func TestShutdownReleasesHangingRequests(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0, "qa.yaml")})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	clientErr := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+idvmock.PathLatest+"?userId=a", nil)
		req.Header.Set(idvmock.TokenHeader, "t")
		req.Header.Set("X-Fault", "hang")
		_, err := http.DefaultClient.Do(req)
		clientErr <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the request reach the hang
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(ShutdownGrace / 2):
		t.Fatal("a hanging request held the shutdown")
	}
	if err := <-clientErr; err == nil {
		t.Error("the hanging request got an answer")
	}
}

// SERVICE_BUSY always says when to retry, in whole seconds rounded up: 0 and 1.5 s too.
func TestServiceBusyAlwaysSendsRetryAfter(t *testing.T) {
	f, err := files.Parse("busy.yaml", strings.NewReader(`rules:
  - name: now
    match: {userId: busy-now}
    faults: [{type: service_busy, retryAfter: 0s}]
  - name: soon
    match: {userId: busy-soon}
    faults: [{type: service_busy, retryAfter: 1500ms}]
`))
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := files.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.NewEngine(0, append(builtin, f), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, Config{Engine: e})
	for userID, want := range map[string]string{"busy-now": "0", "busy-soon": "2"} {
		rec := serve(t, s, latestCall("userId="+userID, "sg-api.advance.ai"))
		if got, ok := rec.Header()["Retry-After"]; !ok || got[0] != want || decode(t, rec).Code != idvmock.CodeServiceBusy {
			t.Errorf("%s: Retry-After %v (sent: %v), want %s: %s", userID, got, ok, want, rec.Body)
		}
	}
}
