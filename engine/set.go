package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// Set is a compiled collection of scenario files: named scenarios, users, rules and valid
// solution codes. It is immutable; the Engine holds the state that changes.
type Set struct {
	seed       int64
	profiles   map[string]*Profile
	users      map[string]*User
	rules      []*Rule
	codes      map[string]bool // valid solution codes: fileCodes and those of users' sessions
	fileCodes  map[string]bool // the default, solutionCodes lists, scenarios' and rules' sessions
	files      []string
	signatures map[string]sessionRef // literal signatureId → where it is declared
	byLength   map[int][]*User       // users by the length of their userId, for near misses
}

// User is a known userId bound to its profile.
type User struct {
	ID      string
	lower   string // ID in lower case, for near misses
	Profile *Profile
	Regions []string           // region names it is visible on; empty: every region
	Source  string             // the file that declares it
	Spec    scenarios.UserSpec // as declared
	hash    string             // of the declaration, to keep progress across reloads that leave it alone
	states  [][]Session
	label   string // "user <id>", in traces
}

// Rule is a compiled rule.
type Rule struct {
	Name    string
	Source  string
	Spec    scenarios.RuleSpec
	Profile *Profile // nil: the user answers
	Faults  []Fault
	// Delivery: every fault is a delivery fault (scenarios.RuleSpec.DeliveryRule); the rule
	// matches completions' deliveries (Engine.DeliveryFaults) and never a request.
	Delivery bool
	match    matcher
	states   [][]Session
	label    string // "rule <name>", in traces
}

type sessionRef struct {
	userID       string
	state, index int
}

// New compiles files in order: a scenario or user declared again by a later file replaces the
// earlier one; rules keep file order. Every code a session mentions becomes a valid solution
// code, besides DefaultSolutionCode and those listed under solutionCodes. New checks what no
// single file can: references to scenarios, and every result that can be answered against
// openapi.yaml and the consistency rules.
//
// A set compiled from frozen files alone (scenarios.File.Freeze: the built-in files) is
// compiled and checked once per process and seed, and shared by every caller: a Set never
// changes.
func New(seed int64, files ...*scenarios.File) (*Set, error) {
	frozen := len(files) > 0 && !slices.ContainsFunc(files, func(f *scenarios.File) bool { return !f.Frozen() })
	if frozen {
		if s := frozenSets.get(seed, files); s != nil {
			return s, nil
		}
	}
	s, err := newSet(seed, files)
	if err == nil && frozen {
		frozenSets.put(seed, files, s)
	}
	return s, err
}

func newSet(seed int64, files []*scenarios.File) (*Set, error) {
	s := &Set{
		seed:       seed,
		profiles:   map[string]*Profile{},
		users:      map[string]*User{},
		fileCodes:  map[string]bool{scenarios.DefaultSolutionCode: true},
		signatures: map[string]sessionRef{},
	}
	s.compileScenarios(files)
	problems := append(s.compileUsers(files), s.compileRules(files)...)
	s.reindex()
	if len(problems) == 0 && !trusted(seed, files) {
		problems = s.checkResults(files)
	}
	if len(problems) > 0 {
		return nil, problems.Sorted()
	}
	return s, nil
}

// trusted reports whether every result of files with seed was checked when idvmock was built
// (scenarios.File.TrustResults: the built-in files with the default seed, by a test).
func trusted(seed int64, files []*scenarios.File) bool {
	return len(files) > 0 && !slices.ContainsFunc(files, func(f *scenarios.File) bool { return !f.ResultsTrusted(seed) })
}

// compileScenarios compiles the named scenarios, a later file's replacing an earlier one's,
// and collects the solution codes the files list and their sessions use.
func (s *Set) compileScenarios(files []*scenarios.File) {
	for _, f := range files {
		if f.Skipped() == "" {
			s.files = append(s.files, f.Name())
		}
		for _, code := range f.SolutionCodes {
			s.fileCodes[code] = true
		}
		for _, name := range sortedKeys(f.Scenarios) {
			s.profiles[name] = s.compileProfile(name, f.Scenarios[name])
			addCodes(s.fileCodes, s.profiles[name])
		}
	}
}

// compileUsers compiles each user as the last file that declares it does.
func (s *Set) compileUsers(files []*scenarios.File) scenarios.Problems {
	declared := map[string]*scenarios.File{}
	for _, f := range files {
		for _, id := range sortedKeys(f.Users) {
			declared[id] = f
		}
	}
	var problems scenarios.Problems
	for _, id := range sortedKeys(declared) {
		f := declared[id]
		u, err := s.compileUser(f, id, f.Users[id])
		if err != nil {
			problems = append(problems, s.unknownScenario(f, "users."+id+".scenario", err))
			continue
		}
		s.users[id] = u
	}
	return problems
}

// compileRules compiles the rules in file order.
func (s *Set) compileRules(files []*scenarios.File) scenarios.Problems {
	var problems scenarios.Problems
	for _, f := range files {
		for i, spec := range f.Rules {
			r, err := s.compileRule(f, spec)
			if err != nil {
				problems = append(problems, s.unknownScenario(f, fmt.Sprintf("rules[%d].scenario", i), err))
				continue
			}
			s.rules = append(s.rules, r)
			if r.Profile != nil {
				addCodes(s.fileCodes, r.Profile)
			}
		}
	}
	return problems
}

// unknownScenario is the problem of a reference, at path of f, to a scenario no file declares.
func (s *Set) unknownScenario(f *scenarios.File, path string, err error) scenarios.Problem {
	pos := f.Positions().At(path)
	return scenarios.Problem{File: f.Name(), Line: pos.Line, Column: pos.Column, Path: path, What: err.Error(),
		Hint: "declare it under scenarios: or use one of " + strings.Join(s.ScenarioNames(), ", ")}
}

func (s *Set) compileProfile(name string, spec scenarios.ProfileSpec) *Profile {
	p := &Profile{Name: name, Loop: spec.Loop, hash: hashOf(spec)}
	states := spec.States
	if len(states) == 0 {
		states = []scenarios.StateSpec{{ProfileBody: spec.ProfileBody}}
	}
	for _, st := range states {
		state := State{Name: st.Name, Status: st.ProfileStatus, Answer: st.Answer, Customer: st.CustomerProfile}
		if st.After != nil {
			state.After = *st.After
		}
		for _, ss := range st.Sessions {
			state.Sessions = append(state.Sessions, sessionOf(ss))
		}
		p.States = append(p.States, state)
		p.after = append(p.after, state.After)
		p.timed = p.timed || state.After.Duration > 0
	}
	p.label = "scenario " + name
	return p
}

func (s *Set) compileUser(f *scenarios.File, id string, spec scenarios.UserSpec) (*User, error) {
	u := &User{ID: id, lower: strings.ToLower(id), Regions: spec.Regions, Source: f.Name(), Spec: spec, label: "user " + id}
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
	s.addSignatures(u)
	return u, nil
}

// addSignatures records where u's sessions with a literal signatureId are; the first user
// to declare a signatureId keeps it.
func (s *Set) addSignatures(u *User) {
	for si, sessions := range u.states {
		for i, sess := range sessions {
			if _, taken := s.signatures[sess.SignatureID]; !taken && !tmpl.Has(sess.SignatureID) {
				s.signatures[sess.SignatureID] = sessionRef{userID: u.ID, state: si, index: i}
			}
		}
	}
}

// addCodes marks the solution codes of p's sessions valid.
func addCodes(codes map[string]bool, p *Profile) {
	for _, st := range p.States {
		for _, sess := range st.Sessions {
			codes[sess.SolutionCode] = true
		}
	}
}

// reindex derives what depends on the users: the valid codes (those of the files plus those
// of the users' sessions) and the users by userId length.
func (s *Set) reindex() {
	s.codes = maps.Clone(s.fileCodes)
	s.byLength = map[int][]*User{}
	for _, id := range s.UserIDs() {
		u := s.users[id]
		addCodes(s.codes, u.Profile)
		s.byLength[len(u.lower)] = append(s.byLength[len(u.lower)], u)
	}
}

func (s *Set) compileRule(f *scenarios.File, spec scenarios.RuleSpec) (*Rule, error) {
	r := &Rule{Name: spec.Name, Source: f.Name(), Spec: spec, match: compileMatch(spec.Match), label: "rule " + spec.Name,
		Delivery: spec.DeliveryRule()}
	switch {
	case spec.Scenario != "":
		p, ok := s.profiles[spec.Scenario]
		if !ok {
			return nil, fmt.Errorf("names scenario %q, which no loaded file declares", spec.Scenario)
		}
		r.Profile = p
	case !spec.ProfileSpec.Empty():
		r.Profile = s.compileProfile("rule "+spec.Name, spec.ProfileSpec)
	}
	for _, fs := range spec.Faults {
		r.Faults = append(r.Faults, faultOf(fs))
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
	spec  scenarios.MatchSpec
	regex *regexp.Regexp
}

func compileMatch(m scenarios.MatchSpec) matcher {
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

// frozenSets are the sets compiled from frozen files alone, by seed and files, the most
// recent first; a few are kept (most processes use one seed).
var frozenSets setCache

const maxFrozenSets = 8

type setCache struct {
	mu      sync.Mutex
	entries []frozenSet
}

type frozenSet struct {
	seed  int64
	files []*scenarios.File
	set   *Set
}

func (c *setCache) get(seed int64, files []*scenarios.File) *Set {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.seed == seed && slices.Equal(e.files, files) {
			return e.set
		}
	}
	return nil
}

func (c *setCache) put(seed int64, files []*scenarios.File, s *Set) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = slices.Insert(c.entries, 0, frozenSet{seed, slices.Clone(files), s})
	if len(c.entries) > maxFrozenSets {
		c.entries = c.entries[:maxFrozenSets]
	}
}
