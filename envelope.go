package idvmock

import "encoding/json"

// The vendor's envelopes and the bodies of its requests, in the field order of its examples.

// SuccessEnvelope is the envelope of a SUCCESS answer of Get Latest Session Result and Get
// Result, in the field order of the vendor's INIT example, which has no pricingStrategy and
// no extra.
type SuccessEnvelope struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	TransactionID string `json:"transactionId"`
	Data          any    `json:"data"`
}

// FullEnvelope is the envelope of a SUCCESS answer of the token and Generate URL APIs: every
// field of the documented envelope.
type FullEnvelope struct {
	Code            string `json:"code"`
	Message         string `json:"message"`
	TransactionID   string `json:"transactionId"`
	PricingStrategy string `json:"pricingStrategy"`
	Data            any    `json:"data"`
	Extra           any    `json:"extra"`
}

// ErrorEnvelope is the envelope of every answer but SUCCESS, in the field order of the
// vendor's documented error examples. The vendor's ERROR example has no pricingStrategy.
type ErrorEnvelope struct {
	Code            string    `json:"code"`
	Message         string    `json:"message"`
	Data            *struct{} `json:"data"`
	Extra           any       `json:"extra"`
	TransactionID   string    `json:"transactionId"`
	PricingStrategy string    `json:"pricingStrategy,omitempty"`
}

// NewErrorEnvelope returns the envelope of an answer of code, with pricingStrategy where the
// vendor sends it.
func NewErrorEnvelope(code, message, transactionID string) ErrorEnvelope {
	b := ErrorEnvelope{Code: code, Message: message, TransactionID: transactionID}
	if code != CodeError {
		b.PricingStrategy = PricingFree
	}
	return b
}

// TokenRequest is the token API's body.
type TokenRequest struct {
	AccessKey string `json:"accessKey"`
	// Timestamp is epoch milliseconds, as a string or a number: the signature covers the
	// characters as the client wrote them (see TimestampText).
	Timestamp    json.RawMessage `json:"timestamp"`
	Signature    string          `json:"signature"`
	PeriodSecond int64           `json:"periodSecond"`
}

// TimestampText is the timestamp as the client wrote it, without the quotes of a string.
func (r TokenRequest) TimestampText() string {
	var s string
	if json.Unmarshal(r.Timestamp, &s) == nil {
		return s
	}
	return string(r.Timestamp)
}

// TokenData is the token API's data on SUCCESS.
type TokenData struct {
	Token       string `json:"token"`
	ExpiredTime int64  `json:"expiredTime"` // epoch milliseconds
}

// GenerateURLRequest is the Generate URL API's body.
type GenerateURLRequest struct {
	UserID        string `json:"userId"`
	BizID         string `json:"bizId"`
	Region        string `json:"region"`
	SolutionCode  string `json:"solutionCode"`
	CallbackURL   string `json:"callbackUrl"`
	ReturnURL     string `json:"returnUrl"`
	FailReturnURL string `json:"failReturnUrl"`
}

// GenerateURLData is the Generate URL API's data on SUCCESS.
type GenerateURLData struct {
	SignatureID string `json:"signatureId"`
	URL         string `json:"url"`
}

// GetResultRequest is the Get Result API's body.
type GetResultRequest struct {
	SignatureID string `json:"signatureId"`
	// ReturnImageType is how the image fields carry the images: ImageTypeURL (also when
	// empty) or ImageTypeBase64.
	ReturnImageType string `json:"returnImageType,omitempty"`
}

// ProfileData is Get Profile's data on SUCCESS: the profile's status, one document per
// docType (the latest), and the signatureIds of the user's sessions, oldest first.
type ProfileData struct {
	Status        ProfileStatus     `json:"status"`
	DocumentInfos []json.RawMessage `json:"documentInfos"` // each {docType, subDocType, docDetail}
	SignatureIDs  []string          `json:"signatureIds"`
}

// UpdateStatusRequest is the Update Status API's body.
type UpdateStatusRequest struct {
	ExternalUserID string        `json:"externalUserId"`
	Status         ProfileStatus `json:"status"`
}
