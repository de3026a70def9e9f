package mockserver

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock/scenarios"
)

// scenarioHeader forces a named scenario's outcome for any userId (idvmock only).
const scenarioHeader = "X-Mock-Scenario"

// getLatest answers Get Latest Session Result By UserId from the scenarios. The request has
// been validated: userId is present and well-formed, and track has read it.
func (s *Server) getLatest(c echo.Context) error {
	req := c.Request()
	x := exchangeOf(c)
	answer, err := s.cfg.Scenarios.Answer(scenarios.Query{
		UserID:       x.UserID,
		SolutionCode: c.QueryParam("solutionCode"),
		Country:      x.Region.Country,
		Scenario:     req.Header.Get(scenarioHeader),
	})
	var unknown *scenarios.UnknownScenarioError
	if errors.As(err, &unknown) {
		return sendClientError(c, http.StatusBadRequest, fmt.Sprintf("%s %q is not a loaded scenario; use one of %s",
			scenarioHeader, unknown.Name, strings.Join(unknown.Known, ", ")))
	}
	if err != nil {
		return err
	}
	x.Scenario = answer.Scenario
	if answer.Code != scenarios.CodeSuccess {
		return sendError(c, http.StatusOK, answer.Code, answer.Message)
	}
	return send(c, http.StatusOK, answer.Code, successBody{
		Code:          answer.Code,
		Message:       answer.Message,
		TransactionID: x.TransactionID,
		Data:          answer.Data,
	})
}
