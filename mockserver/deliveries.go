package mockserver

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/idvmock/idvmock/webhook"
)

// schedule is how one kind of delivery is tried: the plain callback to a session's
// callbackUrl, or the account's signed webhook.
type schedule struct {
	kind    string          // the journal's kind: callback or webhook
	waits   []time.Duration // before each retry: len(waits)+1 attempts in all
	timeout time.Duration   // of each attempt
	any2xx  bool            // any 2xx takes the delivery; otherwise HTTP 200 only
	target  string          // where the target was given, for messages: "callbackUrl", "--webhook-url"
	rule    string          // what the receiver must answer, in the vendor's words
	scaled  string          // how the schedule was scaled, for messages; "" when it was not
}

// attempts is how many tries a delivery of this schedule gets.
func (s *schedule) attempts() int { return len(s.waits) + 1 }

// callbackSchedule is the plain callback's: the policy's attempts and timeout, waits from
// Backoff doubled; HTTP 200 only takes it.
func callbackSchedule(p CallbackPolicy) *schedule {
	s := &schedule{kind: kindCallback, timeout: p.Timeout, target: "callbackUrl", rule: "the vendor retries until it gets 200"}
	for i := range p.Attempts - 1 {
		s.waits = append(s.waits, p.Backoff<<i)
	}
	return s
}

// Journal kinds of deliveries.
const (
	kindCallback = "callback"
	kindWebhook  = "webhook"
)

// delivery is one report of a completion to send, tried until the receiver takes it or the
// attempts of its schedule run out.
type delivery struct {
	sched                       *schedule
	target, signatureID, userID string
	// shown is the target as the journal and the log show it; "" shows target. A webhook's
	// is its URL without the query, which may carry a credential of the operator's.
	shown   string
	body    []byte
	attempt int // the next attempt, from 1
	// sign signs each attempt anew (a new aai-timestamp and aai-nonce, the same body); nil
	// for a plain callback, which carries no signature.
	sign        func(now time.Time, body []byte) (webhook.Headers, error)
	rule, fault string // the rule of delivery faults that matched and the faults that fired
	note        string // what the journal says of every attempt of it (a fault's effect)
}

// deliveries sends callbacks and webhooks in the background through a fixed pool of workers
// and a bounded queue, and journals every attempt. A delivery waiting for a retry is held by
// a timer, not by a worker. Both kinds share the pool, the bound, the allow-list and the
// journal; each follows its own schedule.
type deliveries struct {
	policy  CallbackPolicy
	client  *http.Client
	refuse  error // every delivery is refused with it (Allow cannot be enforced)
	journal *journal
	metrics *metrics
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

func newDeliveries(p CallbackPolicy, j *journal, m *metrics, log *slog.Logger, stop <-chan struct{}) *deliveries {
	p.setDefaults()
	ds := &deliveries{policy: p, journal: j, metrics: m, log: log, stop: stop,
		queue: make(chan *delivery, p.MaxPending), timers: map[*delivery]*time.Timer{}}
	ds.client, ds.refuse = p.client()
	return ds
}

// send delivers d in the background, retrying as its schedule says, or journals why it will
// not.
func (ds *deliveries) send(d *delivery) {
	d.attempt = 1
	ds.mu.Lock()
	var why, outcome string
	switch {
	case ds.closed || ds.stopped():
		why, outcome = "not sent: the server is shutting down", deliveryNotSent
	case ds.pending >= ds.policy.MaxPending:
		outcome = deliveryDropped
		why = fmt.Sprintf("dropped, not sent: %d deliveries (callbacks and webhooks) are already pending (queued, being sent or waiting for a retry), the bound set by %s (default %d); their receivers are slow or down",
			ds.pending, settingMaxPending, DefaultCallbackMaxPending)
	}
	if why != "" {
		ds.mu.Unlock()
		ds.notSent(d, outcome, why)
		return
	}
	if !ds.started {
		ds.startLocked()
	}
	ds.pending++
	ds.mu.Unlock()
	ds.queue <- d
}

// where is d's target as the journal and the log show it.
func (d *delivery) where() string { return cmp.Or(d.shown, d.target) }

// notSent journals, logs and counts (as outcome: dropped or not_sent) a delivery that is not
// made, and why.
func (ds *deliveries) notSent(d *delivery, outcome, why string) {
	ds.metrics.delivery(d.sched.kind, outcome)
	ds.journal.add(ds.entry(d, time.Now(), why))
	ds.log.Warn(d.sched.kind+" not sent", slog.String("url", d.where()), slog.String("signatureId", d.signatureID), slog.String("why", why))
}

func (ds *deliveries) stopped() bool {
	select {
	case <-ds.stop:
		return true
	default:
		return false
	}
}

// startLocked starts the workers, on the first delivery: a server that never calls back runs
// none.
func (ds *deliveries) startLocked() {
	ds.started = true
	ctx, cancel := context.WithCancel(context.Background())
	ds.ctx = ctx
	ds.wg.Add(ds.policy.Workers + 1)
	go func() {
		defer ds.wg.Done()
		<-ds.stop
		cancel()
	}()
	for range ds.policy.Workers {
		go ds.work()
	}
}

func (ds *deliveries) work() {
	defer ds.wg.Done()
	for {
		select {
		case <-ds.stop:
			return
		case d := <-ds.queue:
			ds.attempt(d)
		}
	}
}

// attempt makes one try of d, journals it, and schedules the next one or ends d.
func (ds *deliveries) attempt(d *delivery) {
	if ds.stopped() {
		return // the server stopped while d was queued
	}
	start := time.Now()
	status, sent, err := ds.post(d, start)
	final := d.attempt >= d.sched.attempts()
	var refused *notAllowedError
	var unsigned *signError
	var msg string
	switch {
	case err == nil:
	case ds.stopped():
		msg = err.Error() + "; not retried: the server is shutting down"
		final = true
	case errors.As(err, &refused):
		msg, final = refused.Error(), true // not "dial tcp ...: refused: ..."
	case errors.Is(err, ds.refuse), errors.As(err, &unsigned):
		msg, final = err.Error(), true
	case final:
		msg = fmt.Sprintf("%v; given up after %d attempts", err, d.attempt)
	default:
		msg = err.Error()
	}
	e := ds.entry(d, start, msg)
	e.Attempt, e.Status, e.Headers = d.attempt, status, sent
	e.LatencyMillis = float64(time.Since(start).Microseconds()) / 1000
	ds.journal.add(e)
	if err == nil {
		ds.metrics.delivery(d.sched.kind, deliverySent)
	} else {
		ds.metrics.delivery(d.sched.kind, deliveryFailed)
	}
	if err == nil || final {
		if err != nil {
			ds.metrics.delivery(d.sched.kind, deliveryGivenUp)
			ds.log.Warn(d.sched.kind+" given up", slog.String("url", d.where()), slog.String("signatureId", d.signatureID),
				slog.Int("attempts", d.attempt), slog.String("error", msg))
		}
		ds.mu.Lock()
		ds.pending--
		ds.mu.Unlock()
		return
	}
	wait := d.sched.waits[d.attempt-1]
	d.attempt++
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.closed {
		ds.pending--
		return
	}
	ds.timers[d] = time.AfterFunc(wait, func() {
		ds.mu.Lock()
		delete(ds.timers, d)
		ds.mu.Unlock()
		if !ds.stopped() {
			ds.queue <- d // d is counted in pending: there is room
		}
	})
}

// signError is a webhook that could not be signed; it is not retried.
type signError struct{ err error }

func (e *signError) Error() string {
	return "not sent: the webhook could not be signed: " + e.err.Error()
}

// post sends d once at now; it answers the receiver's status, the signature headers sent (nil
// for a plain callback), and why the attempt failed.
func (ds *deliveries) post(d *delivery, now time.Time) (int, map[string]string, error) {
	if ds.refuse != nil {
		return 0, nil, ds.refuse
	}
	ctx, cancel := context.WithTimeout(ds.ctx, d.sched.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.target, bytes.NewReader(d.body))
	if err != nil {
		return 0, nil, fmt.Errorf("the %s cannot be called: %w", d.sched.target, err)
	}
	req.Header.Set("Content-Type", "application/json")
	var sent map[string]string
	if d.sign != nil {
		h, err := d.sign(now, d.body)
		if err != nil {
			return 0, nil, &signError{err}
		}
		h.Set(req.Header)
		sent = map[string]string{webhook.HeaderTimestamp: h.Timestamp, webhook.HeaderNonce: h.Nonce, webhook.HeaderSignature: h.Signature}
	}
	resp, err := ds.client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return 0, sent, fmt.Errorf("no answer within %v%s", d.sched.timeout, d.sched.scaled)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the entry's path already
		}
		return 0, sent, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusOK, d.sched.any2xx && code >= 200 && code < 300:
		return code, sent, nil
	case code >= 300 && code < 400:
		return code, sent, fmt.Errorf("the receiver answered HTTP %d, a redirect to %q, which was not followed: give the final URL as %s; %s",
			code, clipTo(resp.Header.Get("Location"), 80), d.sched.target, d.sched.rule)
	}
	return resp.StatusCode, sent, fmt.Errorf("the receiver answered HTTP %d; %s", resp.StatusCode, d.sched.rule)
}

// entry is the journal entry of an attempt of d, or of a delivery not sent.
func (ds *deliveries) entry(d *delivery, start time.Time, msg string) Entry {
	return Entry{Time: start.UTC(), Kind: d.sched.kind, Method: http.MethodPost, Path: d.where(), UserID: d.userID,
		SignatureID: d.signatureID, Body: string(d.body), Error: msg, Rule: d.rule, Fault: d.fault, Note: d.note}
}

// wait stops the retries not yet due and returns when the workers have ended. The server's
// stop channel is closed first, which ends attempts in flight.
func (ds *deliveries) wait() {
	ds.mu.Lock()
	ds.closed = true
	for d, t := range ds.timers {
		t.Stop()
		delete(ds.timers, d)
	}
	ds.mu.Unlock()
	ds.wg.Wait()
}
