package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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

// passes fails the test unless every case of the report that ran passed.
func passes(t *testing.T, report *Report) {
	t.Helper()
	for _, r := range report.Results {
		switch {
		case r.Skipped != "" || r.Passed():
		case r.Error != "":
			t.Errorf("%s %s: error %s", r.Region, r.Case, r.Error)
		default:
			t.Errorf("%s %s failed:\n%s", r.Region, r.Case, violationLines(r.Violations))
		}
	}
	if t.Failed() {
		var text bytes.Buffer
		_ = report.Write(&text, FormatText)
		t.Log(text.String())
	}
}

// The suite passes against the mock on every region, write cases included (the mock is
// detected), and the JUnit report lists every case per region.
func TestSuitePassesAgainstTheMock(t *testing.T) {
	ts := httptest.NewServer(newMock(t))
	defer ts.Close()
	report := run(t, Options{Target: ts.URL})
	cases := len(BuiltinCases())
	c := report.Counts()
	if c.Cases != 6*cases || c.Skipped != 0 || !report.Mock {
		t.Errorf("counts %+v, idvmock detected %v: want %d cases, none skipped", c, report.Mock, 6*cases)
	}
	passes(t, report)
	if c.Passed != c.Cases || report.ExitCode() != 0 {
		t.Errorf("counts %+v, exit %d", c, report.ExitCode())
	}
	ops := map[string]bool{}
	for _, r := range report.Results {
		ops[r.Operation] = true
	}
	for _, op := range sortedKeys(caseOperations) {
		if !ops[op] {
			t.Errorf("no built-in case calls %s", op)
		}
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
		if len(s.Cases) != cases || s.Failures > 0 {
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
	// On sg, the Get Latest a Get Result case asks for its signatureId is cut short: the case
	// fails (exit 1, not 2) and says what it needed.
	if got := failed["sg Get Result, URL images (the default)"]; !slices.Equal(got, []string{RuleExpectation}) {
		t.Errorf("Get Result without a signatureId to ask about: rules %v", got)
	}
	var text bytes.Buffer
	_ = report.Write(&text, FormatText)
	for _, want := range []string{
		`[case-expectation] Get Latest Session Result, asked for the signatureId: expected SUCCESS with data.result.signatureId`,
		`map active to a user with a session`,
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
	paths []string
}

func (ht *handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ht.mu.Lock()
	ht.hosts = append(ht.hosts, req.URL.Host)
	ht.paths = append(ht.paths, req.URL.Path)
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
	passes(t, report)
	for _, p := range tr.paths {
		if strings.HasPrefix(p, "/__admin") {
			t.Errorf("the vendor's hosts were asked %s", p)
		}
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
	// Against the vendor's hosts, without --allow-writes: the token API cases (no secret key),
	// Update Status, Generate URL for a built-in user, and the cases that read what they write.
	var skipped []string
	for _, r := range report.Results {
		if r.Skipped != "" && r.Region == "sg" {
			skipped = append(skipped, r.Case)
		}
	}
	wantSkipped := []string{"token API, signed request", "token API, wrong signature",
		"Update Status, INACTIVE", "Update Status, then Get Latest says INACTIVE", "Update Status, then Get Profile says INACTIVE",
		"Update Status, ACTIVE not supported", "Update Status, unknown externalUserId",
		"Generate URL", "Generate URL, then Get Result says in progress"}
	if !slices.Equal(skipped, wantSkipped) || report.Counts().Skipped != 6*len(wantSkipped) {
		t.Errorf("skipped on sg %q (%d in all), want %q", skipped, report.Counts().Skipped, wantSkipped)
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

// notIdvmock serves the mock, except idvmock's health, as any other server would: 404.
func notIdvmock(t *testing.T) *httptest.Server {
	mock := newMock(t)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/__admin") {
			http.NotFound(w, r)
			return
		}
		mock.ServeHTTP(w, r)
	}))
}

// Against a target that is not an idvmock, Update Status runs only with AllowWrites, and
// Generate URL only for a user of the caller's users file; a case that reads what a skipped
// write would have changed is skipped too, saying why.
func TestWriteCasesNeedAnIdvmockOrAllowWrites(t *testing.T) {
	resultOf := func(report *Report, name string) CaseResult {
		for _, r := range report.Results {
			if r.Case == name {
				return r
			}
		}
		t.Fatalf("no result for %q", name)
		return CaseResult{}
	}
	ts := notIdvmock(t)
	defer ts.Close()
	report := run(t, Options{Target: ts.URL, Regions: []string{"sg"}})
	passes(t, report)
	if report.Mock {
		t.Error("a target whose /__admin/health answers 404 was taken for an idvmock")
	}
	for name, want := range map[string]string{
		"Update Status, INACTIVE":                      "--allow-writes",
		"Update Status, unknown externalUserId":        "did not answer as one",
		"Update Status, then Get Latest says INACTIVE": `the case "Update Status, INACTIVE" on the same user did not run`,
		"Generate URL": "names under start:",
		"Generate URL, then Get Result says in progress": `the case "Generate URL" on the same user did not run`,
	} {
		if got := resultOf(report, name).Skipped; !strings.Contains(got, want) {
			t.Errorf("%s: skipped %q, want it to say %q", name, got, want)
		}
	}
	if r := resultOf(report, "Get Profile, ACTIVE"); !r.Passed() {
		t.Errorf("a read case: %+v", r)
	}

	users := BuiltinUsers() // the caller's own file, naming start:
	report = run(t, Options{Target: ts.URL, Regions: []string{"sg"}, Users: users})
	passes(t, report)
	for _, name := range []string{"Generate URL", "Generate URL, then Get Result says in progress"} {
		if r := resultOf(report, name); !r.Passed() {
			t.Errorf("%s with a users file naming start: %+v", name, r)
		}
	}
	if r := resultOf(report, "Update Status, INACTIVE"); r.Skipped == "" {
		t.Error("Update Status ran against a target that is not an idvmock, without AllowWrites")
	}

	report = run(t, Options{Target: ts.URL, Regions: []string{"sg", "ph"}, AllowWrites: true})
	passes(t, report)
	if c := report.Counts(); c.Skipped != 0 {
		t.Errorf("AllowWrites: %d skipped", c.Skipped)
	}
}

// The chained Get Result asks about the session Generate URL started on the same region.
func TestGetResultAsksAboutTheStartedSession(t *testing.T) {
	ts := httptest.NewServer(newMock(t))
	defer ts.Close()
	report := run(t, Options{Target: ts.URL, Regions: []string{"sg", "ph"}})
	var started []string
	for _, r := range report.Results {
		if r.Case == "Generate URL, then Get Result says in progress" {
			var body map[string]string
			if err := json.Unmarshal([]byte(r.RequestBody), &body); err != nil || body["signatureId"] == "" {
				t.Fatalf("request body %q", r.RequestBody)
			}
			started = append(started, body["signatureId"])
		}
	}
	if len(started) != 2 || started[0] == started[1] {
		t.Errorf("signatureIds asked %v: want one per region, each the session started there", started)
	}
}

// A bad answer of each new operation fails the suite, naming the field: a server answers a
// known-bad fixture for that operation and the mock for the rest.
func TestBadAnswerOfEachOperationFailsNamingTheField(t *testing.T) {
	checker := newChecker(t)
	mock := newMock(t)
	for _, name := range []string{
		"get-profile-status-init.json", "get-profile-duplicate-doctype.json", "get-profile-data-on-error.json",
		"update-status-data-not-null.json", "get-result-base64-is-url.json", "get-result-url-is-base64.json",
		"generate-url-missing-signature.json",
	} {
		t.Run(name, func(t *testing.T) {
			recs, f := readFixture(t, filepath.Join("testdata", "bad", name))
			bad := recs[0]
			op := checker.Operation(bad.Request)
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if checker.Operation(r) != op {
					mock.ServeHTTP(w, r)
					return
				}
				for k, v := range bad.Header {
					w.Header()[k] = v
				}
				w.WriteHeader(bad.Status)
				_, _ = w.Write(bad.Body)
			}))
			defer ts.Close()
			report := run(t, Options{Target: ts.URL, Regions: []string{"sg"}})
			if report.ExitCode() != 1 {
				t.Errorf("exit %d, want 1", report.ExitCode())
			}
			named := false
			for _, r := range report.Results {
				for _, v := range r.Violations {
					if r.Operation == op && v.Pointer == f.Pointers[0] && slices.Contains(f.Want, v.Rule) {
						named = true
					}
				}
			}
			var text bytes.Buffer
			_ = report.Write(&text, FormatText)
			if !named || !strings.Contains(text.String(), "body "+f.Pointers[0]+":") {
				t.Errorf("no %s case failed naming %s with %v:\n%s", op, f.Pointers[0], f.Want, text.String())
			}
		})
	}
}

// Incoherent cases are refused, each problem with its file:line.
func TestIncoherentCasesAreRefused(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"cases:\n  - name: x\n    operation: getProfile\n    fields: {a: 1}\n    expect: {/code: SUCCESS}\n",
			"c.yaml:2: fields: getProfile is a GET and sends no body: give its parameters under query:"},
		{"cases:\n  - name: x\n    operation: updateProfileStatus\n    query: {externalUserId: u}\n    expect: {/code: SUCCESS}\n",
			"c.yaml:2: query: updateProfileStatus takes its input in a JSON body: give it under fields:"},
		{"cases:\n  - name: a\n    expect: {/code: SUCCESS}\n  - name: x\n    operation: getResult\n    user: active\n    fields: {signatureId: s}\n    expect: {/code: SUCCESS}\n",
			"c.yaml:4: user, fields.signatureId: give one of them (user: fills signatureId)"},
		{"cases:\n  - name: x\n    operation: deleteUser\n    expect: {/code: SUCCESS}\n",
			`c.yaml:2: operation: "deleteUser" is not one of generateToken, generateVerificationUrl, getLatestSessionResult, getProfile, getProfileByExternalUserId, getResult, updateProfileStatus`},
		{"cases:\n  - name: x\n    operation: generateVerificationUrl\n    body: signed\n    expect: {/code: SUCCESS}\n",
			"c.yaml:2: body: only the token API (operation: generateToken) takes body: give the request's fields under fields:"},
		{"cases:\n  - name: x\n    operation: generateToken\n    fields: {a: 1}\n    expect: {/code: SUCCESS}\n",
			"c.yaml:2: user, query, fields: the token API takes none of them"},
		{"cases:\n  - name: x\n    expect: {/code: SUCCESS}\n    match: {/data/url: link}\n",
			`c.yaml:2: match: /data/url: "link" is not one of present, absent, url, base64, contains TEXT`},
		{"cases:\n  - name: x\n    expect: {/code: SUCCESS}\n    match: {data: present}\n",
			`c.yaml:2: match: "data" is not a JSON pointer`},
		{"cases:\n  - name: x\n    expect: {/code: SUCCESS}\n    match: {/message: contains}\n",
			`c.yaml:2: match: /message: "contains": say what the string must contain`},
	} {
		_, err := ParseCases("c.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	// Cases given to Run directly are checked as well.
	_, err := Run(context.Background(), Options{Target: "http://localhost:1", Cases: []Case{{Name: "x", Operation: "getProfile", Fields: map[string]any{"a": 1}, Expect: map[string]any{"/code": "SUCCESS"}}}})
	if !errors.As(err, new(UsageError)) || !strings.Contains(err.Error(), "getProfile is a GET") {
		t.Errorf("Options.Cases: %v", err)
	}
}

// Expect's values and match's kinds, one by one.
func TestMatchKinds(t *testing.T) {
	env := map[string]any{"code": "SUCCESS", "message": `status "ACTIVE" is currently not supported`, "data": map[string]any{
		"url": "http://localhost:8080/h5/abc", "scheme": "idvmock-contract://done", "img": "aGVsbG8=", "nul": nil, "wrapped": "aGVs\nbG8=",
	}}
	for _, tc := range []struct {
		ptr, kind string
		ok        bool
	}{
		{"/data/url", MatchURL, true}, {"/data/scheme", MatchURL, false}, {"/data/img", MatchURL, false},
		{"/data/img", MatchBase64, true}, {"/data/url", MatchBase64, false}, {"/data/wrapped", MatchBase64, false},
		{"/data/nul", MatchPresent, false}, {"/data/url", MatchPresent, true}, {"/data/none", MatchPresent, false},
		{"/data/nul", MatchAbsent, true}, {"/data/none", MatchAbsent, true}, {"/data/url", MatchAbsent, false},
		{"/message", "contains ACTIVE", true}, {"/message", "contains INACTIVE", false},
	} {
		c := Case{Expect: map[string]any{"/code": "SUCCESS"}, Match: map[string]string{tc.ptr: tc.kind}, source: "c.yaml:1"}
		vs := expectations(c, env)
		if (len(vs) == 0) != tc.ok {
			t.Errorf("%s %s: %v, want ok %v", tc.ptr, tc.kind, vs, tc.ok)
		}
	}
	// Another code: only /code is reported, not the kinds of a body that cannot match.
	c := Case{Expect: map[string]any{"/code": "PARAMETER_ERROR"}, Match: map[string]string{"/data/none": MatchPresent}}
	if vs := expectations(c, env); len(vs) != 1 || vs[0].Pointer != "/code" {
		t.Errorf("another code: %v", vs)
	}
}
