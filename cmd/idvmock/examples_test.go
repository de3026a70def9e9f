package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The examples under examples/scenarios, each loaded the way a user loads it
// (serve --scenarios FILE) and checked against what its comment promises.

func example(name string) string { return filepath.Join("..", "..", "examples", "scenarios", name) }

type answer struct {
	status int
	header http.Header
	Code   string `json:"code"`
	Msg    string `json:"message"`
	Data   struct {
		ProfileStatus string         `json:"profileStatus"`
		Result        map[string]any `json:"result"`
		SignatureID   string         `json:"signatureId"`
		URL           string         `json:"url"`
	} `json:"data"`
}

// do sends a request to the mock at addr; body, when given, is JSON.
func do(t *testing.T, method, url, host string, headers map[string]string, body string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, r)
	if host != "" {
		req.Host = host
	}
	req.Header.Set("X-ACCESS-TOKEN", "t")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, raw)
		}
	}
	return a
}

func latest(t *testing.T, addr, query, host string, headers map[string]string) answer {
	t.Helper()
	return do(t, http.MethodGet, "http://"+addr+latestPath+"?"+query, host, headers, "")
}

func TestExampleProgression(t *testing.T) {
	addr, stop := startServe(t, "--scenarios", example("progression.yaml"))
	defer stop()
	var got []string
	sig := ""
	for i := 0; i < 7; i++ {
		a := latest(t, addr, "userId=user_progress", "", nil)
		got = append(got, a.Data.ProfileStatus+"/"+str(a.Data.Result["overallResult"])+"/"+str(a.Data.Result["submissionCompleted"]))
		if sig == "" {
			sig = a.Data.Result["signatureId"].(string)
		} else if a.Data.Result["signatureId"] != sig {
			t.Errorf("call %d: the session changed identity", i+1)
		}
	}
	want := []string{"INIT/<nil>/<nil>", "INIT/<nil>/<nil>", "INIT/<nil>/<nil>", "INIT/<nil>/true", "INIT/<nil>/true", "ACTIVE/PASS/true", "ACTIVE/PASS/true"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("answers:\n got %v\nwant %v", got, want)
	}
	do(t, http.MethodPost, "http://"+addr+"/__admin/reset?userId=user_progress", "", nil, "")
	if a := latest(t, addr, "userId=user_progress", "", nil); a.Data.Result["submissionCompleted"] != nil {
		t.Error("reset did not start the user over")
	}
}

func str(v any) string {
	if v == nil {
		return "<nil>"
	}
	return strings.TrimSpace(strings.ReplaceAll(jsonText(v), `"`, ""))
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestExampleFlakyRegion(t *testing.T) {
	addr, stop := startServe(t, "--scenarios", example("flaky-region.yaml"))
	defer stop()
	const calls = 60
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls/10; i++ {
				a := latest(t, addr, "userId=user_active", "sg-api.advance.ai", nil)
				key := a.Code
				if a.status == http.StatusServiceUnavailable && strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
					key = "gateway 503"
				}
				mu.Lock()
				counts[key]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// 30% of 60 is 18; 6 and 30 are over 3 standard deviations away.
	if counts["gateway 503"] < 6 || counts["gateway 503"] > 30 || counts["SUCCESS"]+counts["gateway 503"] != calls {
		t.Errorf("sg answers: %v", counts)
	}
	for i := 0; i < 20; i++ {
		if a := latest(t, addr, "userId=user_active", "ph-api.advance.ai", nil); a.Code != "SUCCESS" {
			t.Fatalf("ph is not flaky: %d %s", a.status, a.Code)
		}
	}
	var entries struct{ Requests []struct{ Fault string } }
	raw := getJSON(t, "http://"+addr+"/__admin/requests?region=sg&limit=1", "", nil)
	json.Unmarshal(raw, &entries)
	if len(entries.Requests) != 1 || !strings.Contains(entries.Requests[0].Fault, "latency") {
		t.Errorf("the journal marks the added latency: %s", raw)
	}
}

func TestExampleRateLimit(t *testing.T) {
	addr, stop := startServe(t, "--scenarios", example("rate-limit.yaml"))
	defer stop()
	a := latest(t, addr, "userId=burst-1", "", nil)
	if a.Code != "SERVICE_BUSY" || a.Msg != "Rate limit is exceeded" || a.header.Get("Retry-After") != "10" || a.status != 200 {
		t.Errorf("burst-1: %d %s %q Retry-After %q", a.status, a.Code, a.Msg, a.header.Get("Retry-After"))
	}
	tok := do(t, http.MethodPost, "http://"+addr+"/openapi/auth/ticket/v1/generate-token", "", map[string]string{"X-Test": "rate-limit"},
		`{"accessKey":"sampleaccesskey","timestamp":"1665993522952","signature":"x"}`)
	if tok.Code != "SERVICE_BUSY" || tok.header.Get("Retry-After") != "30" {
		t.Errorf("token API with X-Test: rate-limit: %s %v", tok.Code, tok.header)
	}
	if a := latest(t, addr, "userId=user_active", "", nil); a.Code != "SUCCESS" {
		t.Errorf("other users are not limited: %s", a.Code)
	}
}

func TestExampleExpiredToken(t *testing.T) {
	addr, stop := startServe(t, "--scenarios", example("expired-token.yaml"))
	defer stop()
	if a := latest(t, addr, "userId=user_active", "", map[string]string{"X-ACCESS-TOKEN": "expired-token"}); a.Code != "IAM_FAILED" || a.Msg != "Token not found or expired" {
		t.Errorf("the literal expired token: %s %s", a.Code, a.Msg)
	}
	var codes []string
	for i := 0; i < 3; i++ {
		codes = append(codes, latest(t, addr, "userId=token_expires", "", nil).Code)
	}
	if strings.Join(codes, " ") != "SUCCESS SUCCESS IAM_FAILED" {
		t.Errorf("token_expires: %v", codes)
	}
}

func TestExampleOneRegion(t *testing.T) {
	addr, stop := startServe(t, "--scenarios", example("one-region.yaml"))
	defer stop()
	if a := latest(t, addr, "userId=user_ph", "ph-api.advance.ai", nil); a.Code != "SUCCESS" || a.Data.Result["countryCodeIso3"] != "PHL" {
		t.Errorf("on ph: %s %v", a.Code, a.Data.Result)
	}
	for _, host := range []string{"api.advance.ai", "sg-api.advance.ai", "th-api.advance.ai", "my-api.advance.ai", "vn-api.advance.ai"} {
		if a := latest(t, addr, "userId=user_ph", host, nil); a.Msg != "externalUserId does not exist." {
			t.Errorf("on %s: %s %s", host, a.Code, a.Msg)
		}
	}
	raw := getJSON(t, "http://"+addr+"/__admin/requests/unmatched", "", nil)
	if !strings.Contains(string(raw), "visible on ph only; the request came to vn") {
		t.Errorf("the near-miss report does not say why: %s", raw)
	}
}

func TestExampleFlow(t *testing.T) {
	var mu sync.Mutex
	var callbacks []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		callbacks = append(callbacks, string(b))
		mu.Unlock()
	}))
	defer receiver.Close()
	addr, stop := startServe(t, "--scenarios", example("flow.yaml"))
	defer stop()
	base := "http://" + addr
	gen := func(user string) answer {
		return do(t, http.MethodPost, base+"/intl/openapi/identity-risk/idvs-h5/ekyc/v1/generate-ekyc-verification-url", "", nil,
			`{"userId":"`+user+`","bizId":"order-1","region":"PHL","solutionCode":"201","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko","callbackUrl":"`+receiver.URL+`/cb"}`)
	}
	started := gen("new_customer")
	sig := started.Data.SignatureID
	if started.Code != "SUCCESS" || started.Data.URL != base+"/h5/"+sig {
		t.Fatalf("generate: %+v", started)
	}
	if a := latest(t, addr, "userId=new_customer&solutionCode=201", "", nil); a.Data.ProfileStatus != "INIT" || a.Data.Result["overallResult"] != nil {
		t.Errorf("polling a started session: %+v", a.Data)
	}
	done := do(t, http.MethodPost, base+"/__admin/sessions/"+sig+"/complete", "", nil, `{"overallResult":"PASS"}`)
	if done.status != 200 {
		t.Fatalf("complete: %d", done.status)
	}
	if a := latest(t, addr, "userId=new_customer", "", nil); a.Data.ProfileStatus != "ACTIVE" || a.Data.Result["overallResult"] != "PASS" {
		t.Errorf("polling after PASS: %+v", a.Data)
	}
	result := do(t, http.MethodPost, base+"/intl/openapi/identity-risk/idvs-h5/ekyc/v1/get-result", "", nil, `{"signatureId":"`+sig+`"}`)
	if result.Code != "SUCCESS" {
		t.Errorf("get-result: %s %s", result.Code, result.Msg)
	}
	for deadline := 0; deadline < 200; deadline++ {
		mu.Lock()
		n := len(callbacks)
		mu.Unlock()
		if n > 0 {
			break
		}
		sleepMillis(10)
	}
	mu.Lock()
	if len(callbacks) != 1 || callbacks[0] != `{"signatureId":"`+sig+`","type":"COMPLETED"}` {
		t.Errorf("callbacks: %v", callbacks)
	}
	mu.Unlock()

	again := gen("returning_customer")
	a := latest(t, addr, "userId=returning_customer", "", nil)
	if a.Data.ProfileStatus != "ACTIVE" || a.Data.Result["signatureId"] != again.Data.SignatureID || a.Data.Result["overallResult"] != nil {
		t.Errorf("a returning customer's new session is the latest: %+v", a.Data)
	}
	if old := latest(t, addr, "userId=returning_customer&solutionCode=101", "", nil); old.Data.Result["overallResult"] != "PASS" {
		t.Errorf("the earlier PASS under 101: %+v", old.Data)
	}
}
