package scenarios

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// Set is a compiled collection of scenario files: named scenarios, users, rules and valid
// solution codes. It is immutable; the Engine holds the state that changes.
type Set struct {
	seed       int64
	profiles   map[string]*Profile
	users      map[string]*User
	rules      []*Rule
	codes      map[string]bool
	files      []string
	signatures map[string]sessionRef // literal signatureId → where it is declared
}

// User is a known userId bound to its profile.
type User struct {
	ID      string
	Profile *Profile
	Regions []string // region names it is visible on; empty: every region
	Source  string   // the file that declares it
	Spec    UserSpec // as declared
	hash    string   // of the declaration, to keep progress across reloads that leave it alone
	states  [][]Session
}

// Rule is a compiled rule.
type Rule struct {
	Name    string
	Source  string
	Spec    RuleSpec
	Profile *Profile // nil: the user answers
	Faults  []Fault
	match   matcher
	states  [][]Session
}

type sessionRef struct {
	userID       string
	state, index int
}

//go:embed builtin/*.yaml
var builtinFiles embed.FS

// BuiltinFiles parses the scenario files embedded in idvmock, in name order.
func BuiltinFiles() ([]*File, error) {
	names, err := fs.Glob(builtinFiles, "builtin/*.yaml")
	if err != nil {
		return nil, err
	}
	files := make([]*File, 0, len(names))
	for _, name := range names {
		data, err := builtinFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := ParseFile("builtin/"+path.Base(name), strings.NewReader(string(data)))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// Builtin returns the built-in set, its fake data seeded with seed.
func Builtin(seed int64) (*Set, error) {
	files, err := BuiltinFiles()
	if err != nil {
		return nil, err
	}
	return New(seed, files...)
}

// New compiles files in order: a scenario or user declared again by a later file replaces the
// earlier one; rules keep file order. Every code a session mentions becomes a valid solution
// code, besides DefaultSolutionCode and those listed under solutionCodes. New checks what no
// single file can: references to scenarios, and every result that can be answered against
// openapi.yaml and the consistency rules.
func New(seed int64, files ...*File) (*Set, error) {
	s := &Set{
		seed:       seed,
		profiles:   map[string]*Profile{},
		users:      map[string]*User{},
		codes:      map[string]bool{DefaultSolutionCode: true},
		signatures: map[string]sessionRef{},
	}
	var problems Problems
	add := func(f *File, path, what, hint string) {
		pos := f.positions.at(path)
		problems = append(problems, Problem{File: f.name, Line: pos.Line, Column: pos.Column, Path: path, What: what, Hint: hint})
	}
	for _, f := range files {
		s.files = append(s.files, f.name)
		for _, code := range f.SolutionCodes {
			s.codes[code] = true
		}
		for _, name := range sortedKeys(f.Scenarios) {
			s.profiles[name] = s.compileProfile(name, f.Scenarios[name])
		}
	}
	declared := map[string]*File{}
	for _, f := range files {
		for _, id := range sortedKeys(f.Users) {
			declared[id] = f
		}
	}
	for _, id := range sortedKeys(declared) {
		f := declared[id]
		u, err := s.compileUser(f, id, f.Users[id])
		if err != nil {
			add(f, "users."+id+".scenario", err.Error(), "declare it under scenarios: or use one of "+strings.Join(s.ScenarioNames(), ", "))
			continue
		}
		s.users[id] = u
	}
	for _, f := range files {
		for i, spec := range f.Rules {
			r, err := s.compileRule(f, spec)
			if err != nil {
				add(f, fmt.Sprintf("rules[%d].scenario", i), err.Error(), "declare it under scenarios: or use one of "+strings.Join(s.ScenarioNames(), ", "))
				continue
			}
			s.rules = append(s.rules, r)
		}
	}
	if len(problems) == 0 {
		problems = s.checkResults(files)
	}
	if len(problems) > 0 {
		return nil, problems.sorted()
	}
	return s, nil
}

func (s *Set) compileProfile(name string, spec ProfileSpec) *Profile {
	p := &Profile{Name: name, Loop: spec.Loop, hash: hashOf(spec)}
	states := spec.States
	if len(states) == 0 {
		states = []StateSpec{{ProfileBody: spec.ProfileBody}}
	}
	for _, st := range states {
		state := State{Name: st.Name, Status: st.ProfileStatus, Answer: st.Answer}
		if st.After != nil {
			state.After = *st.After
		}
		for _, ss := range st.Sessions {
			sess := ss.session()
			s.codes[sess.SolutionCode] = true
			state.Sessions = append(state.Sessions, sess)
		}
		p.States = append(p.States, state)
	}
	return p
}

func (s *Set) compileUser(f *File, id string, spec UserSpec) (*User, error) {
	u := &User{ID: id, Regions: spec.Regions, Source: f.name, Spec: spec}
	if spec.Scenario != "" {
		p, ok := s.profiles[spec.Scenario]
		if !ok {
			return nil, fmt.Errorf("names scenario %q, which no loaded file declares", spec.Scenario)
		}
		u.Profile = p
	} else {
		u.Profile = s.compileProfile("", spec.ProfileSpec)
	}
	u.hash = hashOf(spec) + u.Profile.hash
	u.states = resolveStates(s.seed, id, u.Profile)
	for si, sessions := range u.states {
		for i, sess := range sessions {
			if _, taken := s.signatures[sess.SignatureID]; !taken && !hasTemplate(sess.SignatureID) {
				s.signatures[sess.SignatureID] = sessionRef{userID: id, state: si, index: i}
			}
		}
	}
	return u, nil
}

func (s *Set) compileRule(f *File, spec RuleSpec) (*Rule, error) {
	r := &Rule{Name: spec.Name, Source: f.name, Spec: spec, match: compileMatch(spec.Match)}
	switch {
	case spec.Scenario != "":
		p, ok := s.profiles[spec.Scenario]
		if !ok {
			return nil, fmt.Errorf("names scenario %q, which no loaded file declares", spec.Scenario)
		}
		r.Profile = p
	case !spec.ProfileSpec.empty():
		r.Profile = s.compileProfile("rule "+spec.Name, spec.ProfileSpec)
	}
	for _, fs := range spec.Faults {
		r.Faults = append(r.Faults, fs.compile())
	}
	return r, nil
}

// resolveStates fills the generated identity of every session of every state. Session i has
// the same generated signatureId, bizId and creation time in every state, so a session that
// progresses from state to state stays the same session.
func resolveStates(seed int64, userID string, p *Profile) [][]Session {
	out := make([][]Session, len(p.States))
	for i, st := range p.States {
		out[i] = resolveSessions(seed, userID, st.Sessions)
	}
	return out
}

func hashOf(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// matcher is a compiled MatchSpec.
type matcher struct {
	spec  MatchSpec
	regex *regexp.Regexp
}

func compileMatch(m MatchSpec) matcher {
	c := matcher{spec: m}
	if m.UserIDRegex != "" {
		c.regex = regexp.MustCompile(m.UserIDRegex) // validated by the file's checks
	}
	return c
}

// ScenarioNames lists the named scenarios, sorted.
func (s *Set) ScenarioNames() []string { return sortedKeys(s.profiles) }

// UserIDs lists the known userIds, sorted.
func (s *Set) UserIDs() []string { return sortedKeys(s.users) }

// User returns the user called id, or nil.
func (s *Set) User(id string) *User { return s.users[id] }

// Rules lists the rules in the order they are tried.
func (s *Set) Rules() []*Rule { return append([]*Rule(nil), s.rules...) }

// SolutionCodes lists the valid solution codes, sorted.
func (s *Set) SolutionCodes() []string { return sortedKeys(s.codes) }

// Files lists the files the set was compiled from, in order.
func (s *Set) Files() []string { return append([]string(nil), s.files...) }
