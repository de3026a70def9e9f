package engine

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v6"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// sessionEpoch anchors the creation times of sessions a scenario gives no time: session i of
// a user is created about i*3 days after it, so list order is creation order, and the same
// user gets the same times across calls and restarts.
var sessionEpoch = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

// faker returns a private gofakeit source seeded from the process seed, the userId and a
// purpose, so that every generated value is a pure function of them. Only methods of the
// returned Faker may be used: gofakeit's package-level functions read a global source.
func faker(seed int64, userID string, purpose string, index int) *gofakeit.Faker {
	h := fnv.New64a()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(seed))
	h.Write(buf[:])
	h.Write([]byte(userID))
	h.Write([]byte{0})
	h.Write([]byte(purpose))
	binary.LittleEndian.PutUint64(buf[:], uint64(index))
	h.Write(buf[:])
	s := int64(h.Sum64() & (1<<63 - 1))
	if s == 0 { // gofakeit takes 0 as "seed from crypto/rand"
		s = 1
	}
	return gofakeit.NewUnlocked(s)
}

// resolveSessions returns the sessions with identity fields filled: signatureId, bizId and
// creation time, each generated only where the scenario left it empty.
func resolveSessions(seed int64, userID string, in []Session) []Session {
	out := make([]Session, len(in))
	for i, s := range in {
		f := faker(seed, userID, "session", i)
		if s.SignatureID == "" {
			s.SignatureID = fmt.Sprintf("%012x", f.Uint64()&(1<<48-1))
		} else {
			f.Uint64()
		}
		if s.BizID == "" {
			s.BizID = "biz" + f.Numerify("######")
		}
		if s.CreatedAt.IsZero() {
			s.CreatedAt = sessionEpoch.Add(time.Duration(i)*72*time.Hour + time.Duration(f.IntRange(0, 600))*time.Minute)
		}
		out[i] = s
	}
	return out
}

// buildResult builds the wire result of session number index of a user, for the request
// data describes (its country is the default of sessions that declare none), its images as
// URLs. Template strings are evaluated, within one budget for the whole result, unless the
// session is literal; the session's result overrides are set over the generated fields.
func buildResult(seed int64, index int, s Session, data tmpl.Data) (json.RawMessage, error) {
	return buildResultAs(seed, index, s, data, idvmock.ImageTypeURL)
}

// buildResultAs is buildResult with the images as imageType says (idvmock.ImageTypeURL or
// idvmock.ImageTypeBase64): generated fields only, so overrides and verbatim results stay as
// the scenario wrote them.
func buildResultAs(seed int64, index int, s Session, data tmpl.Data, imageType string) (json.RawMessage, error) {
	key := fmt.Sprintf("session[%d]", index)
	b := tmpl.NewBudget()
	result := s.Result
	if !s.Literal {
		var err error
		for _, field := range []struct {
			name  string
			value *string
		}{{"signatureId", &s.SignatureID}, {"bizId", &s.BizID}, {"errorCode", &s.ErrorCode}, {"region", &s.Region}} {
			if *field.value, err = renderText(*field.value, data, seed, key+"."+field.name, b); err != nil {
				return nil, &FieldError{Field: field.name, Err: err}
			}
		}
		if len(s.Result) > 0 {
			rendered, err := renderValues(s.Result, data, seed, key+".result", b)
			if err != nil {
				return nil, err
			}
			result = rendered.(map[string]any)
		}
	}
	if s.Verbatim {
		return json.Marshal(result)
	}
	r := generateResult(seed, data.UserID, index, s, data.Country)
	if imageType == idvmock.ImageTypeBase64 {
		if err := embedImages(r, seed, data.UserID, index); err != nil {
			return nil, err
		}
	}
	raw, err := json.Marshal(r)
	if err != nil || len(result) == 0 {
		return raw, err
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	obj.merge(result)
	return obj.MarshalJSON()
}

// FieldError is a session's field that could not be built: its template failed.
type FieldError struct {
	Field string // signatureId, bizId, ... or result.<path> for a field of result:
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// generateResult builds the result of session number index of userID from the model alone.
// country is the session's region when it declares none.
func generateResult(seed int64, userID string, index int, s Session, country string) *idvmock.Result {
	if s.Region != "" {
		country = s.Region
	}
	r := &idvmock.Result{
		SignatureID:     s.SignatureID,
		ErrorCodes:      []string{},
		FaceDetail:      &idvmock.FaceDetail{},
		InputParameters: idvmock.InputParameters{BizID: s.BizID, UserID: userID, Region: country},
		CountryCodeIso3: country,
	}
	switch s.State {
	case scenarios.StateInProgress:
		return r
	case scenarios.StateSubmitted:
		r.SubmissionCompleted = ptr(true)
		return r
	}
	v := s.Verdict
	code := s.ErrorCode
	if code == "" {
		code = defaultErrorCode(v)
	}
	r.OverallResult, r.IDVResult = &v, &v
	r.ErrorCode = &code
	if code != idvmock.ErrorCodeSuccess {
		r.ErrorCodes = []string{code}
	}
	r.SubmissionCompleted = ptr(v != idvmock.VerdictIncomplete)
	if v == idvmock.VerdictIncomplete {
		return r // the user left before the checks ran
	}
	f := faker(seed, userID, "result", index)
	var files string
	r.FaceDetail, files = buildFace(f, s, code)
	r.DocDetail = buildDoc(f, country)
	r.DocDetail.FrontImage = files + "/doc-front.jpg"
	return r
}

// embedImages replaces the image URLs of a generated result by the base64 of its session's
// images (sessionImages); a result without them (no verdict yet, INCOMPLETE) is left as it is.
// auditImageUrl stays a URL, as its name says.
func embedImages(r *idvmock.Result, seed int64, userID string, index int) error {
	face := r.FaceDetail != nil && r.FaceDetail.FaceCapture != nil
	if !face && r.DocDetail == nil {
		return nil
	}
	images, err := cachedSessionImages(seed, userID, r.SignatureID, index)
	if err != nil {
		return err
	}
	if face {
		c := r.FaceDetail.FaceCapture
		for _, field := range []struct {
			dst *string
			img string
		}{{c.FaceImage, images.face}, {c.FaceImageFar, images.faceFar}, {c.FaceImageNear, images.faceNear}} {
			if field.dst != nil {
				*field.dst = field.img
			}
		}
	}
	if r.DocDetail != nil {
		r.DocDetail.FrontImage = images.docFront
	}
	return nil
}

func defaultErrorCode(v idvmock.Verdict) string {
	switch v {
	case idvmock.VerdictPass:
		return idvmock.ErrorCodeSuccess
	case idvmock.VerdictFail:
		return idvmock.ErrorCodeLivenessAttack
	default:
		return idvmock.ErrorCodeTimeout
	}
}

// buildFace generates the face step consistently with the session's verdict and error code:
// a PASS clears both thresholds; LIVENESS_ATTACK scores liveness below 50 and names an
// attack type; other failure reasons keep the face step passed (the failure lies elsewhere).
// It returns, besides, the folder of the session's files, under which the image URLs lie.
func buildFace(f *gofakeit.Faker, s Session, code string) (*idvmock.FaceDetail, string) {
	attack := code == idvmock.ErrorCodeLivenessAttack
	liveness := round2(f.Float64Range(idvmock.LivenessThreshold+5, 99.9))
	similarity := round2(f.Float64Range(idvmock.SimilarityThreshold+5, 99.9))
	attackType := f.IntRange(1, 3)
	if attack {
		liveness = round2(f.Float64Range(2, idvmock.LivenessThreshold-10))
	}
	face := &idvmock.FaceCapture{
		FaceLivenessScore:   pick(s.Face.LivenessScore, liveness),
		FaceSimilarityScore: pick(s.Face.SimilarityScore, similarity),
		LivenessType:        "DISTANT_NEAR",
	}
	if face.FaceLivenessScore < idvmock.LivenessThreshold {
		face.LivenessAttackType = ptr(pick(s.Face.LivenessAttackType, attackType))
	}
	verdict := idvmock.VerdictPass
	if face.FaceLivenessScore < idvmock.LivenessThreshold || face.FaceSimilarityScore < idvmock.SimilarityThreshold {
		verdict = idvmock.VerdictFail
	}
	at := s.CreatedAt.Add(time.Duration(f.IntRange(40, 240)) * time.Second).UnixMilli()
	base := "https://files.idvmock.invalid/" + s.SignatureID + "/" + f.UUID()
	face.FaceImage, face.FaceImageTime = ptr(base+"/face.jpg"), ptr(at+1500)
	face.FaceImageFar, face.FaceImageFarTime = ptr(base+"/face-far.jpg"), ptr(at)
	face.FaceImageNear, face.FaceImageNearTime = ptr(base+"/face-near.jpg"), ptr(at+1500)
	face.AuditImageURL = ptr(base + "/audit.jpg")
	face.EventDetails = []idvmock.EventDetail{
		{Event: "LIVENESS_DETECTION", Result: thresholdVerdict(face.FaceLivenessScore, idvmock.LivenessThreshold), CreateTimestamp: at + 2000},
		{Event: "FACE_COMPARISON", Result: thresholdVerdict(face.FaceSimilarityScore, idvmock.SimilarityThreshold), CreateTimestamp: at + 2600},
	}
	return &idvmock.FaceDetail{FaceResult: &verdict, FaceCapture: face}, base
}

func thresholdVerdict(score, threshold float64) idvmock.Verdict {
	if score < threshold {
		return idvmock.VerdictFail
	}
	return idvmock.VerdictPass
}

// idFormats are national ID number shapes by country (# is a digit, ? a capital letter).
var idFormats = map[string]struct{ docType, number string }{
	"SGP": {"SG-ID-N", "S#######?"},
	"PHL": {"PH-ID-SSS", "##-#######-#"},
	"THA": {"TH-ID-N", "#############"},
	"MYS": {"MY-ID-N", "######-##-####"},
	"VNM": {"VN-ID-N", "############"},
	"IDN": {"ID-ID-N", "################"},
}

// docTypeOf is the type of the document generated for a session of country: its national
// ID, or a passport where idFormats has none.
func docTypeOf(country string) string {
	if format, ok := idFormats[country]; ok {
		return format.docType
	}
	return "AW-PP-N"
}

// buildDoc generates the OCR of an identity document issued by country; a country without a
// national ID format gets a passport.
func buildDoc(f *gofakeit.Faker, country string) *idvmock.DocDetail {
	first, last := f.FirstName(), f.LastName()
	gender := "MALE"
	if f.Gender() == "female" {
		gender = "FEMALE"
	}
	birth := f.DateRange(time.Date(1955, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2006, 12, 31, 0, 0, 0, 0, time.UTC))
	expiry := sessionEpoch.AddDate(f.IntRange(1, 9), f.IntRange(0, 11), f.IntRange(0, 27))
	format, ok := idFormats[country]
	if !ok {
		format.docType, format.number = docTypeOf(country), "?########"
	}
	return &idvmock.DocDetail{
		DocType:     format.docType,
		FullName:    strings.ToUpper(first + " " + last),
		FirstName:   strings.ToUpper(first),
		LastName:    strings.ToUpper(last),
		Gender:      gender,
		IDNumber:    strings.ToUpper(f.Lexify(f.Numerify(format.number))),
		BirthDate:   birth.Format(time.DateOnly),
		ExpiryDate:  expiry.Format(time.DateOnly),
		Nationality: country,
	}
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

func pick[T any](override *T, generated T) T {
	if override != nil {
		return *override
	}
	return generated
}

func ptr[T any](v T) *T { return &v }
