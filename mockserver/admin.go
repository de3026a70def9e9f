package mockserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// The admin API, under /__admin/ on the serving port. Every call answers JSON; an error is
// {"error": "...", "hint": "...", "problems": [...]}.

type adminError struct {
	Error    string         `json:"error"`
	Hint     string         `json:"hint,omitempty"`
	Problems []adminProblem `json:"problems,omitempty"`
}

type adminProblem struct {
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

func sendAdminError(c echo.Context, status int, msg, hint string) error {
	exchangeOf(c).Code = strconv.Itoa(status)
	return c.JSON(status, adminError{Error: msg, Hint: hint})
}

func (s *Server) adminGetState(c echo.Context) error {
	st, err := s.cfg.Engine.SaveState(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// adminPutState restores a state adminGetState saved; a refused one changes nothing.
func (s *Server) adminPutState(c echo.Context) error {
	var st engine.SavedState
	if err := json.NewDecoder(c.Request().Body).Decode(&st); err != nil {
		return sendAdminError(c, http.StatusBadRequest, "the body is not a saved state: "+err.Error(), "send what GET /__admin/state answered")
	}
	if err := s.cfg.Engine.RestoreState(c.Request().Context(), st); errors.Is(err, engine.ErrStore) {
		return err
	} else if err != nil {
		return sendAdminError(c, http.StatusBadRequest, "the state was refused; nothing changed: "+err.Error(), "restore into a mock started with the same scenario files and --seed")
	}
	return s.adminGetState(c)
}

type healthBody struct {
	Status    string `json:"status"`
	Version   string `json:"version"`
	Auth      string `json:"auth"`
	Users     int    `json:"users"`
	Scenarios int    `json:"scenarios"`
	Store     string `json:"store"`
	Error     string `json:"error,omitempty"`
}

// healthTimeout bounds the store's ping, so that a load balancer's check answers in time.
const healthTimeout = 2 * time.Second

// health reports that the mock serves, or, with HTTP 503, that its state store does not
// answer: a load balancer then takes this replica out until the store is back.
func (s *Server) health(c echo.Context) error {
	set := s.cfg.Engine.Set()
	body := healthBody{Status: "ok", Version: s.cfg.Version, Auth: string(s.cfg.Auth),
		Users: len(set.UserIDs()), Scenarios: len(set.ScenarioNames()), Store: s.cfg.Engine.StoreName()}
	ctx, cancel := context.WithTimeout(c.Request().Context(), healthTimeout)
	defer cancel()
	if err := s.cfg.Engine.PingStore(ctx); err != nil {
		body.Status, body.Error = "unavailable", err.Error()
		exchangeOf(c).Code = body.Status
		c.Response().Header().Set("Retry-After", "1")
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	exchangeOf(c).Code = "ok"
	return c.JSON(http.StatusOK, body)
}

type ruleView struct {
	Name     string              `json:"name"`
	Source   string              `json:"source"`
	Match    scenarios.MatchSpec `json:"match"`
	Scenario string              `json:"scenario,omitempty"`
	Faults   []string            `json:"faults,omitempty"`
	Hits     uint64              `json:"hits"`
}

// adminScenarios shows what is loaded, and how the last reload of the files went.
func (s *Server) adminScenarios(c echo.Context) error {
	set := s.cfg.Engine.Set()
	hits, err := s.cfg.Engine.RuleHits(c.Request().Context())
	if err != nil {
		return err
	}
	rules := []ruleView{}
	for _, r := range set.Rules() {
		v := ruleView{Name: r.Name, Source: r.Source, Match: r.Spec.Match.Masked(), Scenario: r.Spec.Scenario, Hits: hits[r.Name]}
		for _, f := range r.Faults {
			v.Faults = append(v.Faults, string(f.Kind))
		}
		rules = append(rules, v)
	}
	var reload *engine.ReloadStatus
	if s.cfg.Reload != nil {
		st := s.cfg.Reload()
		reload = &st
	}
	return c.JSON(http.StatusOK, map[string]any{
		"files": set.Files(), "scenarios": set.ScenarioNames(), "users": set.UserIDs(),
		"rules": rules, "solutionCodes": set.SolutionCodes(), "reload": reload, "faultsFired": s.metrics.faultsFired(),
	})
}

func (s *Server) adminUsers(c echo.Context) error {
	users, err := s.cfg.Engine.Users(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"users": users})
}

// adminUser shows a user's declaration (in the scenario files' format) and progress.
func (s *Server) adminUser(c echo.Context) error {
	id := c.Param("userId")
	p, err := s.cfg.Engine.Progress(c.Request().Context(), id)
	if err != nil {
		return s.userError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"user": p, "definition": s.cfg.Engine.Set().User(id).Spec})
}

// adminPutUser declares or replaces a user, in the scenario files' format (JSON or YAML).
func (s *Server) adminPutUser(c echo.Context) error {
	id := c.Param("userId")
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	f, err := s.cfg.ParseUser(id, data)
	if err == nil {
		err = s.cfg.Engine.PutUser(c.Request().Context(), f, id, len(data))
	}
	switch {
	case errors.Is(err, engine.ErrAdminFull):
		return sendAdminError(c, http.StatusInsufficientStorage, err.Error(), "the limits keep a mock shared by many within its memory")
	case err != nil:
		return sendProblems(c, err)
	}
	return s.adminUser(c)
}

// sendProblems answers 400 with every problem of a refused declaration.
func sendProblems(c echo.Context, err error) error {
	body := adminError{Error: "the declaration was refused; nothing changed", Hint: "see docs/scenarios.md for the format"}
	var problems scenarios.Problems
	if errors.As(err, &problems) {
		for _, p := range problems {
			body.Problems = append(body.Problems, adminProblem{Line: p.Line, Column: p.Column, Path: p.Path, Message: p.What, Hint: p.Hint})
		}
	} else {
		body.Problems = []adminProblem{{Message: err.Error()}}
	}
	exchangeOf(c).Code = "400"
	return c.JSON(http.StatusBadRequest, body)
}

func (s *Server) adminDeleteUser(c echo.Context) error {
	id := c.Param("userId")
	if err := s.cfg.Engine.DeleteUser(c.Request().Context(), id); err != nil {
		return s.userError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"deleted": id})
}

func (s *Server) adminAdvance(c echo.Context) error {
	return s.sendProgress(c)(s.cfg.Engine.Advance(c.Request().Context(), c.Param("userId")))
}

// sendProgress answers where a user stands after an admin call, or the call's error.
func (s *Server) sendProgress(c echo.Context) func(engine.UserProgress, error) error {
	return func(p engine.UserProgress, err error) error {
		if err != nil {
			return s.userError(c, err)
		}
		return c.JSON(http.StatusOK, map[string]any{"user": p})
	}
}

func (s *Server) adminSetState(c echo.Context) error {
	var body struct {
		State string `json:"state"`
	}
	if err := decodeJSON(c, &body); err != nil || body.State == "" {
		return sendAdminError(c, http.StatusBadRequest, `the body must be {"state": "<state name or number>"}`, "")
	}
	return s.sendProgress(c)(s.cfg.Engine.SetState(c.Request().Context(), c.Param("userId"), body.State))
}

// userError answers 404 for an unknown user and 409 for a move the user's states forbid; a
// failing store is the mock's own failure.
func (s *Server) userError(c echo.Context, err error) error {
	if errors.Is(err, engine.ErrStore) {
		return err
	}
	if errors.Is(err, engine.ErrUnknownUser) {
		return sendAdminError(c, http.StatusNotFound, err.Error(), "GET /__admin/users lists the users; PUT /__admin/users/{userId} declares one")
	}
	return sendAdminError(c, http.StatusConflict, err.Error(), "")
}

func (s *Server) adminReset(c echo.Context) error {
	n, err := s.cfg.Engine.Reset(c.Request().Context(), c.QueryParam("userId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"reset": n})
}

// adminComplete finishes a session started through Generate URL with an outcome, and calls
// back.
func (s *Server) adminComplete(c echo.Context) error {
	var body engine.Completion
	if err := decodeJSON(c, &body); err != nil {
		return sendAdminError(c, http.StatusBadRequest, "the body is not a JSON completion: "+err.Error(),
			`e.g. {"overallResult": "FAIL", "errorCode": "LIVENESS_ATTACK"} or {"state": "submitted"}`)
	}
	started, err := s.complete(c.Request().Context(), c.Param("signatureId"), body)
	switch {
	case errors.Is(err, engine.ErrUnknownSignature):
		return sendAdminError(c, http.StatusNotFound, err.Error(), "only sessions started through Generate URL can be completed")
	case errors.Is(err, engine.ErrSessionFinished) && started.Session.State == scenarios.StateSubmitted:
		return sendAdminError(c, http.StatusConflict, err.Error()+"; no callback was sent",
			`finish it with an outcome, e.g. {"overallResult": "PASS"}`)
	case errors.Is(err, engine.ErrSessionFinished):
		return sendAdminError(c, http.StatusConflict, err.Error()+"; no callback was sent",
			"a finished session keeps its outcome: start a new session through Generate URL to verify again")
	case errors.Is(err, engine.ErrStore):
		return err
	case err != nil:
		return sendProblems(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"session": sessionView(started)})
}

func sessionView(s engine.StartedSession) map[string]any {
	v := map[string]any{"signatureId": s.Session.SignatureID, "userId": s.UserID, "state": s.Session.State}
	if s.Session.Verdict != "" {
		v["overallResult"] = s.Session.Verdict
	}
	if s.Start.CallbackURL != "" {
		v["callbackUrl"] = s.Start.CallbackURL
	}
	return v
}

func decodeJSON(c echo.Context, v any) error {
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	return jsonStrict(data, v)
}
