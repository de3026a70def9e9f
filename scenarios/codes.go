package scenarios

// The vendor's business codes and the messages it documents for them. Every one of them
// travels in the JSON envelope of an HTTP 200 answer; clients branch on the code.
const (
	CodeSuccess         = "SUCCESS"
	CodeParameterError  = "PARAMETER_ERROR"
	CodeError           = "ERROR"
	CodeIAMFailed       = "IAM_FAILED"
	CodeClientError     = "CLIENT_ERROR"
	CodeAccountDisabled = "ACCOUNT_DISABLED"
	CodeServiceBusy     = "SERVICE_BUSY"
)

// Documented messages.
const (
	MessageOK              = "OK"
	MessageUserNotFound    = "externalUserId does not exist."
	MessageBadSolutionCode = "solutionCode is wrong."
	MessageServerError     = "Server error"
	MessageTokenNotFound   = "Token not found or expired"
)
