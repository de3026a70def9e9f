package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// Sessions started through the Generate URL API live in the Engine until reset: they are the
// newest sessions of their user, answered by Get Latest Session Result and Get Result, and an
// admin call completes them.

// StartRequest is a Generate URL request as the model needs it.
type StartRequest struct {
	UserID        string
	BizID         string
	Region        string // ISO 3166 alpha-3
	SolutionCode  string // empty: DefaultSolutionCode
	CallbackURL   string
	ReturnURL     string
	FailReturnURL string
	// Input is the request as given, a JSON object, echoed as inputParameters: data, never
	// evaluated as a template.
	Input json.RawMessage
}

// Started is a session the Generate URL API started.
type Started struct {
	SignatureID string
	UserID      string
	Start       StartRequest
	State       scenarios.SessionState
	Verdict     idvmock.Verdict
}

// StartSession starts an in-progress session for a userId: the user's newest, under a profile
// status of INIT if the user is new. Past Limits, the oldest started sessions are dropped.
func (e *Engine) StartSession(req StartRequest) Started {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.startedCount++
	f := faker(e.seed, req.UserID, "started", int(e.startedCount))
	sig := fmt.Sprintf("%012x", f.Uint64()&(1<<48-1))
	for e.started.bySig[sig] != nil || e.set.signatures[sig].userID != "" {
		sig = fmt.Sprintf("%012x", f.Uint64()&(1<<48-1))
	}
	code := req.SolutionCode
	if code == "" {
		code = scenarios.DefaultSolutionCode
	}
	if len(req.Input) == 0 {
		req.Input = json.RawMessage("{}")
	}
	rs := &runtimeSession{userID: req.UserID, start: req, seq: e.startedCount, session: Session{
		SignatureID: sig, SolutionCode: code, CreatedAt: e.now().UTC(), State: scenarios.StateInProgress,
		BizID: req.BizID, Region: req.Region, Literal: true,
	}}
	e.started.add(rs)
	return rs.view()
}

func (rs *runtimeSession) view() Started {
	return Started{SignatureID: rs.session.SignatureID, UserID: rs.userID, Start: rs.start, State: rs.session.State, Verdict: rs.session.Verdict}
}

// Completion is how an admin call finishes a started session.
type Completion struct {
	State               scenarios.SessionState `json:"state,omitempty"` // submitted or finished (default)
	OverallResult       idvmock.Verdict        `json:"overallResult,omitempty"`
	ErrorCode           string                 `json:"errorCode,omitempty"`
	FaceLivenessScore   *float64               `json:"faceLivenessScore,omitempty"`
	FaceSimilarityScore *float64               `json:"faceSimilarityScore,omitempty"`
	LivenessAttackType  *int                   `json:"livenessAttackType,omitempty"`
}

// ErrUnknownSignature is returned for a signatureId no session has.
var ErrUnknownSignature = fmt.Errorf("no session has this signatureId")

// ErrSessionFinished is returned by Complete for a session that already has its verdict, or
// that is submitted again: a finished session stays as it finished (a submitted one can still
// be finished).
var ErrSessionFinished = errors.New("the session is already finished")

// Complete moves a started session to submitted or finished with an outcome. A PASS makes
// the user's profile ACTIVE (an INACTIVE profile stays INACTIVE). The completion is checked
// like a session of a scenario file.
func (e *Engine) Complete(signatureID string, c Completion) (Started, error) {
	if c.State == "" {
		c.State = scenarios.StateFinished
	}
	spec := scenarios.SessionSpec{State: c.State, OverallResult: c.OverallResult, ErrorCode: c.ErrorCode,
		FaceLivenessScore: c.FaceLivenessScore, FaceSimilarityScore: c.FaceSimilarityScore, LivenessAttackType: c.LivenessAttackType}
	if problems := scenarios.CheckSession("completion", "", spec, true); len(problems) > 0 {
		return Started{}, problems
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rs := e.started.bySig[signatureID]
	if rs == nil {
		return Started{}, fmt.Errorf("%w: %q", ErrUnknownSignature, signatureID)
	}
	s := &rs.session
	switch {
	case s.State == scenarios.StateFinished:
		return rs.view(), fmt.Errorf("%w (%s): its outcome cannot change", ErrSessionFinished, s.Verdict)
	case s.State == scenarios.StateSubmitted && c.State == scenarios.StateSubmitted:
		return rs.view(), fmt.Errorf("%w: it was submitted already and can only be finished with an outcome now", ErrSessionFinished)
	}
	s.State, s.Verdict, s.ErrorCode = c.State, c.OverallResult, c.ErrorCode
	s.Face = FaceOverrides{LivenessScore: c.FaceLivenessScore, SimilarityScore: c.FaceSimilarityScore, LivenessAttackType: c.LivenessAttackType}
	if c.OverallResult == idvmock.VerdictPass {
		rt := e.started.byUser[rs.userID]
		status := idvmock.ProfileInit
		if u := e.set.users[rs.userID]; u != nil {
			status = u.Profile.States[e.currentState(u)].Status
		}
		if status != idvmock.ProfileInactive {
			rt.status = idvmock.ProfileActive
		}
	}
	return rs.view(), nil
}

func (e *Engine) currentState(u *User) int {
	if pr := e.progress["user\x00"+u.ID]; pr != nil && pr.hash == u.hash && pr.state < len(u.Profile.States) {
		return pr.state
	}
	return 0
}

// Session returns a started session.
func (e *Engine) Session(signatureID string) (Started, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rs := e.started.bySig[signatureID]
	if rs == nil {
		return Started{}, false
	}
	return rs.view(), true
}

// Result answers Get Result for a signatureId: a session started through Generate URL, or a
// session a scenario file declares with a literal signatureId (as it stands in its user's
// current state).
func (e *Engine) Result(signatureID string, req Request) (json.RawMessage, error) {
	e.mu.Lock()
	var sess Session
	var index int
	var userID string
	if rs := e.started.bySig[signatureID]; rs != nil {
		sess, index, userID = rs.withInput(rs.session), rs.fakeIndex(), rs.userID
	} else if ref, ok := e.set.signatures[signatureID]; ok {
		u := e.set.users[ref.userID]
		state, i := ref.state, ref.index
		if cur := e.currentState(u); slices.ContainsFunc(u.states[cur], func(s Session) bool { return s.SignatureID == signatureID }) {
			state = cur
			i = slices.IndexFunc(u.states[cur], func(s Session) bool { return s.SignatureID == signatureID })
		}
		sess, index, userID = u.states[state][i], i, u.ID
	} else {
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrUnknownSignature, signatureID)
	}
	e.mu.Unlock()
	data := tmpl.Data{UserID: userID, Region: req.Region, Country: req.Country, SolutionCode: sess.SolutionCode}
	raw, err := buildResult(e.seed, index, sess, data)
	if err != nil {
		return nil, &BuildError{Source: "session " + signatureID, Err: err}
	}
	return raw, nil
}

// Clock returns the engine's clock, for callers that time things the same way.
func (e *Engine) Clock() func() time.Time { return e.now }
