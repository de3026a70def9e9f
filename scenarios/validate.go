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

// add records a problem at path, placed where the file gives path.
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

// user checks one user: a non-empty userId, known regions, and either a named scenario or a
// profile of its own.
func (v *validator) user(path, id string, u UserSpec) {
	switch {
	case id == "":
		v.add(path, "userId is empty", "give every user a non-empty userId")
	case strings.Trim(id, ".") == "":
		v.add(path, fmt.Sprintf("userId %q is only dots, which a URL path reads as a folder (the admin API's /__admin/users/{userId})", id),
			"give the user a name with another character")
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

// profile checks a profile: a single state, or a sequence of states each of which says when
// the user moves on.
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

// state checks one state of a profile: a forced answer alone, or a profile status that agrees
// with its sessions.
func (v *validator) state(path string, st ProfileBody) {
	if slices.Contains(ForcedAnswers, st.Answer) {
		if st.ProfileStatus != "" || len(st.Sessions) > 0 || st.CustomerProfile != nil {
			v.add(path, fmt.Sprintf("answer %q takes no profileStatus, sessions or customerProfile", st.Answer), "remove them")
		}
		return
	}
	v.customerProfile(path+".customerProfile", st.CustomerProfile)
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

// regions checks that every region name is one the vendor serves.
func (v *validator) regions(path string, names []string) {
	known := idvmock.SpecFacts().Regions
	for i, name := range names {
		if _, ok := known.ByName(name); !ok {
			v.add(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("unknown region %q", name), "use one of "+strings.Join(known.Names(), ", "))
		}
	}
}

// rule checks one rule: a name, a match that can match, and an answer (a scenario, a profile
// or faults).
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
	if m.Operation != "" && m.Operation != idvmock.OpSessionCompleted && !idvmock.SpecFacts().Operation(m.Operation) {
		v.add(at+".match.operation", fmt.Sprintf("unknown operation %q", m.Operation), "use one of "+strings.Join(idvmock.SpecFacts().Operations, ", ")+
			", or "+idvmock.OpSessionCompleted+" (a completion's delivery) for delivery faults")
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
	v.delivery(at, r)
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

// template checks one string that holds a template, unless the values are literal data.
func (v *validator) template(path, text string) {
	if v.literal || !tmpl.Has(text) {
		return
	}
	if err := tmpl.Check(text); err != nil {
		v.add(path, err.Error(), "see the template functions in docs/scenarios.md")
	}
}

// sortedKeys returns the keys of m in order, so that problems come out the same every time.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// customerProfile checks what a state sets of Get Profile's answer: every document names its
// docType, once.
func (v *validator) customerProfile(path string, cp *CustomerProfileSpec) {
	if cp == nil {
		return
	}
	seen := map[string]bool{}
	for i, doc := range cp.DocumentInfos {
		p := fmt.Sprintf("%s.documentInfos[%d]", path, i)
		docType, ok := doc["docType"].(string)
		switch {
		case !ok || docType == "":
			v.add(p+".docType", "is missing or not a string", "name the document type, e.g. docType: PH-ID-SSS")
		case seen[docType]:
			v.add(p+".docType", fmt.Sprintf("%q is listed twice", docType), "Get Profile has one entry per docType: keep the latest")
		}
		seen[docType] = true
	}
	for i, sig := range cp.SignatureIDs {
		if sig == "" {
			v.add(fmt.Sprintf("%s.signatureIds[%d]", path, i), "is empty", "give the signatureId, or remove the entry")
		}
	}
}
