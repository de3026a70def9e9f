package mockserver

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
	"github.com/idvmock/idvmock/webhook"
)

// Webhook is the account's signed webhook, which the vendor configures in its console (the
// mock: serve's --webhook-* flags): where a completion is reported when its session was
// started without callbackUrl. The zero Webhook (no URL) is none.
//
// Each delivery is a POST of {"signatureId", "type"} with aai-timestamp, aai-nonce and
// aai-signature (package webhook), tried as the vendor does: a first try, then retries 5 s,
// 10 s and 20 s after the failure, each try within 60 s; a network error, a timeout or any
// status but 2xx is a failure, and redirects are not followed. Every try is signed anew: a
// new aai-timestamp and aai-nonce over the same body, as the vendor's retries are new
// requests. It shares the callbacks' workers, their MaxPending bound, their Allow list and
// the journal (kind webhook).
type Webhook struct {
	URL       string            // http or https; the vendor accepts https only
	Secret    []byte            // the key, decoded (webhook.DecodeSecret); never logged nor journaled
	Algorithm webhook.Algorithm // default SHA256
	Format    webhook.Format    // the signed string; default webhook.DefaultFormat
	// RetryScale multiplies the schedule's waits and timeout, so that tests need not wait
	// for the vendor's: 0.01 gives waits of 50, 100 and 200 ms and a 600 ms timeout. It is
	// within [MinWebhookRetryScale, 1]; 0 is 1.
	RetryScale float64
}

// The vendor's webhook schedule, before RetryScale.
var (
	webhookWaits   = []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second}
	webhookTimeout = 60 * time.Second
)

// MinWebhookRetryScale is the smallest Webhook.RetryScale: waits of 5, 10 and 20 ms and a
// 60 ms timeout.
const MinWebhookRetryScale = 0.001

// settingRetryScale is where an operator scales the webhook's schedule.
const settingRetryScale = "--webhook-retry-scale"

// check refuses a webhook that could not be delivered or signed, and sets the defaults.
func (w *Webhook) check() error {
	if w.URL == "" {
		return nil
	}
	if err := CheckWebhookURL(w.URL); err != nil {
		return err
	}
	if len(w.Secret) == 0 {
		return errors.New("the webhook has no secret: give the Base64 secret the vendor's console shows (--webhook-secret or --webhook-secret-file)")
	}
	if w.Algorithm == "" {
		w.Algorithm = webhook.SHA256
	}
	if _, err := webhook.ParseAlgorithm(string(w.Algorithm)); err != nil {
		return err
	}
	if w.RetryScale == 0 {
		w.RetryScale = 1
	}
	if w.RetryScale < MinWebhookRetryScale || w.RetryScale > 1 {
		return fmt.Errorf("the webhook's retry scale is %g: use a number from %g to 1 (1 is the vendor's schedule)", w.RetryScale, MinWebhookRetryScale)
	}
	return nil
}

// CheckWebhookURL refuses a webhook URL the mock cannot POST to: it must be an absolute http
// or https URL with a host.
func CheckWebhookURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL: %v", s, errors.Unwrap(err))
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q is not an http(s) URL: give the receiver's full URL, such as https://app.example/idv-webhook", s)
	case u.Host == "":
		return fmt.Errorf("%q has no host: give the receiver's full URL, such as https://app.example/idv-webhook", s)
	case u.User != nil:
		return fmt.Errorf("%q carries credentials: the signature authenticates the delivery; drop user:password@", u.Redacted())
	}
	return nil
}

// WebhookURLShown is a webhook URL as the journal and the log show it: its query, which may
// carry a credential (the vendor recommends an authentication parameter in the URL), is
// replaced by "?…", and a fragment is left out.
func WebhookURLShown(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a webhook URL that cannot be parsed)"
	}
	shown := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		shown += "?…"
	}
	return shown
}

// schedule is the webhook's schedule, scaled.
func (w *Webhook) schedule() *schedule {
	s := &schedule{kind: kindWebhook, any2xx: true, target: "--webhook-url", timeout: scaleDuration(webhookTimeout, w.RetryScale),
		rule: "the vendor counts anything but 2xx as a failure and retries"}
	for _, d := range webhookWaits {
		s.waits = append(s.waits, scaleDuration(d, w.RetryScale))
	}
	if w.RetryScale != 1 {
		s.scaled = fmt.Sprintf(" (the vendor's %v, scaled by %s %s)", webhookTimeout, settingRetryScale, strconv.FormatFloat(w.RetryScale, 'g', -1, 64))
	}
	return s
}

func scaleDuration(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) * scale)
}

// signer is the webhook's signer with the configured secret.
func (w *Webhook) signer() webhook.Signer {
	return webhook.Signer{Secret: w.Secret, Algorithm: w.Algorithm, Format: w.Format}
}

// report sends the news of a completed session: the plain callback to its callbackUrl when
// it was started with one (no signature headers: the vendor's webhook and callbackUrl
// exclude each other), or else the signed webhook when one is configured; nothing when
// neither is. A submission sends SUBMIT_COMPLETED and a verdict COMPLETED, except for an
// INCOMPLETE session, for which the vendor sends no COMPLETED: the journal says it was not
// sent. The rules' delivery faults are drawn for what is sent.
func (s *Server) report(ctx context.Context, started engine.StartedSession) {
	kind := idvmock.DeliveryCompleted
	if started.Session.State == scenarios.StateSubmitted {
		kind = idvmock.DeliverySubmitCompleted
	}
	body, _ := json.Marshal(map[string]string{"signatureId": started.Session.SignatureID, "type": kind})
	d := &delivery{signatureID: started.Session.SignatureID, userID: started.UserID, body: body}
	switch {
	case started.Start.CallbackURL != "":
		d.sched, d.target = s.callbackSchedule, started.Start.CallbackURL
	case s.cfg.Webhook.URL != "":
		d.sched, d.target, d.sign = s.webhookSchedule, s.cfg.Webhook.URL, s.cfg.Webhook.signer().Headers
		d.shown = WebhookURLShown(s.cfg.Webhook.URL)
	default:
		return
	}
	if kind == idvmock.DeliveryCompleted && started.Session.Verdict == idvmock.VerdictIncomplete {
		s.deliveries.notSent(d, deliveryNotSent, "not sent: the session's overallResult is INCOMPLETE, for which the vendor sends no COMPLETED; the app learns the outcome by polling")
		return
	}
	f, err := s.cfg.Engine.DeliveryFaults(ctx, started)
	if err != nil {
		s.log.Error("the delivery faults could not be drawn; delivering without them", slog.String("signatureId", d.signatureID), slog.Any("error", err))
		d.note = "no delivery fault was drawn: " + err.Error()
	}
	d.rule = f.Rule
	d.fault = joinFaults(f.Fired)
	for _, kind := range f.Fired {
		s.metrics.fault(f.Rule, kind)
	}
	if f.BadSignature {
		if d.sign == nil {
			d.note = "bad_signature fired, but a plain callback carries no signature: nothing was changed"
		} else {
			d.sign = badSigner(s.cfg.Webhook)
			d.note = "bad_signature: aai-signature is an HMAC with a random key, not the secret"
		}
	}
	if !f.Duplicate {
		s.deliveries.send(d)
		return
	}
	for i := range 2 {
		c := *d
		c.note = strings.TrimPrefix(d.note+fmt.Sprintf("; duplicate_delivery: delivery %d of 2", i+1), "; ")
		s.deliveries.send(&c)
	}
}

// badSigner signs like w but with a random key of its own: every signature it makes is
// well-formed and fails verification.
func badSigner(w Webhook) func(time.Time, []byte) (webhook.Headers, error) {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	w.Secret = key
	return w.signer().Headers
}
