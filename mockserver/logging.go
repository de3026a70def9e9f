package mockserver

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
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
}

const exchangeKey = "idvmock.exchange"

func exchangeOf(c echo.Context) *exchange {
	if x, ok := c.Get(exchangeKey).(*exchange); ok {
		return x
	}
	x := &exchange{TransactionID: newTransactionID()}
	c.Set(exchangeKey, x)
	return x
}

// track starts the exchange of each request (region, transactionId), and when it is answered
// logs one line, adds it to the journal and counts it in the metrics: the one place every
// request ends. Only the fields below are written: the token masked, keys and bodies never.
func (s *Server) track(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		x := exchangeOf(c)
		x.Region = s.regions.ForHost(req.Host)
		x.UserID = c.QueryParam("userId") // journaled even when the request is refused
		x.Admin = strings.HasPrefix(req.URL.Path, adminPrefix+"/")
		failed := next(c)
		if failed != nil {
			c.Error(failed) // renders the envelope now, so the line below has its status and code
		}
		latency := time.Since(start)
		s.metrics.request(x, c.Response().Status, latency, failed)
		token := mask(req.Header.Get(idvmock.TokenHeader))
		t := &x.Trace
		faults := joinFaults(t.Faults)
		attrs := []slog.Attr{
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
		}
		if t.Note != "" {
			attrs = append(attrs, slog.String("note", clipTo(t.Note, maxEntryField)))
		}
		s.log.LogAttrs(req.Context(), slog.LevelInfo, "request", attrs...)
		if x.Admin {
			return nil
		}
		s.journal.add(Entry{
			Time: start.UTC(), Kind: "request", Host: req.Host, Region: x.Region.Name,
			Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Token: token,
			Operation: x.Operation, UserID: x.UserID, Source: t.Source, Rule: t.Rule, Scenario: t.Scenario, State: t.State,
			Status: c.Response().Status, Code: x.Code, Fault: faults,
			LatencyMillis: millis(latency), TransactionID: x.TransactionID, Unmatched: t.Unmatched, NearMisses: t.NearMisses,
			Error: t.Note,
		})
		return nil
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
