package mockserver

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
)

// A request's journal entry keeps what was sent and answered, for the dashboard: headers
// with the token masked, the body clipped, the answer as sent.
func TestJournalKeepsRequestAndAnswer(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	c := latestCall("userId=user_active", "sg-api.advance.ai")
	c.header[idvmock.TokenHeader] = "tok-0123456789-abcdef"
	c.header["X-Trace"] = "qa-42"
	answered := serve(t, s, c).Body.String()
	gen := generateCall(`{"userId":"u1","bizId":"` + strings.Repeat("b", 200) + `","region":"PHL","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko","note":"` + strings.Repeat("n", 12<<10) + `"}`)
	serve(t, s, gen)

	list := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests?operation="+idvmock.OpGetLatest, ""), 200)["requests"].([]any)
	if len(list) != 1 {
		t.Fatalf("operation filter: %d entries, want 1", len(list))
	}
	e := list[0].(map[string]any)
	headers := e["requestHeaders"].(map[string]any)
	if headers["X-Trace"] != "qa-42" || strings.Contains(headers["X-Access-Token"].(string), "0123456789") {
		t.Errorf("requestHeaders: %v", headers)
	}
	if e["responseBody"] != answered {
		t.Errorf("responseBody %q, want what was answered %q", e["responseBody"], answered)
	}
	id := int(e["id"].(float64))
	one := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests/"+strconv.Itoa(id), ""), 200)
	if one["responseBody"] != answered || one["userId"] != "user_active" {
		t.Errorf("entry %d: %v", id, one)
	}
	admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests/99999", ""), 404)

	g := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests?operation="+idvmock.OpGenerateURL, ""), 200)["requests"].([]any)[0].(map[string]any)
	if body := g["requestBody"].(string); len(body) > maxEntryBody+len("…") || !strings.HasSuffix(body, "…") || !strings.HasPrefix(body, `{"userId":"u1"`) {
		t.Errorf("a 12 KiB body is kept as %d bytes, ending %q", len(body), body[len(body)-8:])
	}
}

// The live journal sends each new entry once, as a summary, and starts after the id given.
func TestEventsStreamNewEntries(t *testing.T) {
	s := newTestServer(t, Config{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	serve(t, s, latestCall("userId=before_the_stream", ""))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/__admin/events?after=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sent := time.Now()
	serve(t, s, latestCall("userId=user_activ", ""))
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(nil, 1<<20)
	var batch eventsBatchBody
	for lines.Scan() {
		if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			if err := json.Unmarshal([]byte(data), &batch); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if took := time.Since(sent); took > 2*time.Second {
		t.Errorf("the entry came after %v", took)
	}
	if len(batch.Entries) != 1 {
		t.Fatalf("batch %+v, want the one entry after id 1", batch)
	}
	e := batch.Entries[0]
	if e.UserID != "user_activ" || !e.Unmatched || len(e.NearMisses) == 0 || e.NearMisses[0].Name != "user_active" {
		t.Errorf("entry %+v", e)
	}
	if e.ResponseBody != "" || e.RequestHeaders != nil {
		t.Error("the stream sends whole entries, not summaries")
	}
}

// The live journal streams are bounded; a slot frees when a viewer leaves.
func TestEventsViewersAreBounded(t *testing.T) {
	s := newTestServer(t, Config{DashboardViewers: 1})
	ts := httptest.NewServer(s)
	defer ts.Close()
	open := func() (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/__admin/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, cancel
	}
	first, leave := open()
	if first.StatusCode != 200 {
		t.Fatalf("first viewer: HTTP %d", first.StatusCode)
	}
	second, cancel := open()
	var refusal adminError
	_ = json.NewDecoder(second.Body).Decode(&refusal)
	cancel()
	if second.StatusCode != http.StatusServiceUnavailable || !strings.Contains(refusal.Hint, "--dashboard-viewers") {
		t.Errorf("second viewer: HTTP %d %+v", second.StatusCode, refusal)
	}
	leave()
	first.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		third, cancel := open()
		code := third.StatusCode
		cancel()
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot of a viewer that left is not freed: HTTP %d", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A browser's admin write from another origin is refused whatever the token; the same
// origin, scripts and reads pass.
func TestCrossOriginAdminWritesAreRefused(t *testing.T) {
	for _, token := range []string{"", "s3cret"} {
		s := newTestServer(t, Config{AdminToken: token, Engine: newEngine(t, 0, "qa.yaml")})
		sc := newSpecChecker(t)
		advance := func(headers map[string]string) int {
			c := adminCall(http.MethodPost, "/__admin/users/stepper/advance", "")
			c.host = "127.0.0.1:8080"
			if token == "" {
				delete(c.header, "Authorization")
			}
			for k, v := range headers {
				c.header[k] = v
			}
			rec := serve(t, s, c)
			sc.check(t, c, rec)
			return rec.Code
		}
		for name, h := range map[string]map[string]string{
			"cross-site form":   {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
			"same-site, other":  {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:9999"},
			"old browser":       {"Origin": "https://evil.example"},
			"null origin frame": {"Origin": "null"},
		} {
			if code := advance(h); code != http.StatusForbidden {
				t.Errorf("token %q, %s: HTTP %d, want 403", token, name, code)
			}
		}
		state := func() string {
			c := adminCall(http.MethodGet, "/__admin/users/stepper", "")
			c.header["Sec-Fetch-Site"] = "cross-site"
			if token == "" {
				delete(c.header, "Authorization")
			}
			return admin(t, s, sc, c, 200)["user"].(map[string]any)["state"].(string)
		}
		if got := state(); got != "first" {
			t.Fatalf("token %q: a refused write moved the user to %s", token, got)
		}
		if code := advance(map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8080"}); code != 200 {
			t.Errorf("token %q, the dashboard's own call: HTTP %d", token, code)
		}
		if code := advance(nil); code != 409 { // a script: passes, and stepper is in its last state now
			t.Errorf("token %q, a script's call: HTTP %d, want 409 (last state)", token, code)
		}
	}
}

// The sessions list shows a started session with its callback attempts, newest first.
func TestSessionsListWithDeliveries(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	receiver := httptest.NewServer(&countingReceiver{})
	defer receiver.Close()
	older := startSession(t, s, "u_sessions", "")
	sig := startSession(t, s, "u_sessions", receiver.URL+"/cb")
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", `{"state":"submitted"}`), 200)
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", `{"overallResult":"PASS"}`), 200)
	deadline := time.Now().Add(5 * time.Second)
	for {
		list := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/sessions", ""), 200)["sessions"].([]any)
		if len(list) != 2 || list[0].(map[string]any)["signatureId"] != sig || list[1].(map[string]any)["signatureId"] != older {
			t.Fatalf("sessions, newest first: %v", list)
		}
		newest := list[0].(map[string]any)
		if d := newest["deliveries"].([]any); len(d) == 2 {
			if d[0].(map[string]any)["id"].(float64) < d[1].(map[string]any)["id"].(float64) || newest["overallResult"] != "PASS" {
				t.Errorf("deliveries: %v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the callbacks did not appear: %v", newest)
		}
		time.Sleep(20 * time.Millisecond)
	}
	one := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/sessions?userId=nobody", ""), 200)["sessions"].([]any)
	if len(one) != 0 {
		t.Errorf("userId filter: %v", one)
	}
}

// Deactivating a user through the admin API is the vendor's Update Status: Get Latest says
// INACTIVE from then on.
func TestAdminDeactivateUser(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	p := admin(t, s, sc, adminCall(http.MethodPost, "/__admin/users/user_active/deactivate", ""), 200)["user"].(map[string]any)
	if p["profileStatus"] != "INACTIVE" {
		t.Errorf("progress: %v", p)
	}
	if env := decode(t, serve(t, s, latestCall("userId=user_active", ""))); !strings.Contains(string(env.Data), `"profileStatus":"INACTIVE"`) {
		t.Errorf("Get Latest after deactivation: %s", env.Data)
	}
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/users/nobody/deactivate", ""), 404)
}

// A user's progress says when its state moves on.
func TestUserProgressSaysWhatComesNext(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0, "qa.yaml")})
	sc := newSpecChecker(t)
	next := func() map[string]any {
		p := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/users/stepper", ""), 200)["user"].(map[string]any)
		n, _ := p["next"].(map[string]any)
		return n
	}
	if n := next(); n["calls"] != float64(2) || n["callsLeft"] != float64(2) {
		t.Errorf("before any call: %v", n)
	}
	serve(t, s, latestCall("userId=stepper", ""))
	if n := next(); n["callsLeft"] != float64(1) {
		t.Errorf("after one call: %v", n)
	}
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/users/stepper/advance", ""), 200)
	if n := next(); n != nil {
		t.Errorf("the last state of a user that does not loop moves on: %v", n)
	}
}

// The overview counts the vendor requests of the step in progress at once, and keeps past
// steps when the sampler rolls them.
func TestOverviewTraffic(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	for range 3 {
		serve(t, s, latestCall("userId=user_active", "sg-api.advance.ai"))
	}
	serve(t, s, latestCall("userId=nobody_here", "ph-api.advance.ai"))
	admin(t, s, sc, adminCall(http.MethodGet, "/__admin/users", ""), 200) // admin calls are not traffic
	series := func() map[string][]any {
		out := map[string][]any{}
		o := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/overview", ""), 200)
		if o["adminToken"] != true || o["store"] != "memory" || o["steps"] != float64(trafficSteps) {
			t.Errorf("overview: %v", o)
		}
		for _, v := range o["traffic"].([]any) {
			m := v.(map[string]any)
			out[m["region"].(string)+" "+m["code"].(string)] = m["counts"].([]any)
		}
		return out
	}
	got := series()
	if len(got) != 2 || got["sg SUCCESS"][trafficSteps-1] != float64(3) || got["ph PARAMETER_ERROR"][trafficSteps-1] != float64(1) {
		t.Fatalf("traffic: %v", got)
	}
	s.traffic.roll(time.Now(), s.metrics.trafficTotals())
	serve(t, s, latestCall("userId=user_active", "sg-api.advance.ai"))
	got = series()
	if sg := got["sg SUCCESS"]; sg[trafficSteps-2] != float64(3) || sg[trafficSteps-1] != float64(1) {
		t.Errorf("after a step: %v", sg[trafficSteps-3:])
	}
}

// Headers whose names say they hold a secret are masked in the journal, in any case; the
// others are kept as sent.
func TestJournalMasksSecretHeaders(t *testing.T) {
	for name, secret := range map[string]bool{
		"X-Access-Token": true, "x-access-token": true, "Authorization": true, "Proxy-Authorization": true,
		"Cookie": true, "X-Api-Key": true, "X-SECRET-Thing": true, "X-Aai-Signature": true, "X-Session-Id": true,
		"User-Agent": false, "Accept-Encoding": false, "X-Mock-Scenario": false, "Content-Type": false, "K": false,
	} {
		got := journalHeaders(http.Header{name: {"value-0123456789-abcdef"}}).Get(name)
		if masked := got != "value-0123456789-abcdef"; masked != secret {
			t.Errorf("%s: kept as %q; want masked %v", name, got, secret)
		}
	}
}
