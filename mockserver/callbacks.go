package mockserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// CallbackPolicy says how a completed session is reported to its callbackUrl: the vendor
// POSTs {"signatureId", "type"} and retries until the receiver answers HTTP 200.
type CallbackPolicy struct {
	Attempts int           // tries in all; default 5
	Backoff  time.Duration // wait before the second try, doubled after each; default 1s
	Timeout  time.Duration // per try; default 5s
	Client   *http.Client  // default: a client with Timeout
}

func (p *CallbackPolicy) setDefaults() {
	if p.Attempts <= 0 {
		p.Attempts = 5
	}
	if p.Backoff <= 0 {
		p.Backoff = time.Second
	}
	if p.Timeout <= 0 {
		p.Timeout = 5 * time.Second
	}
	if p.Client == nil {
		p.Client = &http.Client{Timeout: p.Timeout}
	}
}

// callbacks delivers callbacks in the background and journals every attempt.
type callbacks struct {
	policy  CallbackPolicy
	journal *journal
	log     *slog.Logger
	stop    <-chan struct{}
	wg      sync.WaitGroup
}

func newCallbacks(p CallbackPolicy, j *journal, log *slog.Logger, stop <-chan struct{}) *callbacks {
	return &callbacks{policy: p, journal: j, log: log, stop: stop}
}

// deliver reports a session's completion to target, retrying on anything but HTTP 200.
func (cb *callbacks) deliver(target, signatureID, kind, userID string) {
	body, _ := json.Marshal(map[string]string{"signatureId": signatureID, "type": kind})
	cb.wg.Add(1)
	go func() {
		defer cb.wg.Done()
		wait := cb.policy.Backoff
		for attempt := 1; attempt <= cb.policy.Attempts; attempt++ {
			if cb.try(target, body, signatureID, kind, userID, attempt) {
				return
			}
			if attempt == cb.policy.Attempts {
				cb.log.Warn("callback given up", slog.String("url", target), slog.String("signatureId", signatureID), slog.Int("attempts", attempt))
				return
			}
			select {
			case <-time.After(wait):
			case <-cb.stop:
				return
			}
			wait *= 2
		}
	}()
}

// try makes one attempt and journals it; it reports whether the receiver took the callback.
func (cb *callbacks) try(target string, body []byte, signatureID, kind, userID string, attempt int) bool {
	start := time.Now()
	entry := Entry{Time: start.UTC(), Kind: "callback", Method: http.MethodPost, Path: target, UserID: userID,
		Query: url.Values{"signatureId": {signatureID}, "type": {kind}}.Encode(), Attempt: attempt}
	ctx, cancel := context.WithTimeout(context.Background(), cb.policy.Timeout)
	defer cancel()
	go func() { // a stopping server does not wait for a slow receiver
		select {
		case <-cb.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		if resp, err = cb.policy.Client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			entry.Status = resp.StatusCode
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("the receiver answered HTTP %d; the vendor retries until it gets 200", resp.StatusCode)
			}
		}
	}
	if err != nil {
		entry.Error = err.Error()
	}
	entry.LatencyMillis = float64(time.Since(start).Microseconds()) / 1000
	cb.journal.add(entry)
	return err == nil
}

// wait returns when every delivery has ended.
func (cb *callbacks) wait() { cb.wg.Wait() }
