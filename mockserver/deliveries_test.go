package mockserver

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingReceiver counts the callbacks it gets and answers status (default 200).
type countingReceiver struct {
	n      atomic.Int32
	status int
}

func (r *countingReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	r.n.Add(1)
	if r.status != 0 {
		w.WriteHeader(r.status)
	}
}

// blockingReceiver takes callbacks but answers none until released.
type blockingReceiver struct {
	n       atomic.Int32
	release chan struct{}
}

func newBlockingReceiver() *blockingReceiver { return &blockingReceiver{release: make(chan struct{})} }

func (r *blockingReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	r.n.Add(1)
	select {
	case <-r.release:
	case <-req.Context().Done():
	}
}

// newCallbackServer is a server with the callback policy p, closed when the test ends.
func newCallbackServer(t *testing.T, p CallbackPolicy) *Server {
	t.Helper()
	s := newTestServer(t, Config{Callbacks: p})
	t.Cleanup(s.Close)
	return s
}

func callbackEntries(s *Server) []Entry { return s.journal.find(filter{Kind: "callback"}, 0) }

// sendCallback sends a plain callback of a completion of kind to target, as Server.report
// does for a session started with callbackUrl.
func sendCallback(s *Server, target, signatureID, kind, userID string) {
	body, _ := json.Marshal(map[string]string{"signatureId": signatureID, "type": kind})
	s.deliveries.send(&delivery{sched: s.callbackSchedule, target: target, signatureID: signatureID, userID: userID, body: body})
}

// A receiver that redirects gets failed attempts, each journaled with the 3xx; the redirect
// target receives nothing.
func TestCallbackRedirectsAreNotFollowed(t *testing.T) {
	target := &countingReceiver{}
	targetServer := httptest.NewServer(target)
	defer targetServer.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, targetServer.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	s := newCallbackServer(t, CallbackPolicy{Attempts: 2, Backoff: 5 * time.Millisecond})

	sendCallback(s, redirector.URL+"/cb", "sig-redirect", "COMPLETED", "u1")
	waitFor(t, func() bool { return len(callbackEntries(s)) == 2 }, "2 journaled attempts")
	for _, e := range callbackEntries(s) {
		if e.Status != http.StatusTemporaryRedirect || !strings.Contains(e.Error, "redirect") || !strings.Contains(e.Error, "not followed") {
			t.Errorf("attempt %d: status %d, error %q; want 307 and a redirect not followed", e.Attempt, e.Status, e.Error)
		}
	}
	if n := target.n.Load(); n != 0 {
		t.Errorf("the redirect target received %d callbacks, want none", n)
	}
}

// With 1 worker and at most 3 deliveries pending, 10 completions against a receiver that
// blocks leave 1 callback in flight and 2 queued; the other 7 are journaled as dropped and
// never sent. The goroutines do not grow with the completions. Once the receiver answers,
// the 3 accepted ones are delivered.
func TestCallbackPoolAndQueueAreBounded(t *testing.T) {
	receiver := newBlockingReceiver()
	cbServer := httptest.NewServer(receiver)
	defer cbServer.Close()
	var once sync.Once
	release := func() { once.Do(func() { close(receiver.release) }) }
	defer release()
	s := newCallbackServer(t, CallbackPolicy{Workers: 1, MaxPending: 3, Timeout: time.Minute})

	sigs := make([]string, 10)
	for i := range sigs {
		sigs[i] = startSession(t, s, "pool_user", cbServer.URL+"/cb")
	}
	before := runtime.NumGoroutine()
	for _, sig := range sigs {
		if rec := serve(t, s, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", `{"overallResult":"PASS"}`)); rec.Code != 200 {
			t.Fatalf("complete: %d %s", rec.Code, rec.Body)
		}
	}
	dropped := func() []Entry {
		var out []Entry
		for _, e := range callbackEntries(s) {
			if strings.Contains(e.Error, "dropped") {
				out = append(out, e)
			}
		}
		return out
	}
	waitFor(t, func() bool { return receiver.n.Load() == 1 && len(dropped()) == 7 }, "1 callback in flight and 7 dropped")
	time.Sleep(50 * time.Millisecond) // a second worker, if any, would have sent another by now
	if n := receiver.n.Load(); n != 1 {
		t.Errorf("%d callbacks in flight with 1 worker", n)
	}
	s.deliveries.mu.Lock()
	pending := s.deliveries.pending
	s.deliveries.mu.Unlock()
	if pending != 3 {
		t.Errorf("%d deliveries pending, want the bound, 3 (1 being sent, 2 queued)", pending)
	}
	if grown := runtime.NumGoroutine() - before; grown > 12 {
		t.Errorf("%d more goroutines for 10 completions; want a fixed pool", grown)
	}
	for _, e := range dropped() {
		if e.Status != 0 || e.Attempt != 0 || !strings.Contains(e.Error, "3 deliveries (callbacks and webhooks) are already pending") ||
			!strings.Contains(e.Error, "--callback-max-pending") || !strings.Contains(e.Body, `"signatureId"`) {
			t.Errorf("dropped entry: %+v", e)
		}
	}

	release()
	waitFor(t, func() bool { return receiver.n.Load() == 3 }, "the 3 accepted callbacks delivered")
	waitFor(t, func() bool { return len(callbackEntries(s)) == 10 }, "10 callback entries: 3 attempts and 7 drops")
	delivered := map[string]bool{}
	for _, e := range callbackEntries(s) {
		if e.Error == "" {
			var body struct{ SignatureID, Type string }
			if err := json.Unmarshal([]byte(e.Body), &body); err != nil || e.Status != 200 || e.Attempt != 1 || body.Type != "COMPLETED" {
				t.Errorf("delivered entry: %+v", e)
			}
			delivered[body.SignatureID] = true
		}
	}
	for _, sig := range sigs[:3] { // the first three completions took the three places
		if !delivered[sig] {
			t.Errorf("%s was not delivered (delivered: %v)", sig, delivered)
		}
	}
}

// A delivery waiting for its retry holds no worker: with 1 worker, a callback to a healthy
// receiver goes out while another waits to be retried.
func TestCallbackRetryWaitHoldsNoWorker(t *testing.T) {
	failing := httptest.NewServer(&countingReceiver{status: http.StatusInternalServerError})
	defer failing.Close()
	healthy := &countingReceiver{}
	healthyServer := httptest.NewServer(healthy)
	defer healthyServer.Close()
	s := newCallbackServer(t, CallbackPolicy{Workers: 1, Attempts: 2, Backoff: time.Hour})

	sendCallback(s, failing.URL, "sig-failing", "COMPLETED", "u1")
	waitFor(t, func() bool { return len(callbackEntries(s)) == 1 }, "the first attempt journaled")
	sendCallback(s, healthyServer.URL, "sig-healthy", "COMPLETED", "u2")
	waitFor(t, func() bool { return healthy.n.Load() == 1 }, "the healthy receiver called while the other waits an hour")
}

// Every attempt is journaled with its status and the body POSTed; the last says the mock gave
// up.
func TestCallbackGivesUpAfterTheAttempts(t *testing.T) {
	failing := httptest.NewServer(&countingReceiver{status: http.StatusServiceUnavailable})
	defer failing.Close()
	s := newCallbackServer(t, CallbackPolicy{Attempts: 3, Backoff: 5 * time.Millisecond})

	sendCallback(s, failing.URL+"/cb", "sig-down", "SUBMIT_COMPLETED", "u1")
	waitFor(t, func() bool { return len(callbackEntries(s)) == 3 }, "3 attempts")
	time.Sleep(50 * time.Millisecond)
	entries := callbackEntries(s) // newest first
	if len(entries) != 3 {
		t.Fatalf("%d entries after giving up, want 3", len(entries))
	}
	for i, e := range entries {
		if e.Attempt != 3-i || e.Status != 503 || e.Body != `{"signatureId":"sig-down","type":"SUBMIT_COMPLETED"}` || !strings.Contains(e.Error, "HTTP 503") {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	if !strings.Contains(entries[0].Error, "given up after 3 attempts") || strings.Contains(entries[1].Error, "given up") {
		t.Errorf("the give-up: last %q, before %q", entries[0].Error, entries[1].Error)
	}
}

// Close does not wait for retries that are not due, nor for a receiver that never answers.
func TestCallbackCloseIsPrompt(t *testing.T) {
	failing := httptest.NewServer(&countingReceiver{status: http.StatusInternalServerError})
	defer failing.Close()
	blocking := newBlockingReceiver()
	blockingServer := httptest.NewServer(blocking)
	defer blockingServer.Close()
	defer close(blocking.release)
	s := newTestServer(t, Config{Callbacks: CallbackPolicy{Workers: 2, Backoff: time.Hour, Timeout: time.Hour}})

	sendCallback(s, failing.URL, "sig-retry", "COMPLETED", "u1")
	sendCallback(s, blockingServer.URL, "sig-hang", "COMPLETED", "u2")
	waitFor(t, func() bool { return len(callbackEntries(s)) == 1 && blocking.n.Load() == 1 }, "one attempt failed, one in flight")
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	entries := callbackEntries(s)
	if len(entries) != 2 || !strings.Contains(entries[0].Error, "shutting down") {
		t.Errorf("after Close: %+v", entries)
	}
	sendCallback(s, failing.URL, "sig-late", "COMPLETED", "u3")
	if e := callbackEntries(s)[0]; !strings.Contains(e.Error, "not sent: the server is shutting down") {
		t.Errorf("a completion after Close: %+v", e)
	}
}

// The allow-list is checked on the address connected to: a listed name or an address in a
// listed network is called; anything else is journaled as refused and not retried.
func TestCallbackAllowList(t *testing.T) {
	receiver := &countingReceiver{}
	rs := httptest.NewServer(receiver)
	defer rs.Close()
	port := strconv.Itoa(rs.Listener.Addr().(*net.TCPAddr).Port)
	byIP := "http://127.0.0.1:" + port + "/cb"
	byName := "http://localhost:" + port + "/cb"
	for _, tc := range []struct {
		name, allow, url string
		refused          []string // what the error names; nil: allowed
	}{
		{"allowed name", "app.internal,localhost", byName, nil},
		{"allowed network", "10.0.0.0/8, 127.0.0.0/8", byIP, nil},
		{"allowed address", "127.0.0.1", byIP, nil},
		{"refused address", "10.0.0.0/8,localhost", byIP, []string{"127.0.0.1", "not allowed by --callback-allow", "not retried"}},
		{"refused name resolving to a refused address", "app.internal,10.0.0.0/8", byName, []string{"localhost", "not allowed by --callback-allow"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allow, err := ParseCallbackAllow(tc.allow)
			if err != nil {
				t.Fatal(err)
			}
			before := receiver.n.Load()
			s := newCallbackServer(t, CallbackPolicy{Allow: allow, Attempts: 3, Backoff: 5 * time.Millisecond})
			sendCallback(s, tc.url, "sig", "COMPLETED", "u1")
			waitFor(t, func() bool { return len(callbackEntries(s)) == 1 }, "an attempt")
			time.Sleep(50 * time.Millisecond) // a retry would come after 5 ms
			entries := callbackEntries(s)
			got := receiver.n.Load() - before
			if tc.refused == nil {
				if got != 1 || entries[0].Status != 200 || entries[0].Error != "" {
					t.Errorf("received %d; entries %+v", got, entries)
				}
				return
			}
			if got != 0 || len(entries) != 1 || entries[0].Status != 0 {
				t.Fatalf("refused target: received %d; entries %+v", got, entries)
			}
			for _, want := range tc.refused {
				if !strings.Contains(entries[0].Error, want) {
					t.Errorf("the error %q does not say %q", entries[0].Error, want)
				}
			}
		})
	}
}

func TestParseCallbackAllow(t *testing.T) {
	a, err := ParseCallbackAllow(" app.internal, *.Example.com,10.0.0.0/8,127.0.0.1,::1, ")
	if err != nil {
		t.Fatal(err)
	}
	if a.Empty() || a.String() != "app.internal,*.Example.com,10.0.0.0/8,127.0.0.1,::1" {
		t.Errorf("parsed %q", a)
	}
	for host, want := range map[string]bool{
		"app.internal": true, "APP.internal.": true, "a.example.com": true, "a.b.example.com": true,
		"example.com": false, "badexample.com": false, "app.internal.evil": false, "127.0.0.1": false,
	} {
		if a.allowsName(host) != want {
			t.Errorf("name %s: allowed %v, want %v", host, !want, want)
		}
	}
	for ip, want := range map[string]bool{
		"10.1.2.3": true, "127.0.0.1": true, "::1": true, "::ffff:10.0.0.1": true, "127.0.0.2": false, "11.0.0.1": false,
	} {
		if a.allowsAddr(netip.MustParseAddr(ip)) != want {
			t.Errorf("address %s: allowed %v, want %v", ip, !want, want)
		}
	}
	if empty, err := ParseCallbackAllow(" , "); err != nil || !empty.Empty() {
		t.Errorf("an empty list: %v %v", empty, err)
	}
	for in, want := range map[string]string{
		"app.internal,10.0.0.0/33": `"10.0.0.0/33" is not a network`,
		"300.0.0.0/8":              `"300.0.0.0/8" is not a network`,
		"http://app.internal":      "is a URL",
		"app.internal:8080":        "without a port",
		"*":                        "would allow every host",
		"api.*.example.com":        "is not a host name",
		"exa mple.com":             "is not a host name",
	} {
		if _, err := ParseCallbackAllow(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", in, err, want)
		}
	}
}

// startSession starts a session through Generate URL and returns its signatureId.
func startSession(t *testing.T, s *Server, userID, callbackURL string) string {
	t.Helper()
	rec := serve(t, s, generateCall(`{"userId":"`+userID+`","bizId":"b","region":"PHL","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko","callbackUrl":"`+callbackURL+`"}`))
	var g struct{ Data struct{ SignatureID string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil || g.Data.SignatureID == "" {
		t.Fatalf("generate: %d %s", rec.Code, rec.Body)
	}
	return g.Data.SignatureID
}
