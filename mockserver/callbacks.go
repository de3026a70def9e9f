package mockserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// delivery is one callback to send, tried until the receiver takes it or the attempts run
// out.
type delivery struct {
	target, signatureID, kind, userID string
	body                              []byte
	attempt                           int           // the next attempt, from 1
	wait                              time.Duration // before the retry after it
}

// callbacks delivers callbacks in the background through a fixed pool of workers and a
// bounded queue, and journals every attempt. A delivery waiting for a retry is held by a
// timer, not by a worker.
type callbacks struct {
	policy  CallbackPolicy
	client  *http.Client
	refuse  error // every callback is refused with it (Allow cannot be enforced)
	journal *journal
	log     *slog.Logger
	stop    <-chan struct{}
	queue   chan *delivery // never holds more than MaxPending: sends do not block

	mu      sync.Mutex
	started bool
	closed  bool
	pending int                       // queued, being sent or waiting for a retry
	timers  map[*delivery]*time.Timer // the deliveries waiting for a retry
	ctx     context.Context           // cancelled when the server stops: attempts in flight end
	wg      sync.WaitGroup            // the workers
}

func newCallbacks(p CallbackPolicy, j *journal, log *slog.Logger, stop <-chan struct{}) *callbacks {
	p.setDefaults()
	cb := &callbacks{policy: p, journal: j, log: log, stop: stop,
		queue: make(chan *delivery, p.MaxPending), timers: map[*delivery]*time.Timer{}}
	cb.client, cb.refuse = p.client()
	return cb
}

// deliver reports a session's completion to target in the background, retrying on anything
// but HTTP 200, or journals why it will not.
func (cb *callbacks) deliver(target, signatureID, kind, userID string) {
	body, _ := json.Marshal(map[string]string{"signatureId": signatureID, "type": kind})
	d := &delivery{target: target, signatureID: signatureID, kind: kind, userID: userID, body: body,
		attempt: 1, wait: cb.policy.Backoff}
	cb.mu.Lock()
	var why string
	switch {
	case cb.closed || cb.stopped():
		why = "not sent: the server is shutting down"
	case cb.pending >= cb.policy.MaxPending:
		why = fmt.Sprintf("dropped, not sent: %d callbacks are already pending (queued, being sent or waiting for a retry), the bound set by %s (default %d); their receivers are slow or down",
			cb.pending, settingMaxPending, DefaultCallbackMaxPending)
	}
	if why != "" {
		cb.mu.Unlock()
		cb.journal.add(cb.entry(d, time.Now(), why))
		cb.log.Warn("callback not sent", slog.String("url", target), slog.String("signatureId", signatureID), slog.String("why", why))
		return
	}
	if !cb.started {
		cb.startLocked()
	}
	cb.pending++
	cb.mu.Unlock()
	cb.queue <- d
}

func (cb *callbacks) stopped() bool {
	select {
	case <-cb.stop:
		return true
	default:
		return false
	}
}

// startLocked starts the workers, on the first delivery: a server that never calls back runs
// none.
func (cb *callbacks) startLocked() {
	cb.started = true
	ctx, cancel := context.WithCancel(context.Background())
	cb.ctx = ctx
	cb.wg.Add(cb.policy.Workers + 1)
	go func() {
		defer cb.wg.Done()
		<-cb.stop
		cancel()
	}()
	for range cb.policy.Workers {
		go cb.work()
	}
}

func (cb *callbacks) work() {
	defer cb.wg.Done()
	for {
		select {
		case <-cb.stop:
			return
		case d := <-cb.queue:
			cb.attempt(d)
		}
	}
}

// attempt makes one try of d, journals it, and schedules the next one or ends d.
func (cb *callbacks) attempt(d *delivery) {
	if cb.stopped() {
		return // the server stopped while d was queued
	}
	start := time.Now()
	status, err := cb.post(d)
	final := d.attempt >= cb.policy.Attempts
	var refused *notAllowedError
	var msg string
	switch {
	case err == nil:
	case cb.stopped():
		msg = err.Error() + "; not retried: the server is shutting down"
		final = true
	case errors.As(err, &refused):
		msg, final = refused.Error(), true // not "dial tcp ...: refused: ..."
	case errors.Is(err, cb.refuse):
		msg, final = err.Error(), true
	case final:
		msg = fmt.Sprintf("%v; given up after %d attempts", err, d.attempt)
	default:
		msg = err.Error()
	}
	e := cb.entry(d, start, msg)
	e.Attempt, e.Status = d.attempt, status
	e.LatencyMillis = float64(time.Since(start).Microseconds()) / 1000
	cb.journal.add(e)
	if err == nil || final {
		if err != nil {
			cb.log.Warn("callback given up", slog.String("url", d.target), slog.String("signatureId", d.signatureID),
				slog.Int("attempts", d.attempt), slog.String("error", msg))
		}
		cb.mu.Lock()
		cb.pending--
		cb.mu.Unlock()
		return
	}
	wait := d.wait
	d.attempt++
	d.wait *= 2
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.closed {
		cb.pending--
		return
	}
	cb.timers[d] = time.AfterFunc(wait, func() {
		cb.mu.Lock()
		delete(cb.timers, d)
		cb.mu.Unlock()
		if !cb.stopped() {
			cb.queue <- d // d is counted in pending: there is room
		}
	})
}

// post sends d once; it answers the receiver's status, and why the attempt failed.
func (cb *callbacks) post(d *delivery) (int, error) {
	if cb.refuse != nil {
		return 0, cb.refuse
	}
	ctx, cancel := context.WithTimeout(cb.ctx, cb.policy.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.target, bytes.NewReader(d.body))
	if err != nil {
		return 0, fmt.Errorf("the callbackUrl cannot be called: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := cb.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the entry's path already
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp.StatusCode, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Errorf("the receiver answered HTTP %d, a redirect to %q, which was not followed: give the final URL as callbackUrl; the vendor retries until it gets 200",
			resp.StatusCode, clipTo(resp.Header.Get("Location"), 80))
	}
	return resp.StatusCode, fmt.Errorf("the receiver answered HTTP %d; the vendor retries until it gets 200", resp.StatusCode)
}

// entry is the journal entry of an attempt of d, or of a delivery not sent.
func (cb *callbacks) entry(d *delivery, start time.Time, msg string) Entry {
	return Entry{Time: start.UTC(), Kind: "callback", Method: http.MethodPost, Path: d.target, UserID: d.userID,
		Body: string(d.body), Error: msg}
}

// wait stops the retries not yet due and returns when the workers have ended. The server's
// stop channel is closed first, which ends attempts in flight.
func (cb *callbacks) wait() {
	cb.mu.Lock()
	cb.closed = true
	for d, t := range cb.timers {
		t.Stop()
		delete(cb.timers, d)
	}
	cb.mu.Unlock()
	cb.wg.Wait()
}
