package mockserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// maxHang bounds a hang fault, should the client never give up.
const maxHang = 10 * time.Minute

// request builds what the scenario rules see of the request being answered.
func (s *Server) request(c echo.Context, operation, userID, solutionCode string) engine.Request {
	x := exchangeOf(c)
	return engine.Request{
		Operation:    operation,
		UserID:       userID,
		SolutionCode: solutionCode,
		Region:       x.Region.Name,
		Country:      x.Region.Country,
		Scenario:     c.Request().Header.Get(scenarioHeader),
		Header:       c.Request().Header,
	}
}

// applyRules asks the rules about req and carries out their decision: their latency first,
// then, when a fault that replaces the answer fired, the fault. It reports whether the fault
// answered the request; a truncated or malformed fault lets the handler answer and spoils its
// body on the way out.
func (s *Server) applyRules(c echo.Context, req engine.Request) (engine.Decision, bool, error) {
	d, err := s.cfg.Engine.Decide(c.Request().Context(), req)
	if err != nil {
		return d, true, err
	}
	x := exchangeOf(c)
	if d.Rule != nil {
		x.Rule = d.Rule.Name
	}
	for _, k := range d.Fired {
		x.Faults = append(x.Faults, string(k))
	}
	if d.Delay > 0 && !s.sleep(c.Request().Context(), d.Delay) {
		return d, true, nil // the client gave up: nobody reads an answer
	}
	if d.Fault == nil {
		return d, false, nil
	}
	switch f := *d.Fault; f.Kind {
	case scenarios.FaultTruncated, scenarios.FaultMalformed:
		x.Spoil = f.Kind
		return d, false, nil
	case scenarios.FaultServiceBusy:
		c.Response().Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
		return d, true, sendError(c, http.StatusOK, idvmock.CodeServiceBusy, idvmock.MessageRateLimit)
	case scenarios.FaultTokenExpired:
		return d, true, sendError(c, http.StatusOK, idvmock.CodeIAMFailed, idvmock.MessageTokenNotFound)
	case scenarios.FaultServerError:
		return d, true, sendError(c, http.StatusOK, idvmock.CodeError, idvmock.MessageServerError)
	case scenarios.FaultGateway:
		x.Code = strconv.Itoa(f.Status)
		return d, true, c.HTMLBlob(f.Status, gatewayPage(f.Status))
	default:
		return d, true, s.breakConnection(c, f.Kind)
	}
}

// sleep waits d, or less if the client goes away; it reports whether the whole delay passed.
// A shutdown lets it finish, as any request in flight.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// gatewayPage is what a reverse proxy in front of the vendor answers when the service behind
// it fails: HTML, not the vendor's JSON.
func gatewayPage(status int) []byte {
	text := http.StatusText(status)
	return []byte(fmt.Sprintf("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
		status, text, status, text))
}

// breakConnection carries out the faults that act on the connection: hang, reset and empty.
func (s *Server) breakConnection(c echo.Context, kind scenarios.FaultKind) error {
	conn, _, err := http.NewResponseController(c.Response().Writer).Hijack()
	if err != nil {
		// No connection to break (an in-process test recorder): abort the response.
		panic(http.ErrAbortHandler)
	}
	c.Response().Committed = true
	switch kind {
	case scenarios.FaultHang:
		gone := make(chan struct{})
		go func() { // a read returns when the client closes its side
			var buf [512]byte
			for {
				if _, err := conn.Read(buf[:]); err != nil {
					close(gone)
					return
				}
			}
		}()
		t := time.NewTimer(maxHang)
		defer t.Stop()
		select {
		case <-gone:
		case <-s.stop:
		case <-t.C:
		}
	case scenarios.FaultReset:
		if tcp, ok := underlying(conn).(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // close sends RST instead of FIN
		}
	}
	return conn.Close()
}

// underlying unwraps the connection WrapListener made.
func underlying(conn net.Conn) net.Conn {
	if ec, ok := conn.(*envelopeConn); ok {
		return ec.Conn
	}
	return conn
}

// spoil applies a truncated or malformed fault to a body about to be sent.
func spoil(kind scenarios.FaultKind, body []byte) []byte {
	switch kind {
	case scenarios.FaultTruncated:
		return body[:len(body)/2]
	case scenarios.FaultMalformed:
		return bytes.ReplaceAll(body, []byte(`"`), []byte(`'`))
	}
	return body
}
