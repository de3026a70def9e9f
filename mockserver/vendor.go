package mockserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// The vendor's operations: each handler reads its request (validated against openapi.yaml
// already) into an engine.Request, the engine answers it with a Reply, and the Reply is
// written in the vendor's manner.

// readRequest reads what an operation's handler passes to the engine, besides what every
// request carries (region, headers, scenario).
type readRequest func(c echo.Context) (engine.Request, error)

// errNotJSON is a body that is not JSON (validation lets no such body through; the handlers
// say so anyway).
var errNotJSON = errors.New("the body is not valid JSON")

// vendor is the handler of a vendor operation that read reads.
func (s *Server) vendor(read readRequest) echo.HandlerFunc {
	return func(c echo.Context) error {
		req, err := read(c)
		if err != nil {
			return sendClientError(c, http.StatusBadRequest, err.Error())
		}
		x := exchangeOf(c)
		req.Operation, req.Region, req.Country = x.Operation, x.Region.Name, x.Region.Country
		req.Scenario, req.Header = headerValue(c.Request().Header, scenarioHeaderKey), c.Request().Header
		x.UserID = req.UserID
		return s.write(c, s.cfg.Engine.Handle(c.Request().Context(), req))
	}
}

func latestRequest(c echo.Context) (engine.Request, error) {
	q := c.Request().URL.RawQuery
	return engine.Request{UserID: firstQueryValue(q, "userId"), SolutionCode: firstQueryValue(q, "solutionCode")}, nil
}

func tokenRequest(c echo.Context) (engine.Request, error) {
	var body idvmock.TokenRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&body); err != nil {
		return engine.Request{}, errNotJSON
	}
	return engine.Request{Token: body}, nil
}

// generateURLRequest reads Generate URL's body, and keeps it as given (compacted) for the
// session's inputParameters: data, never a template.
func (s *Server) generateURLRequest(c echo.Context) (engine.Request, error) {
	raw, err := io.ReadAll(c.Request().Body) // in memory: dispatch read it
	if err != nil {
		return engine.Request{}, err
	}
	var body idvmock.GenerateURLRequest
	var input bytes.Buffer
	if json.Unmarshal(raw, &body) != nil || json.Compact(&input, raw) != nil {
		return engine.Request{}, errNotJSON
	}
	return engine.Request{
		UserID: body.UserID, SolutionCode: body.SolutionCode, H5URL: s.publicURL(c) + h5Prefix,
		Start: engine.StartRequest{
			UserID: body.UserID, BizID: body.BizID, Region: body.Region, SolutionCode: body.SolutionCode,
			CallbackURL: body.CallbackURL, ReturnURL: body.ReturnURL, FailReturnURL: body.FailReturnURL, Input: input.Bytes(),
		},
	}, nil
}

func getResultRequest(c echo.Context) (engine.Request, error) {
	var body idvmock.GetResultRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&body); err != nil {
		return engine.Request{}, errNotJSON
	}
	return engine.Request{SignatureID: body.SignatureID, ImageType: body.ReturnImageType}, nil
}

func profileRequest(c echo.Context) (engine.Request, error) {
	return engine.Request{UserID: c.QueryParam("externalUserId")}, nil
}

func updateStatusRequest(c echo.Context) (engine.Request, error) {
	var body idvmock.UpdateStatusRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&body); err != nil {
		return engine.Request{}, errNotJSON
	}
	return engine.Request{UserID: body.ExternalUserID, ProfileStatus: body.Status}, nil
}

// write writes an engine's Reply: nothing for a client that went away, a broken connection,
// a gateway's page, or the vendor's envelope (spoiled, when a fault says so). The exchange
// takes the reply's trace for the request log and the journal.
func (s *Server) write(c echo.Context, r engine.Reply) error {
	x := exchangeOf(c)
	x.Trace = r.Trace
	switch {
	case r.Trace.Err != nil:
		return r.Trace.Err // the mock's own failure: handleError logs it and answers 500
	case r.Gone:
		x.Outcome = codeGone
		return nil // the client gave up during a latency fault: nobody reads an answer
	case r.Break != "":
		x.Outcome = string(r.Break)
		return s.breakConnection(c, r.Break)
	case r.Gateway:
		x.Code, x.Outcome = r.Code, gatewayCode(r.Status)
		return c.HTMLBlob(r.Status, gatewayPage(r.Status))
	}
	if r.Code == idvmock.CodeServiceBusy { // in whole seconds, rounded up; 0 too
		c.Response().Header().Set("Retry-After", strconv.Itoa(int((r.RetryAfter+time.Second-1)/time.Second)))
	}
	x.Code = r.Code
	if latest, ok := r.Data.(*idvmock.LatestData); ok && r.Code == idvmock.CodeSuccess && r.Spoil == "" {
		return sendLatest(c, r.Status, r.Code, r.Message, x.TransactionID, latest)
	}
	body, err := envelopeOf(r, x.TransactionID)
	if err != nil {
		return err
	}
	if r.Spoil != "" {
		body = spoil(r.Spoil, body)
	}
	return sendJSON(c, r.Status, body)
}

// envelopeOf is the body of a reply in the vendor's envelope.
func envelopeOf(r engine.Reply, txID string) ([]byte, error) {
	if r.Code != idvmock.CodeSuccess {
		msg := r.Message
		if r.Code == idvmock.CodeClientError {
			msg = clientErrorMessage(r.Status, r.Message)
		}
		return marshal(idvmock.NewErrorEnvelope(r.Code, msg, txID))
	}
	if latest, ok := r.Data.(*idvmock.LatestData); ok {
		return appendLatest(nil, r.Code, r.Message, txID, latest), nil
	}
	if r.Full {
		return marshal(idvmock.FullEnvelope{Code: r.Code, Message: r.Message, TransactionID: txID, PricingStrategy: idvmock.PricingFree, Data: r.Data})
	}
	return marshal(idvmock.SuccessEnvelope{Code: r.Code, Message: r.Message, TransactionID: txID, Data: r.Data})
}

// publicURL is the base of the URLs the mock hands out: --public-url, or this request's
// scheme and host.
func (s *Server) publicURL(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	if c.Request().TLS != nil {
		return "https://" + c.Request().Host
	}
	return "http://" + c.Request().Host
}
