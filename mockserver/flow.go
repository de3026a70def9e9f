package mockserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// The rest of an app's verification journey: Generate URL starts a session, the user goes
// through the H5 page the mock serves, the session completes (there, or through the admin
// API), the mock calls back, and the app polls Get Latest Session Result or Get Result.

type generateURLRequest struct {
	UserID        string `json:"userId"`
	BizID         string `json:"bizId"`
	Region        string `json:"region"`
	SolutionCode  string `json:"solutionCode"`
	CallbackURL   string `json:"callbackUrl"`
	ReturnURL     string `json:"returnUrl"`
	FailReturnURL string `json:"failReturnUrl"`
}

type generateURLData struct {
	SignatureID string `json:"signatureId"`
	URL         string `json:"url"`
}

// generateURL starts an in-progress session for the userId and answers its signatureId and
// the URL of its H5 page, served by the mock.
func (s *Server) generateURL(c echo.Context) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	var body generateURLRequest
	var input bytes.Buffer // the request as given, echoed as inputParameters: data, not a template
	if json.Unmarshal(raw, &body) != nil || json.Compact(&input, raw) != nil {
		return sendClientError(c, http.StatusBadRequest, "the body is not valid JSON")
	}
	x := exchangeOf(c)
	x.UserID = body.UserID
	if _, answered, err := s.applyRules(c, s.request(c, idvmock.OpGenerateURL, body.UserID, body.SolutionCode)); answered {
		return err
	}
	started, err := s.cfg.Engine.StartSession(c.Request().Context(), engine.StartRequest{
		UserID: body.UserID, BizID: body.BizID, Region: body.Region, SolutionCode: body.SolutionCode,
		CallbackURL: body.CallbackURL, ReturnURL: body.ReturnURL, FailReturnURL: body.FailReturnURL, Input: input.Bytes(),
	})
	if err != nil {
		return err
	}
	sig := started.Session.SignatureID
	x.Source = "started session " + sig
	return send(c, http.StatusOK, idvmock.CodeSuccess, newFullBody(c, generateURLData{
		SignatureID: sig,
		URL:         s.publicURL(c) + "/h5/" + sig,
	}))
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

// getResult answers Get Result by signatureId.
func (s *Server) getResult(c echo.Context) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	var body struct {
		SignatureID string `json:"signatureId"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return sendClientError(c, http.StatusBadRequest, "the body is not valid JSON")
	}
	req := s.request(c, idvmock.OpGetResult, "", "")
	if _, answered, err := s.applyRules(c, req); answered {
		return err
	}
	result, err := s.cfg.Engine.Result(c.Request().Context(), body.SignatureID, req)
	var unbuilt *engine.BuildError
	switch {
	case errors.Is(err, engine.ErrUnknownSignature):
		return sendError(c, http.StatusOK, idvmock.CodeParameterError, idvmock.MessageSignatureUnknown)
	case errors.As(err, &unbuilt):
		return s.sendUnbuilt(c, unbuilt)
	case err != nil:
		return err
	}
	x := exchangeOf(c)
	x.Source = "session " + body.SignatureID
	return send(c, http.StatusOK, idvmock.CodeSuccess, successBody{
		Code: idvmock.CodeSuccess, Message: idvmock.MessageOK, TransactionID: x.TransactionID, Data: result,
	})
}

// readBody returns the request body, already bounded by validation.
func readBody(c echo.Context) ([]byte, error) { return io.ReadAll(c.Request().Body) }

// Outcomes a user can pick on the H5 page, and what each does to the session.
var h5Outcomes = map[string]engine.Completion{
	"PASS":       {OverallResult: idvmock.VerdictPass},
	"FAIL":       {OverallResult: idvmock.VerdictFail, ErrorCode: idvmock.ErrorCodeLivenessAttack},
	"INCOMPLETE": {OverallResult: idvmock.VerdictIncomplete, ErrorCode: idvmock.ErrorCodeTimeout},
	"SUBMIT":     {State: scenarios.StateSubmitted},
}

var h5Template = template.Must(template.New("h5").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>idvmock verification {{.Session.SignatureID}}</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}button{display:block;width:100%;margin:.5rem 0;padding:.8rem;font-size:1rem}</style>
</head><body>
<h1>Identity verification (idvmock)</h1>
<p>This page stands in for ADVANCE.AI's H5 flow. Pick how the verification ends.</p>
<dl><dt>signatureId</dt><dd>{{.Session.SignatureID}}</dd><dt>userId</dt><dd>{{.UserID}}</dd><dt>bizId</dt><dd>{{.Start.BizID}}</dd><dt>state</dt><dd>{{.Session.State}}{{if .Session.Verdict}} ({{.Session.Verdict}}){{end}}</dd></dl>
{{if .Finished}}<p><strong>This verification is finished: {{.Session.Verdict}}.</strong> Its outcome cannot change; start a new session through Generate URL to verify again.</p>
{{else}}<form method="post">
<button name="outcome" value="PASS">Pass</button>
<button name="outcome" value="FAIL">Fail (liveness attack)</button>
<button name="outcome" value="INCOMPLETE">Give up</button>
{{if not .Submitted}}<button name="outcome" value="SUBMIT">Submit, verdict pending</button>
{{end}}</form>
{{end}}</body></html>
`))

// h5View is what the H5 page shows of a session.
type h5View struct {
	engine.StartedSession
	Finished, Submitted bool
}

// h5Page is the verification page a Generate URL answer points to.
func (s *Server) h5Page(c echo.Context) error {
	started, ok, err := s.cfg.Engine.Session(c.Request().Context(), c.Param("signatureId"))
	if err != nil {
		return err
	}
	if !ok {
		return c.HTML(http.StatusNotFound, "<!doctype html><title>Not found</title><p>No session has this signatureId.</p>\n")
	}
	var b strings.Builder
	view := h5View{StartedSession: started, Finished: started.Session.State == scenarios.StateFinished, Submitted: started.Session.State == scenarios.StateSubmitted}
	if err := h5Template.Execute(&b, view); err != nil {
		return err
	}
	exchangeOf(c).UserID = started.UserID
	return c.HTML(http.StatusOK, b.String())
}

// h5Finish ends the session the way the user picked, calls back, and sends the browser to
// returnUrl (PASS, SUBMIT) or failReturnUrl (FAIL, INCOMPLETE) when the session has them. A
// session that already finished, or a second SUBMIT, answers 409 and sends no callback.
func (s *Server) h5Finish(c echo.Context) error {
	sig := c.Param("signatureId")
	outcome := c.FormValue("outcome")
	started, err := s.complete(c.Request().Context(), sig, h5Outcomes[outcome])
	if errors.Is(err, engine.ErrUnknownSignature) {
		return c.HTML(http.StatusNotFound, "<!doctype html><title>Not found</title><p>No session has this signatureId.</p>\n")
	}
	if errors.Is(err, engine.ErrSessionFinished) {
		exchangeOf(c).UserID = started.UserID
		msg := fmt.Sprintf("Session %s already finished (%s): its outcome cannot change, and no callback was sent. Start a new session through Generate URL to verify again.",
			sig, started.Session.Verdict)
		if started.Session.State == scenarios.StateSubmitted {
			msg = fmt.Sprintf("Session %s is already submitted: submitting again changes nothing, and no callback was sent. Pick a verdict to finish it.", sig)
		}
		return c.HTML(http.StatusConflict, "<!doctype html><title>Already done</title><p>"+template.HTMLEscapeString(msg)+"</p>\n")
	}
	if err != nil {
		return err
	}
	exchangeOf(c).UserID = started.UserID
	target := started.Start.ReturnURL
	if outcome == "FAIL" || outcome == "INCOMPLETE" {
		target = started.Start.FailReturnURL
	}
	if target != "" {
		return c.Redirect(http.StatusSeeOther, target)
	}
	return c.HTML(http.StatusOK, fmt.Sprintf("<!doctype html><title>Done</title><p>Session %s is now %s.</p>\n",
		template.HTMLEscapeString(sig), template.HTMLEscapeString(outcome)))
}

// complete finishes a started session and reports it to its callbackUrl. The engine refuses
// a session that already finished, and submitting one again (engine.ErrSessionFinished):
// either would only send another callback.
func (s *Server) complete(ctx context.Context, sig string, c engine.Completion) (engine.StartedSession, error) {
	started, err := s.cfg.Engine.Complete(ctx, sig, c)
	if err != nil {
		return started, err
	}
	if started.Start.CallbackURL != "" {
		kind := "COMPLETED"
		if started.Session.State == scenarios.StateSubmitted {
			kind = "SUBMIT_COMPLETED"
		}
		s.callbacks.deliver(started.Start.CallbackURL, started.Session.SignatureID, kind, started.UserID)
	}
	return started, nil
}
