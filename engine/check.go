package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// lintUserID stands in for the requested userId when a scenario or a pattern rule is checked.
const lintUserID = "lint-user"

// checkResults builds every session of every state of every user, scenario and rule, for
// every region, and checks each result against openapi.yaml's GetResult schema and the
// consistency rules the contract suite applies to the vendor. A problem is placed at the
// session that gave it.
func (s *Set) checkResults(files []*scenarios.File) scenarios.Problems {
	var problems scenarios.Problems
	for _, f := range files {
		for _, name := range sortedKeys(f.Scenarios) {
			p := s.profiles[name]
			problems = append(problems, s.checkProfile(f, "scenarios."+name, lintUserID, p, resolveStates(s.seed, lintUserID, p))...)
		}
		for _, id := range sortedKeys(f.Users) {
			if u := s.users[id]; u != nil && u.Source == f.Name() {
				problems = append(problems, s.checkUser(f, u)...)
			}
		}
		for i, spec := range f.Rules {
			if spec.Scenario != "" || spec.ProfileSpec.Empty() {
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
func (s *Set) checkUser(f *scenarios.File, u *User) scenarios.Problems {
	if u.Spec.Scenario != "" {
		return nil
	}
	return s.checkProfile(f, "users."+u.ID, u.ID, u.Profile, u.states)
}

// checkProfile checks every session of every state of a profile declared at base in f, as
// answered to userID, each problem placed at the session that gave it, and the documents its
// states' customerProfile gives.
func (s *Set) checkProfile(f *scenarios.File, base, userID string, p *Profile, states [][]Session) scenarios.Problems {
	problems := checkCustomer(f, base, p)
	for si, sessions := range states {
		for i, sess := range sessions {
			at := sessionPath(base, p, si, i)
			if err := s.checkSession(userID, i, sess); err != nil {
				where := at
				hint := "fix the fields given for this session (result:, errorCode, scores) so that the answer is consistent"
				var rp *resultProblem
				if errors.As(err, &rp) {
					where = f.Positions().FieldOf(at, rp.pointer)
					if rp.hint != "" {
						hint = rp.hint
					}
				}
				pos := f.Positions().At(where)
				problems = append(problems, scenarios.Problem{File: f.Name(), Line: pos.Line, Column: pos.Column, Path: where, What: err.Error(), Hint: hint})
			}
		}
	}
	return problems
}

// checkCustomer checks the documents the states of a profile declared at base in f give
// Get Profile (customerProfile.documentInfos) against openapi.yaml's DocumentInfo: they are
// answered as given, so one that breaks it would make the mock answer outside its spec.
func checkCustomer(f *scenarios.File, base string, p *Profile) scenarios.Problems {
	var problems scenarios.Problems
	schema := idvmock.SpecFacts().DocumentInfo
	for si, st := range p.States {
		if st.Customer == nil {
			continue
		}
		at := base + ".customerProfile"
		if len(p.States) > 1 {
			at = fmt.Sprintf("%s.states[%d].customerProfile", base, si)
		}
		for i, doc := range st.Customer.DocumentInfos {
			where := fmt.Sprintf("%s.documentInfos[%d]", at, i)
			var value any
			raw, err := json.Marshal(doc)
			if err == nil {
				err = json.Unmarshal(raw, &value)
			}
			if err == nil {
				err = schema.VisitJSON(value)
			}
			if err == nil {
				continue
			}
			var se *openapi3.SchemaError
			if errors.As(err, &se) && len(se.JSONPointer()) > 0 {
				if field := where + "." + strings.Join(se.JSONPointer(), "."); f.Positions()[field] != (scenarios.Position{}) {
					where = field
				}
			}
			pos := f.Positions().At(where)
			problems = append(problems, scenarios.Problem{File: f.Name(), Line: pos.Line, Column: pos.Column, Path: where,
				What: "breaks openapi.yaml's DocumentInfo: " + describeSchemaError(err),
				Hint: "Get Profile answers it as given: a docType string, docDetail an object (or null), subDocType and the fields of docDetail.front strings (or null)"})
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
	facts := idvmock.SpecFacts()
	for _, name := range facts.Regions.Names() {
		region, _ := facts.Regions.ByName(name)
		data := tmpl.Data{UserID: userID, Region: region.Name, Country: region.Country, SolutionCode: sess.SolutionCode}
		raw, err := buildResult(s.seed, index, sess, data)
		var fe *FieldError
		switch {
		case errors.As(err, &fe) && errors.Is(err, tmpl.ErrLimit):
			return &resultProblem{pointer: strings.Split(fe.Field, "."), msg: fmt.Sprintf("on the %s host, %v", name, fe.Err),
				hint: fmt.Sprintf("a template may write %d bytes per field and %d per answer, and make %d loop iterations and function calls per answer; see Templates in docs/scenarios.md",
					tmpl.MaxOutput, tmpl.MaxAnswerOutput, tmpl.MaxSteps)}
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
	if err := idvmock.SpecFacts().GetResult.VisitJSON(value); err != nil {
		var se *openapi3.SchemaError
		var pointer []string
		if errors.As(err, &se) {
			pointer = se.JSONPointer()
		}
		return &resultProblem{pointer: pointer, msg: "breaks openapi.yaml's GetResult: " + describeSchemaError(err)}
	}
	obj, _ := value.(map[string]any)
	if found := idvmock.CheckResult(obj, userID); len(found) > 0 {
		return inconsistencyProblem(obj, first(found), userID)
	}
	return checkFace(obj)
}

// first is the inconsistency lint reports of several: a verdict that contradicts itself
// (idvResult) before the error code that goes with it.
func first(found []idvmock.Inconsistency) idvmock.Inconsistency {
	for _, in := range found {
		if in.Field == "idvResult" {
			return in
		}
	}
	return found[0]
}

// inconsistencyProblem says in a sentence what the first rule a result breaks is about.
func inconsistencyProblem(r map[string]any, in idvmock.Inconsistency, userID string) *resultProblem {
	overall, code := verdictText(r["overallResult"]), verdictText(r["errorCode"])
	field := strings.ReplaceAll(in.Field, "/", ".")
	switch in.Rule {
	case idvmock.RuleIDVResult, idvmock.RuleInProgressNulls:
		if in.Field == "idvResult" {
			return problemAt(field, "has idvResult %s but overallResult %s: they must be equal", verdictText(in.Got), overall)
		}
		return problemAt(field, "is in progress (overallResult null) but has errorCode %s", code)
	case idvmock.RulePassSuccess:
		return problemAt(field, "is a PASS with errorCode %s: PASS goes with SUCCESS", code)
	case idvmock.RuleFailureErrorCode:
		return problemAt(field, "is a %s with errorCode %s: it needs a failure reason", overall, code)
	case idvmock.RuleUserIDEchoed:
		got, _ := in.Got.(string)
		return problemAt(field, "has inputParameters.userId %q, not the requested %q", got, userID)
	}
	return problemAt(field, "has %s %s: expected %s", field, verdictText(in.Got), in.Expected)
}

// checkFace checks what idvmock's generated data must keep beyond the vendor's rules: a PASS
// clears both face thresholds.
func checkFace(r map[string]any) *resultProblem {
	face, _ := r["faceDetail"].(map[string]any)
	if face == nil || r["overallResult"] != string(idvmock.VerdictPass) {
		return nil
	}
	if fr, ok := face["faceResult"].(string); ok && fr != string(idvmock.VerdictPass) {
		return problemAt("faceDetail.faceResult", "is a PASS with faceResult %s", fr)
	}
	if x, ok := face["faceLivenessScore"].(float64); ok && x < idvmock.LivenessThreshold {
		return problemAt("faceDetail.faceLivenessScore", "is a PASS with faceLivenessScore %g, below 50", x)
	}
	if x, ok := face["faceSimilarityScore"].(float64); ok && x < idvmock.SimilarityThreshold {
		return problemAt("faceDetail.faceSimilarityScore", "is a PASS with faceSimilarityScore %g, below 70", x)
	}
	return nil
}

// verdictText writes a verdict or code as lint messages do: null for nil.
func verdictText(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(v)
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
		f := idvmock.ExplainSchemaError(se)
		return "/" + strings.Join(f.Pointer, "/") + ": " + f.Reason
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
