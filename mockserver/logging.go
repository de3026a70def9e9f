package mockserver

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/internal/logline"
	"github.com/idvmock/idvmock/scenarios"
)

// exchange is the record of one request that the request log line and the journal entry are
// written from: track starts it (region, transactionId), dispatch names the operation, and
// whatever answers adds the code it sent and, for the vendor's operations, the engine's trace.
type exchange struct {
	Region        idvmock.Region
	TransactionID string
	Operation     string // operationId in openapi.yaml
	Admin         bool   // an idvmock admin call: logged, not journaled
	UserID        string
	Code          string
	// Outcome is what a fault did instead of answering with an envelope (gateway_503,
	// reset, hang, empty), or gone for a client that left during a latency fault; the
	// metrics count it as the code.
	Outcome string
	Trace   engine.Trace
	Body    []byte        // the request's body, as read
	answer  answerCapture // the first maxEntryBody bytes answered, for the journal
}

// answerCapture keeps the start of what a request is answered, for the journal, and passes
// everything on. A body written whole by sendJSON is kept as it is, without a copy.
type answerCapture struct {
	http.ResponseWriter
	own     []byte          // the body sendJSON is about to write, which nothing changes after
	whole   bool            // own was written, and nothing else: it is the answer
	kept    strings.Builder // otherwise, a copy of what was written; its String is made once
	latest  latestAnswer    // a Get Latest SUCCESS sendLatest wrote: the journal keeps this
	passing bool            // sendLatest is writing: nothing to copy
}

func (a *answerCapture) Write(b []byte) (int, error) {
	if a.passing {
		return a.ResponseWriter.Write(b)
	}
	if !a.whole && a.kept.Len() == 0 && len(b) > 0 && len(b) == len(a.own) && &b[0] == &a.own[0] {
		a.whole = true
		return a.ResponseWriter.Write(b)
	}
	if a.whole { // more after the whole body: keep both
		a.whole = false
		a.copy(a.own)
	}
	a.copy(b)
	return a.ResponseWriter.Write(b)
}

func (a *answerCapture) copy(b []byte) {
	if room := maxEntryBody + 1 - a.kept.Len(); room > 0 {
		if a.kept.Cap() == 0 {
			a.kept.Grow(min(len(b), room)) // most answers are written at once: one allocation of their size
		}
		a.kept.Write(b[:min(room, len(b))])
	}
}

// answer is the start of what was answered, for the journal; "" for a Get Latest SUCCESS,
// which the journal keeps as its latestAnswer.
func (a *answerCapture) answer() string {
	if a.latest.data != nil {
		return ""
	}
	if a.whole {
		return unsafe.String(unsafe.SliceData(a.own), min(len(a.own), maxEntryBody+1)) // never changed: see sendJSON
	}
	return a.kept.String()
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines, hijacks).
func (a *answerCapture) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// tracked is the context track hands down: echo's, with the request's exchange. Both are
// reused from request to request (echo pools its contexts, trackedPool ours), so a request
// allocates neither the exchange nor the map echo's Set would make.
type tracked struct {
	echo.Context
	x exchange
}

var trackedPool = sync.Pool{New: func() any { return new(tracked) }}

const exchangeKey = "idvmock.exchange"

// exchangeOf is the exchange of the request c is about. Outside track (a handler called on
// its own), it is kept in c.
func exchangeOf(c echo.Context) *exchange {
	if t, ok := c.(*tracked); ok {
		return &t.x
	}
	if x, ok := c.Get(exchangeKey).(*exchange); ok {
		return x
	}
	x := &exchange{TransactionID: newTransactionID()}
	c.Set(exchangeKey, x)
	return x
}

// track starts the exchange of each request (region, transactionId), and when it is answered
// logs one line, adds it to the journal and counts it in the metrics: the one place every
// request ends. The log line has the fields below, the token masked, keys and bodies never;
// the journal entry also keeps the headers and bodies, clipped, their secrets masked (the
// dashboard shows them behind the admin token).
func (s *Server) track(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		start := time.Now()
		c := trackedPool.Get().(*tracked)
		c.Context = ec
		defer func() {
			*c = tracked{} // nothing outlives the request: the journal entry holds copies
			trackedPool.Put(c)
		}()
		req := c.Request()
		x := &c.x
		x.TransactionID = newTransactionID()
		x.Region = s.regions.ForHost(req.Host)
		x.UserID = firstQueryValue(req.URL.RawQuery, "userId") // journaled even when the request is refused
		x.Admin = req.URL.Path == adminPrefix || strings.HasPrefix(req.URL.Path, adminPrefix+"/")
		if !x.Admin {
			x.answer.ResponseWriter = c.Response().Writer
			c.Response().Writer = &x.answer
		}
		failed := next(c)
		if failed != nil {
			s.handleError(failed, c) // renders the envelope now, so the line below has its status and code
		}
		end := time.Now()
		latency := end.Sub(start)
		s.metrics.request(x, c.Response().Status, latency, failed)
		token := mask(headerValue(req.Header, tokenHeaderKey))
		t := &x.Trace
		faults := joinFaults(t.Faults)
		attrs := [...]slog.Attr{
			slog.String("method", req.Method),
			slog.String("path", clipTo(req.URL.Path, maxEntryField)),
			slog.String("region", x.Region.Name),
			slog.String("userId", clipTo(x.UserID, 64)),
			slog.String("token", token),
			slog.String("scenario", t.Scenario),
			slog.String("rule", t.Rule),
			slog.String("fault", faults),
			slog.Int("status", c.Response().Status),
			slog.String("code", x.Code),
			slog.String("transactionId", x.TransactionID),
			slog.Float64("latencyMillis", millis(latency)),
			{}, // note, when there is one
		}
		line := attrs[:len(attrs)-1]
		if t.Note != "" {
			attrs[len(attrs)-1] = slog.String("note", clipTo(t.Note, maxEntryField))
			line = attrs[:]
		}
		s.logRequest(req.Context(), end, line)
		if x.Admin {
			return nil
		}
		reqBody, answer := string(x.Body), x.answer.answer()
		if x.Operation == idvmock.OpToken {
			reqBody, answer = maskJSONFields(reqBody, "secretKey", "signature"), maskJSONFields(answer, "token")
		}
		s.journal.add(Entry{
			Time: start.UTC(), Kind: "request", Host: req.Host, Region: x.Region.Name,
			Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Token: token,
			Operation: x.Operation, UserID: x.UserID, SignatureID: firstQueryValue(req.URL.RawQuery, "signatureId"),
			Source: t.Source, Rule: t.Rule, Scenario: t.Scenario, State: t.State,
			Status: c.Response().Status, Code: x.Code, Fault: faults,
			LatencyMillis: millis(latency), TransactionID: x.TransactionID, Unmatched: t.Unmatched, NearMisses: t.NearMisses,
			Error: t.Note, RequestHeaders: journalHeaders(req.Header), RequestBody: reqBody, ResponseBody: answer,
			latest: x.answer.latest,
		})
		return nil
	}
}

// logRequest writes a request's line: as Logger.LogAttrs would, but without looking up the
// caller's program counter (the line's source would always be track), and straight through
// the JSON handler serve uses (logline.JSONHandler), without a slog.Record.
func (s *Server) logRequest(ctx context.Context, end time.Time, attrs []slog.Attr) {
	switch h := s.log.Handler().(type) {
	case *logline.JSONHandler:
		_ = h.LogAttrs(ctx, end, slog.LevelInfo, "request", attrs...)
	default:
		if h.Enabled(ctx, slog.LevelInfo) {
			r := slog.NewRecord(end, slog.LevelInfo, "request", 0)
			r.AddAttrs(attrs...)
			_ = h.Handle(ctx, r)
		}
	}
}

// secretHeader reports whether the journal masks a request header: the access token,
// Authorization, cookies, and any header whose name says it holds a secret.
func secretHeader(name string) bool {
	for _, word := range secretWords {
		if containsFold(name, word) {
			return true
		}
	}
	return false
}

// secretWords are the words that mark a header as secret, in lower case.
var secretWords = []string{"token", "auth", "cookie", "secret", "signature", "key", "session", "password"}

// containsFold reports whether s contains word (lower-case ASCII) in any case, without the
// copy strings.ToLower would make for each header of each request.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		match := true
		for j := 0; j < len(word); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != word[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// journalHeaders is what the journal keeps of a request's headers: at most maxEntryHeaders
// of them, each value clipped and the secrets masked.
func journalHeaders(h http.Header) Headers {
	if len(h) == 0 {
		return nil
	}
	out := make(Headers, 0, min(len(h), maxEntryHeaders))
	for name, values := range h {
		if len(out) == maxEntryHeaders {
			break
		}
		v := strings.Join(values, ", ")
		if secretHeader(name) {
			v = mask(v)
		}
		out = append(out, Header{clipTo(name, maxEntryField), clipTo(v, maxEntryField)})
	}
	return out
}

// maskJSONFields masks the string values of the members named fields (in any case, as
// encoding/json matches names) anywhere in a JSON body: the token API's secretKey and
// signature, the token it issued. A body that is not JSON is not kept: it might hold them
// in a form the mask cannot see.
func maskJSONFields(body string, fields ...string) string {
	if body == "" {
		return ""
	}
	var doc any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return "(not kept: the token API's body is not valid JSON, and may hold a secret)"
	}
	maskIn(doc, fields)
	out, err := marshal(doc)
	if err != nil {
		return ""
	}
	return string(out)
}

func maskIn(v any, fields []string) {
	switch v := v.(type) {
	case map[string]any:
		for k, inner := range v {
			s, isString := inner.(string)
			switch {
			case isString && slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(f, k) }):
				v[k] = mask(s)
			default:
				maskIn(inner, fields)
			}
		}
	case []any:
		for _, inner := range v {
			maskIn(inner, fields)
		}
	}
}

// joinFaults lists the faults that fired, comma-separated.
func joinFaults(kinds []scenarios.FaultKind) string {
	if len(kinds) == 0 {
		return ""
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ",")
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// mask hides a secret, keeping only enough to tell two apart: its first four characters and
// its length.
func mask(secret string) string {
	if secret == "" {
		return ""
	}
	if len(secret) <= 8 {
		return "****"
	}
	return secret[:4] + "****(" + strconv.Itoa(len(secret)) + " chars)"
}

// Canonical forms of the headers every request reads, so that reading them does not
// canonicalize their names again (http.Header.Get does, each time).
var (
	tokenHeaderKey    = http.CanonicalHeaderKey(idvmock.TokenHeader)
	scenarioHeaderKey = http.CanonicalHeaderKey(engine.ScenarioHeader)
)

// headerValue is h.Get(key) for a key already in canonical form.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
