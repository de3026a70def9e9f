package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// Sessions started through the Generate URL API live in the store until reset: they are the
// newest sessions of their user, answered by Get Latest Session Result and Get Result, and an
// admin call (or the H5 page) completes them.

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

// StartSession starts an in-progress session for a userId: the user's newest, under a profile
// status of INIT if the user is new. Past Limits, the oldest started sessions are dropped.
func (e *Engine) StartSession(ctx context.Context, req StartRequest) (StartedSession, error) {
	seq, err := e.stored().NextSequence(ctx)
	if err != nil {
		return StartedSession{}, storeError(err)
	}
	code := req.SolutionCode // the request stays as given: only the session takes the default
	if code == "" {
		code = scenarios.DefaultSolutionCode
	}
	if len(req.Input) == 0 {
		req.Input = json.RawMessage("{}")
	}
	set := e.Set()
	f := faker(e.seed, req.UserID, "started", int(seq))
	defer release(f)
	for {
		sig := fmt.Sprintf("%012x", f.Uint64()&(1<<48-1))
		if _, declared := set.signatures[sig]; declared {
			continue
		}
		s := StartedSession{UserID: req.UserID, Start: req, Seq: seq, Session: Session{
			SignatureID: sig, SolutionCode: code, CreatedAt: e.now().UTC(), State: scenarios.StateInProgress,
			BizID: req.BizID, Region: req.Region, Literal: true,
		}}
		added, err := e.stored().AddSession(ctx, s)
		if err != nil {
			return StartedSession{}, storeError(err)
		}
		if added {
			return s, nil
		}
	}
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
var ErrUnknownSignature = errors.New("no session has this signatureId")

// ErrSessionFinished is returned by Complete for a session that already has its verdict, or
// that is submitted again: a finished session stays as it finished (a submitted one can still
// be finished).
var ErrSessionFinished = errors.New("the session is already finished")

// Complete moves a started session to submitted or finished with an outcome. A PASS makes
// the user's profile ACTIVE (an INACTIVE profile stays INACTIVE). The completion is checked
// like a session of a scenario file. On ErrSessionFinished the session is returned as it is.
func (e *Engine) Complete(ctx context.Context, signatureID string, c Completion) (StartedSession, error) {
	if c.State == "" {
		c.State = scenarios.StateFinished
	}
	spec := scenarios.SessionSpec{State: c.State, OverallResult: c.OverallResult, ErrorCode: c.ErrorCode,
		FaceLivenessScore: c.FaceLivenessScore, FaceSimilarityScore: c.FaceSimilarityScore, LivenessAttackType: c.LivenessAttackType}
	if problems := scenarios.CheckSession("completion", "", spec, true); len(problems) > 0 {
		return StartedSession{}, problems
	}
	// The status a PASS leaves is read before the update: the update runs under the store's
	// lock (or transaction) and must not call back into it. A state set through the admin API
	// between the two is not seen: the PASS follows the state of a moment before.
	status := idvmock.ProfileActive
	if s, found, err := e.stored().Session(ctx, signatureID); err != nil {
		return StartedSession{}, storeError(err)
	} else if found && c.OverallResult == idvmock.VerdictPass {
		if current, err := e.declaredStatus(ctx, s.UserID); err != nil {
			return StartedSession{}, err
		} else if current == idvmock.ProfileInactive {
			status = ""
		}
	}
	out, err := e.stored().UpdateSession(ctx, signatureID, func(s *StartedSession) (idvmock.ProfileStatus, error) {
		switch {
		case s.Session.State == scenarios.StateFinished:
			return "", fmt.Errorf("%w (%s): its outcome cannot change", ErrSessionFinished, s.Session.Verdict)
		case s.Session.State == scenarios.StateSubmitted && c.State == scenarios.StateSubmitted:
			return "", fmt.Errorf("%w: it was submitted already and can only be finished with an outcome now", ErrSessionFinished)
		}
		s.Session.State, s.Session.Verdict, s.Session.ErrorCode = c.State, c.OverallResult, c.ErrorCode
		s.Session.Face = FaceOverrides{LivenessScore: c.FaceLivenessScore, SimilarityScore: c.FaceSimilarityScore, LivenessAttackType: c.LivenessAttackType}
		if c.OverallResult != idvmock.VerdictPass {
			return "", nil
		}
		return status, nil
	})
	switch {
	case errors.Is(err, ErrUnknownSignature), errors.Is(err, ErrSessionFinished):
		return out, err
	case err != nil:
		return out, storeError(err)
	}
	return out, nil
}

// declaredStatus is the profile status user id's declaration gives it in the state it is in
// now; INIT for a userId no file declares.
func (e *Engine) declaredStatus(ctx context.Context, id string) (idvmock.ProfileStatus, error) {
	u := e.Set().users[id]
	if u == nil {
		return idvmock.ProfileInit, nil
	}
	state, err := e.currentState(ctx, u)
	if err != nil {
		return "", err
	}
	return u.Profile.States[state].Status, nil
}

// currentState is the state user u is in: where its progress stands, if it follows u's
// present definition, or the first.
func (e *Engine) currentState(ctx context.Context, u *User) (int, error) {
	pr, found, err := e.stored().Progress(ctx, userKey(u.ID))
	if err != nil {
		return 0, storeError(err)
	}
	if found && pr.Hash == u.hash && pr.State < len(u.Profile.States) {
		return pr.State, nil
	}
	return 0, nil
}

// Session returns a started session.
func (e *Engine) Session(ctx context.Context, signatureID string) (StartedSession, bool, error) {
	s, found, err := e.stored().Session(ctx, signatureID)
	if err != nil {
		return s, false, storeError(err)
	}
	return s, found, nil
}

// Result answers Get Result for a signatureId: a session started through Generate URL, or a
// session a scenario file declares with a literal signatureId (as it stands in its user's
// current state). Its images are as req.ImageType asks.
func (e *Engine) Result(ctx context.Context, signatureID string, req Request) (json.RawMessage, error) {
	sess, index, userID, err := e.resultSession(ctx, signatureID)
	if err != nil {
		return nil, err
	}
	data := tmpl.Data{UserID: userID, Region: req.Region, Country: req.Country, SolutionCode: sess.SolutionCode}
	raw, err := buildResultAs(e.seed, index, sess, data, req.ImageType)
	if err != nil {
		return nil, &BuildError{Source: "session " + signatureID, Err: err}
	}
	return raw, nil
}

// resultSession finds the session Get Result answers for signatureID, the index its fake
// data is drawn for, and its userId.
func (e *Engine) resultSession(ctx context.Context, signatureID string) (Session, int, string, error) {
	s, found, err := e.stored().Session(ctx, signatureID)
	if err != nil {
		return Session{}, 0, "", storeError(err)
	}
	if found {
		return s.withInput(), s.fakeIndex(), s.UserID, nil
	}
	set := e.Set()
	ref, ok := set.signatures[signatureID]
	if !ok {
		return Session{}, 0, "", fmt.Errorf("%w: %q", ErrUnknownSignature, signatureID)
	}
	u := set.users[ref.userID]
	state, i := ref.state, ref.index
	cur, err := e.currentState(ctx, u)
	if err != nil {
		return Session{}, 0, "", err
	}
	if j := slices.IndexFunc(u.states[cur], func(s Session) bool { return s.SignatureID == signatureID }); j >= 0 {
		state, i = cur, j
	}
	return u.states[state][i], i, u.ID, nil
}
