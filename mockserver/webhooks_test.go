package mockserver

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idvmock/idvmock/scenarios/files"
	"github.com/idvmock/idvmock/webhook"
)

// testSecret is the webhook secret of these tests, and testSecretB64 as the console shows it.
var (
	testSecret    = []byte("idvmock-test-webhook-secret-0123")
	testSecretB64 = base64.StdEncoding.EncodeToString(testSecret)
)

// received is one delivery a receiver got.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
}

// webhookReceiver records deliveries and answers status(n) to the n-th (from 1); 200 when
// status is nil. A hold above 0 makes it wait that long before answering (a slow receiver).
type webhookReceiver struct {
	mu     sync.Mutex
	got    []received
	status func(n int) int
	hold   time.Duration
}

func (r *webhookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, received{at: time.Now(), header: req.Header.Clone(), body: body})
	n := len(r.got)
	r.mu.Unlock()
	if r.hold > 0 {
		select {
		case <-time.After(r.hold):
		case <-req.Context().Done():
			return
		}
	}
	if r.status != nil {
		w.WriteHeader(r.status(n))
	}
}

func (r *webhookReceiver) deliveries() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *webhookReceiver) count() int { return len(r.deliveries()) }

// newReceiver is a receiver served by an httptest server closed when the test ends.
func newReceiver(t *testing.T, r *webhookReceiver) string {
	t.Helper()
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL + "/idv-webhook"
}

// webhookServer is a mock with the deliveries rules of testdata and a webhook to url, at the
// scale given, closed when the test ends.
func webhookServer(t *testing.T, url string, alg webhook.Algorithm, scale float64, log *slog.Logger) *Server {
	t.Helper()
	s := newTestServer(t, Config{Engine: newEngine(t, 0, "deliveries.yaml"), Logger: log,
		Webhook: Webhook{URL: url, Secret: testSecret, Algorithm: alg, RetryScale: scale}})
	t.Cleanup(s.Close)
	return s
}

func webhookEntries(s *Server) []Entry { return s.journal.find(filter{Kind: "webhook"}, 0) }

// completeSession finishes sig through the admin API with body.
func completeSession(t *testing.T, s *Server, sig, body string) {
	t.Helper()
	if rec := serve(t, s, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", body)); rec.Code != 200 {
		t.Fatalf("complete %s with %s: %d %s", sig, body, rec.Code, rec.Body)
	}
}

// startWebhookSession starts a session without callbackUrl.
func startWebhookSession(t *testing.T, s *Server, userID string) string {
	t.Helper()
	rec := serve(t, s, generateCall(`{"userId":"`+userID+`","bizId":"b","region":"PHL","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko"}`))
	var g struct{ Data struct{ SignatureID string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil || g.Data.SignatureID == "" {
		t.Fatalf("generate: %d %s", rec.Code, rec.Body)
	}
	return g.Data.SignatureID
}

// independentSignature is what a receiver computes with the standard library alone:
// base64(HMAC(secret, aai-timestamp + aai-nonce + body)).
func independentSignature(newHash func() hash.Hash, secret []byte, h http.Header, body []byte) string {
	m := hmac.New(newHash, secret)
	m.Write([]byte(h.Get("aai-timestamp") + h.Get("aai-nonce")))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// A completion without callbackUrl is POSTed to the webhook as JSON with the three headers,
// signed with the secret for each algorithm as an independent HMAC computes it; the journal
// shows the headers sent.
func TestWebhookDeliveryIsSigned(t *testing.T) {
	for _, tc := range []struct {
		alg     webhook.Algorithm
		newHash func() hash.Hash
		size    int
	}{
		{webhook.SHA256, sha256.New, sha256.Size},
		{webhook.SHA512, sha512.New, sha512.Size},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			r := &webhookReceiver{}
			s := webhookServer(t, newReceiver(t, r), tc.alg, 0, nil)
			sig := startWebhookSession(t, s, "signed_user")
			before := time.Now().Unix()
			completeSession(t, s, sig, `{"overallResult":"PASS"}`)
			waitFor(t, func() bool { return r.count() == 1 && len(webhookEntries(s)) == 1 }, "one webhook delivered and journaled")

			got := r.deliveries()[0]
			if want := `{"signatureId":"` + sig + `","type":"COMPLETED"}`; string(got.body) != want {
				t.Errorf("body %s, want %s", got.body, want)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			raw, err := base64.StdEncoding.DecodeString(got.header.Get("aai-signature"))
			if err != nil || len(raw) != tc.size {
				t.Errorf("aai-signature %q: %d bytes (%v), want the standard Base64 of %d", got.header.Get("aai-signature"), len(raw), err, tc.size)
			}
			if want := independentSignature(tc.newHash, testSecret, got.header, got.body); got.header.Get("aai-signature") != want {
				t.Errorf("aai-signature %s, an independent HMAC gives %s", got.header.Get("aai-signature"), want)
			}
			var ts int64
			if err := json.Unmarshal([]byte(got.header.Get("aai-timestamp")), &ts); err != nil || ts < before || ts > time.Now().Unix() {
				t.Errorf("aai-timestamp %q is not the Unix seconds of the delivery", got.header.Get("aai-timestamp"))
			}
			if n := got.header.Get("aai-nonce"); len(n) < 32 || strings.Trim(n, "0123456789abcdef") != "" {
				t.Errorf("aai-nonce %q: want 16 random bytes or more in hex", n)
			}
			e := webhookEntries(s)[0]
			if e.Attempt != 1 || e.Status != 200 || e.Error != "" || e.Body != string(got.body) || e.Path != s.cfg.Webhook.URL ||
				e.Headers["aai-signature"] != got.header.Get("aai-signature") || e.Headers["aai-nonce"] != got.header.Get("aai-nonce") ||
				e.Headers["aai-timestamp"] != got.header.Get("aai-timestamp") || len(e.Headers) != 3 {
				t.Errorf("journal entry %+v", e)
			}
			if n := s.journal.count(filter{Kind: "callback"}); n != 0 {
				t.Errorf("%d callback entries for a session without callbackUrl", n)
			}
		})
	}
}

// A receiver that fails (HTTP 500, or no answer within the timeout) gets 4 tries, the
// vendor's schedule scaled by 0.01: waits of about 50, 100 and 200 ms, a 600 ms timeout.
// Each try is signed anew (a new nonce, the same body) and verifies; each is journaled, the
// last saying the mock gave up.
func TestWebhookRetriesOnTheScaledSchedule(t *testing.T) {
	for _, tc := range []struct {
		name     string
		receiver *webhookReceiver
		err      string
	}{
		{"HTTP 500", &webhookReceiver{status: func(int) int { return 500 }}, "the receiver answered HTTP 500; the vendor counts anything but 2xx as a failure"},
		{"timeout", &webhookReceiver{hold: 2 * time.Second}, "no answer within 600ms (the vendor's 1m0s, scaled by --webhook-retry-scale 0.01)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := webhookServer(t, newReceiver(t, tc.receiver), webhook.SHA256, 0.01, nil)
			sig := startWebhookSession(t, s, "retry_user")
			completeSession(t, s, sig, `{"overallResult":"FAIL","errorCode":"LIVENESS_ATTACK"}`)
			waitFor(t, func() bool { return len(webhookEntries(s)) == 4 }, "4 attempts journaled")
			time.Sleep(300 * time.Millisecond) // a fifth would come 400 ms after the fourth at the vendor's rhythm
			got := tc.receiver.deliveries()
			if len(got) != 4 {
				t.Fatalf("%d attempts, want 4", len(got))
			}
			signer := webhook.Signer{Secret: testSecret}
			nonces := map[string]bool{}
			for i, d := range got {
				if err := signer.Verify(d.header, d.body, webhook.VerifyOptions{MaxAge: time.Minute}); err != nil {
					t.Errorf("attempt %d does not verify: %v", i+1, err)
				}
				nonces[d.header.Get("aai-nonce")] = true
				if !bytes.Equal(d.body, got[0].body) {
					t.Errorf("attempt %d body %s differs from the first %s", i+1, d.body, got[0].body)
				}
			}
			if len(nonces) != 4 {
				t.Errorf("%d distinct nonces in 4 attempts: each retry is signed anew", len(nonces))
			}
			// The gaps between tries are the waits (plus the timeout, for a receiver that does
			// not answer): they grow about 5:10:20. Generous bounds: no tight timing.
			var extra time.Duration
			if tc.receiver.hold > 0 {
				extra = 600 * time.Millisecond
			}
			var gaps []time.Duration
			for i := 1; i < 4; i++ {
				gaps = append(gaps, got[i].at.Sub(got[i-1].at)-extra)
			}
			for i, nominal := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
				if gaps[i] < nominal*8/10 || gaps[i] > nominal+time.Second {
					t.Errorf("gap %d is %v, want about %v (gaps %v)", i+1, gaps[i], nominal, gaps)
				}
			}
			t.Logf("gaps between tries (timeout taken off): %v", gaps)
			if !(gaps[0] < gaps[2]) {
				t.Errorf("the gaps %v do not grow", gaps)
			}
			entries := webhookEntries(s) // newest first
			for i, e := range entries {
				if e.Attempt != 4-i || !strings.Contains(e.Error, tc.err) || len(e.Headers) != 3 {
					t.Errorf("entry of attempt %d: %+v", 4-i, e)
				}
			}
			if !strings.Contains(entries[0].Error, "given up after 4 attempts") || strings.Contains(entries[1].Error, "given up") {
				t.Errorf("the give-up: last %q, before %q", entries[0].Error, entries[1].Error)
			}
		})
	}
}

// Any 2xx takes a webhook, as the vendor says; a plain callback still wants HTTP 200.
func TestWebhookTakesAny2xx(t *testing.T) {
	for _, status := range []int{200, 201, 202, 204} {
		r := &webhookReceiver{status: func(int) int { return status }}
		s := webhookServer(t, newReceiver(t, r), webhook.SHA256, 0.01, nil)
		completeSession(t, s, startWebhookSession(t, s, "ok_user"), `{"overallResult":"PASS"}`)
		waitFor(t, func() bool { return len(webhookEntries(s)) == 1 }, "the attempt journaled")
		time.Sleep(120 * time.Millisecond) // a retry would come after 50 ms
		if e := webhookEntries(s); len(e) != 1 || e[0].Status != status || e[0].Error != "" || r.count() != 1 {
			t.Errorf("HTTP %d: %d deliveries, entries %+v", status, r.count(), e)
		}
	}
	r := &webhookReceiver{status: func(n int) int { return []int{204, 200}[min(n, 2)-1] }}
	s := webhookServer(t, "https://unused.example/hook", webhook.SHA256, 0.01, nil)
	s.callbackSchedule.waits = []time.Duration{10 * time.Millisecond}
	completeSession(t, s, startSession(t, s, "cb_user", newReceiver(t, r)), `{"overallResult":"PASS"}`)
	waitFor(t, func() bool { return len(callbackEntries(s)) == 2 }, "a callback answered 204, then retried")
	if e := callbackEntries(s); e[1].Status != 204 || !strings.Contains(e[1].Error, "until it gets 200") || e[0].Status != 200 {
		t.Errorf("callback entries %+v", e)
	}
}

// A session started with callbackUrl gets the plain callback, without signature headers,
// even with a webhook configured; the webhook receiver gets nothing.
func TestCallbackURLTakesPrecedenceOverTheWebhook(t *testing.T) {
	hook, cb := &webhookReceiver{}, &webhookReceiver{}
	s := webhookServer(t, newReceiver(t, hook), webhook.SHA256, 0.01, nil)
	sig := startSession(t, s, "cb_user", newReceiver(t, cb))
	completeSession(t, s, sig, `{"overallResult":"PASS"}`)
	waitFor(t, func() bool { return cb.count() == 1 && len(callbackEntries(s)) == 1 }, "the plain callback")
	time.Sleep(100 * time.Millisecond)
	got := cb.deliveries()[0]
	for name := range got.header {
		if strings.HasPrefix(strings.ToLower(name), "aai-") {
			t.Errorf("the plain callback carries %s", name)
		}
	}
	if string(got.body) != `{"signatureId":"`+sig+`","type":"COMPLETED"}` {
		t.Errorf("callback body %s", got.body)
	}
	if hook.count() != 0 || len(webhookEntries(s)) != 0 || len(callbackEntries(s)[0].Headers) != 0 {
		t.Errorf("the webhook got %d deliveries, %d entries; callback entry %+v", hook.count(), len(webhookEntries(s)), callbackEntries(s)[0])
	}
}

// A submission sends SUBMIT_COMPLETED, the verdict after it COMPLETED; an INCOMPLETE session
// sends no COMPLETED, by webhook or callback, and the journal says why.
func TestDeliveryTypesFollowTheSession(t *testing.T) {
	hook, cb := &webhookReceiver{}, &webhookReceiver{}
	s := webhookServer(t, newReceiver(t, hook), webhook.SHA256, 0.01, nil)
	types := func(r *webhookReceiver) []string {
		var out []string
		for _, d := range r.deliveries() {
			var b struct{ Type string }
			_ = json.Unmarshal(d.body, &b)
			out = append(out, b.Type)
		}
		return out
	}

	passed := startWebhookSession(t, s, "submit_pass")
	completeSession(t, s, passed, `{"state":"submitted"}`)
	waitFor(t, func() bool { return hook.count() == 1 }, "SUBMIT_COMPLETED")
	completeSession(t, s, passed, `{"overallResult":"PASS"}`)
	waitFor(t, func() bool { return hook.count() == 2 }, "COMPLETED")
	if got := types(hook); !slices.Equal(got, []string{"SUBMIT_COMPLETED", "COMPLETED"}) {
		t.Errorf("webhook types %v", got)
	}

	gaveUp := startWebhookSession(t, s, "submit_incomplete")
	completeSession(t, s, gaveUp, `{"state":"submitted"}`)
	waitFor(t, func() bool { return hook.count() == 3 }, "SUBMIT_COMPLETED")
	completeSession(t, s, gaveUp, `{"overallResult":"INCOMPLETE","errorCode":"TIMEOUT"}`)
	direct := startSession(t, s, "incomplete_cb", newReceiver(t, cb))
	if rec := serve(t, s, call{method: http.MethodPost, target: "/h5/" + direct,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "outcome=INCOMPLETE"}); rec.Code != http.StatusSeeOther {
		t.Fatalf("INCOMPLETE on the H5 page: %d", rec.Code)
	}
	notSent := func(entries []Entry) []Entry {
		return slices.DeleteFunc(entries, func(e Entry) bool { return !strings.Contains(e.Error, "INCOMPLETE") })
	}
	waitFor(t, func() bool { return len(notSent(webhookEntries(s))) == 1 && len(notSent(callbackEntries(s))) == 1 }, "two entries of a COMPLETED not sent")
	time.Sleep(100 * time.Millisecond)
	if got := types(hook); !slices.Equal(got, []string{"SUBMIT_COMPLETED", "COMPLETED", "SUBMIT_COMPLETED"}) {
		t.Errorf("webhook types %v: no COMPLETED for the INCOMPLETE session", got)
	}
	if cb.count() != 0 {
		t.Errorf("the callback of an INCOMPLETE session was sent: %v", types(cb))
	}
	for _, e := range append(notSent(webhookEntries(s)), notSent(callbackEntries(s))...) {
		if e.Attempt != 0 || e.Status != 0 || !strings.HasPrefix(e.Error, "not sent: the session's overallResult is INCOMPLETE") ||
			!strings.Contains(e.Error, "the vendor sends no COMPLETED") || !strings.Contains(e.Body, `"type":"COMPLETED"`) {
			t.Errorf("not-sent entry %+v", e)
		}
	}
}

// duplicate_delivery sends the webhook twice, in full, each signed anew; the journal names
// the rule and the fault.
func TestDuplicateDeliveryFault(t *testing.T) {
	r := &webhookReceiver{}
	s := webhookServer(t, newReceiver(t, r), webhook.SHA256, 0.01, nil)
	completeSession(t, s, startWebhookSession(t, s, "dup-1"), `{"overallResult":"PASS"}`)
	waitFor(t, func() bool { return r.count() == 2 && len(webhookEntries(s)) == 2 }, "two deliveries")
	time.Sleep(100 * time.Millisecond)
	got := r.deliveries()
	if len(got) != 2 || !bytes.Equal(got[0].body, got[1].body) || got[0].header.Get("aai-nonce") == got[1].header.Get("aai-nonce") {
		t.Fatalf("deliveries: %d; bodies %s / %s", len(got), got[0].body, got[1].body)
	}
	signer := webhook.Signer{Secret: testSecret}
	var notes []string
	for i, e := range webhookEntries(s) {
		if err := signer.Verify(got[i].header, got[i].body, webhook.VerifyOptions{}); err != nil {
			t.Errorf("delivery %d: %v", i+1, err)
		}
		if e.Rule != "twice" || e.Fault != "duplicate_delivery" || e.Attempt != 1 || e.Status != 200 {
			t.Errorf("entry %+v", e)
		}
		notes = append(notes, e.Note)
	}
	slices.Sort(notes)
	if !slices.Equal(notes, []string{"duplicate_delivery: delivery 1 of 2", "duplicate_delivery: delivery 2 of 2"}) {
		t.Errorf("notes %q", notes)
	}
	list := adminCall(http.MethodGet, "/__admin/requests?kind=webhook&fault=duplicate_delivery", "")
	rec := serve(t, s, list)
	newSpecChecker(t).check(t, list, rec)
	var found struct{ Requests []Entry }
	if err := json.Unmarshal(rec.Body.Bytes(), &found); err != nil || len(found.Requests) != 2 {
		t.Errorf("?fault=duplicate_delivery: %d %s", rec.Code, rec.Body)
	}
}

// bad_signature sends a well-formed aai-signature that does not verify, over the intact body;
// a receiver that refuses it gets the vendor's retries. On a plain callback it changes
// nothing, and the journal says so.
func TestBadSignatureFault(t *testing.T) {
	signer := webhook.Signer{Secret: testSecret}
	r := &webhookReceiver{}
	r.status = func(n int) int {
		d := r.deliveries()[n-1]
		if signer.Verify(d.header, d.body, webhook.VerifyOptions{}) != nil {
			return http.StatusUnauthorized
		}
		return 200
	}
	s := webhookServer(t, newReceiver(t, r), webhook.SHA256, 0.01, nil)
	sig := startWebhookSession(t, s, "forged-1")
	completeSession(t, s, sig, `{"overallResult":"PASS"}`)
	waitFor(t, func() bool { return len(webhookEntries(s)) == 4 }, "4 refused attempts")
	for i, d := range r.deliveries() {
		err := signer.Verify(d.header, d.body, webhook.VerifyOptions{})
		raw, decodeErr := base64.StdEncoding.DecodeString(d.header.Get("aai-signature"))
		if !strings.Contains(errString(err), "does not match") || decodeErr != nil || len(raw) != sha256.Size {
			t.Errorf("attempt %d: verify %v; signature %q", i+1, err, d.header.Get("aai-signature"))
		}
		if string(d.body) != `{"signatureId":"`+sig+`","type":"COMPLETED"}` {
			t.Errorf("attempt %d: the body was changed: %s", i+1, d.body)
		}
	}
	for _, e := range webhookEntries(s) {
		if e.Status != 401 || e.Rule != "forged" || e.Fault != "bad_signature" || !strings.Contains(e.Note, "random key") {
			t.Errorf("entry %+v", e)
		}
	}

	cb := &webhookReceiver{}
	plain := startSession(t, s, "forged-2", newReceiver(t, cb))
	completeSession(t, s, plain, `{"overallResult":"PASS"}`)
	waitFor(t, func() bool { return len(callbackEntries(s)) == 1 }, "the plain callback")
	if e := callbackEntries(s)[0]; e.Status != 200 || e.Fault != "bad_signature" || !strings.Contains(e.Note, "a plain callback carries no signature") {
		t.Errorf("plain callback entry %+v", e)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// --callback-allow applies to webhooks: a refused receiver is journaled and not retried.
func TestWebhookFollowsTheAllowList(t *testing.T) {
	r := &webhookReceiver{}
	url := newReceiver(t, r)
	allow, err := ParseCallbackAllow("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, Config{Callbacks: CallbackPolicy{Allow: allow},
		Webhook: Webhook{URL: url, Secret: testSecret, RetryScale: 0.01}})
	defer s.Close()
	completeSession(t, s, startWebhookSession(t, s, "allow_user"), `{"overallResult":"PASS"}`)
	waitFor(t, func() bool { return len(webhookEntries(s)) == 1 }, "the refused attempt")
	time.Sleep(120 * time.Millisecond)
	if e := webhookEntries(s); len(e) != 1 || r.count() != 0 || !strings.Contains(e[0].Error, "not allowed by --callback-allow") {
		t.Errorf("received %d; entries %+v", r.count(), e)
	}
}

// The secret, as given or decoded, never reaches the journal (through the admin API) or the
// log, whatever happens to the deliveries.
func TestWebhookSecretIsNeverShown(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewJSONHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := &webhookReceiver{status: func(n int) int { return []int{500, 200}[(n-1)%2] }}
	s := webhookServer(t, newReceiver(t, r), webhook.SHA512, 0.01, log)
	for _, user := range []string{"plain_user", "dup-2", "forged-3"} {
		completeSession(t, s, startWebhookSession(t, s, user), `{"overallResult":"PASS"}`)
	}
	failing := webhookServer(t, "http://127.0.0.1:1/unreachable", webhook.SHA256, 0.001, log)
	completeSession(t, failing, startWebhookSession(t, failing, "down_user"), `{"overallResult":"PASS"}`)
	waitFor(t, func() bool { return len(webhookEntries(failing)) == 4 && len(webhookEntries(s)) >= 6 }, "the deliveries journaled")

	var journal bytes.Buffer
	sc := newSpecChecker(t)
	for _, srv := range []*Server{s, failing} {
		list := adminCall(http.MethodGet, "/__admin/requests?kind=webhook", "")
		rec := serve(t, srv, list)
		sc.check(t, list, rec) // the entries conform to openapi.yaml's JournalEntry
		journal.Write(rec.Body.Bytes())
	}
	logMu.Lock()
	logged := logs.String()
	logMu.Unlock()
	if !strings.Contains(journal.String(), "aai-signature") || !strings.Contains(logged, "webhook given up") {
		t.Fatalf("the test saw no signature in the journal or no give-up in the log:\n%s\n%s", journal.String(), logged)
	}
	for name, text := range map[string]string{"journal": journal.String(), "log": logged} {
		for _, secret := range []string{testSecretB64, string(testSecret), base64.RawStdEncoding.EncodeToString(testSecret)} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s shows the secret %q", name, secret)
			}
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A webhook that could not be delivered or signed is refused when the server is made.
func TestWebhookConfigIsChecked(t *testing.T) {
	for _, tc := range []struct {
		hook Webhook
		want string
	}{
		{Webhook{URL: "ftp://app.example/hook", Secret: testSecret}, "not an http(s) URL"},
		{Webhook{URL: "https:///hook", Secret: testSecret}, "has no host"},
		{Webhook{URL: "https://user:pw@app.example/hook", Secret: testSecret}, "carries credentials"},
		{Webhook{URL: "https://app.example/hook"}, "no secret"},
		{Webhook{URL: "https://app.example/hook", Secret: testSecret, Algorithm: "md5"}, "unknown algorithm"},
		{Webhook{URL: "https://app.example/hook", Secret: testSecret, RetryScale: 2}, "from 0.001 to 1"},
	} {
		_, err := New(Config{AccessKey: "a", SecretKey: "s", Engine: newEngine(t, 0), ParseUser: files.ParseUser,
			Webhook: tc.hook})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pw@") {
			t.Errorf("%+v: %v, want an error with %q", tc.hook.URL, err, tc.want)
		}
	}
}

// The webhook URL is the operator's setting, like the secret: a credential in its query (the
// vendor recommends one for callbacks) never reaches the journal or the log, whether the
// delivery is taken or given up. The URL's scheme, host and path are shown.
func TestWebhookURLQueryIsNeverShown(t *testing.T) {
	const credential = "q-credential-7f3a91"
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewJSONHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := &webhookReceiver{}
	s := webhookServer(t, newReceiver(t, r)+"?auth="+credential, webhook.SHA256, 0.01, log)
	completeSession(t, s, startWebhookSession(t, s, "query_user"), `{"overallResult":"PASS"}`)
	failing := webhookServer(t, "http://127.0.0.1:1/unreachable?auth="+credential, webhook.SHA256, 0.001, log)
	completeSession(t, failing, startWebhookSession(t, failing, "query_down"), `{"overallResult":"PASS"}`)
	waitFor(t, func() bool { return len(webhookEntries(failing)) == 4 && len(webhookEntries(s)) == 1 }, "the deliveries journaled")
	if d := r.deliveries(); len(d) != 1 {
		t.Fatalf("the receiver got %d deliveries", len(d))
	}
	var journal bytes.Buffer
	for _, srv := range []*Server{s, failing} {
		rec := serve(t, srv, adminCall(http.MethodGet, "/__admin/requests?kind=webhook", ""))
		journal.Write(rec.Body.Bytes())
	}
	logMu.Lock()
	logged := logs.String()
	logMu.Unlock()
	if !strings.Contains(logged, "webhook given up") || !strings.Contains(journal.String(), "/unreachable") {
		t.Fatalf("the test saw no give-up in the log or no URL in the journal:\n%s\n%s", journal.String(), logged)
	}
	for name, text := range map[string]string{"journal": journal.String(), "log": logged} {
		if strings.Contains(text, credential) {
			t.Errorf("the %s shows the webhook URL's query %q:\n%s", name, credential, text)
		}
	}
}
