package scenarios

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
)

// Problem is one thing wrong in a scenario file: where (a path into the file), what, and
// what to do about it.
type Problem struct {
	Path string
	What string
	Hint string
}

func (p Problem) Error() string {
	msg := p.Path + ": " + p.What
	if p.Hint != "" {
		msg += " (" + p.Hint + ")"
	}
	return msg
}

var countryCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks that every declaration is complete and internally consistent, and returns
// all problems found, joined.
func (f *File) Validate() error {
	var v validator
	for i, code := range f.SolutionCodes {
		if code == "" {
			v.add(fmt.Sprintf("solutionCodes[%d]", i), "is empty", "remove it or give the code, e.g. \"102\"")
		}
	}
	for _, name := range sortedKeys(f.Scenarios) {
		v.profile("scenarios."+name, f.Scenarios[name])
	}
	for _, id := range sortedKeys(f.Users) {
		u := f.Users[id]
		path := "users." + id
		if id == "" {
			v.add(path, "userId is empty", "give every user a non-empty userId")
		}
		if u.Scenario == "" {
			v.profile(path, u.ProfileSpec)
			continue
		}
		if u.ProfileStatus != "" || u.Answer != "" || len(u.Sessions) > 0 {
			v.add(path, "gives both scenario and a profile of its own",
				"either follow a named scenario or declare profileStatus/sessions, not both")
		}
	}
	return v.err()
}

type validator struct{ problems []error }

func (v *validator) add(path, what, hint string) {
	v.problems = append(v.problems, Problem{Path: path, What: what, Hint: hint})
}

func (v *validator) err() error { return errors.Join(v.problems...) }

func (v *validator) profile(path string, p ProfileSpec) {
	switch p.Answer {
	case AnswerSession:
	case AnswerUserNotFound, AnswerBadSolutionCode, AnswerServerError:
		if p.ProfileStatus != "" || len(p.Sessions) > 0 {
			v.add(path, fmt.Sprintf("answer %q takes no profileStatus or sessions", p.Answer), "remove them")
		}
		return
	default:
		v.add(path+".answer", fmt.Sprintf("unknown answer %q", p.Answer),
			"use user_not_found, bad_solution_code or server_error, or leave answer out to answer with the latest session")
		return
	}
	if !p.ProfileStatus.valid() {
		v.add(path+".profileStatus", fmt.Sprintf("is %q", p.ProfileStatus), "use INIT, ACTIVE or INACTIVE")
	}
	if len(p.Sessions) == 0 {
		v.add(path+".sessions", "is empty", "a profile needs at least one session; the latest one is answered")
		return
	}
	timed, passed := 0, 0
	for i, s := range p.Sessions {
		v.session(fmt.Sprintf("%s.sessions[%d]", path, i), s)
		if s.CreatedAt != nil {
			timed++
		}
		if s.OverallResult == VerdictPass {
			passed++
		}
	}
	if timed != 0 && timed != len(p.Sessions) {
		v.add(path+".sessions", fmt.Sprintf("%d of %d sessions give createdAt", timed, len(p.Sessions)),
			"give createdAt on every session or on none (then list order is creation order)")
	}
	switch {
	case p.ProfileStatus == ProfileInit && passed > 0:
		v.add(path+".profileStatus", "is INIT but a session passed",
			"a PASS establishes the profile: use ACTIVE (or INACTIVE if it was deactivated)")
	case (p.ProfileStatus == ProfileActive || p.ProfileStatus == ProfileInactive) && passed == 0:
		v.add(path+".profileStatus", fmt.Sprintf("is %s but no session passed", p.ProfileStatus),
			"a profile exists only after a PASS: add a PASS session or use INIT")
	}
}

func (v *validator) session(path string, s SessionSpec) {
	state := s.state()
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
	if s.Region != "" && !countryCode.MatchString(s.Region) {
		v.add(path+".region", fmt.Sprintf("is %q", s.Region), "use an ISO 3166 alpha-3 code such as SGP")
	}
	v.score(path+".faceLivenessScore", s.FaceLivenessScore)
	v.score(path+".faceSimilarityScore", s.FaceSimilarityScore)
	if t := s.LivenessAttackType; t != nil && (*t < 1 || *t > 3) {
		v.add(path+".livenessAttackType", fmt.Sprintf("is %d", *t), "use 1 (presentation), 2 (injection) or 3 (unsure)")
	}
	if s.LivenessAttackType != nil && (s.FaceLivenessScore == nil || *s.FaceLivenessScore >= LivenessThreshold) {
		v.add(path+".livenessAttackType", "is set but the liveness score is not below 50",
			"give faceLivenessScore below 50 with it, or remove it")
	}
}

func (v *validator) verdict(path string, s SessionSpec) {
	switch s.OverallResult {
	case VerdictPass:
		if s.ErrorCode != "" && s.ErrorCode != ErrorCodeSuccess {
			v.add(path+".errorCode", fmt.Sprintf("is %q on a PASS", s.ErrorCode), "PASS goes with errorCode SUCCESS: remove errorCode")
		}
		if x := s.FaceLivenessScore; x != nil && *x < LivenessThreshold {
			v.add(path+".faceLivenessScore", fmt.Sprintf("is %g on a PASS", *x), "a PASS needs liveness of at least 50")
		}
		if x := s.FaceSimilarityScore; x != nil && *x < SimilarityThreshold {
			v.add(path+".faceSimilarityScore", fmt.Sprintf("is %g on a PASS", *x), "a PASS needs similarity of at least 70")
		}
	case VerdictFail, VerdictIncomplete:
		if s.ErrorCode == ErrorCodeSuccess {
			v.add(path+".errorCode", fmt.Sprintf("is SUCCESS on a %s", s.OverallResult),
				"name the failure reason, e.g. LIVENESS_ATTACK, or leave errorCode out")
		}
		attack := s.ErrorCode == ErrorCodeLivenessAttack || (s.ErrorCode == "" && s.OverallResult == VerdictFail)
		if x := s.FaceLivenessScore; attack && x != nil && *x >= LivenessThreshold {
			v.add(path+".faceLivenessScore", fmt.Sprintf("is %g on a LIVENESS_ATTACK failure", *x),
				"a liveness attack scores below 50: lower the score or name another errorCode")
		}
	case "":
		v.add(path+".overallResult", "is missing on a finished session", "use PASS, FAIL or INCOMPLETE")
	default:
		v.add(path+".overallResult", fmt.Sprintf("is %q", s.OverallResult), "use PASS, FAIL or INCOMPLETE")
	}
}

func (v *validator) score(path string, x *float64) {
	if x != nil && (*x < 0 || *x > 100) {
		v.add(path, fmt.Sprintf("is %g", *x), "scores run from 0 to 100")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
