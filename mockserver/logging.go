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

// exchange is what the mock learns about one request while answering it; the request log
// line and the journal entry are written from it.
type exchange struct {
	Region        idvmock.Region
	TransactionID string
	Operation     string // operationId in openapi.yaml
	Admin         bool   // an idvmock admin call: logged, not journaled
	UserID        string
	Source        string // what answered: a user, a scenario, a rule
	Rule          string
	Scenario      string
	State         string
	Code          string
	Faults        []string
	Spoil         scenarios.FaultKind // truncated or malformed: the body is spoiled when sent
	Unmatched     bool                // no user or rule knew the userId
	NearMisses    []engine.NearMiss
	Note          string // why the answer is not what the scenarios declare (a template over its limits)
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
// logs one line and adds it to the journal. Only the fields below are written: the token
// masked, keys and bodies never.
func (s *Server) track(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		x := exchangeOf(c)
		x.Region = s.regions.ForHost(req.Host)
		x.UserID = c.QueryParam("userId")
		x.Admin = strings.HasPrefix(req.URL.Path, adminPrefix+"/")
		if err := next(c); err != nil {
			c.Error(err) // renders the envelope now, so the line below has its status and code
		}
		latency := time.Since(start)
		token := mask(req.Header.Get(idvmock.TokenHeader))
		attrs := []slog.Attr{
			slog.String("method", req.Method),
			slog.String("path", clipTo(req.URL.Path, maxEntryField)),
			slog.String("region", x.Region.Name),
			slog.String("userId", clipTo(x.UserID, 64)),
			slog.String("token", token),
			slog.String("scenario", x.Scenario),
			slog.String("rule", x.Rule),
			slog.String("fault", strings.Join(x.Faults, ",")),
			slog.Int("status", c.Response().Status),
			slog.String("code", x.Code),
			slog.String("transactionId", x.TransactionID),
			slog.Float64("latencyMillis", millis(latency)),
		}
		if x.Note != "" {
			attrs = append(attrs, slog.String("note", clipTo(x.Note, maxEntryField)))
		}
		s.log.LogAttrs(req.Context(), slog.LevelInfo, "request", attrs...)
		if x.Admin {
			return nil
		}
		s.journal.add(Entry{
			Time: start.UTC(), Kind: "request", Host: req.Host, Region: x.Region.Name,
			Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Token: token,
			Operation: x.Operation, UserID: x.UserID, Source: x.Source, Rule: x.Rule, Scenario: x.Scenario, State: x.State,
			Status: c.Response().Status, Code: x.Code, Fault: strings.Join(x.Faults, ","),
			LatencyMillis: millis(latency), TransactionID: x.TransactionID, Unmatched: x.Unmatched, NearMisses: x.NearMisses,
			Error: x.Note,
		})
		return nil
	}
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
