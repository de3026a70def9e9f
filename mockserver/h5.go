package mockserver

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// The H5 page of an app's verification journey: Generate URL starts a session (the engine's
// startReply), the user goes through this page, the session completes (here, or through the
// admin API), the mock calls back, and the app polls Get Latest Session Result or Get Result.

// Outcomes a user can pick on the H5 page, and what each does to the session.
var h5Outcomes = map[string]engine.Completion{
	"PASS":       {OverallResult: idvmock.VerdictPass},
	"FAIL":       {OverallResult: idvmock.VerdictFail, ErrorCode: idvmock.ErrorCodeLivenessAttack},
	"INCOMPLETE": {OverallResult: idvmock.VerdictIncomplete, ErrorCode: idvmock.ErrorCodeTimeout},
	"SUBMIT":     {State: scenarios.StateSubmitted},
}

// h5Template is parsed on the first H5 page, not at every start of the binary (0.1 ms).
var h5Template = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("h5").Parse(h5PageHTML))
})

const h5PageHTML = `<!doctype html>
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
`

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
	if err := h5Template().Execute(&b, view); err != nil {
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

// complete finishes a started session and reports it (Server.report): to its callbackUrl,
// or through the account's webhook. The engine refuses a session that already finished, and
// submitting one again (engine.ErrSessionFinished): either would only report it again.
func (s *Server) complete(ctx context.Context, sig string, c engine.Completion) (engine.StartedSession, error) {
	started, err := s.cfg.Engine.Complete(ctx, sig, c)
	if err != nil {
		return started, err
	}
	s.report(ctx, started)
	return started, nil
}
