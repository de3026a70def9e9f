package contract

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idvmock/idvmock/scenarios/recording"
)

// badUpstream answers like the mock, except for the userIds it breaks on purpose.
func badUpstream(t *testing.T) http.Handler {
	mock := newMock(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("userId") {
		case "passes_with_attack":
			rec := httptest.NewRecorder()
			r2 := r.Clone(r.Context())
			r2.URL.RawQuery = "userId=user_active"
			mock.ServeHTTP(rec, r2)
			body := strings.Replace(rec.Body.String(), `"errorCode":"SUCCESS"`, `"errorCode":"LIVENESS_ATTACK"`, 1)
			body = strings.Replace(body, `"userId":"user_active"`, `"userId":"passes_with_attack"`, 1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		case "gateway":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		default:
			mock.ServeHTTP(w, r)
		}
	})
}

type proxied struct {
	status     int
	violations string
	body       []byte
}

func getThrough(t *testing.T, base, query string) proxied {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+PathLatest+"?"+query, nil)
	req.Header.Set("X-ACCESS-TOKEN", "test-token")
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return proxied{resp.StatusCode, resp.Header.Get(ViolationsHeader), body}
}

// The proxy passes answers through, marks and logs those that break the contract, and
// records answers that a mock then replays the same, personal data masked.
func TestProxyChecksAndRecordsAndReplayGivesTheSameAnswers(t *testing.T) {
	upstream := httptest.NewServer(badUpstream(t))
	defer upstream.Close()
	proxy, rec, dir, logs := recordingProxy(t, upstream.URL)

	good := map[string]proxied{}
	for _, q := range []string{"userId=user_active", "userId=user_init", "userId=user_failed", "userId=user_reverify", "userId=user_multi&solutionCode=101", "userId=user_multi"} {
		p := getThrough(t, proxy.URL, q)
		if p.status != 200 || p.violations != "" {
			t.Errorf("%s: HTTP %d, violations %q\n%s", q, p.status, p.violations, p.body)
		}
		good[q] = p
	}
	bad := getThrough(t, proxy.URL, "userId=passes_with_attack")
	if bad.violations != RulePassSuccess || !strings.Contains(string(bad.body), `"errorCode":"LIVENESS_ATTACK"`) {
		t.Errorf("a PASS with a failure code: violations %q; the body must pass through unchanged:\n%s", bad.violations, bad.body)
	}
	gw := getThrough(t, proxy.URL, "userId=gateway")
	if gw.status != http.StatusBadGateway || gw.violations != RuleContentType+", "+RuleJSON {
		t.Errorf("a gateway page: HTTP %d, violations %q", gw.status, gw.violations)
	}
	if !strings.Contains(logs.String(), `msg="contract violation" rule=pass-error-code-success where=/data/result/errorCode`) &&
		!strings.Contains(logs.String(), `msg="contract violation" rule=pass-error-code-success where="body /data/result/errorCode"`) {
		t.Errorf("the violation is not logged:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "passes_with_attack.yaml")); !os.IsNotExist(err) {
		t.Errorf("an answer that breaks the rules was recorded (%v); it cannot be replayed", err)
	}
	if strings.Contains(logs.String(), "test-token") {
		t.Error("the log shows the token")
	}

	// Replay: a mock serving the recordings answers what was recorded, masked.
	replay := httptest.NewServer(newMock(t, dir))
	defer replay.Close()
	for q, p := range good {
		again := getThrough(t, replay.URL, q)
		want, got := resultOf(t, p.body, rec), resultOf(t, again.body, nil)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: replayed\n%s\nwant (recorded, masked)\n%s", q, jsonOf(got), jsonOf(want))
		}
	}
	active := resultOf(t, getThrough(t, replay.URL, "userId=user_active").body, nil)
	result := active["data"].(map[string]any)["result"].(map[string]any)
	doc, _ := result["docDetail"].(map[string]any)
	if name, _ := doc["fullName"].(string); !strings.HasPrefix(name, "masked-") {
		t.Errorf("docDetail.fullName is not masked: %v", doc["fullName"])
	}
	face, _ := result["faceDetail"].(map[string]any)
	if image, _ := face["faceImage"].(string); !strings.HasPrefix(image, "https://files.idvmock.invalid/masked/") {
		t.Errorf("faceDetail.faceImage is not masked: %v", face["faceImage"])
	}
}

// resultOf decodes an answer without its transactionId; with a Recorder, its result masked
// as the Recorder stores it.
func resultOf(t *testing.T, body []byte, masked *recording.Recorder) map[string]any {
	t.Helper()
	var env map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	delete(env, "transactionId")
	if masked != nil {
		data := env["data"].(map[string]any)
		data["result"] = masked.Mask(data["result"].(map[string]any))
	}
	return env
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// mockEnvelope is the mock's Get Latest answer for user_active, decoded, its result answering
// for userID instead.
func mockEnvelope(t *testing.T, userID string) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, PathLatest+"?userId=user_active", nil)
	req.Header.Set("X-ACCESS-TOKEN", "test-token")
	newMock(t).ServeHTTP(rec, req)
	env, err := decodeObject(rec.Body.Bytes())
	if err != nil || env["code"] != "SUCCESS" {
		t.Fatalf("the mock's answer for user_active: %v\n%s", err, rec.Body)
	}
	resultOfEnvelope(env)["inputParameters"].(map[string]any)["userId"] = userID
	return env
}

func resultOfEnvelope(env map[string]any) map[string]any {
	return env["data"].(map[string]any)["result"].(map[string]any)
}

// An upstream that does not answer gets the vendor's envelope with HTTP 502.
func TestProxyUpstreamDown(t *testing.T) {
	upstream := httptest.NewServer(http.NotFoundHandler())
	url := upstream.URL
	upstream.Close()
	handler, err := NewProxy(ProxyOptions{Upstream: url, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(handler)
	defer proxy.Close()
	p := getThrough(t, proxy.URL, "userId=a")
	var env struct{ Code, Message string }
	if err := json.Unmarshal(p.body, &env); err != nil || p.status != http.StatusBadGateway || env.Code != "ERROR" || !strings.Contains(env.Message, "no answer from the upstream") {
		t.Errorf("HTTP %d %s", p.status, p.body)
	}
	if _, err := NewProxy(ProxyOptions{Upstream: "sg-api.advance.ai"}); err == nil {
		t.Error("an upstream without a scheme was accepted")
	}
}

// recordingProxy runs a validating proxy to upstream that records into a new folder; it
// returns the proxy, its recorder, the folder and the proxy's log. The proxy stops when the
// test ends.
func recordingProxy(t *testing.T, upstream string) (*httptest.Server, *recording.Recorder, string, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	rec, err := recording.NewRecorder(dir, "", upstream)
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	handler, err := NewProxy(ProxyOptions{Upstream: upstream, Recorder: rec, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(handler)
	t.Cleanup(proxy.Close)
	return proxy, rec, dir, logs
}
