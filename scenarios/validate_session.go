package scenarios

import (
	"fmt"
	"regexp"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
)

// CheckSession checks one session that no file declares (a completion, a saved started
// session), as lint checks a declared one: its state, verdict, error code and scores agree.
// name and path say where it comes from; literal says its strings are data a caller sent,
// never templates.
func CheckSession(name, path string, s SessionSpec, literal bool) Problems {
	v := &validator{file: NewFile(name, nil), literal: literal}
	v.session(path, s)
	return v.problems
}

// countryCode is what a region code looks like: ISO 3166 alpha-3.
var countryCode = regexp.MustCompile(`^[A-Z]{3}$`)

// session checks one session: its state and result agree, its region, scores and attack type
// are in range, and its templates parse.
func (v *validator) session(path string, s SessionSpec) {
	state := s.EffectiveState()
	switch state {
	case StateInProgress, StateSubmitted:
		if s.OverallResult != "" {
			v.add(path+".overallResult", fmt.Sprintf("is %s but the session is %s", s.OverallResult, state),
				"a session has a result only when finished: remove overallResult or state")
		}
		if s.ErrorCode != "" {
			v.add(path+".errorCode", fmt.Sprintf("is %q but the session is %s", s.ErrorCode, state),
				"errorCode is null until the session finishes: remove it")
		}
	case StateFinished:
		v.verdict(path, s)
	default:
		v.add(path+".state", fmt.Sprintf("is %q", s.State), "use in_progress, submitted or finished")
	}
	if s.Region != "" && !countryCode.MatchString(s.Region) && !tmpl.Has(s.Region) {
		v.add(path+".region", fmt.Sprintf("is %q", s.Region), "use an ISO 3166 alpha-3 code such as SGP")
	}
	v.score(path+".faceLivenessScore", s.FaceLivenessScore)
	v.score(path+".faceSimilarityScore", s.FaceSimilarityScore)
	if t := s.LivenessAttackType; t != nil && (*t < 1 || *t > 3) {
		v.add(path+".livenessAttackType", fmt.Sprintf("is %d", *t), "use 1 (presentation), 2 (injection) or 3 (unsure)")
	}
	if s.LivenessAttackType != nil && (s.FaceLivenessScore == nil || *s.FaceLivenessScore >= idvmock.LivenessThreshold) {
		v.add(path+".livenessAttackType", "is set but the liveness score is not below 50",
			"give faceLivenessScore below 50 with it, or remove it")
	}
	for _, field := range []struct{ name, value string }{{"signatureId", s.SignatureID}, {"bizId", s.BizID}, {"errorCode", s.ErrorCode}, {"region", s.Region}} {
		v.template(path+"."+field.name, field.value)
	}
	v.templates(path+".result", s.Result)
	if s.Verbatim {
		v.verbatim(path, s)
	}
}

// verbatim: the whole result is given, and it says what the session's own keys say.
func (v *validator) verbatim(path string, s SessionSpec) {
	if len(s.Result) == 0 {
		v.add(path+".verbatim", "is true but there is no result", "give the whole Get Result object under result, or remove verbatim")
		return
	}
	want := map[string]any{"overallResult": nil}
	if s.EffectiveState() == StateFinished {
		want["overallResult"] = string(s.OverallResult)
	}
	if s.SignatureID != "" {
		want["signatureId"] = s.SignatureID
	}
	for field, value := range want {
		if got := s.Result[field]; got != value {
			v.add(path+".result."+field, fmt.Sprintf("is %v but the session says %v", got, value),
				"with verbatim, the result must agree with the session's own keys")
		}
	}
}

// verdict checks the result of a finished session against its error code and scores.
func (v *validator) verdict(path string, s SessionSpec) {
	switch s.OverallResult {
	case idvmock.VerdictPass:
		if s.ErrorCode != "" && s.ErrorCode != idvmock.ErrorCodeSuccess {
			v.add(path+".errorCode", fmt.Sprintf("is %q on a PASS", s.ErrorCode), "PASS goes with errorCode SUCCESS: remove errorCode")
		}
		if x := s.FaceLivenessScore; x != nil && *x < idvmock.LivenessThreshold {
			v.add(path+".faceLivenessScore", fmt.Sprintf("is %g on a PASS", *x), "a PASS needs liveness of at least 50")
		}
		if x := s.FaceSimilarityScore; x != nil && *x < idvmock.SimilarityThreshold {
			v.add(path+".faceSimilarityScore", fmt.Sprintf("is %g on a PASS", *x), "a PASS needs similarity of at least 70")
		}
	case idvmock.VerdictFail, idvmock.VerdictIncomplete:
		if s.ErrorCode == idvmock.ErrorCodeSuccess {
			v.add(path+".errorCode", fmt.Sprintf("is SUCCESS on a %s", s.OverallResult),
				"name the failure reason, e.g. LIVENESS_ATTACK, or leave errorCode out")
		}
		attack := s.ErrorCode == idvmock.ErrorCodeLivenessAttack || (s.ErrorCode == "" && s.OverallResult == idvmock.VerdictFail)
		if x := s.FaceLivenessScore; attack && x != nil && *x >= idvmock.LivenessThreshold {
			v.add(path+".faceLivenessScore", fmt.Sprintf("is %g on a LIVENESS_ATTACK failure", *x),
				"a liveness attack scores below 50: lower the score or name another errorCode")
		}
	case "":
		v.add(path+".overallResult", "is missing on a finished session", "use PASS, FAIL or INCOMPLETE")
	default:
		v.add(path+".overallResult", fmt.Sprintf("is %q", s.OverallResult), "use PASS, FAIL or INCOMPLETE")
	}
}

// score checks that a score runs from 0 to 100.
func (v *validator) score(path string, x *float64) {
	if x != nil && (*x < 0 || *x > 100) {
		v.add(path, fmt.Sprintf("is %g", *x), "scores run from 0 to 100")
	}
}
