package mockserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
)

// callbackReceiver records callbacks and answers HTTP 500 to the first failures of them.
type callbackReceiver struct {
	mu       sync.Mutex
	bodies   []string
	failures int
}

func (r *callbackReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, string(body))
	if len(r.bodies) <= r.failures {
		http.Error(w, "not yet", http.StatusInternalServerError)
	}
}

func (r *callbackReceiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

func generateCall(body string) call {
	return call{method: http.MethodPost, target: idvmock.PathGenerateURL, host: "ph-api.advance.ai",
		header: map[string]string{idvmock.TokenHeader: "t", "Content-Type": "application/json"}, body: body}
}

// The whole journey: Generate URL starts an in-progress session; polling shows it; the user
// passes on the H5 page and is sent back to returnUrl; the callback is retried until the
// receiver answers 200, every attempt journaled; polling and Get Result show the PASS.
func TestGenerateURLFlowWithH5PageAndCallback(t *testing.T) {
	receiver := &callbackReceiver{failures: 2}
	cbServer := httptest.NewServer(receiver)
	defer cbServer.Close()
	s := newTestServer(t, Config{Callbacks: CallbackPolicy{Backoff: 5 * time.Millisecond}})
	sc := newSpecChecker(t)

	start := generateCall(`{"userId":"flow_user","bizId":"order-9","region":"PHL","returnUrl":"https://app.example/ok",
 "failReturnUrl":"https://app.example/ko","callbackUrl":"` + cbServer.URL + `/cb","language":"en","productLevel":"STANDARD"}`)
	rec := serve(t, s, start)
	sc.check(t, start, rec)
	var generated struct {
		Code string
		Data struct{ SignatureID, URL string }
	}
	json.Unmarshal(rec.Body.Bytes(), &generated)
	sig := generated.Data.SignatureID
	if generated.Code != "SUCCESS" || generated.Data.URL != "http://ph-api.advance.ai/h5/"+sig {
		t.Fatalf("generate: %s", rec.Body)
	}

	poll := func() (string, map[string]any) {
		c := latestCall("userId=flow_user", "ph-api.advance.ai")
		rec := serve(t, s, c)
		sc.check(t, c, rec)
		var body struct {
			Data struct {
				ProfileStatus string
				Result        map[string]any
			}
		}
		json.Unmarshal(rec.Body.Bytes(), &body)
		return body.Data.ProfileStatus, body.Data.Result
	}
	status, result := poll()
	input := result["inputParameters"].(map[string]any)
	if status != "INIT" || result["signatureId"] != sig || result["overallResult"] != nil || input["language"] != "en" || input["bizId"] != "order-9" {
		t.Fatalf("before completion: %s %v", status, result)
	}

	page := serve(t, s, call{target: "/h5/" + sig})
	if page.Code != 200 || !strings.Contains(page.Body.String(), sig) || !strings.Contains(page.Body.String(), `value="PASS"`) {
		t.Fatalf("H5 page: %d %s", page.Code, page.Body)
	}
	finish := call{method: http.MethodPost, target: "/h5/" + sig, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		body: url.Values{"outcome": {"PASS"}}.Encode()}
	done := serve(t, s, finish)
	sc.check(t, finish, done)
	if done.Code != http.StatusSeeOther || done.Header().Get("Location") != "https://app.example/ok" {
		t.Fatalf("H5 finish: %d %v", done.Code, done.Header())
	}

	waitFor(t, func() bool { return len(receiver.received()) == 3 }, "3 callback attempts (2 refused, 1 taken)")
	for _, body := range receiver.received() {
		if body != `{"signatureId":"`+sig+`","type":"COMPLETED"}` {
			t.Errorf("callback body %s", body)
		}
	}
	waitFor(t, func() bool { return s.journal.count(filter{Kind: "callback"}) == 3 }, "3 callback entries in the journal")
	attempts := s.journal.find(filter{Kind: "callback"}, 0)
	if attempts[0].Attempt != 3 || attempts[0].Status != 200 || attempts[2].Status != 500 || attempts[2].Error == "" {
		t.Errorf("journaled attempts: %+v", attempts)
	}
	for _, a := range attempts {
		if a.Body != `{"signatureId":"`+sig+`","type":"COMPLETED"}` {
			t.Errorf("attempt %d shows the body %q", a.Attempt, a.Body)
		}
	}

	status, result = poll()
	if status != "ACTIVE" || result["overallResult"] != "PASS" || result["errorCode"] != "SUCCESS" {
		t.Errorf("after PASS: %s %v", status, result)
	}
	get := call{method: http.MethodPost, target: idvmock.PathGetResult, host: "ph-api.advance.ai",
		header: map[string]string{idvmock.TokenHeader: "t", "Content-Type": "application/json"}, body: `{"signatureId":"` + sig + `"}`}
	got := serve(t, s, get)
	sc.check(t, get, got)
	if !strings.Contains(got.Body.String(), `"overallResult":"PASS"`) {
		t.Errorf("get-result: %s", got.Body)
	}
	unknown := get
	unknown.body = `{"signatureId":"nope"}`
	if env := decode(t, serve(t, s, unknown)); env.Code != "SIGNATURE_NOT_EXIST" || env.Message != "This signatureId is not exist." {
		t.Errorf("unknown signature: %s %s", env.Code, env.Message)
	}
}

// The admin API completes a session; a submitted session calls back SUBMIT_COMPLETED; a
// failed one sends the browser to failReturnUrl.
func TestAdminCompletesStartedSessions(t *testing.T) {
	receiver := &callbackReceiver{}
	cbServer := httptest.NewServer(receiver)
	defer cbServer.Close()
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	rec := serve(t, s, generateCall(`{"userId":"u1","bizId":"b","region":"SGP","returnUrl":"r","failReturnUrl":"f","callbackUrl":"`+cbServer.URL+`"}`))
	var g struct{ Data struct{ SignatureID string } }
	json.Unmarshal(rec.Body.Bytes(), &g)
	sig := g.Data.SignatureID

	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", `{"overallResult": "PASS", "errorCode": "LIVENESS_ATTACK"}`), 400)
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", `{"overallResult": "PASSED"}`), 400)
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/sessions/nope/complete", `{"state": "submitted"}`), 404)
	out := admin(t, s, sc, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", `{"state": "submitted"}`), 200)
	if out["session"].(map[string]any)["state"] != "submitted" {
		t.Errorf("complete: %v", out)
	}
	waitFor(t, func() bool { return len(receiver.received()) == 1 }, "a SUBMIT_COMPLETED callback")
	if !strings.Contains(receiver.received()[0], `"type":"SUBMIT_COMPLETED"`) {
		t.Errorf("callback: %v", receiver.received())
	}
	if env := decode(t, serve(t, s, latestCall("userId=u1", ""))); !strings.Contains(string(env.Data), `"submissionCompleted":true`) {
		t.Errorf("submitted: %s", env.Data)
	}
	finish := call{method: http.MethodPost, target: "/h5/" + sig, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "outcome=FAIL"}
	if rec := serve(t, s, finish); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "f" {
		t.Errorf("FAIL goes to failReturnUrl: %d %v", rec.Code, rec.Header())
	}
	bad := finish
	bad.body = "outcome=MAYBE"
	if rec := serve(t, s, bad); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "outcome") {
		t.Errorf("an unknown outcome: %d %s", rec.Code, rec.Body)
	} else {
		sc.check(t, bad, rec)
	}
	if rec := serve(t, s, call{target: "/h5/nope"}); rec.Code != http.StatusNotFound {
		t.Errorf("unknown session page: %d", rec.Code)
	}
}

// A finished session stays finished: its H5 page shows the outcome and no buttons, and
// finishing it again, on the page or through the admin API, answers 409 and sends no
// callback.
func TestH5AndAdminCompleteRefuseAFinishedSession(t *testing.T) {
	receiver := &callbackReceiver{}
	cbServer := httptest.NewServer(receiver)
	defer cbServer.Close()
	s := newTestServer(t, Config{})
	defer s.Close()
	sig := startSession(t, s, "once_user", cbServer.URL+"/cb")
	h5 := func(outcome string) *httptest.ResponseRecorder {
		return serve(t, s, call{method: http.MethodPost, target: "/h5/" + sig,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "outcome=" + outcome})
	}
	if rec := h5("PASS"); rec.Code != http.StatusSeeOther {
		t.Fatalf("the first finish: %d %s", rec.Code, rec.Body)
	}
	waitFor(t, func() bool { return len(receiver.received()) == 1 }, "the COMPLETED callback")

	page := serve(t, s, call{target: "/h5/" + sig})
	if page.Code != 200 || !strings.Contains(page.Body.String(), "finished: PASS") || strings.Contains(page.Body.String(), "<button") {
		t.Errorf("the page of a finished session: %d %s", page.Code, page.Body)
	}
	for _, outcome := range []string{"FAIL", "PASS", "SUBMIT"} {
		rec := h5(outcome)
		if rec.Code != http.StatusConflict || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
			!strings.Contains(rec.Body.String(), "already finished (PASS)") {
			t.Errorf("%s again on the page: %d %s", outcome, rec.Code, rec.Body)
		}
	}
	rec := serve(t, s, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", `{"overallResult":"FAIL","errorCode":"LIVENESS_ATTACK"}`))
	var body adminError
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusConflict ||
		!strings.Contains(body.Error, "already finished") || body.Hint == "" {
		t.Errorf("again through the admin API: %d %s", rec.Code, rec.Body)
	}

	time.Sleep(50 * time.Millisecond)
	if got := receiver.received(); len(got) != 1 {
		t.Errorf("%d callbacks, want the first one only: %v", len(got), got)
	}
	if n := s.journal.count(filter{Kind: "callback"}); n != 1 {
		t.Errorf("%d callback entries, want 1", n)
	}
	if env := decode(t, serve(t, s, latestCall("userId=once_user", ""))); !strings.Contains(string(env.Data), `"overallResult":"PASS"`) {
		t.Errorf("the outcome changed: %s", env.Data)
	}
}

// A submitted session can still finish, but submitting it again is refused: it would only
// send another SUBMIT_COMPLETED.
func TestH5AndAdminCompleteRefuseSubmittingAgain(t *testing.T) {
	receiver := &callbackReceiver{}
	cbServer := httptest.NewServer(receiver)
	defer cbServer.Close()
	s := newTestServer(t, Config{})
	defer s.Close()
	sig := startSession(t, s, "submit_user", cbServer.URL+"/cb")
	complete := func(body string) *httptest.ResponseRecorder {
		return serve(t, s, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", body))
	}
	if rec := complete(`{"state":"submitted"}`); rec.Code != 200 {
		t.Fatalf("submit: %d %s", rec.Code, rec.Body)
	}
	page := serve(t, s, call{target: "/h5/" + sig}).Body.String()
	if !strings.Contains(page, `value="PASS"`) || strings.Contains(page, `value="SUBMIT"`) {
		t.Errorf("the page of a submitted session: %s", page)
	}
	if rec := complete(`{"state":"submitted"}`); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "submitted already") {
		t.Errorf("submit again through the admin API: %d %s", rec.Code, rec.Body)
	}
	again := serve(t, s, call{method: http.MethodPost, target: "/h5/" + sig,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "outcome=SUBMIT"})
	if again.Code != http.StatusConflict || !strings.Contains(again.Body.String(), "already submitted") {
		t.Errorf("submit again on the page: %d %s", again.Code, again.Body)
	}
	if rec := complete(`{"overallResult":"PASS"}`); rec.Code != 200 {
		t.Errorf("finish after submitting: %d %s", rec.Code, rec.Body)
	}
	waitFor(t, func() bool { return len(receiver.received()) == 2 }, "SUBMIT_COMPLETED then COMPLETED")
	time.Sleep(50 * time.Millisecond)
	got := receiver.received() // in any order: callbacks go out in parallel
	slices.Sort(got)
	if want := []string{`{"signatureId":"` + sig + `","type":"COMPLETED"}`, `{"signatureId":"` + sig + `","type":"SUBMIT_COMPLETED"}`}; !slices.Equal(got, want) {
		t.Errorf("callbacks: %v, want one SUBMIT_COMPLETED and one COMPLETED", got)
	}
}
