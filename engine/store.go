package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
)

// Store holds what changes while the mock runs and must be the same for every replica that
// serves one mock: where each userId stands in its states, how often each rule matched, the
// sessions started through Generate URL, and the tokens the token API issued. Every method is
// one atomic step ("count this call and say where the user stands now"), never a read the
// engine follows with a write, so that replicas sharing a store count each call once. An
// error is the store's own (unreachable, timed out): the engine answers it as its failure,
// never as a business answer. MemoryStore is the store of one process.
type Store interface {
	// SetLimits bounds what the store keeps (see Limits).
	SetLimits(l Limits)
	// Name says which store this is, for messages and the health check: "memory", or the
	// address of a shared store without its credentials ("redis://10.0.0.5:6379/0").
	Name() string
	// Ping reports whether the store answers now: nil, or why not (an error wrapping the
	// store's own).
	Ping(ctx context.Context) error

	// Step counts one call of key, whose states m describes: it moves key on as the states
	// say (a progress of another definition starts over) and returns where it stands now.
	Step(ctx context.Context, key ProgressKey, m Machine, now time.Time) (Progress, error)
	// StepUser is Step for a declared user's key that also returns, read in the same step,
	// the user's started sessions and the status a PASS among them gave its profile (as
	// UserSessions): one call, one moment, for the most frequent answer.
	StepUser(ctx context.Context, key ProgressKey, m Machine, now time.Time) (Progress, []StartedSession, idvmock.ProfileStatus, error)
	// Progress returns where key stands, if it has answered a call.
	Progress(ctx context.Context, key ProgressKey) (Progress, bool, error)
	// UpdateProgress moves key to what update makes of where it stands (found: whether it
	// answered a call), atomically: no call is counted between the read and the write. When
	// update fails nothing changes. update may run more than once (a store that retries a
	// transaction), so it must only compute. It serves the admin API's advance and set state.
	UpdateProgress(ctx context.Context, key ProgressKey, update func(p Progress, found bool) (Progress, error)) (Progress, error)
	// ForgetProgress forgets key's progress (a deleted user's); for a key of kind
	// ProgressUser, the user's deactivation too (Deactivate), so that a userId declared again
	// starts with the status its declaration gives.
	ForgetProgress(ctx context.Context, key ProgressKey) error
	// Hit counts a match of rule and returns how many it had before.
	Hit(ctx context.Context, rule string) (uint64, error)

	// NextSequence returns the number of the next session started (1 for the first).
	NextSequence(ctx context.Context) (uint64, error)
	// AddSession keeps a started session, the oldest going first past the limits; it
	// reports false when its signatureId is taken.
	AddSession(ctx context.Context, s StartedSession) (bool, error)
	// Session returns a started session.
	Session(ctx context.Context, signatureID string) (StartedSession, bool, error)
	// UserSessions returns userID's started sessions, oldest first, and the status a PASS
	// among them gave its profile ("" when none did), INACTIVE when it was deactivated.
	UserSessions(ctx context.Context, userID string) ([]StartedSession, idvmock.ProfileStatus, error)
	// UpdateSession applies update to a started session, atomically: when update fails,
	// nothing changes. status, when not "", becomes the profile status of its user.
	UpdateSession(ctx context.Context, signatureID string, update func(*StartedSession) (status idvmock.ProfileStatus, err error)) (StartedSession, error)

	// Deactivate makes userID's profile INACTIVE, as the vendor's Update Status does: from
	// then on StepUser and UserSessions report INACTIVE as its status, whatever a PASS gave
	// it, until ForgetUser, ForgetProgress of its user key, or Reset. Deactivating twice is
	// one deactivation. Past Limits.MaxProgress deactivated userIds, the oldest deactivation
	// goes first.
	Deactivate(ctx context.Context, userID string) error

	// ForgetUser forgets userID's progress (of every kind), started sessions and
	// deactivation; it reports whether there was any.
	ForgetUser(ctx context.Context, userID string) (bool, error)
	// Reset forgets everything but the issued tokens and the sequence (a session started
	// after a reset never takes the number, hence the signatureId, of one before it), and
	// says how many userIds it forgot.
	Reset(ctx context.Context) (int, error)

	// IssueToken keeps a token until it expires (or is pushed out past the limits).
	IssueToken(ctx context.Context, token string, expires time.Time) error
	// TokenValid reports whether token was issued and has not expired at now.
	TokenValid(ctx context.Context, token string, now time.Time) (bool, error)

	// Declarations returns the admin API's layer over the scenario files: the users it
	// declared and the file users it deleted, with the version of the layer.
	Declarations(ctx context.Context) (Declarations, error)
	// PutDeclaration keeps userID's declaration (a scenarios.UserSpec as JSON, size bytes
	// as it was sent) and forgets that it was deleted, within Limits.MaxAdminUsers and
	// MaxAdminBytes: past them it changes nothing and returns an error wrapping
	// ErrAdminFull. It returns the layer's new version.
	PutDeclaration(ctx context.Context, userID string, spec json.RawMessage, size int) (uint64, error)
	// DeleteDeclaration forgets userID's declaration; hide keeps the user deleted (a file
	// declares it). It returns the layer's new version.
	DeleteDeclaration(ctx context.Context, userID string, hide bool) (uint64, error)
	// ReplaceDeclarations replaces the whole layer (a restored state) and returns its new
	// version. Limits are the caller's to check.
	ReplaceDeclarations(ctx context.Context, d Declarations) (uint64, error)
	// Watch calls changed after changes of the layer made through any store sharing this
	// one, until ctx ends, and then returns; changes may be reported together, and a change
	// with an empty UserID means "read the whole layer again" (a restore, or a connection
	// that was lost). A store of one process may never call changed.
	Watch(ctx context.Context, changed func(DeclarationChange))

	// Snapshot is everything but the tokens, for a saved state.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Restore replaces everything but the tokens with s.
	Restore(ctx context.Context, s Snapshot) error
}

// Declarations is the admin API's layer over the scenario files, shared by the replicas of a
// mock: a PUT on one is answered by all.
type Declarations struct {
	Version uint64                     // changes with every change of the layer
	Users   map[string]json.RawMessage // userId -> its declaration, a scenarios.UserSpec as JSON
	Sizes   map[string]int             // userId -> the size of its declaration as it was sent
	Removed map[string]bool            // users of scenario files deleted through the admin API
}

// DeclarationChange is a change of the admin layer, as Store.Watch reports it.
type DeclarationChange struct {
	Version uint64 // the layer's version after it
	UserID  string // the user that changed; "": read the whole layer again
}

// ErrStore wraps the errors of a store that cannot be reached or fails.
var ErrStore = errors.New("the state store failed")

// Progress kinds: whose progress a key is.
const (
	ProgressUser     = "user"     // a declared user
	ProgressScenario = "scenario" // a userId answered by a named scenario (X-Mock-Scenario)
	ProgressRule     = "rule"     // a userId answered by a rule's profile
)

// ProgressKey says whose progress: a declared user, or a userId that a named scenario or a
// rule answers.
type ProgressKey struct {
	Kind   string // ProgressUser, ProgressScenario or ProgressRule
	Name   string // the scenario's or the rule's name; "" for a user
	UserID string
}

// compareKeys orders progress keys by kind, name and userId.
func compareKeys(a, b ProgressKey) int {
	return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name), strings.Compare(a.UserID, b.UserID))
}

// Progress is where a key stands in its profile's states.
type Progress struct {
	Hash  string    // of the definition it follows: another one starts over
	State int       // the state it is in
	Calls int       // calls answered in this state
	Since time.Time // first call answered in this state; zero before it
}

// Machine is what Step needs of a profile: when each state moves on, and whether the last
// moves back to the first.
type Machine struct {
	Hash  string
	After []scenarios.After
	Loop  bool
}

// machineOf describes p's states for Step, for a definition of the given hash (a user's
// declaration changes its hash even when it follows the same profile).
func machineOf(p *Profile, hash string) Machine {
	return Machine{Hash: hash, Loop: p.Loop, After: p.after}
}

// Advance is Step's rule, the same in every store: it moves pr on as m says at now and counts
// one call. A progress of another definition, or past its states, starts over. now may be
// zero when no state of m moves on after a duration: Since then stays zero.
func (m Machine) Advance(pr Progress, now time.Time) Progress {
	if pr.Hash != m.Hash || pr.State >= len(m.After) {
		pr = Progress{Hash: m.Hash}
	}
	for {
		after := m.After[pr.State]
		due := (after.Calls > 0 && pr.Calls >= after.Calls) ||
			(after.Duration > 0 && !pr.Since.IsZero() && now.Sub(pr.Since) >= after.Duration)
		if !due || (pr.State == len(m.After)-1 && !m.Loop) {
			break
		}
		pr = Progress{Hash: pr.Hash, State: (pr.State + 1) % len(m.After)}
	}
	if pr.Since.IsZero() {
		pr.Since = now
	}
	pr.Calls++
	return pr
}

// StartedSession is a session started through Generate URL.
type StartedSession struct {
	UserID  string       `json:"userId"`
	Session Session      `json:"session"` // Result is nil: the echoed request is in Start.Input
	Start   StartRequest `json:"start"`
	Seq     uint64       `json:"seq,omitempty"` // its place among the sessions started: seeds its fake data
}

// fakeIndex is the session number its fake data is drawn for, apart from declared sessions'.
func (s StartedSession) fakeIndex() int { return 1000 + int(s.Seq) }

// withInput returns its session with the request it was started with as inputParameters,
// never evaluated as a template.
func (s StartedSession) withInput() Session {
	out := s.Session
	var input map[string]any
	if json.Unmarshal(s.Start.Input, &input) != nil || input == nil {
		input = map[string]any{}
	}
	out.Result = map[string]any{"inputParameters": input}
	out.Literal = true
	return out
}

// Size is about what it costs to keep, against Limits.MaxStartedBytes: every store counts
// it so.
func (s StartedSession) Size() int {
	const overhead = 256
	st := s.Start
	return overhead + len(s.UserID) + len(st.Input) + len(st.BizID) + len(st.Region) + len(st.SolutionCode) +
		len(st.CallbackURL) + len(st.ReturnURL) + len(st.FailReturnURL) + len(s.Session.SignatureID) + len(s.Session.ErrorCode)
}

// Snapshot is a store's content but its tokens.
type Snapshot struct {
	Progress map[ProgressKey]Progress
	Hits     map[string]uint64
	Started  []StartedSession // oldest first
	// Statuses are the profile statuses the store holds: ACTIVE for a userId whose started
	// session passed, INACTIVE for one deactivated.
	Statuses map[string]idvmock.ProfileStatus
	Sequence uint64 // sessions started so far
}
