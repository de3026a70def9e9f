package scenarios

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
)

// Problem is one thing wrong in a scenario file: where (file, line, column and the path of
// the value), what, and what to do about it.
type Problem struct {
	File         string
	Line, Column int
	Path         string
	What         string
	Hint         string

	Suggested string // for an unknown key: the known key it is probably a typo of
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		fmt.Fprintf(&b, "%s:", p.File)
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", p.Line, p.Column)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.What)
	if p.Hint != "" {
		b.WriteString(" (" + p.Hint + ")")
	}
	return b.String()
}

// Problems is every problem found in one check, in file order. It is an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// TrimPath takes prefix off the path of every problem (users. off the problems of a user
// declared alone), and returns them.
func (ps Problems) TrimPath(prefix string) Problems {
	for i := range ps {
		ps[i].Path = strings.TrimPrefix(ps[i].Path, prefix)
	}
	return ps
}

// Sorted sorts the problems by file, line and column, and returns them.
func (ps Problems) Sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
	return ps
}

var countryCode = regexp.MustCompile(`^[A-Z]{3}$`)

// validator collects the problems of one file, placing each at its path's position.
type validator struct {
	file     *File
	problems Problems
	literal  bool // the values are data a caller sent: never templates
}

// describe says what is wrong with the value at path: that it is missing, when the file does
// not give it, or what it is.
func (v *validator) describe(path, value string) string {
	if _, given := v.file.positions[path]; !given && len(v.file.positions) > 1 {
		return "is missing"
	}
	if value == "[]" || value == "" {
		return "is empty"
	}
	return fmt.Sprintf("is %q", value)
}

func (v *validator) add(path, what, hint string) {
	v.problems = append(v.problems, v.file.Problem(path, what, hint))
}

// Validate checks that every declaration of the file is complete and internally consistent.
// References to scenarios of other files are checked when the engine combines files.
func (f *File) Validate() Problems {
	v := &validator{file: f}
	for i, code := range f.SolutionCodes {
		if code == "" {
			v.add(fmt.Sprintf("solutionCodes[%d]", i), "is empty", "remove it or give the code, e.g. \"102\"")
		}
	}
	for _, name := range sortedKeys(f.Scenarios) {
		v.profile("scenarios."+name, f.Scenarios[name])
	}
	for _, id := range sortedKeys(f.Users) {
		v.user("users."+id, id, f.Users[id])
	}
	names := map[string]int{}
	for i, r := range f.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		if prev, dup := names[r.Name]; dup && r.Name != "" {
			v.add(p+".name", fmt.Sprintf("%q is also the name of rules[%d]", r.Name, prev), "give every rule its own name: the journal and the admin API show it")
		}
		names[r.Name] = i
		v.rule(p, r)
	}
	return v.problems.Sorted()
}

func (v *validator) user(path, id string, u UserSpec) {
	if id == "" {
		v.add(path, "userId is empty", "give every user a non-empty userId")
	}
	v.regions(path+".regions", u.Regions)
	if u.Scenario == "" {
		v.profile(path, u.ProfileSpec)
		return
	}
	if !u.ProfileSpec.Empty() {
		v.add(path, "gives both scenario and a profile of its own",
			"either follow a named scenario or declare profileStatus/sessions/states, not both")
	}
}

// Empty reports whether p declares nothing.
func (p ProfileSpec) Empty() bool {
	return p.ProfileStatus == "" && p.Answer == "" && len(p.Sessions) == 0 && len(p.States) == 0 && !p.Loop
}

func (v *validator) profile(path string, p ProfileSpec) {
	if len(p.States) == 0 {
		if p.Loop {
			v.add(path+".loop", "is set without states", "loop repeats a sequence of states: declare states: or remove loop")
		}
		v.state(path, p.ProfileBody)
		return
	}
	if p.ProfileStatus != "" || p.Answer != "" || len(p.Sessions) > 0 {
		v.add(path, "gives both states and a profile outside them", "move profileStatus, answer and sessions into the first state")
	}
	last := len(p.States) - 1
	for i, st := range p.States {
		sp := fmt.Sprintf("%s.states[%d]", path, i)
		v.state(sp, st.ProfileBody)
		switch {
		case i < last && st.After == nil:
			v.add(sp, "has no after, so the states after it are never reached", "say when the user moves on, e.g. after: 3 calls or after: 30s")
		case i == last && st.After != nil && !p.Loop:
			v.add(sp+".after", "is set on the last state without loop: true", "remove it, or set loop: true to start over from the first state")
		case i == last && st.After == nil && p.Loop:
			v.add(path+".loop", "is true but the last state has no after", "say when the last state moves back to the first, e.g. after: 2 calls")
		}
	}
}

func (v *validator) state(path string, st ProfileBody) {
	if slices.Contains(ForcedAnswers, st.Answer) {
		if st.ProfileStatus != "" || len(st.Sessions) > 0 {
			v.add(path, fmt.Sprintf("answer %q takes no profileStatus or sessions", st.Answer), "remove them")
		}
		return
	}
	if st.Answer != AnswerSession {
		v.add(path+".answer", fmt.Sprintf("unknown answer %q", st.Answer),
			"use user_not_found, bad_solution_code, server_error or token_expired, or leave answer out to answer with the latest session")
		return
	}
	if !st.ProfileStatus.Valid() {
		v.add(path+".profileStatus", v.describe(path+".profileStatus", string(st.ProfileStatus)), "use INIT, ACTIVE or INACTIVE")
	}
	if len(st.Sessions) == 0 {
		v.add(path+".sessions", v.describe(path+".sessions", "[]"), "a profile needs at least one session; the latest one is answered")
		return
	}
	timed, passed := 0, 0
	for i, s := range st.Sessions {
		v.session(fmt.Sprintf("%s.sessions[%d]", path, i), s)
		if s.CreatedAt != nil {
			timed++
		}
		if s.OverallResult == idvmock.VerdictPass {
			passed++
		}
	}
	if timed != 0 && timed != len(st.Sessions) {
		v.add(path+".sessions", fmt.Sprintf("%d of %d sessions give createdAt", timed, len(st.Sessions)),
			"give createdAt on every session or on none (then list order is creation order)")
	}
	switch {
	case st.ProfileStatus == idvmock.ProfileInit && passed > 0:
		v.add(path+".profileStatus", "is INIT but a session passed",
			"a PASS establishes the profile: use ACTIVE (or INACTIVE if it was deactivated)")
	case (st.ProfileStatus == idvmock.ProfileActive || st.ProfileStatus == idvmock.ProfileInactive) && passed == 0:
		v.add(path+".profileStatus", fmt.Sprintf("is %s but no session passed", st.ProfileStatus),
			"a profile exists only after a PASS: add a PASS session or use INIT")
	}
}

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

func (v *validator) score(path string, x *float64) {
	if x != nil && (*x < 0 || *x > 100) {
		v.add(path, fmt.Sprintf("is %g", *x), "scores run from 0 to 100")
	}
}

func (v *validator) regions(path string, names []string) {
	known := idvmock.SpecFacts().Regions
	for i, name := range names {
		if _, ok := known.ByName(name); !ok {
			v.add(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("unknown region %q", name), "use one of "+strings.Join(known.Names(), ", "))
		}
	}
}

func (v *validator) rule(at string, r RuleSpec) {
	if r.Name == "" {
		v.add(at+".name", "is missing", "name the rule: the journal and the admin API show which rule answered")
	}
	m := r.Match
	set := 0
	for _, s := range []string{m.UserID, m.UserIDGlob, m.UserIDRegex} {
		if s != "" {
			set++
		}
	}
	if set > 1 {
		v.add(at+".match", "gives more than one of userId, userIdGlob and userIdRegex", "keep one")
	}
	if m.UserIDGlob != "" {
		if _, err := path.Match(m.UserIDGlob, ""); err != nil {
			v.add(at+".match.userIdGlob", fmt.Sprintf("%q is not a glob: %v", m.UserIDGlob, err), "use * for any characters and ? for one")
		}
	}
	if m.UserIDRegex != "" {
		if _, err := regexp.Compile(m.UserIDRegex); err != nil {
			v.add(at+".match.userIdRegex", fmt.Sprintf("%q is not a regular expression: %v", m.UserIDRegex, err), "use Go (RE2) syntax, e.g. ^qa-[0-9]+$")
		}
	}
	if m.Operation != "" && !idvmock.SpecFacts().Operation(m.Operation) {
		v.add(at+".match.operation", fmt.Sprintf("unknown operation %q", m.Operation), "use one of "+strings.Join(idvmock.SpecFacts().Operations, ", "))
	}
	v.regions(at+".match.regions", m.Regions)
	if r.Scenario != "" && !r.ProfileSpec.Empty() {
		v.add(at, "gives both scenario and a profile of its own", "either answer with a named scenario or declare profileStatus/sessions/states")
	}
	if !r.ProfileSpec.Empty() {
		v.profile(at, r.ProfileSpec)
	}
	if r.Scenario == "" && r.ProfileSpec.Empty() && len(r.Faults) == 0 {
		v.add(at, "neither answers nor injects a fault", "give scenario:, a profile, or faults:")
	}
	for i, f := range r.Faults {
		v.fault(fmt.Sprintf("%s.faults[%d]", at, i), f)
	}
}

// templates checks every string of a free-form result override.
func (v *validator) templates(path string, value any) {
	switch x := value.(type) {
	case string:
		v.template(path, x)
	case map[string]any:
		for _, k := range sortedKeys(x) {
			v.templates(path+"."+k, x[k])
		}
	case []any:
		for i, item := range x {
			v.templates(fmt.Sprintf("%s[%d]", path, i), item)
		}
	}
}

func (v *validator) template(path, text string) {
	if v.literal || !tmpl.Has(text) {
		return
	}
	if err := tmpl.Check(text); err != nil {
		v.add(path, err.Error(), "see the template functions in docs/scenarios.md")
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

// CheckSession checks one session that no file declares (a completion, a saved started
// session), as lint checks a declared one: its state, verdict, error code and scores agree.
// name and path say where it comes from; literal says its strings are data a caller sent,
// never templates.
func CheckSession(name, path string, s SessionSpec, literal bool) Problems {
	v := &validator{file: NewFile(name, nil), literal: literal}
	v.session(path, s)
	return v.problems
}
