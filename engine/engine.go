package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// Engine answers requests from a Set and holds everything that changes while the mock runs:
// where each user stands in its sequence of states, sessions started through the Generate
// URL API, users defined through the admin API, and how often each rule matched. It is safe
// for concurrent use; every call advances state exactly once. What clients can make grow is
// bounded by its Limits.
//
// Work that grows with the size of the set (compiling declarations, looking for near
// misses) is done outside the lock, on the immutable Set, so that no request waits on it.
type Engine struct {
	seed   int64
	now    func() time.Time
	limits Limits

	mu           sync.Mutex
	set          *Set
	files        []*scenarios.File             // what set was compiled from, admin users aside
	admin        map[string]scenarios.UserSpec // users put through the admin API
	adminBytes   map[string]int                // the size of each one's declaration
	removed      map[string]bool               // users deleted through the admin API
	adminGen     uint64                        // changes of admin and removed: a compile outside the lock checks it
	progress     map[string]*progress
	started      *startedSessions
	hits         map[string]uint64 // matches per rule name
	startedCount uint64            // sessions started through Generate URL, ever: seeds their signatureIds

	results resultCache
}

// NewEngine compiles files (built-in files first, usually) into the set it answers from,
// with the default Limits. now is the clock for time-based progression; nil means time.Now.
func NewEngine(seed int64, files []*scenarios.File, now func() time.Time) (*Engine, error) {
	if now == nil {
		now = time.Now
	}
	e := &Engine{
		seed: seed, now: now, limits: Limits{}.withDefaults(),
		admin: map[string]scenarios.UserSpec{}, adminBytes: map[string]int{}, removed: map[string]bool{},
		progress: map[string]*progress{}, hits: map[string]uint64{}, results: newResultCache(),
	}
	e.started = newStartedSessions(e.limits)
	if err := e.Load(files); err != nil {
		return nil, err
	}
	return e, nil
}

// SetLimits changes the engine's limits; zero fields take the defaults. Call it before the
// engine answers.
func (e *Engine) SetLimits(l Limits) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limits = l.withDefaults()
	e.started.limits = e.limits
}

// Limits returns the engine's limits.
func (e *Engine) Limits() Limits {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.limits
}

// Load replaces the scenario files. On a problem nothing changes and the previous set keeps
// answering. Users whose declaration did not change keep their progress. The files are
// compiled outside the lock: requests go on being answered meanwhile.
func (e *Engine) Load(files []*scenarios.File) error {
	for {
		e.mu.Lock()
		admin, removed, gen := maps.Clone(e.admin), maps.Clone(e.removed), e.adminGen
		e.mu.Unlock()
		set, err := compile(e.seed, files, admin, removed)
		if err != nil {
			return err
		}
		e.mu.Lock()
		if gen != e.adminGen { // an admin call changed the layer meanwhile: compile again
			e.mu.Unlock()
			continue
		}
		e.set, e.files = set, files
		e.results.reset()
		e.mu.Unlock()
		tmpl.ClearCache()
		return nil
	}
}

// compile builds the set of files plus the admin layer. admin and removed are only read.
func compile(seed int64, files []*scenarios.File, admin map[string]scenarios.UserSpec, removed map[string]bool) (*Set, error) {
	all := append([]*scenarios.File(nil), files...)
	if len(admin) > 0 {
		layer := scenarios.NewFile(adminFileName, nil)
		layer.Users = make(map[string]scenarios.UserSpec, len(admin))
		for id, spec := range admin {
			layer.Users[id] = spec
		}
		all = append(all, layer)
	}
	set, err := New(seed, all...)
	if err != nil {
		return nil, err
	}
	for id := range removed {
		set.dropUser(id)
	}
	return set, nil
}

// adminFileName is where the users of the admin API come from, in messages and listings.
const adminFileName = AdminSource

// AdminSource names the declarations of the admin API in messages and listings.
const AdminSource = "admin API"

// Set returns the set the engine answers from now.
func (e *Engine) Set() *Set {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.set
}

// Decide finds the first rule that matches req and draws its faults.
func (e *Engine) Decide(req Request) Decision {
	set := e.Set()
	var rule *Rule
	for _, r := range set.rules {
		if r.match.matches(req) {
			rule = r
			break
		}
	}
	if rule == nil {
		return Decision{}
	}
	e.mu.Lock()
	hit := e.hits[rule.Name]
	e.hits[rule.Name] = hit + 1
	e.mu.Unlock()
	return decide(e.seed, rule, hit)
}

// Answer is the vendor's business answer: its code, message and, on SUCCESS, data.
type Answer struct {
	Code     string
	Message  string
	Data     *idvmock.LatestData
	Scenario string // the named scenario that answered, when there is one
}

// Outcome is the answer to a Get Latest Session Result request and where it came from.
type Outcome struct {
	Answer
	Source     string     // what answered: "user alice", "scenario active", "rule flaky"
	State      string     // the state that answered, for users with several
	Unmatched  bool       // no user or rule knew the userId (on this region)
	NearMisses []NearMiss // what came closest, when Unmatched
}

// BuildError is an answer that could not be built when it was asked for: a template of a
// scenario passed its limits, for instance. The vendor would answer ERROR; the mock does,
// and says why in its journal.
type BuildError struct {
	Source string // what was answering: "user alice", "session 6c2f0a9e41b7"
	Err    error
}

func (e *BuildError) Error() string { return e.Source + ": " + e.Err.Error() }

func (e *BuildError) Unwrap() error { return e.Err }

// Answer answers Get Latest Session Result for req, given the rules' decision d: the scenario
// header first, then the rule's profile, then the user. A result that cannot be built is a
// *BuildError.
func (e *Engine) Answer(req Request, d Decision) (Outcome, error) {
	e.mu.Lock()
	set := e.set
	src, err := e.source(req, d)
	if err != nil {
		e.mu.Unlock()
		return Outcome{}, err
	}
	out := Outcome{Source: src.label}
	out.Scenario = src.scenario
	switch {
	case src.profile == nil && src.runtime == nil,
		len(src.regions) > 0 && !slices.Contains(src.regions, req.Region):
		e.mu.Unlock()
		out.Unmatched, out.NearMisses = true, set.nearMisses(req, 3)
		out.Code, out.Message = idvmock.CodeParameterError, idvmock.MessageUserNotFound
		return out, nil
	case req.SolutionCode != "" && !set.codes[req.SolutionCode] && !src.runtime.hasCode(req.SolutionCode):
		e.mu.Unlock()
		out.Code, out.Message = idvmock.CodeParameterError, idvmock.MessageBadSolutionCode
		return out, nil
	}
	var state State
	var sessions []Session
	status := idvmock.ProfileInit
	stateIndex := 0
	if src.profile != nil {
		i := e.step(src.key, src.hash, src.profile)
		stateIndex = i
		state, sessions, status = src.profile.States[i], src.states[i], src.profile.States[i].Status
		if len(src.profile.States) > 1 {
			out.State = stateLabel(src.profile, i)
		}
	}
	nDeclared := len(sessions)
	var started []*runtimeSession
	if src.runtime != nil {
		started = slices.Clone(src.runtime.sessions)
		for _, rs := range started {
			sessions = append(slices.Clip(sessions), rs.session)
		}
		if src.runtime.status != "" {
			status = src.runtime.status
		}
	}
	e.mu.Unlock()

	if forced, ok := forcedAnswers[state.Answer]; ok {
		out.Code, out.Message = forced.code, forced.message
		return out, nil
	}
	i := latest(sessions, req.SolutionCode)
	if i < 0 {
		out.Code, out.Message = idvmock.CodeParameterError, idvmock.MessageUserNotFound
		return out, nil
	}
	data := tmpl.Data{UserID: req.UserID, Region: req.Region, Country: req.Country, SolutionCode: req.SolutionCode}
	raw, err := e.buildLatest(src.profile, stateIndex, i, nDeclared, sessions, started, data)
	if err != nil {
		return Outcome{}, &BuildError{Source: out.Source, Err: err}
	}
	out.Code, out.Message = idvmock.CodeSuccess, idvmock.MessageOK
	out.Data = &idvmock.LatestData{ProfileStatus: status, Result: raw}
	return out, nil
}

// buildLatest builds session i of sessions: a declared one (cached), or started[i-nDeclared]
// (built each time: started sessions change as they complete).
func (e *Engine) buildLatest(p *Profile, state, i, nDeclared int, sessions []Session, started []*runtimeSession, data tmpl.Data) (json.RawMessage, error) {
	if i >= nDeclared {
		rs := started[i-nDeclared]
		return buildResult(e.seed, rs.fakeIndex(), rs.withInput(sessions[i]), data)
	}
	key := resultKey{profile: p, userID: data.UserID, region: data.Region, country: data.Country,
		solutionCode: data.SolutionCode, state: state, session: i}
	if raw, ok := e.results.get(key); ok {
		return raw, nil
	}
	raw, err := buildResult(e.seed, i, sessions[i], data)
	if err == nil {
		e.results.put(key, raw)
	}
	return raw, err
}

// source is what answers a request: a profile and its resolved sessions, and the sessions
// started at run time for the userId.
type source struct {
	label, scenario string
	key, hash       string
	profile         *Profile
	states          [][]Session
	regions         []string
	runtime         *runtimeUser
}

// UnknownScenarioError reports a forced scenario name that no loaded file declares.
type UnknownScenarioError struct {
	Name  string
	Known []string
}

func (e *UnknownScenarioError) Error() string {
	return fmt.Sprintf("unknown scenario %q: use one of %s", e.Name, strings.Join(e.Known, ", "))
}

// source picks what answers req. Called with e.mu held.
func (e *Engine) source(req Request, d Decision) (source, error) {
	set := e.set
	switch {
	case req.Scenario != "":
		p, ok := set.profiles[req.Scenario]
		if !ok {
			return source{}, &UnknownScenarioError{Name: req.Scenario, Known: set.ScenarioNames()}
		}
		return source{label: "scenario " + p.Name, scenario: p.Name, key: "scenario\x00" + p.Name + "\x00" + req.UserID,
			hash: p.hash, profile: p, states: resolveStates(e.seed, req.UserID, p)}, nil
	case d.Rule != nil && d.Rule.Profile != nil:
		r := d.Rule
		return source{label: "rule " + r.Name, scenario: r.Profile.Name, key: "rule\x00" + r.Name + "\x00" + req.UserID,
			hash: r.Profile.hash, profile: r.Profile, states: resolveStates(e.seed, req.UserID, r.Profile)}, nil
	}
	src := source{runtime: e.started.byUser[req.UserID]}
	if u := set.users[req.UserID]; u != nil {
		src.label, src.scenario = "user "+u.ID, u.Profile.Name
		src.key, src.hash, src.profile, src.states, src.regions = "user\x00"+u.ID, u.hash, u.Profile, u.states, u.Regions
	} else if src.runtime != nil {
		src.label = "user " + req.UserID + " (started through Generate URL)"
	}
	return src, nil
}

func stateLabel(p *Profile, i int) string {
	if name := p.States[i].Name; name != "" {
		return name
	}
	return strconv.Itoa(i)
}

// progress is where one user stands in its profile's states.
type progress struct {
	hash  string
	state int
	calls int       // calls answered in this state
	since time.Time // first call answered in this state; zero before it
}

// step moves the user on as its states say and counts this call; it returns the state that
// answers the call. Called with e.mu held, so each call counts exactly once.
func (e *Engine) step(key, hash string, p *Profile) int {
	pr := e.progress[key]
	if pr == nil || pr.hash != hash || pr.state >= len(p.States) {
		if pr == nil && len(e.progress) >= e.limits.MaxProgress && !strings.HasPrefix(key, "user\x00") {
			e.evictProgress()
		}
		pr = &progress{hash: hash}
		e.progress[key] = pr
	}
	now := e.now()
	for {
		after := p.States[pr.state].After
		due := (after.Calls > 0 && pr.calls >= after.Calls) ||
			(after.Duration > 0 && !pr.since.IsZero() && now.Sub(pr.since) >= after.Duration)
		if !due || (pr.state == len(p.States)-1 && !p.Loop) {
			break
		}
		pr.moveTo((pr.state + 1) % len(p.States))
	}
	if pr.since.IsZero() {
		pr.since = now
	}
	pr.calls++
	return pr.state
}

func (pr *progress) moveTo(state int) {
	pr.state, pr.calls, pr.since = state, 0, time.Time{}
}

// evictProgress drops the progress of one pattern-matched userId to make room.
func (e *Engine) evictProgress() {
	for k := range e.progress {
		if !strings.HasPrefix(k, "user\x00") {
			delete(e.progress, k)
			return
		}
	}
}

// ErrUnknownUser is returned for a userId that no loaded file or admin call declares.
var ErrUnknownUser = errors.New("no such user")

// UserProgress is where a declared user stands.
type UserProgress struct {
	UserID          string   `json:"userId"`
	Source          string   `json:"source"`
	Scenario        string   `json:"scenario,omitempty"`
	Regions         []string `json:"regions,omitempty"`
	States          []string `json:"states"`
	State           string   `json:"state"`
	StateIndex      int      `json:"stateIndex"`
	Calls           int      `json:"calls"`
	RuntimeSessions int      `json:"runtimeSessions"`
}

// Progress reports where user id stands.
func (e *Engine) Progress(id string) (UserProgress, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.progressOf(id)
}

// Users reports every declared user, sorted by userId.
func (e *Engine) Users() []UserProgress {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]UserProgress, 0, len(e.set.users))
	for _, id := range e.set.UserIDs() {
		p, _ := e.progressOf(id)
		out = append(out, p)
	}
	return out
}

func (e *Engine) progressOf(id string) (UserProgress, error) {
	u := e.set.users[id]
	if u == nil {
		return UserProgress{}, fmt.Errorf("%w %q", ErrUnknownUser, id)
	}
	out := UserProgress{UserID: id, Source: u.Source, Scenario: u.Spec.Scenario, Regions: u.Regions}
	for i := range u.Profile.States {
		out.States = append(out.States, stateLabel(u.Profile, i))
	}
	if pr := e.progress["user\x00"+id]; pr != nil && pr.hash == u.hash && pr.state < len(u.Profile.States) {
		out.StateIndex, out.Calls = pr.state, pr.calls
	}
	out.State = out.States[out.StateIndex]
	if rt := e.started.byUser[id]; rt != nil {
		out.RuntimeSessions = len(rt.sessions)
	}
	return out, nil
}

// Advance moves user id to its next state (the first after the last, when it loops).
func (e *Engine) Advance(id string) (UserProgress, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, pr, err := e.userProgress(id)
	if err != nil {
		return UserProgress{}, err
	}
	next := pr.state + 1
	if next == len(u.Profile.States) {
		if !u.Profile.Loop {
			return UserProgress{}, fmt.Errorf("user %q is in its last state and does not loop", id)
		}
		next = 0
	}
	pr.moveTo(next)
	return e.progressOf(id)
}

// SetState puts user id in the state named (or numbered from 0) state.
func (e *Engine) SetState(id, state string) (UserProgress, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, pr, err := e.userProgress(id)
	if err != nil {
		return UserProgress{}, err
	}
	names := make([]string, len(u.Profile.States))
	for i := range u.Profile.States {
		names[i] = stateLabel(u.Profile, i)
		if names[i] == state || strconv.Itoa(i) == state {
			pr.moveTo(i)
			return e.progressOf(id)
		}
	}
	return UserProgress{}, fmt.Errorf("user %q has no state %q: use one of %s", id, state, strings.Join(names, ", "))
}

func (e *Engine) userProgress(id string) (*User, *progress, error) {
	u := e.set.users[id]
	if u == nil {
		return nil, nil, fmt.Errorf("%w %q", ErrUnknownUser, id)
	}
	key := "user\x00" + id
	pr := e.progress[key]
	if pr == nil || pr.hash != u.hash || pr.state >= len(u.Profile.States) {
		pr = &progress{hash: u.hash}
		e.progress[key] = pr
	}
	return u, pr, nil
}

// Reset forgets the progress and the run-time sessions of user id, or of every user when id
// is empty (rule match counts and parsed templates too). It returns how many userIds it
// reset.
func (e *Engine) Reset(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id == "" {
		n := len(e.progress) + len(e.started.byUser)
		e.progress, e.hits = map[string]*progress{}, map[string]uint64{}
		e.started = newStartedSessions(e.limits)
		tmpl.ClearCache()
		return n
	}
	n := 0
	for k := range e.progress {
		if k == "user\x00"+id || strings.HasSuffix(k, "\x00"+id) {
			delete(e.progress, k)
			n = 1
		}
	}
	if e.started.removeUser(id) {
		n = 1
	}
	return n
}

// ErrAdminFull is returned when a declaration would pass Limits.MaxAdminUsers or
// MaxAdminBytes.
var ErrAdminFull = errors.New("the admin API holds as many users as its limits allow")

// PutUser declares (or replaces) user id, as f (a declaration read by scenarios/files, size
// bytes long) declares it. A declaration with problems changes nothing; the problems' paths
// start at the userId. Only this user is compiled and checked, outside the lock; the rest of
// the set is shared with the previous one.
func (e *Engine) PutUser(f *scenarios.File, id string, size int) error {
	spec, ok := f.Users[id]
	if !ok {
		return fmt.Errorf("%s declares no user %q", f.Name(), id)
	}
	for {
		e.mu.Lock()
		base, gen := e.set, e.adminGen
		if err := e.adminRoom(id, size); err != nil {
			e.mu.Unlock()
			return err
		}
		e.mu.Unlock()
		next, problems := base.withUser(f, id, spec)
		if len(problems) > 0 {
			return problems.TrimPath("users.")
		}
		e.mu.Lock()
		if e.set != base || e.adminGen != gen {
			e.mu.Unlock()
			continue
		}
		e.set = next
		e.admin[id], e.adminBytes[id] = spec, size
		delete(e.removed, id)
		e.adminGen++
		e.results.reset()
		e.mu.Unlock()
		return nil
	}
}

// adminRoom reports whether one more declaration of size bytes for id fits the limits.
// Called with e.mu held.
func (e *Engine) adminRoom(id string, size int) error {
	_, replacing := e.admin[id]
	total := size - e.adminBytes[id]
	for _, n := range e.adminBytes {
		total += n
	}
	switch {
	case !replacing && len(e.admin) >= e.limits.MaxAdminUsers:
		return fmt.Errorf("%w: %d users (--max-admin-users); delete some (DELETE /__admin/users/{userId}) or raise the limit", ErrAdminFull, e.limits.MaxAdminUsers)
	case total > e.limits.MaxAdminBytes:
		return fmt.Errorf("%w: %d bytes of declarations (--max-admin-bytes); delete some or raise the limit", ErrAdminFull, e.limits.MaxAdminBytes)
	}
	return nil
}

// DeleteUser removes user id until the scenario files are loaded again without it... or
// for good, if only the admin API declared it. The new set is made outside the lock.
func (e *Engine) DeleteUser(id string) error {
	for {
		e.mu.Lock()
		base, gen := e.set, e.adminGen
		e.mu.Unlock()
		if base.users[id] == nil {
			return fmt.Errorf("%w %q", ErrUnknownUser, id)
		}
		next := base.withoutUser(id)
		e.mu.Lock()
		if e.set != base || e.adminGen != gen {
			e.mu.Unlock()
			continue
		}
		e.set = next
		delete(e.admin, id)
		delete(e.adminBytes, id)
		if declaredIn(e.files, id) { // keep the file's user hidden across reloads
			e.removed[id] = true
		}
		e.adminGen++
		e.results.reset()
		delete(e.progress, "user\x00"+id)
		e.mu.Unlock()
		return nil
	}
}

// declaredIn reports whether a file declares user id.
func declaredIn(files []*scenarios.File, id string) bool {
	return slices.ContainsFunc(files, func(f *scenarios.File) bool { _, ok := f.Users[id]; return ok })
}

// latest returns the index of the most recently created session under code (any code when
// empty), or -1. Of sessions created at the same instant the later-listed one wins.
func latest(sessions []Session, code string) int {
	best := -1
	for i, s := range sessions {
		if code != "" && s.SolutionCode != code {
			continue
		}
		if best < 0 || !s.CreatedAt.Before(sessions[best].CreatedAt) {
			best = i
		}
	}
	return best
}
