package mockserver

// Regression tests of the attack pass on a shared, long-running mock (issue 10), over HTTP:
// each replays what was found. Keep them together.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios/files"
)

// openAdmin is a call to the admin API of a mock without an admin token.
func openAdmin(method, path, body string) call {
	return call{method: method, target: adminPrefix + path, body: body}
}

// The most ordinary template, an if without else, gave a 500 on PUT /__admin/users (and
// panicked lint and serve --watch). It is declared and answers.
func TestAttackIfWithoutElseThroughTheAdminAPI(t *testing.T) {
	s := newTestServer(t, Config{})
	rec := serve(t, s, openAdmin(http.MethodPut, "/users/qa_if", `profileStatus: ACTIVE
sessions:
  - overallResult: PASS
    bizId: '{{ if eq .region "sg" }}SG{{ end }}-{{ with .country }}{{ . }}{{ else }}none{{ end }}'
`))
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	for host, want := range map[string]string{"sg-api.advance.ai": `"bizId":"SG-SGP"`, "ph-api.advance.ai": `"bizId":"-PHL"`} {
		if rec := serve(t, s, latestCall("userId=qa_if", host)); !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %s, want %s", host, rec.Body, want)
		}
	}
}

// generate starts a session with the given JSON body on ph-api and returns its signatureId.
func generate(t *testing.T, s *Server, body string) (string, *httptest.ResponseRecorder) {
	t.Helper()
	rec := serve(t, s, generateCall(body))
	var out struct {
		Code string
		Data struct{ SignatureID string }
	}
	json.Unmarshal(rec.Body.Bytes(), &out)
	return out.Data.SignatureID, rec
}

// Nothing a caller of Generate URL sends is evaluated: templates in every field come back
// verbatim, on Get Latest and Get Result, in bodies that conform to openapi.yaml. (A bizId of
// "{{" made every later answer for the user an HTTP 500 ERROR; {"n":"{{range 2000000}}..."}
// made each poll a 20 MB answer.)
func TestAttackGenerateURLFieldsComeBackVerbatim(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	for i, hostile := range []string{`{{`, `{{.}}`, `{{range 1000000}}x{{end}}`, `{{ fake "firstname" }}`, `{{range 2000000}}ABCDEFGHIJ{{end}}`} {
		user := fmt.Sprintf("victim_%d", i)
		body, _ := json.Marshal(map[string]string{"userId": user, "bizId": hostile, "region": "PHL", "returnUrl": "myapp://ok/" + hostile,
			"failReturnUrl": "https://app.example/ko", "docType": hostile, "n": hostile})
		sig, rec := generate(t, s, string(body))
		if sig == "" {
			t.Fatalf("%q: Generate URL answered %d %s", hostile, rec.Code, rec.Body)
		}
		for _, c := range []call{latestCall("userId="+user, "ph-api.advance.ai"), {method: http.MethodPost, target: idvmock.PathGetResult, host: "ph-api.advance.ai",
			header: map[string]string{idvmock.TokenHeader: "t", "Content-Type": "application/json"}, body: `{"signatureId":"` + sig + `"}`}} {
			rec := serve(t, s, c)
			sc.check(t, c, rec)
			var env struct {
				Code string
				Data json.RawMessage
			}
			json.Unmarshal(rec.Body.Bytes(), &env)
			var r struct {
				InputParameters map[string]any `json:"inputParameters"`
			}
			raw := env.Data
			var latest struct{ Result json.RawMessage }
			if json.Unmarshal(env.Data, &latest) == nil && latest.Result != nil {
				raw = latest.Result
			}
			json.Unmarshal(raw, &r)
			for _, field := range []string{"bizId", "docType", "n"} {
				if r.InputParameters[field] != hostile {
					t.Errorf("%s %q: inputParameters.%s = %v", c.target, hostile, field, r.InputParameters[field])
				}
			}
			if env.Code != "SUCCESS" || rec.Code != http.StatusOK || rec.Body.Len() > 8<<10 {
				t.Errorf("%s %q: HTTP %d, %s, %d bytes", c.target, hostile, rec.Code, env.Code, rec.Body.Len())
			}
		}
	}
}

// Strings of Generate URL are bounded by openapi.yaml's maxLength, and its undeclared fields
// are scalars, at most 64 fields.
func TestAttackGenerateURLFieldsAreBounded(t *testing.T) {
	s := newTestServer(t, Config{})
	base := map[string]any{"userId": "u", "bizId": "b", "region": "PHL", "returnUrl": "https://a", "failReturnUrl": "https://b"}
	for name, tc := range map[string]struct {
		key   string
		value any
		want  string
	}{
		"bizId over 255":       {"bizId", strings.Repeat("b", 256), "bizId is longer than 255 characters."},
		"returnUrl over 2048":  {"returnUrl", "https://" + strings.Repeat("r", 2048), "returnUrl is longer than 2048 characters."},
		"extra string":         {"note", strings.Repeat("n", 2049), "note"},
		"extra object":         {"nested", map[string]any{"a": 1}, "nested"},
		"custom scheme passes": {"returnUrl", "myapp://done?x=1", ""},
	} {
		t.Run(name, func(t *testing.T) {
			body := map[string]any{}
			for k, v := range base {
				body[k] = v
			}
			body[tc.key] = tc.value
			raw, _ := json.Marshal(body)
			sig, rec := generate(t, s, string(raw))
			switch env := decode(t, rec); {
			case tc.want == "" && sig == "":
				t.Errorf("refused: %s", rec.Body)
			case tc.want != "" && (env.Code != "PARAMETER_ERROR" || !strings.Contains(env.Message, tc.want)):
				t.Errorf("want PARAMETER_ERROR naming %q, got %s", tc.want, rec.Body)
			}
		})
	}
	many := map[string]any{}
	for k, v := range base {
		many[k] = v
	}
	for i := range 70 {
		many[fmt.Sprintf("f%d", i)] = "x"
	}
	raw, _ := json.Marshal(many)
	if sig, rec := generate(t, s, string(raw)); sig != "" {
		t.Errorf("75 fields were accepted: %s", rec.Body)
	}
}

// A template over its limits at run time answers the vendor's ERROR with HTTP 200, and the
// journal says why; never a 500.
func TestAttackTemplateOverLimitAnswersERROR(t *testing.T) {
	e := newEngine(t, 0)
	f, err := files.Parse("long.yaml", strings.NewReader(`rules:
  - name: long
    match: {userIdGlob: "long-*"}
    profileStatus: INIT
    sessions:
      - bizId: '{{ range len .userId }}{{ range 300 }}{{ end }}{{ end }}'
`))
	if err != nil { // lint-user is short: lint cannot see the limit
		t.Fatal(err)
	}
	builtin, _ := files.Builtin()
	if err := e.Load(append(builtin, f)); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, Config{Engine: e})
	c := latestCall("userId=long-"+strings.Repeat("x", 40), "sg-api.advance.ai")
	rec := serve(t, s, c)
	newSpecChecker(t).check(t, c, rec)
	if env := decode(t, rec); rec.Code != http.StatusOK || env.Code != "ERROR" || env.Message != "Server error" {
		t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
	}
	entries := s.journal.find(filter{Code: "ERROR"}, 1)
	if len(entries) != 1 || entries[0].Source != "rule long" || !strings.Contains(entries[0].Error, "loop iterations") {
		t.Errorf("journal: %+v", entries)
	}
	if rec := serve(t, s, latestCall("userId=long-1", "sg-api.advance.ai")); decode(t, rec).Code != "SUCCESS" {
		t.Errorf("a short userId: %s", rec.Body)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A JSON body nested deeper than 64 levels is refused with where, before any decoder sees it;
// for the vendor's operations with the envelope, for the admin API with its error.
func TestAttackDeepJSONBodiesAreRefused(t *testing.T) {
	s := newTestServer(t, Config{})
	deep := `{"userId":"u","bizId":"b","region":"PHL","returnUrl":"a","failReturnUrl":"b","x":{"y":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "}}"
	rec := serve(t, s, generateCall(deep))
	if env := decode(t, rec); rec.Code != http.StatusBadRequest || env.Code != "CLIENT_ERROR" || !strings.Contains(env.Message, "deeper than 64 levels at /x/y/0/0") {
		t.Errorf("Generate URL: %d %s", rec.Code, rec.Body)
	}
	state := `{"version":1,"adminUsers":{"a":{"sessions":[{"result":` + strings.Repeat(`{"k":`, 100) + "1" + strings.Repeat("}", 100) + `}]}}}`
	rec = serve(t, s, call{method: http.MethodPut, target: adminPrefix + "/state", header: map[string]string{"Content-Type": "application/json"}, body: state})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "deeper than 64 levels at /adminUsers/a/sessions/0/result/k/k") {
		t.Errorf("PUT /__admin/state: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		body string
		at   string
	}{
		{`[` + strings.Repeat(`{"a":[`, 40) + "1", "/0/a/0/a"},
		{`{"a\"b":` + strings.Repeat(`{"x/y":`, 70) + "1", "/a\"b/x~1y/x~1y"},
	} {
		at, deep := jsonTooDeep([]byte(tc.body), 64)
		if !deep || !strings.HasPrefix(at, tc.at) || strings.Count(at, "/") != 63 {
			t.Errorf("%.40s...: %v at %q, want deep at %s... (63 levels)", tc.body, deep, at, tc.at)
		}
	}
	if _, deep := jsonTooDeep([]byte(`{"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]]]"}`), 64); deep {
		t.Error("brackets inside a string counted as nesting")
	}
}

// A client that sends its headers and then dribbles its body is cut off after the body
// timeout; a request that took its time in a latency fault is not.
func TestAttackSlowBodyIsCutOff(t *testing.T) {
	s := newTestServer(t, Config{Timeouts: Timeouts{Body: 300 * time.Millisecond}})
	addr := strings.TrimPrefix(liveServer(t, s), "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: ph-api.advance.ai\r\nX-ACCESS-TOKEN: t\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"userId\":", idvmock.PathGenerateURL)
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if took := time.Since(start); resp.StatusCode != http.StatusBadRequest || took > 3*time.Second || !bytes.Contains(body, []byte("could not be read within 300ms")) {
		t.Errorf("after %v: %d %s", took, resp.StatusCode, body)
	}
}

// Odd request targets (OPTIONS *, CONNECT, absolute-form) answer the vendor's JSON envelope.
func TestAttackOddRequestTargets(t *testing.T) {
	addr := strings.TrimPrefix(liveServer(t, newTestServer(t, Config{})), "http://")
	for _, line := range []string{
		"OPTIONS * HTTP/1.1",
		"CONNECT sg-api.advance.ai:443 HTTP/1.1",
		"GET http://sg-api.advance.ai" + idvmock.PathLatest + "?userId=user_active HTTP/1.1",
		"GET //__admin/users HTTP/1.1",
		"GET /__admin/health/../users HTTP/1.1",
	} {
		t.Run(line, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "%s\r\nHost: sg-api.advance.ai\r\nX-ACCESS-TOKEN: t\r\nConnection: close\r\n\r\n", line)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			var env envelope
			if resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &env) != nil || env.Code == "" {
				t.Errorf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if strings.HasPrefix(line, "GET http://") && env.Code != "SUCCESS" {
				t.Errorf("absolute-form request: %s", body)
			}
		})
	}
}

// Log lines clip what a client sent, as the journal does.
func TestAttackLogLinesAreClipped(t *testing.T) {
	var buf bytes.Buffer
	s := newTestServer(t, Config{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	serve(t, s, call{target: "/" + strings.Repeat("p", 5000), header: map[string]string{idvmock.TokenHeader: "t"}})
	serve(t, s, latestCall("userId="+strings.Repeat("u", 255), ""))
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if len(line) > 1200 {
			t.Errorf("a %d-byte log line: %.200s...", len(line), line)
		}
	}
}

// The H5 URL Generate URL hands out is https when the request came over TLS.
func TestAttackH5URLFollowsTheScheme(t *testing.T) {
	s := newTestServer(t, Config{})
	srv := httptest.NewUnstartedServer(s)
	srv.StartTLS()
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+idvmock.PathGenerateURL, strings.NewReader(`{"userId":"u","bizId":"b","region":"PHL","returnUrl":"a","failReturnUrl":"b"}`))
	req.Host = "ph-api.advance.ai"
	req.Header.Set(idvmock.TokenHeader, "t")
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Data struct{ URL string } }
	json.NewDecoder(resp.Body).Decode(&out)
	if !strings.HasPrefix(out.Data.URL, "https://ph-api.advance.ai/h5/") {
		t.Errorf("url %q", out.Data.URL)
	}
}

// Secret header values of rules are masked in /__admin/scenarios.
func TestAttackAdminScenariosMaskSecretHeaders(t *testing.T) {
	e := newEngine(t, 0)
	f, err := files.Parse("secret.yaml", strings.NewReader(`rules:
  - name: by-token
    match: {headers: {X-ACCESS-TOKEN: tok-very-secret-value, X-Test-Case: visible}}
    scenario: failed
`))
	if err != nil {
		t.Fatal(err)
	}
	builtin, _ := files.Builtin()
	if err := e.Load(append(builtin, f)); err != nil {
		t.Fatal(err)
	}
	rec := serve(t, newTestServer(t, Config{Engine: e}), openAdmin(http.MethodGet, "/scenarios", ""))
	if strings.Contains(rec.Body.String(), "tok-very-secret-value") || !strings.Contains(rec.Body.String(), "visible") {
		t.Errorf("%s", rec.Body)
	}
}

// Past the admin API's limits a declaration answers 507 with the limit to raise; it
// conforms to openapi.yaml.
func TestAttackAdminUsersPastTheLimit(t *testing.T) {
	e := newEngine(t, 0)
	e.SetLimits(engine.Limits{MaxAdminUsers: 2})
	s := newTestServer(t, Config{Engine: e})
	sc := newSpecChecker(t)
	for i := range 3 {
		c := openAdmin(http.MethodPut, fmt.Sprintf("/users/qa_%d", i), "scenario: active\n")
		rec := serve(t, s, c)
		sc.check(t, c, rec)
		if want := map[bool]int{true: http.StatusOK, false: http.StatusInsufficientStorage}[i < 2]; rec.Code != want {
			t.Errorf("user %d: %d %s", i, rec.Code, rec.Body)
		}
		if i == 2 && !strings.Contains(rec.Body.String(), "--max-admin-users") {
			t.Errorf("the refusal does not name the limit: %s", rec.Body)
		}
	}
}

// PUT /__admin/state with an inconsistent started session is refused with where, and the
// running state is left alone.
func TestAttackPutStateChecksStartedSessions(t *testing.T) {
	s := newTestServer(t, Config{})
	sig, _ := generate(t, s, `{"userId":"u1","bizId":"b","region":"PHL","returnUrl":"a","failReturnUrl":"b"}`)
	saved := serve(t, s, openAdmin(http.MethodGet, "/state", "")).Body.String()
	broken := strings.Replace(saved, `"State":"in_progress","Verdict":"","ErrorCode":""`, `"State":"finished","Verdict":"PASS","ErrorCode":"LIVENESS_ATTACK"`, 1)
	if broken == saved {
		t.Fatalf("no started session in %s", saved)
	}
	c := call{method: http.MethodPut, target: adminPrefix + "/state", header: map[string]string{"Content-Type": "application/json"}, body: broken}
	rec := serve(t, s, c)
	newSpecChecker(t).check(t, c, rec)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "startedSessions[0].session.errorCode") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
	if _, ok, err := s.cfg.Engine.Session(t.Context(), sig); err != nil || !ok {
		t.Error("the refused state replaced the running one")
	}
}
