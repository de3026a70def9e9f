package mockserver

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// scenarioHeader forces a named scenario's outcome for any userId (idvmock only).
const scenarioHeader = "X-Mock-Scenario"

// getLatest answers Get Latest Session Result By UserId: rules first (faults, latency), then
// the scenarios. The request has been validated: userId is present and well-formed, and track
// has read it.
func (s *Server) getLatest(c echo.Context) error {
	x := exchangeOf(c)
	req := s.request(c, idvmock.OpGetLatest, x.UserID, c.QueryParam("solutionCode"))
	d, answered, err := s.applyRules(c, req)
	if answered {
		return err
	}
	out, err := s.cfg.Engine.Answer(c.Request().Context(), req, d)
	var unknown *engine.UnknownScenarioError
	var unbuilt *engine.BuildError
	switch {
	case errors.As(err, &unknown):
		return sendClientError(c, http.StatusBadRequest, fmt.Sprintf("%s %q is not a loaded scenario; use one of %s",
			scenarioHeader, unknown.Name, strings.Join(unknown.Known, ", ")))
	case errors.As(err, &unbuilt):
		return s.sendUnbuilt(c, unbuilt)
	case err != nil:
		return err
	}
	x.Source, x.Scenario, x.State = out.Source, out.Scenario, out.State
	x.Unmatched, x.NearMisses = out.Unmatched, out.NearMisses
	if out.Code != idvmock.CodeSuccess {
		return sendError(c, http.StatusOK, out.Code, out.Message)
	}
	return sendLatest(c, out.Code, out.Message, x.TransactionID, out.Data)
}

// sendUnbuilt answers a result that could not be built (a scenario's template over its
// limits) as the vendor answers a failure of its own: HTTP 200, ERROR. The journal and the
// log say why.
func (s *Server) sendUnbuilt(c echo.Context, err *engine.BuildError) error {
	x := exchangeOf(c)
	x.Source, x.Note = err.Source, "the answer could not be built: "+err.Err.Error()
	return sendError(c, http.StatusOK, idvmock.CodeError, idvmock.MessageServerError)
}
