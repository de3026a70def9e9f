package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Sessions started through the Generate URL API live in the Engine until reset: they are the
// newest sessions of their user, answered by Get Latest Session Result and Get Result, and an
// admin call completes them.

// runtimeUser is what the Generate URL API added to a userId.
type runtimeUser struct {
	status   ProfileStatus // set once a session completed; empty: the declared status, or INIT
	sessions []*runtimeSession
}

// runtimeSession is one session started through Generate URL.
type runtimeSession struct {
	userID  string
	session Session
	start   StartRequest
}

func (rt *runtimeUser) hasCode(code string) bool {
	if rt == nil {
		return false
	}
	for _, s := range rt.sessions {
		if s.session.SolutionCode == code {
			return true
		}
	}
	return false
}

// snapshot copies the sessions, so that they can be built without the lock.
func (rt *runtimeUser) snapshot() []Session {
	out := make([]Session, len(rt.sessions))
	for i, s := range rt.sessions {
		out[i] = s.session
	}
	return out
}

// StartRequest is a Generate URL request as the model needs it.
type StartRequest struct {
	UserID        string
	BizID         string
	Region        string // ISO 3166 alpha-3
	SolutionCode  string // empty: DefaultSolutionCode
	CallbackURL   string
	ReturnURL     string
	FailReturnURL string
	Input         map[string]any // the request as given, echoed as inputParameters
}

// Started is a session the Generate URL API started.
type Started struct {
	SignatureID string
	UserID      string
	Start       StartRequest
	State       SessionState
	Verdict     Verdict
}

// StartSession starts an in-progress session for a userId: the user's newest session, under
// a profile status of INIT if the user is new.
func (e *Engine) StartSession(req StartRequest) Started {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.started++
	f := faker(e.seed, req.UserID, "started", int(e.started))
	sig := fmt.Sprintf("%012x", f.Uint64()&(1<<48-1))
	for e.bySig[sig] != nil || e.set.signatures[sig].userID != "" {
		sig = fmt.Sprintf("%012x", f.Uint64()&(1<<48-1))
	}
	code := req.SolutionCode
	if code == "" {
		code = DefaultSolutionCode
	}
	input := map[string]any{}
	for k, v := range req.Input {
		input[k] = v
	}
	rs := &runtimeSession{userID: req.UserID, start: req, session: Session{
		SignatureID: sig, SolutionCode: code, CreatedAt: e.now().UTC(), State: StateInProgress,
		BizID: req.BizID, Region: req.Region,
		Result: map[string]any{"inputParameters": input},
	}}
	rt := e.runtime[req.UserID]
	if rt == nil {
		rt = &runtimeUser{}
		e.runtime[req.UserID] = rt
	}
	rt.sessions = append(rt.sessions, rs)
	e.bySig[sig] = rs
	return rs.view()
}

func (rs *runtimeSession) view() Started {
	return Started{SignatureID: rs.session.SignatureID, UserID: rs.userID, Start: rs.start, State: rs.session.State, Verdict: rs.session.Verdict}
}

// Completion is how an admin call finishes a started session.
type Completion struct {
	State               SessionState `json:"state,omitempty"` // submitted or finished (default)
	OverallResult       Verdict      `json:"overallResult,omitempty"`
	ErrorCode           string       `json:"errorCode,omitempty"`
	FaceLivenessScore   *float64     `json:"faceLivenessScore,omitempty"`
	FaceSimilarityScore *float64     `json:"faceSimilarityScore,omitempty"`
	LivenessAttackType  *int         `json:"livenessAttackType,omitempty"`
}

// ErrUnknownSignature is returned for a signatureId no session has.
var ErrUnknownSignature = fmt.Errorf("no session has this signatureId")

// ErrSessionFinished is returned by Complete for a session that already has its verdict: a
// finished session stays as it finished (a submitted one can still be finished).
var ErrSessionFinished = errors.New("the session is already finished")

// Complete moves a started session to submitted or finished with an outcome. A PASS makes
// the user's profile ACTIVE (an INACTIVE profile stays INACTIVE). The completion is checked
// like a session of a scenario file.
func (e *Engine) Complete(signatureID string, c Completion) (Started, error) {
	if c.State == "" {
		c.State = StateFinished
	}
	spec := SessionSpec{State: c.State, OverallResult: c.OverallResult, ErrorCode: c.ErrorCode,
		FaceLivenessScore: c.FaceLivenessScore, FaceSimilarityScore: c.FaceSimilarityScore, LivenessAttackType: c.LivenessAttackType}
	v := &validator{file: &File{name: "completion", positions: positions{}}}
	v.session("", spec)
	if len(v.problems) > 0 {
		return Started{}, v.problems
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rs := e.bySig[signatureID]
	if rs == nil {
		return Started{}, fmt.Errorf("%w: %q", ErrUnknownSignature, signatureID)
	}
	s := &rs.session
	if s.State == StateFinished {
		return rs.view(), fmt.Errorf("%w (%s): its outcome cannot change", ErrSessionFinished, s.Verdict)
	}
	s.State, s.Verdict, s.ErrorCode = c.State, c.OverallResult, c.ErrorCode
	s.Face = FaceOverrides{LivenessScore: c.FaceLivenessScore, SimilarityScore: c.FaceSimilarityScore, LivenessAttackType: c.LivenessAttackType}
	if c.OverallResult == VerdictPass {
		rt := e.runtime[rs.userID]
		status := ProfileInit
		if u := e.set.users[rs.userID]; u != nil {
			status = u.Profile.States[e.currentState(u)].Status
		}
		if status != ProfileInactive {
			rt.status = ProfileActive
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
	rs := e.bySig[signatureID]
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
	if rs := e.bySig[signatureID]; rs != nil {
		rt := e.runtime[rs.userID]
		index = 1000 + slices.Index(rt.sessions, rs)
		if u := e.set.users[rs.userID]; u != nil {
			index += len(u.states[e.currentState(u)])
		}
		sess, userID = rs.session, rs.userID
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
	data := templateData{UserID: userID, Region: req.Region, Country: req.Country, SolutionCode: sess.SolutionCode}
	return buildResult(e.seed, index, sess, data)
}

// Clock returns the engine's clock, for callers that time things the same way.
func (e *Engine) Clock() func() time.Time { return e.now }
