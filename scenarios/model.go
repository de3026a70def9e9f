// Package scenarios is the language of idvmock's scenario files: what a file may declare
// (users, their profile status and verification sessions, named scenarios, rules and
// faults), as Go types, and the checks that make a declaration complete and consistent. It
// knows neither YAML (scenarios/files reads the files) nor HTTP; the engine answers from
// what it declares.
package scenarios

// SessionState is how far a verification session has gone.
type SessionState string

// Session states. Only a finished session has an overall result.
const (
	StateInProgress SessionState = "in_progress" // the user is still in the H5 flow
	StateSubmitted  SessionState = "submitted"   // the user submitted; the verdict is pending
	StateFinished   SessionState = "finished"    // the verdict is known
)

// MaxUserIDLength is the longest userId, as openapi.yaml's maxLength of the parameter says.
const MaxUserIDLength = 255

// Answer kinds that a state can force instead of a session result.
const (
	AnswerSession         = ""                  // the latest session's result
	AnswerUserNotFound    = "user_not_found"    // PARAMETER_ERROR externalUserId does not exist.
	AnswerBadSolutionCode = "bad_solution_code" // PARAMETER_ERROR solutionCode is wrong.
	AnswerServerError     = "server_error"      // the vendor's ERROR body
	AnswerTokenExpired    = "token_expired"     // IAM_FAILED Token not found or expired
)

// ForcedAnswers lists the answer kinds other than AnswerSession.
var ForcedAnswers = []string{AnswerUserNotFound, AnswerBadSolutionCode, AnswerServerError, AnswerTokenExpired}
