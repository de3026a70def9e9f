package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// lintUserID stands in for the requested userId when a scenario or a pattern rule is checked.
const lintUserID = "lint-user"

// checkResults builds every session of every state of every user, scenario and rule, for
// every region, and checks each result against openapi.yaml's GetResult schema and the
// consistency rules the contract suite applies to the vendor. A problem is placed at the
// session that gave it.
func (s *Set) checkResults(files []*File) Problems {
	var problems Problems
	for _, f := range files {
		for _, name := range sortedKeys(f.Scenarios) {
			p := s.profiles[name]
			problems = append(problems, s.checkProfile(f, "scenarios."+name, lintUserID, p, resolveStates(s.seed, lintUserID, p))...)
		}
		for _, id := range sortedKeys(f.Users) {
			if u := s.users[id]; u != nil && u.Source == f.name {
				problems = append(problems, s.checkUser(f, u)...)
			}
		}
		for i, spec := range f.Rules {
			if spec.Scenario != "" || spec.ProfileSpec.empty() {
				continue
			}
			id := spec.Match.UserID
			if id == "" {
				id = lintUserID
			}
			p := s.compileProfile("", spec.ProfileSpec)
			problems = append(problems, s.checkProfile(f, fmt.Sprintf("rules[%d]", i), id, p, resolveStates(s.seed, id, p))...)
		}
	}
	return problems
}

// checkUser checks the results of a user declared in f with a profile of its own (a user
// following a named scenario is checked with the scenario).
func (s *Set) checkUser(f *File, u *User) Problems {
	if u.Spec.Scenario != "" {
		return nil
	}
	return s.checkProfile(f, "users."+u.ID, u.ID, u.Profile, u.states)
}

// checkProfile checks every session of every state of a profile declared at base in f, as
// answered to userID, each problem placed at the session that gave it.
func (s *Set) checkProfile(f *File, base, userID string, p *Profile, states [][]Session) Problems {
	var problems Problems
	for si, sessions := range states {
		for i, sess := range sessions {
			at := sessionPath(base, p, si, i)
			if err := s.checkSession(userID, i, sess); err != nil {
				where := at
				hint := "fix the fields given for this session (result:, errorCode, scores) so that the answer is consistent"
				var rp *resultProblem
				if errors.As(err, &rp) {
					where = f.positions.fieldOf(at, rp.pointer)
					if rp.hint != "" {
						hint = rp.hint
					}
				}
				pos := f.positions.at(where)
				problems = append(problems, Problem{File: f.name, Line: pos.Line, Column: pos.Column, Path: where, What: err.Error(), Hint: hint})
			}
		}
	}
	return problems
}

func sessionPath(base string, p *Profile, state, index int) string {
	if len(p.States) > 1 {
		return fmt.Sprintf("%s.states[%d].sessions[%d]", base, state, index)
	}
	return fmt.Sprintf("%s.sessions[%d]", base, index)
}

// checkSession builds session index of userID in every region and checks the results.
func (s *Set) checkSession(userID string, index int, sess Session) error {
	if err := s.checkSessionIn(userID, index, sess); err != nil {
		return err
	}
	return nil
}

func (s *Set) checkSessionIn(userID string, index int, sess Session) *resultProblem {
	facts := specInfo()
	for _, name := range facts.regions.Names() {
		region, _ := facts.regions.ByName(name)
		data := templateData{UserID: userID, Region: region.Name, Country: region.Country, SolutionCode: sess.SolutionCode}
		raw, err := buildResult(s.seed, index, sess, data)
		var fe *FieldError
		switch {
		case errors.As(err, &fe) && errors.Is(err, ErrTemplateLimit):
			return &resultProblem{pointer: strings.Split(fe.Field, "."), msg: fmt.Sprintf("on the %s host, %v", name, fe.Err),
				hint: fmt.Sprintf("a template may write %d bytes per field and %d per answer, and make %d loop iterations and function calls per answer; see Templates in docs/scenarios.md",
					MaxTemplateOutput, MaxResultTemplateOutput, MaxTemplateSteps)}
		case errors.As(err, &fe):
			return &resultProblem{pointer: strings.Split(fe.Field, "."), msg: fe.Err.Error(), hint: "see Templates in docs/scenarios.md"}
		case err != nil:
			return &resultProblem{msg: fmt.Sprintf("cannot build the result: %v", err)}
		}
		if err := checkResult(raw, userID); err != nil {
			err.msg = fmt.Sprintf("on the %s host the result %s", name, err.msg)
			return err
		}
	}
	return nil
}

// checkResult checks one built result against openapi.yaml and the consistency rules.
func checkResult(raw json.RawMessage, userID string) *resultProblem {
	var value any
	if err := json.Unmarshal(raw, &value); err != nil {
		return &resultProblem{msg: fmt.Sprintf("is not JSON: %v", err)}
	}
	if err := specInfo().result.VisitJSON(value); err != nil {
		var se *openapi3.SchemaError
		var pointer []string
		if errors.As(err, &se) {
			pointer = se.JSONPointer()
		}
		return &resultProblem{pointer: pointer, msg: "breaks openapi.yaml's GetResult: " + describeSchemaError(err)}
	}
	var r struct {
		OverallResult *Verdict `json:"overallResult"`
		IDVResult     *Verdict `json:"idvResult"`
		ErrorCode     *string  `json:"errorCode"`
		FaceDetail    *struct {
			FaceResult          *Verdict `json:"faceResult"`
			FaceLivenessScore   *float64 `json:"faceLivenessScore"`
			FaceSimilarityScore *float64 `json:"faceSimilarityScore"`
		} `json:"faceDetail"`
		InputParameters struct {
			UserID string `json:"userId"`
		} `json:"inputParameters"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return &resultProblem{msg: fmt.Sprintf("has a field of the wrong type: %v", err)}
	}
	verdict := func(v *Verdict) string {
		if v == nil {
			return "null"
		}
		return string(*v)
	}
	code := "null"
	if r.ErrorCode != nil {
		code = *r.ErrorCode
	}
	switch {
	case verdict(r.OverallResult) != verdict(r.IDVResult):
		return problemAt("idvResult", "has idvResult %s but overallResult %s: they must be equal", verdict(r.IDVResult), verdict(r.OverallResult))
	case r.OverallResult == nil && r.ErrorCode != nil:
		return problemAt("errorCode", "is in progress (overallResult null) but has errorCode %s", code)
	case r.OverallResult != nil && *r.OverallResult == VerdictPass && code != ErrorCodeSuccess:
		return problemAt("errorCode", "is a PASS with errorCode %s: PASS goes with SUCCESS", code)
	case r.OverallResult != nil && *r.OverallResult != VerdictPass && (code == "null" || code == ErrorCodeSuccess):
		return problemAt("errorCode", "is a %s with errorCode %s: it needs a failure reason", *r.OverallResult, code)
	case r.InputParameters.UserID != userID:
		return problemAt("inputParameters.userId", "has inputParameters.userId %q, not the requested %q", r.InputParameters.UserID, userID)
	}
	if f := r.FaceDetail; f != nil && r.OverallResult != nil && *r.OverallResult == VerdictPass {
		if f.FaceResult != nil && *f.FaceResult != VerdictPass {
			return problemAt("faceDetail.faceResult", "is a PASS with faceResult %s", *f.FaceResult)
		}
		if f.FaceLivenessScore != nil && *f.FaceLivenessScore < LivenessThreshold {
			return problemAt("faceDetail.faceLivenessScore", "is a PASS with faceLivenessScore %g, below 50", *f.FaceLivenessScore)
		}
		if f.FaceSimilarityScore != nil && *f.FaceSimilarityScore < SimilarityThreshold {
			return problemAt("faceDetail.faceSimilarityScore", "is a PASS with faceSimilarityScore %g, below 70", *f.FaceSimilarityScore)
		}
	}
	return nil
}

// resultProblem is what is wrong with a built result, and where in it (a JSON pointer).
type resultProblem struct {
	pointer []string
	msg     string
	hint    string // what to do, when it is not to make the fields consistent
}

func (p *resultProblem) Error() string { return p.msg }

func problemAt(field, format string, args ...any) *resultProblem {
	return &resultProblem{pointer: strings.Split(field, "."), msg: fmt.Sprintf(format, args...)}
}

// describeSchemaError says where a value breaks a schema (a JSON pointer) and why, without
// kin-openapi's dump of the schema and the value.
func describeSchemaError(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return "/" + strings.Join(se.JSONPointer(), "/") + ": " + se.Reason
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
