package mockserver

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
)

// exchange is what the mock learns about one request while answering it; the request log
// line is written from it.
type exchange struct {
	Region        idvmock.Region
	TransactionID string
	UserID        string
	Scenario      string
	Code          string
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

// track starts the exchange of each request (region, transactionId) and logs one line when
// it is answered. Only the fields below are written: the token masked, keys and bodies never.
func (s *Server) track(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		x := exchangeOf(c)
		x.Region = s.regions.ForHost(c.Request().Host)
		x.UserID = c.QueryParam("userId")
		err := next(c)
		if err != nil {
			c.Error(err) // renders the envelope now, so the line below has its status and code
		}
		req := c.Request()
		s.log.LogAttrs(req.Context(), slog.LevelInfo, "request",
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.String("region", x.Region.Name),
			slog.String("userId", clip(x.UserID)),
			slog.String("token", mask(req.Header.Get(tokenHeader))),
			slog.String("scenario", x.Scenario),
			slog.Int("status", c.Response().Status),
			slog.String("code", x.Code),
			slog.String("transactionId", x.TransactionID),
			slog.Duration("latency", time.Since(start)),
		)
		return nil
	}
}

// clip shortens a value for the log: a userId may be anything a client sent.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}

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
