package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// BuildError is an answer that could not be built when it was asked for: a template of a
// scenario passed its limits, for instance. The vendor would answer ERROR; the mock does,
// and says why in its journal.
type BuildError struct {
	Source string // what was answering: "user alice", "session 6c2f0a9e41b7"
	Err    error
}

func (e *BuildError) Error() string { return e.Source + ": " + e.Err.Error() }

func (e *BuildError) Unwrap() error { return e.Err }

// UnknownScenarioError reports a forced scenario name that no loaded file declares.
type UnknownScenarioError struct {
	Name  string
	Known []string
}

func (e *UnknownScenarioError) Error() string {
	return fmt.Sprintf("unknown scenario %q: use one of %s", e.Name, strings.Join(e.Known, ", "))
}

// decide finds the first rule that matches req and draws its faults.
func (e *Engine) decide(ctx context.Context, set *Set, req *Request) (Decision, error) {
	rule := set.firstRule(req)
	if rule == nil {
		return Decision{}, nil
	}
	hit, err := e.stored().Hit(ctx, rule.Name)
	if err != nil {
		return Decision{Rule: rule}, storeError(err)
	}
	return drawFaults(e.seed, rule, hit), nil
}

// latest answers Get Latest Session Result for req into r, given the rules' decision d: the
// scenario header first, then the rule's profile, then the user and the sessions started for
// it. A result that cannot be built is a *BuildError; a store that fails, an error wrapping
// ErrStore; an unknown scenario header, an *UnknownScenarioError.
func (e *Engine) latest(ctx context.Context, set *Set, req *Request, d Decision, r *Reply) error {
	var src source
	if err := e.source(set, req, d, &src); err != nil {
		return err
	}
	if src.profile == nil {
		return e.latestStarted(ctx, set, req, &src, r)
	}
	r.Trace.Source, r.Trace.Scenario = src.label, src.scenario
	if len(src.regions) > 0 && !slices.Contains(src.regions, req.Region) {
		r.Trace.Unmatched, r.Trace.NearMisses = true, set.nearMisses(req, 3)
		r.force(scenarios.AnswerUserNotFound)
		return nil
	}
	if req.SolutionCode != "" && !set.codes[req.SolutionCode] { // only a started session can make it valid
		if ok, err := e.startedWithCode(ctx, &src, req); err != nil || !ok {
			r.force(scenarios.AnswerBadSolutionCode)
			return err
		}
	}
	at, err := e.step(ctx, &src)
	if err != nil {
		return err
	}
	r.Trace.State = at.label
	if _, ok := wireAnswers[at.state.Answer]; ok {
		r.force(at.state.Answer)
		return nil
	}
	return e.answerSessions(req, &src, &at, r)
}

// latestStarted answers for a userId that no user, rule or scenario answers: with the
// sessions Generate URL started for it, under a profile status of INIT (or what a PASS
// made it), if there are any.
func (e *Engine) latestStarted(ctx context.Context, set *Set, req *Request, src *source, r *Reply) error {
	started, status, err := e.stored().UserSessions(ctx, req.UserID)
	if err != nil {
		return storeError(err)
	}
	if len(started) == 0 {
		r.Trace.Unmatched, r.Trace.NearMisses = true, set.nearMisses(req, 3)
		r.force(scenarios.AnswerUserNotFound)
		return nil
	}
	src.started, src.status = started, status
	r.Trace.Source = "user " + req.UserID + " (started through Generate URL)"
	if req.SolutionCode != "" && !set.codes[req.SolutionCode] && !hasCode(started, req.SolutionCode) {
		r.force(scenarios.AnswerBadSolutionCode)
		return nil
	}
	return e.answerSessions(req, src, &answering{state: State{Status: idvmock.ProfileInit}}, r)
}

// startedWithCode reports whether a session started for a declared user has req's solution
// code; for a scenario or a rule, started sessions do not count.
func (e *Engine) startedWithCode(ctx context.Context, src *source, req *Request) (bool, error) {
	if src.key.Kind != ProgressUser {
		return false, nil
	}
	started, _, err := e.stored().UserSessions(ctx, req.UserID)
	if err != nil {
		return false, storeError(err)
	}
	return hasCode(started, req.SolutionCode), nil
}

// answerSessions answers with the latest of the state's sessions and those started for the
// userId.
func (e *Engine) answerSessions(req *Request, src *source, at *answering, r *Reply) error {
	sessions := slices.Clip(at.sessions)
	for _, s := range src.started {
		sessions = append(sessions, s.Session)
	}
	i := latestIndex(sessions, req.SolutionCode)
	if i < 0 {
		r.force(scenarios.AnswerUserNotFound)
		return nil
	}
	data := tmpl.Data{UserID: req.UserID, Region: req.Region, Country: req.Country, SolutionCode: req.SolutionCode}
	raw, err := e.buildLatest(src.profile, at.index, i, len(at.sessions), sessions, src.started, data)
	if err != nil {
		return &BuildError{Source: r.Trace.Source, Err: err}
	}
	status := at.state.Status
	if src.status != "" {
		status = src.status
	}
	r.succeed(&idvmock.LatestData{ProfileStatus: status, Result: raw}, false)
	return nil
}

// answering is the state of a source's profile that answers a call.
type answering struct {
	index    int
	state    State
	sessions []Session // the state's, resolved
	label    string    // the state's name, for profiles of several states
}

// step counts a call of src's profile in the store and returns the state that answers it; for
// a declared user it reads the sessions started for it in the same step.
func (e *Engine) step(ctx context.Context, src *source) (answering, error) {
	var pr Progress
	var err error
	var now time.Time // read only when a state moves on after a duration: clocks cost
	if src.profile.timed {
		now = e.now()
	}
	if src.key.Kind == ProgressUser {
		pr, src.started, src.status, err = e.stored().StepUser(ctx, src.key, machineOf(src.profile, src.hash), now)
	} else {
		pr, err = e.stored().Step(ctx, src.key, machineOf(src.profile, src.hash), now)
	}
	if err != nil {
		return answering{}, storeError(err)
	}
	at := answering{index: pr.State, state: src.profile.States[pr.State], sessions: src.states[pr.State]}
	if len(src.profile.States) > 1 {
		at.label = stateLabel(src.profile, pr.State)
	}
	return at, nil
}

// buildLatest builds session i of sessions: a declared one (cached), or started[i-nDeclared]
// (built each time: started sessions change as they complete).
func (e *Engine) buildLatest(p *Profile, state, i, nDeclared int, sessions []Session, started []StartedSession, data tmpl.Data) (json.RawMessage, error) {
	if i >= nDeclared {
		s := started[i-nDeclared]
		return buildResult(e.seed, s.fakeIndex(), s.withInput(), data)
	}
	key := resultKey{profile: p, userID: data.UserID, region: data.Region, country: data.Country,
		solutionCode: data.SolutionCode, state: state, session: i}
	if raw, ok := e.results.get(key); ok {
		return raw, nil
	}
	raw, err := buildResult(e.seed, i, sessions[i], data)
	if err == nil {
		e.results.put(key, raw)
	}
	return raw, err
}

// source is what answers a request: a profile and its resolved sessions, and the sessions
// started at run time for the userId.
type source struct {
	label, scenario string
	key             ProgressKey
	hash            string // of the definition, for progress
	profile         *Profile
	states          [][]Session
	regions         []string
	started         []StartedSession
	status          idvmock.ProfileStatus // the status a started session's PASS gave the profile
}

// source picks what answers req: the scenario header's profile, the matching rule's, or the
// userId's own (a declared user's profile, and the sessions started for it, which step reads).
func (e *Engine) source(set *Set, req *Request, d Decision, src *source) error {
	switch {
	case req.Scenario != "":
		p, ok := set.profiles[req.Scenario]
		if !ok {
			return &UnknownScenarioError{Name: req.Scenario, Known: set.ScenarioNames()}
		}
		*src = source{label: p.label, scenario: p.Name, key: ProgressKey{ProgressScenario, p.Name, req.UserID},
			hash: p.hash, profile: p, states: resolveStates(e.seed, req.UserID, p)}
	case d.Rule != nil && d.Rule.Profile != nil:
		r := d.Rule
		*src = source{label: r.label, scenario: r.Profile.Name, key: ProgressKey{ProgressRule, r.Name, req.UserID},
			hash: r.Profile.hash, profile: r.Profile, states: resolveStates(e.seed, req.UserID, r.Profile)}
	default:
		src.key = userKey(req.UserID)
		if u := set.users[req.UserID]; u != nil {
			src.label, src.scenario = u.label, u.Profile.Name
			src.hash, src.profile, src.states, src.regions = u.hash, u.Profile, u.states, u.Regions
		}
	}
	return nil
}

func hasCode(started []StartedSession, code string) bool {
	return slices.ContainsFunc(started, func(s StartedSession) bool { return s.Session.SolutionCode == code })
}

func stateLabel(p *Profile, i int) string {
	if name := p.States[i].Name; name != "" {
		return name
	}
	return strconv.Itoa(i)
}

// storeError marks an error of the store.
func storeError(err error) error { return fmt.Errorf("%w: %w", ErrStore, err) }

// latestIndex returns the index of the most recently created session under code (any code when
// empty), or -1. Of sessions created at the same instant the later-listed one wins.
func latestIndex(sessions []Session, code string) int {
	best := -1
	for i, s := range sessions {
		if code != "" && s.SolutionCode != code {
			continue
		}
		if best < 0 || !s.CreatedAt.Before(sessions[best].CreatedAt) {
			best = i
		}
	}
	return best
}
