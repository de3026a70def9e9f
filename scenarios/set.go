package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Set is a loaded collection of scenarios and users that answers queries. It is read-only
// after construction and safe for concurrent use.
type Set struct {
	seed     int64
	profiles map[string]*Profile // named scenarios
	users    map[string]*user
	codes    map[string]bool // valid solution codes
}

// user is a known userId bound to its profile, with its sessions' generated identity fields
// (signatureId, bizId, creation time) resolved once.
type user struct {
	id       string
	profile  *Profile
	sessions []Session
}

// Query is one "Get Latest Session Result" request, as the model sees it.
type Query struct {
	UserID       string
	SolutionCode string // empty: the latest session under any code
	Country      string // ISO 3166 alpha-3 of the asked host's region: default for sessions that declare none
	Scenario     string // forces a named scenario for this userId; empty: look the user up
}

// Answer is the vendor's business answer: its code, message and, on SUCCESS, data.
type Answer struct {
	Code     string
	Message  string
	Data     *LatestData
	Scenario string // the named scenario that answered, when there is one
}

// UnknownScenarioError reports a forced scenario name that no loaded file declares.
type UnknownScenarioError struct {
	Name  string
	Known []string
}

func (e *UnknownScenarioError) Error() string {
	return fmt.Sprintf("unknown scenario %q: use one of %s", e.Name, strings.Join(e.Known, ", "))
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
		fh, err := builtinFiles.Open(name)
		if err != nil {
			return nil, err
		}
		f, err := ParseFile(path.Base(name), fh)
		fh.Close()
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

// New builds a set from files in order: a scenario or user declared again by a later file
// replaces the earlier one. Every code a session mentions becomes a valid solution code,
// besides DefaultSolutionCode and those listed under solutionCodes.
func New(seed int64, files ...*File) (*Set, error) {
	s := &Set{
		seed:     seed,
		profiles: map[string]*Profile{},
		users:    map[string]*user{},
		codes:    map[string]bool{DefaultSolutionCode: true},
	}
	specs := map[string]UserSpec{}
	for _, f := range files {
		for _, code := range f.SolutionCodes {
			s.codes[code] = true
		}
		for name, p := range f.Scenarios {
			s.profiles[name] = s.addProfile(name, p)
		}
		for id, u := range f.Users {
			specs[id] = u
		}
	}
	for _, id := range sortedKeys(specs) {
		u := specs[id]
		p := s.profiles[u.Scenario]
		if u.Scenario == "" {
			p = s.addProfile("", u.ProfileSpec)
		} else if p == nil {
			return nil, Problem{Path: "users." + id + ".scenario", What: fmt.Sprintf("names scenario %q, which no loaded file declares", u.Scenario),
				Hint: "declare it under scenarios: or use one of " + strings.Join(s.ScenarioNames(), ", ")}
		}
		s.users[id] = &user{id: id, profile: p, sessions: resolveSessions(seed, id, p.Sessions)}
	}
	return s, nil
}

func (s *Set) addProfile(name string, spec ProfileSpec) *Profile {
	p := spec.profile(name)
	for _, sess := range p.Sessions {
		s.codes[sess.SolutionCode] = true
	}
	return &p
}

// Answer answers a query the way the vendor would.
func (s *Set) Answer(q Query) (Answer, error) {
	u := s.users[q.UserID]
	if q.Scenario != "" {
		p, ok := s.profiles[q.Scenario]
		if !ok {
			return Answer{}, &UnknownScenarioError{Name: q.Scenario, Known: s.ScenarioNames()}
		}
		u = &user{id: q.UserID, profile: p, sessions: resolveSessions(s.seed, q.UserID, p.Sessions)}
	}
	scenario := ""
	if u != nil {
		scenario = u.profile.Name
	}
	switch {
	case u != nil && u.profile.Answer == AnswerServerError:
		return Answer{Code: CodeError, Message: MessageServerError, Scenario: scenario}, nil
	case q.SolutionCode != "" && !s.codes[q.SolutionCode], u != nil && u.profile.Answer == AnswerBadSolutionCode:
		return Answer{Code: CodeParameterError, Message: MessageBadSolutionCode, Scenario: scenario}, nil
	case u == nil || u.profile.Answer == AnswerUserNotFound:
		return Answer{Code: CodeParameterError, Message: MessageUserNotFound, Scenario: scenario}, nil
	}
	i := latest(u.sessions, q.SolutionCode)
	if i < 0 {
		return Answer{Code: CodeParameterError, Message: MessageUserNotFound, Scenario: scenario}, nil
	}
	data := &LatestData{
		ProfileStatus: u.profile.Status,
		Result:        buildResult(s.seed, u.id, i, u.sessions[i], q.Country),
	}
	return Answer{Code: CodeSuccess, Message: MessageOK, Data: data, Scenario: scenario}, nil
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

// ScenarioNames lists the named scenarios, sorted.
func (s *Set) ScenarioNames() []string { return sortedKeys(s.profiles) }

// UserIDs lists the known userIds, sorted.
func (s *Set) UserIDs() []string { return sortedKeys(s.users) }

// SolutionCodes lists the valid solution codes, sorted.
func (s *Set) SolutionCodes() []string { return sortedKeys(s.codes) }
