package idvmock

import (
	"crypto/sha256"
	"encoding/hex"
)

// The vendor's vocabulary: where its operations are, what they are called in openapi.yaml,
// the codes and messages its envelope carries, and how its tokens are signed. Every other
// package names them from here; a test keeps the paths and operationIds equal to
// openapi.yaml's.

// Paths of the vendor's operations.
const (
	PathLatest      = "/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result"
	PathToken       = "/openapi/auth/ticket/v1/generate-token"
	PathGenerateURL = "/intl/openapi/identity-risk/idvs-h5/ekyc/v1/generate-ekyc-verification-url"
	PathGetResult   = "/intl/openapi/identity-risk/idvs-h5/ekyc/v1/get-result"
	// PathGetProfile and PathGetProfileCamel are Get Profile: the regional hosts document
	// the first, the global host the second; idvmock answers both on every host.
	PathGetProfile      = "/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-by-external-user-id"
	PathGetProfileCamel = "/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/getByExternalUserId"
	PathUpdateStatus    = "/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/update-profile-status"
)

// operationIds of the vendor's operations in openapi.yaml.
const (
	OpGetLatest   = "getLatestSessionResult"
	OpToken       = "generateToken"
	OpGenerateURL = "generateVerificationUrl"
	OpGetResult   = "getResult"
	// OpGetProfile and OpGetProfileCamel are Get Profile's two paths.
	OpGetProfile      = "getProfile"
	OpGetProfileCamel = "getProfileByExternalUserId"
	OpUpdateStatus    = "updateProfileStatus"
)

// TokenHeader carries the access token on every operation but the token API.
const TokenHeader = "X-ACCESS-TOKEN"

// The vendor's published sample keys: its documented test vector signs with them.
const (
	SampleAccessKey = "sampleaccesskey"
	SampleSecretKey = "samplesecretkey"
)

// Sign returns the signature the token API expects: the lowercase hex SHA-256 of
// accessKey + secretKey + timestamp, the timestamp written as in the request.
func Sign(accessKey, secretKey, timestamp string) string {
	sum := sha256.Sum256([]byte(accessKey + secretKey + timestamp))
	return hex.EncodeToString(sum[:])
}

// The vendor's business codes. Every one of them travels in the JSON envelope of an HTTP 200
// answer (CLIENT_ERROR aside); clients branch on the code.
const (
	CodeSuccess         = "SUCCESS"
	CodeParameterError  = "PARAMETER_ERROR"
	CodeError           = "ERROR"
	CodeIAMFailed       = "IAM_FAILED"
	CodeClientError     = "CLIENT_ERROR"
	CodeAccountDisabled = "ACCOUNT_DISABLED"
	CodeServiceBusy     = "SERVICE_BUSY"
	// CodeSignatureNotExist answers Get Result for a signatureId no session has.
	CodeSignatureNotExist = "SIGNATURE_NOT_EXIST"
)

// Messages of the envelope: the vendor's where it documents one, idvmock's otherwise.
const (
	MessageOK              = "OK"
	MessageUserNotFound    = "externalUserId does not exist."
	MessageBadSolutionCode = "solutionCode is wrong."
	MessageServerError     = "Server error"
	MessageTokenNotFound   = "Token not found or expired"
	MessageEmptyParameter  = "Parameter should not be empty"
	MessageTimestampError  = "Timestamp error"
	MessageSignatureError  = "Signature error"
	MessageAccountDisabled = "Account Disabled"
	MessageRateLimit       = "Rate limit is exceeded"
	// MessageSignatureNotExist is the vendor's wording, kept verbatim.
	MessageSignatureNotExist = "This signatureId is not exist."
	// MessageInvalidExternalUserID answers Update Status for a userId without a profile.
	MessageInvalidExternalUserID = "Invalid externalUserId, please check it"
)

// Image types of Get Result's returnImageType: how its image fields carry the images.
const (
	ImageTypeURL    = "URL"    // a URL to download the image from (the default)
	ImageTypeBase64 = "BASE64" // the base64 of the image bytes
)

// PricingFree is the deprecated pricingStrategy the vendor sends on most envelopes.
const PricingFree = "FREE"
