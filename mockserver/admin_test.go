package mockserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/idvmock/idvmock"
)

// adminCall is a call to the admin API with the admin token.
func adminCall(method, target, body string) call {
	h := map[string]string{"Authorization": "Bearer s3cret"}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	return call{method: method, target: target, header: h, body: body}
}

// admin runs c, checks the answer against openapi.yaml and its status, and decodes it.
func admin(t *testing.T, s *Server, sc *specChecker, c call, status int) map[string]any {
	t.Helper()
	rec := serve(t, s, c)
	sc.check(t, c, rec)
	if rec.Code != status {
		t.Fatalf("%s %s: HTTP %d, want %d: %s", c.method, c.target, rec.Code, status, rec.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", c.method, c.target, rec.Body)
	}
	return out
}

func TestAdminTokenIsRequiredWhenSet(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	for _, auth := range []string{"", "Bearer wrong", "s3cret", "Bearer s3cret2", "Basic czNjcmV0"} {
		c := call{target: "/__admin/users", header: map[string]string{"Authorization": auth}}
		out := admin(t, s, sc, c, http.StatusUnauthorized)
		if !strings.Contains(out["error"].(string), "Bearer") {
			t.Errorf("401 body: %v", out)
		}
	}
	admin(t, s, sc, adminCall(http.MethodGet, "/__admin/users", ""), http.StatusOK)
	// health stays open for probes, and vendor endpoints never need the admin token
	admin(t, s, sc, call{target: pathHealth}, http.StatusOK)
	if env := decode(t, serve(t, s, latestCall("userId=user_active", ""))); env.Code != "SUCCESS" {
		t.Error(env.Code)
	}
}

func TestAdminUsersLifecycle(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret", Engine: newEngine(t, 0, "qa.yaml")})
	sc := newSpecChecker(t)
	users := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/users", ""), 200)["users"].([]any)
	if len(users) != 12 {
		t.Errorf("%d users, want 10 built-in and 2 from qa.yaml", len(users))
	}
	got := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/users/stepper", ""), 200)
	if got["user"].(map[string]any)["state"] != "first" || got["definition"].(map[string]any)["states"] == nil {
		t.Errorf("stepper: %v", got)
	}
	admin(t, s, sc, adminCall(http.MethodGet, "/__admin/users/nobody", ""), 404)

	bad := admin(t, s, sc, adminCall(http.MethodPut, "/__admin/users/carol", `{"profileStatus": "INIT",
 "sessions": [{"overallResult": "PASS"}]}`), 400)
	problem := bad["problems"].([]any)[0].(map[string]any)
	if problem["line"] != float64(1) || !strings.Contains(problem["message"].(string), "is INIT but a session passed") || problem["hint"] == "" {
		t.Errorf("problem: %v", problem)
	}
	admin(t, s, sc, adminCall(http.MethodPut, "/__admin/users/carol", `{"scenario": "incomplete"}`), 200)
	yamlBody := adminCall(http.MethodPut, "/__admin/users/dora", "profileStatus: ACTIVE\nsessions:\n  - overallResult: PASS\n")
	yamlBody.header["Content-Type"] = "application/yaml"
	admin(t, s, sc, yamlBody, 200)
	for user, code := range map[string]string{"carol": "INCOMPLETE", "dora": "PASS"} {
		env := decode(t, serve(t, s, latestCall("userId="+user, "")))
		if !strings.Contains(string(env.Data), code) {
			t.Errorf("%s: %s", user, env.Data)
		}
	}

	p := admin(t, s, sc, adminCall(http.MethodPost, "/__admin/users/stepper/advance", ""), 200)["user"].(map[string]any)
	if p["state"] != "second" {
		t.Errorf("advance: %v", p)
	}
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/users/stepper/advance", ""), 409)
	admin(t, s, sc, adminCall(http.MethodPut, "/__admin/users/stepper/state", `{"state": "first"}`), 200)
	admin(t, s, sc, adminCall(http.MethodPut, "/__admin/users/stepper/state", `{"state": "third"}`), 409)
	admin(t, s, sc, adminCall(http.MethodPut, "/__admin/users/stepper/state", `{"stage": "first"}`), 400)
	for i := 0; i < 3; i++ {
		serve(t, s, latestCall("userId=stepper", ""))
	}
	if p := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/users/stepper", ""), 200)["user"].(map[string]any); p["state"] != "second" {
		t.Errorf("after 3 calls: %v", p)
	}
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/reset?userId=stepper", ""), 200)
	if p := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/users/stepper", ""), 200)["user"].(map[string]any); p["state"] != "first" || p["calls"] != float64(0) {
		t.Errorf("after reset: %v", p)
	}
	admin(t, s, sc, adminCall(http.MethodDelete, "/__admin/users/carol", ""), 200)
	admin(t, s, sc, adminCall(http.MethodDelete, "/__admin/users/carol", ""), 404)
	if env := decode(t, serve(t, s, latestCall("userId=carol", ""))); env.Message != "externalUserId does not exist." {
		t.Errorf("a deleted user answers %s", env.Code)
	}
	info := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/scenarios", ""), 200)
	if len(info["rules"].([]any)) != 11 || info["files"].([]any)[1] == nil {
		t.Errorf("scenarios: %v", info)
	}
}

func TestAdminJournalAndNearMisses(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0, "qa.yaml")})
	sc := newSpecChecker(t)
	serve(t, s, latestCall("userId=user_active", "sg-api.advance.ai"))
	serve(t, s, latestCall("userId=user_actve", "ph-api.advance.ai"))
	serve(t, s, latestCall("userId=ph_only", "th-api.advance.ai"))
	gw := latestCall("userId=user_init", "sg-api.advance.ai")
	gw.header["X-Fault"] = "gateway"
	serve(t, s, gw)
	serve(t, s, adminCall(http.MethodGet, "/__admin/users", "")) // admin calls are not journaled

	all := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests", ""), 200)["requests"].([]any)
	if len(all) != 4 {
		t.Fatalf("%d entries, want the 4 vendor requests", len(all))
	}
	newest := all[0].(map[string]any)
	if newest["fault"] != "gateway" || newest["status"] != float64(503) || newest["rule"] != "fault-gateway" {
		t.Errorf("newest entry: %v", newest)
	}
	for query, want := range map[string]float64{
		"region=sg": 2, "code=SUCCESS": 1, "code=PARAMETER_ERROR": 2, "userId=user_active": 1,
		"fault=gateway": 1, "kind=callback": 0, "since=1h": 4, "since=2000-01-01T00:00:00Z": 4, "since=2100-01-01T00:00:00Z": 0,
	} {
		n := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests/count?"+query, ""), 200)["count"]
		if n != want {
			t.Errorf("count?%s = %v, want %v", query, n, want)
		}
	}
	if limited := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests?limit=1", ""), 200)["requests"].([]any); len(limited) != 1 {
		t.Errorf("limit=1: %d", len(limited))
	}
	admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests?since=yesterday", ""), 400)
	admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests?region=xx", ""), 400)

	unmatched := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests/unmatched", ""), 200)["requests"].([]any)
	if len(unmatched) != 2 {
		t.Fatalf("%d unmatched, want user_actve and ph_only on th", len(unmatched))
	}
	text, _ := json.Marshal(unmatched)
	for _, want := range []string{`"name":"user_active"`, `1 edit away`, `visible on ph only; the request came to th`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("near misses lack %s: %s", want, text)
		}
	}
	if n := admin(t, s, sc, adminCall(http.MethodDelete, "/__admin/requests", ""), 200)["deleted"]; n != float64(4) {
		t.Errorf("deleted %v", n)
	}
	if n := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests/count", ""), 200)["count"]; n != float64(0) {
		t.Errorf("after delete: %v", n)
	}
}

// GET /__admin/state saves what a restart would lose; PUT restores it into a new mock,
// which then answers as the old one would have.
func TestAdminStateSurvivesARestart(t *testing.T) {
	old := newTestServer(t, Config{AdminToken: "s3cret", Engine: newEngine(t, 0, "qa.yaml")})
	sc := newSpecChecker(t)
	serve(t, old, latestCall("userId=stepper", ""))
	serve(t, old, latestCall("userId=stepper", "")) // stepper: two calls in "first"
	admin(t, old, sc, adminCall(http.MethodPut, "/__admin/users/qa_saved", `{"scenario":"inactive","regions":["ph"]}`), 200)
	started := decode(t, serve(t, old, call{method: http.MethodPost, target: idvmock.PathGenerateURL, header: map[string]string{idvmock.TokenHeader: "t", "Content-Type": "application/json"},
		body: `{"userId":"flow_user","bizId":"b1","region":"PHL","returnUrl":"https://a.example/ok","failReturnUrl":"https://a.example/ko"}`}))
	if started.Code != "SUCCESS" {
		t.Fatalf("generate URL: %s", started.Code)
	}
	rec := serve(t, old, adminCall(http.MethodGet, "/__admin/state", ""))
	sc.check(t, adminCall(http.MethodGet, "/__admin/state", ""), rec)
	saved := rec.Body.String()

	restarted := newTestServer(t, Config{AdminToken: "s3cret", Engine: newEngine(t, 0, "qa.yaml")})
	admin(t, restarted, sc, adminCall(http.MethodPut, "/__admin/state", saved), 200)
	for _, c := range []call{latestCall("userId=stepper", ""), latestCall("userId=qa_saved", "ph-api.advance.ai"), latestCall("userId=flow_user", "")} {
		a, b := decode(t, serve(t, old, c)), decode(t, serve(t, restarted, c))
		if a.Code != b.Code || string(a.Data) != string(b.Data) {
			t.Errorf("%s: restored %s %s, saved %s %s", c.target, b.Code, b.Data, a.Code, a.Data)
		}
	}
	if got := decode(t, serve(t, restarted, latestCall("userId=stepper", ""))); !strings.Contains(string(got.Data), `"profileStatus":"ACTIVE"`) {
		t.Errorf("stepper did not keep its progress: %s", got.Data)
	}
	out := admin(t, restarted, sc, adminCall(http.MethodPut, "/__admin/state", `{"version":2,"savedAt":"2026-01-01T00:00:00Z","seed":0,"adminUsers":{},"removedUsers":[],"progress":[],"startedSessions":[],"ruleMatches":{},"startedCount":0}`), 400)
	if !strings.Contains(out["error"].(string), "nothing changed") {
		t.Errorf("a bad state: %v", out)
	}
}

// PUT /__admin/state takes the larger body limit openapi.yaml gives it (x-idvmock-max-body-
// bytes), and still refuses a body over it; other operations keep the 64 KiB limit.
func TestSavedStateBodyLimit(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret", Engine: newEngine(t, 0)})
	sc := newSpecChecker(t)
	var progress []string
	for i := range 3000 {
		progress = append(progress, fmt.Sprintf(`{"key":["rule","qa-users","qa-%d"],"hash":"h","state":0,"calls":1}`, i))
	}
	state := `{"version":1,"savedAt":"2026-11-26T00:00:00Z","seed":0,"adminUsers":{},"removedUsers":[],"progress":[` +
		strings.Join(progress, ",") + `],"startedSessions":[],"ruleMatches":{},"startedCount":0}`
	if len(state) <= maxBodyBytes {
		t.Fatalf("the state is only %d bytes", len(state))
	}
	admin(t, s, sc, adminCall(http.MethodPut, "/__admin/state", state), http.StatusOK)
	admin(t, s, sc, adminCall(http.MethodPut, "/__admin/users/big", `{"scenario":"active","x":"`+strings.Repeat("a", maxBodyBytes)+`"}`), http.StatusRequestEntityTooLarge)
	huge := strings.Repeat(" ", 16<<20) + state
	admin(t, s, sc, adminCall(http.MethodPut, "/__admin/state", huge), http.StatusRequestEntityTooLarge)
}
