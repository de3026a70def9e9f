package idvmock

import "encoding/json"

// ProfileStatus is where a user's identity profile stands.
type ProfileStatus string

// The documented profile statuses.
const (
	ProfileInit     ProfileStatus = "INIT"     // first verification still in progress
	ProfileActive   ProfileStatus = "ACTIVE"   // profile exists and is active
	ProfileInactive ProfileStatus = "INACTIVE" // profile exists but was deactivated
)

// Valid reports whether p is one of the documented statuses.
func (p ProfileStatus) Valid() bool {
	return p == ProfileInit || p == ProfileActive || p == ProfileInactive
}

// Verdict is a finished session's overall result.
type Verdict string

// The documented overall results.
const (
	VerdictPass       Verdict = "PASS"
	VerdictFail       Verdict = "FAIL"
	VerdictIncomplete Verdict = "INCOMPLETE" // the user gave up midway or timed out
)

// Thresholds the vendor documents for the face step.
const (
	LivenessThreshold   = 50.0 // below: the capture may be an attack
	SimilarityThreshold = 70.0 // below: the faces may belong to different people
)

// Error codes idvmock gives finished sessions when a scenario names none.
const (
	ErrorCodeSuccess        = "SUCCESS"
	ErrorCodeLivenessAttack = "LIVENESS_ATTACK" // documented example of a failure reason
	ErrorCodeTimeout        = "TIMEOUT"         // idvmock's choice for INCOMPLETE: not documented
)

// The wire form of "Get Latest Session Result By UserId" data, in the vendor's field order.
// Nullable fields are pointers without omitempty so that null is sent, as the vendor does;
// fields the vendor's in-progress example leaves out carry omitempty.

// LatestData is the envelope's data on SUCCESS.
type LatestData struct {
	ProfileStatus ProfileStatus   `json:"profileStatus"`
	Result        json.RawMessage `json:"result"`
}

// Result is the Get Result object: the outcome of one session.
type Result struct {
	SignatureID         string          `json:"signatureId"`
	OverallResult       *Verdict        `json:"overallResult"`
	IDVResult           *Verdict        `json:"idvResult"`
	SubmissionCompleted *bool           `json:"submissionCompleted,omitempty"`
	ErrorCode           *string         `json:"errorCode"`
	ErrorCodes          []string        `json:"errorCodes"`
	FaceDetail          *FaceDetail     `json:"faceDetail"`
	DocDetail           *DocDetail      `json:"docDetail"`
	InputParameters     InputParameters `json:"inputParameters"`
	CountryCodeIso3     string          `json:"countryCodeIso3"`
}

// FaceDetail is the face step's outcome. While a session has no verdict only faceResult is
// sent (null), as in the vendor's INIT example; *FaceCapture is nil then.
type FaceDetail struct {
	FaceResult *Verdict `json:"faceResult"`
	*FaceCapture
}

// FaceCapture is the face step's detail once it has been judged.
type FaceCapture struct {
	FaceLivenessScore   float64       `json:"faceLivenessScore"`
	FaceSimilarityScore float64       `json:"faceSimilarityScore"`
	LivenessAttackType  *int          `json:"livenessAttackType"`
	LivenessType        string        `json:"livenessType"`
	FaceImage           *string       `json:"faceImage"`
	FaceImageTime       *int64        `json:"faceImageTime"`
	FaceImageFar        *string       `json:"faceImageFar"`
	FaceImageFarTime    *int64        `json:"faceImageFarTime"`
	FaceImageNear       *string       `json:"faceImageNear"`
	FaceImageNearTime   *int64        `json:"faceImageNearTime"`
	SilentImage         *string       `json:"silentImage"`
	SilentImageTime     *int64        `json:"silentImageTime"`
	AuditImageURL       *string       `json:"auditImageUrl"`
	FaceVideoURL        *string       `json:"faceVideoUrl"`
	EventDetails        []EventDetail `json:"eventDetails"`
}

// EventDetail is one step of the face flow.
type EventDetail struct {
	Event           string  `json:"event"`
	Result          Verdict `json:"result"`
	CreateTimestamp int64   `json:"createTimestamp"`
}

// DocDetail is idvmock's OCR object. The vendor does not document docDetail's fields; these
// are plausible ones, and the spec leaves docDetail open to others.
type DocDetail struct {
	DocType     string `json:"docType"`
	FullName    string `json:"fullName"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Gender      string `json:"gender"`
	IDNumber    string `json:"idNumber"`
	BirthDate   string `json:"birthDate"`
	ExpiryDate  string `json:"expiryDate"`
	Nationality string `json:"nationality"`
	// FrontImage is the document's front: a URL, or its base64 when Get Result asks for
	// returnImageType BASE64. idvmock's: the vendor documents no docDetail field.
	FrontImage string `json:"frontImage"`
}

// InputParameters echoes the Generate URL request that started the session.
type InputParameters struct {
	BizID  string `json:"bizId"`
	UserID string `json:"userId"`
	Region string `json:"region"`
}
