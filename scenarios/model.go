// Package scenarios is idvmock's model of ADVANCE.AI's identity verification: users, their
// profile status and their verification sessions, the YAML that scripts them, and the answer
// the vendor would give to "Get Latest Session Result By UserId". It knows nothing of HTTP:
// the mock server asks it what to answer and wraps the answer in the vendor's envelope.
package scenarios

import "time"
import "github.com/idvmock/idvmock"

// SessionState is how far a verification session has gone.
type SessionState string

// Session states. Only a finished session has an overall result.
const (
	StateInProgress SessionState = "in_progress" // the user is still in the H5 flow
	StateSubmitted  SessionState = "submitted"   // the user submitted; the verdict is pending
	StateFinished   SessionState = "finished"    // the verdict is known
)

// maxUserIDLength is the longest userId, as openapi.yaml's maxLength of the parameter says.
const maxUserIDLength = 255

// Session is one verification session of a user, as a scenario declares it. Empty fields are
// filled deterministically when the result is built.
type Session struct {
	SignatureID  string
	SolutionCode string
	CreatedAt    time.Time
	State        SessionState
	Verdict      idvmock.Verdict // set only when State is StateFinished
	ErrorCode    string          // failure reason; SUCCESS for PASS
	BizID        string
	Region       string // ISO 3166 alpha-3; empty: the region of the host that was asked
	Face         FaceOverrides
	Result       map[string]any // fields of the Get Result object set over the generated ones
	Verbatim     bool           // Result is the whole Get Result object: nothing is generated
	// Literal marks a session whose strings are data a caller sent (Generate URL): they are
	// answered as they are and never evaluated as templates.
	Literal bool `json:",omitempty"`
}

// FaceOverrides pins face-step values that are otherwise generated consistently with the
// verdict. Nil means "generate".
type FaceOverrides struct {
	LivenessScore      *float64
	SimilarityScore    *float64
	LivenessAttackType *int
}

// Answer kinds that a scenario can force instead of a session result.
const (
	AnswerSession         = ""                  // the latest session's result
	AnswerUserNotFound    = "user_not_found"    // PARAMETER_ERROR externalUserId does not exist.
	AnswerBadSolutionCode = "bad_solution_code" // PARAMETER_ERROR solutionCode is wrong.
	AnswerServerError     = "server_error"      // the vendor's ERROR body
	AnswerTokenExpired    = "token_expired"     // IAM_FAILED Token not found or expired
)

// forcedAnswers are the code and message of each answer kind other than AnswerSession.
var forcedAnswers = map[string]struct{ code, message string }{
	AnswerUserNotFound:    {idvmock.CodeParameterError, idvmock.MessageUserNotFound},
	AnswerBadSolutionCode: {idvmock.CodeParameterError, idvmock.MessageBadSolutionCode},
	AnswerServerError:     {idvmock.CodeError, idvmock.MessageServerError},
	AnswerTokenExpired:    {idvmock.CodeIAMFailed, idvmock.MessageTokenNotFound},
}

// Profile is what a user looks like to the vendor, as a sequence of states (one, for a user
// that does not change). Named profiles are the scenarios the X-Mock-Scenario header and
// rules pick.
type Profile struct {
	Name   string // scenario name, when the profile is a named scenario
	States []State
	Loop   bool // after the last state, start over from the first
	hash   string
}

// State is one state of a profile: a profile status and the sessions behind it, or a forced
// answer, and when the user moves on.
type State struct {
	Name     string
	Status   idvmock.ProfileStatus
	Answer   string // one of the Answer* kinds
	Sessions []Session
	After    After // zero: the user stays in this state
}
