package contract

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/mockserver"
	"github.com/idvmock/idvmock/scenarios/files"
)

// newMock serves idvmock in the test process, with the scenario files given.
func newMock(t *testing.T, paths ...string) http.Handler {
	t.Helper()
	builtin, err := files.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	extra, err := files.ReadPaths(paths)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.NewEngine(0, append(builtin, extra...), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mockserver.New(mockserver.Config{Engine: eng, ParseUser: files.ParseUser, AccessKey: SampleAccessKey, SecretKey: SampleSecretKey,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func run(t *testing.T, opts Options) *Report {
	t.Helper()
	report, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// The suite passes against the mock on every region, and the JUnit report lists every case
// per region.
func TestSuitePassesAgainstTheMock(t *testing.T) {
	ts := httptest.NewServer(newMock(t))
	defer ts.Close()
	report := run(t, Options{Target: ts.URL})
	cases := len(BuiltinCases())
	if c := report.Counts(); c.Cases != 6*cases || c.Passed != c.Cases || report.ExitCode() != 0 {
		var text bytes.Buffer
		_ = report.Write(&text, FormatText)
		t.Fatalf("counts %+v, exit %d\n%s", c, report.ExitCode(), text.String())
	}
	var out bytes.Buffer
	if err := report.Write(&out, FormatJUnit); err != nil {
		t.Fatal(err)
	}
	var junit junitSuites
	if err := xml.Unmarshal(out.Bytes(), &junit); err != nil {
		t.Fatalf("JUnit report is not XML: %v\n%s", err, out.String())
	}
	var names []string
	for _, s := range junit.Suites {
		names = append(names, s.Name)
		if len(s.Cases) != cases || s.Failures != 0 {
			t.Errorf("suite %s: %d cases, %d failures", s.Name, len(s.Cases), s.Failures)
		}
	}
	want := []string{"global (api.advance.ai)", "sg (sg-api.advance.ai)", "ph (ph-api.advance.ai)", "th (th-api.advance.ai)", "my (my-api.advance.ai)", "vn (vn-api.advance.ai)"}
	if !slices.Equal(names, want) || junit.Tests != 6*cases {
		t.Errorf("suites %v (%d tests), want %v", names, junit.Tests, want)
	}
}

// A mock serving a deliberately broken scenario fails the suite, which names the rules.
func TestSuiteFailsAgainstABrokenMock(t *testing.T) {
	ts := httptest.NewServer(newMock(t, "testdata/scenarios/broken.yaml"))
	defer ts.Close()
	report := run(t, Options{Target: ts.URL, Regions: []string{"global", "sg"}})
	if report.ExitCode() != 1 {
		var text bytes.Buffer
		_ = report.Write(&text, FormatText)
		t.Fatalf("exit %d, want 1\n%s", report.ExitCode(), text.String())
	}
	failed := map[string][]string{}
	for _, r := range report.Results {
		failed[r.Region+" "+r.Case] = RuleIDs(r.Violations)
	}
	if got := failed["global ACTIVE, latest session passed"]; !slices.Equal(got, []string{RuleExpectation}) {
		t.Errorf("user_active answering FAIL: rules %v", got)
	}
	if got := failed["global INIT, first session in progress"]; len(got) != 0 {
		t.Errorf("user_init on global: rules %v, want none", got)
	}
	if got := failed["sg INIT, first session in progress"]; !slices.Contains(got, RuleJSON) {
		t.Errorf("a truncated answer on sg: rules %v, want %s", got, RuleJSON)
	}
	var text bytes.Buffer
	_ = report.Write(&text, FormatText)
	for _, want := range []string{
		`FAIL  global ACTIVE, latest session passed`,
		`[case-expectation] body /data/profileStatus: expected "ACTIVE", got "INIT"`,
		`[json-body] body: expected a JSON object, got`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, text.String())
		}
	}
}

// A target nothing answers at stops the run with an *UnreachableError naming it, instead of
// a report of every case failing the same way.
func TestUnreachableTargetStopsTheRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, opts := range []Options{
		{Target: "http://" + addr, Regions: []string{"sg"}},                 // the token API is the first request
		{Target: "http://" + addr, Regions: []string{"sg"}, Token: "given"}, // a case is
	} {
		report, err := Run(context.Background(), opts)
		var unreachable *UnreachableError
		if !errors.As(err, &unreachable) || unreachable.Target != "http://"+addr ||
			!strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("token %q: %v, want an UnreachableError naming %s", opts.Token, err, addr)
		}
		if report == nil || len(report.Results) != 0 {
			t.Errorf("token %q: report %+v, want no results", opts.Token, report)
		}
	}
}

// A target that answered and then stopped is a case error in the report, exit 2: the
// failures after it are the target's, worth seeing case by case.
func TestRunReportsATargetThatStopsAnswering(t *testing.T) {
	var once sync.Once
	var ts *httptest.Server
	mock := newMock(t)
	ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mock.ServeHTTP(w, r)
		once.Do(func() { ts.Listener.Close() }) // nothing answers after the first request
	}))
	defer ts.Close()
	report, err := Run(context.Background(), Options{Target: ts.URL, Regions: []string{"sg"},
		Client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}})
	if err != nil {
		t.Fatalf("a target that answered once: %v, want the failures in the report", err)
	}
	if report.ExitCode() != 2 || report.Counts().Errors == 0 {
		t.Errorf("exit %d, counts %+v", report.ExitCode(), report.Counts())
	}
}

// handlerTransport answers every request with a handler, and records the hosts asked.
type handlerTransport struct {
	h     http.Handler
	mu    sync.Mutex
	hosts []string
}

func (ht *handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ht.mu.Lock()
	ht.hosts = append(ht.hosts, req.URL.Host)
	ht.mu.Unlock()
	rec := httptest.NewRecorder()
	r := req.Clone(req.Context())
	r.RequestURI = req.URL.RequestURI()
	if r.Body == nil { // as net/http's server gives it
		r.Body = http.NoBody
	}
	ht.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// Against the vendor, each region is reached through its own host, and a token is needed.
func TestVendorRegionsUseTheirHosts(t *testing.T) {
	if _, err := Run(context.Background(), Options{Target: "https://api.advance.ai"}); !errors.As(err, new(UsageError)) {
		t.Fatalf("no credentials against the vendor: %v, want a usage error", err)
	}
	tr := &handlerTransport{h: newMock(t)}
	report := run(t, Options{Target: "https://sg-api.advance.ai", Token: "test-token", Client: &http.Client{Transport: tr}})
	if report.ExitCode() != 0 {
		var text bytes.Buffer
		_ = report.Write(&text, FormatText)
		t.Fatalf("exit %d\n%s", report.ExitCode(), text.String())
	}
	seen := map[string]bool{}
	for _, h := range tr.hosts {
		seen[h] = true
	}
	for _, h := range []string{"api.advance.ai", "sg-api.advance.ai", "ph-api.advance.ai", "th-api.advance.ai", "my-api.advance.ai", "vn-api.advance.ai"} {
		if !seen[h] {
			t.Errorf("no request went to %s (asked: %v)", h, seen)
		}
	}
	skipped := report.Counts().Skipped
	if skipped != 6*2 { // the two token API cases need the secret key
		t.Errorf("%d skipped, want the 12 token API cases", skipped)
	}
}

func TestRegionAndTargetErrors(t *testing.T) {
	for _, opts := range []Options{
		{Target: "localhost:8080"},
		{Target: "http://localhost:8080", Regions: []string{"eu"}},
	} {
		if _, err := Run(context.Background(), opts); !errors.As(err, new(UsageError)) {
			t.Errorf("%+v: %v, want a usage error", opts, err)
		}
	}
}

func TestCaseFilesAreChecked(t *testing.T) {
	_, err := ParseCases("extra.yaml", []byte("cases:\n  - name: x\n    operaton: generateToken\n"))
	if err == nil || !strings.Contains(err.Error(), `extra.yaml:3: unknown key "operaton"`) {
		t.Errorf("unknown key: %v", err)
	}
	_, err = ParseCases("top.yaml", []byte("cases: []\ncase: []\n"))
	if err == nil || err.Error() != `top.yaml:2: unknown key "case"` {
		t.Errorf("an unknown top-level key: %v", err)
	}
	_, err = ParseUsers("users.yaml", []byte("users: {active: u1}\nuser: {}\n"))
	if err == nil || err.Error() != `users.yaml:2: unknown key "user"` {
		t.Errorf("an unknown top-level key of a users file: %v", err)
	}
	_, err = ParseCases("extra.yaml", []byte("cases:\n  - name: x\n    expect: {code: SUCCESS}\n"))
	if err == nil || !strings.Contains(err.Error(), `extra.yaml:2: expect: "code" is not a JSON pointer`) {
		t.Errorf("pointer: %v", err)
	}
	if len(BuiltinCases()) < 10 || len(BuiltinUsers()) < 6 {
		t.Error("the built-in cases or users are missing")
	}
}
