package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// StateVersion is the version of the saved-state format.
const StateVersion = 1

// SavedState is what an engine knows beyond its scenario files: users put or deleted through
// the admin API, every userId's progress through its states, sessions started through
// Generate URL, and how many requests each rule has matched (which seeds fault draws). A QA
// saves it (GET /__admin/state), restarts the mock, and restores it (PUT /__admin/state).
type SavedState struct {
	Version      int                           `json:"version"`
	SavedAt      time.Time                     `json:"savedAt"`
	Seed         int64                         `json:"seed"`
	AdminUsers   map[string]scenarios.UserSpec `json:"adminUsers"`
	RemovedUsers []string                      `json:"removedUsers"`
	Progress     []SavedProgress               `json:"progress"`
	Started      []SavedSession                `json:"startedSessions"`
	ProfileSet   map[string]string             `json:"profileStatuses,omitempty"` // userId -> status a completed started session set
	RuleMatches  map[string]uint64             `json:"ruleMatches"`
	StartedCount uint64                        `json:"startedCount"`
}

// SavedProgress is one progress entry: whose (key: "user", userId; "scenario", name, userId;
// "rule", name, userId), for which definition (hash), and where it stands.
type SavedProgress struct {
	Key   []string  `json:"key"`
	Hash  string    `json:"hash"`
	State int       `json:"state"`
	Calls int       `json:"calls"`
	Since time.Time `json:"since,omitzero"`
}

// SavedSession is a session started through Generate URL.
type SavedSession struct {
	UserID  string       `json:"userId"`
	Session Session      `json:"session"`
	Start   StartRequest `json:"start"`
	Seq     uint64       `json:"seq,omitempty"` // its place among the sessions started: seeds its fake data
}

// SaveState exports the engine's state.
func (e *Engine) SaveState() SavedState {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := SavedState{
		Version:      StateVersion,
		SavedAt:      e.now().UTC(),
		Seed:         e.seed,
		AdminUsers:   maps.Clone(e.admin),
		RemovedUsers: slices.Sorted(maps.Keys(e.removed)),
		RuleMatches:  maps.Clone(e.hits),
		StartedCount: e.startedCount,
		ProfileSet:   map[string]string{},
		Progress:     []SavedProgress{},
		Started:      []SavedSession{},
	}
	if st.RemovedUsers == nil {
		st.RemovedUsers = []string{}
	}
	if st.AdminUsers == nil {
		st.AdminUsers = map[string]scenarios.UserSpec{}
	}
	if st.RuleMatches == nil {
		st.RuleMatches = map[string]uint64{}
	}
	for _, key := range slices.Sorted(maps.Keys(e.progress)) {
		pr := e.progress[key]
		st.Progress = append(st.Progress, SavedProgress{Key: strings.Split(key, "\x00"), Hash: pr.hash, State: pr.state, Calls: pr.calls, Since: pr.since})
	}
	for id, rt := range e.started.byUser {
		if rt.status != "" {
			st.ProfileSet[id] = string(rt.status)
		}
	}
	for _, rs := range e.started.all() {
		st.Started = append(st.Started, SavedSession{UserID: rs.userID, Session: rs.session, Start: rs.start, Seq: rs.seq})
	}
	return st
}

// RestoreState replaces the engine's state with a saved one. The admin users are checked
// like PUT /__admin/users, and the started sessions like sessions of a scenario file, within
// the engine's Limits; on any problem nothing changes. Progress saved for a definition that
// has changed since (another hash) restarts from the first state, as on a reload.
func (e *Engine) RestoreState(st SavedState) error {
	if st.Version != StateVersion {
		return fmt.Errorf("version %d: this idvmock reads saved states of version %d", st.Version, StateVersion)
	}
	if st.Seed != e.seed {
		return fmt.Errorf("seed %d: the state was saved by a mock started with --seed %d; this one has --seed %d, so its generated data would differ", st.Seed, st.Seed, e.seed)
	}
	limits := e.Limits()
	admin, adminBytes, err := restoreAdmin(st.AdminUsers, limits)
	if err != nil {
		return err
	}
	removed := map[string]bool{}
	for _, id := range st.RemovedUsers {
		removed[id] = true
	}
	prog := map[string]*progress{}
	patterned := 0
	for i, p := range st.Progress {
		if len(p.Key) < 2 || len(p.Key) > 3 || p.State < 0 || p.Calls < 0 {
			return fmt.Errorf("progress[%d]: needs a key of two or three parts and a state and calls of 0 or more", i)
		}
		if p.Key[0] != "user" {
			patterned++
		}
		prog[strings.Join(p.Key, "\x00")] = &progress{hash: p.Hash, state: p.State, calls: p.Calls, since: p.Since}
	}
	if patterned > limits.MaxProgress || len(prog)-patterned > limits.MaxProgress {
		return fmt.Errorf("progress: %d entries; this mock keeps at most %d of each kind (--max-progress)", len(prog), limits.MaxProgress)
	}
	started, err := restoreStarted(st, limits, e.seed)
	if err != nil {
		return err
	}

	for {
		e.mu.Lock()
		files := e.files
		e.mu.Unlock()
		set, err := compile(e.seed, files, admin, removed)
		if err != nil {
			return err
		}
		e.mu.Lock()
		if !slices.Equal(files, e.files) {
			e.mu.Unlock()
			continue
		}
		e.set, e.admin, e.adminBytes, e.removed = set, admin, adminBytes, removed
		e.adminGen++
		e.progress, e.started = prog, started
		e.hits = maps.Clone(st.RuleMatches)
		if e.hits == nil {
			e.hits = map[string]uint64{}
		}
		e.startedCount = max(st.StartedCount, uint64(started.len()))
		e.results.reset()
		e.mu.Unlock()
		return nil
	}
}

// restoreAdmin checks saved admin users as PUT /__admin/users would.
func restoreAdmin(saved map[string]scenarios.UserSpec, limits Limits) (map[string]scenarios.UserSpec, map[string]int, error) {
	if len(saved) > limits.MaxAdminUsers {
		return nil, nil, fmt.Errorf("adminUsers: %d users; this mock keeps at most %d (--max-admin-users)", len(saved), limits.MaxAdminUsers)
	}
	admin, sizes, total := map[string]scenarios.UserSpec{}, map[string]int{}, 0
	for _, id := range slices.Sorted(maps.Keys(saved)) {
		data, err := json.Marshal(saved[id])
		if err != nil {
			return nil, nil, err
		}
		f := scenarios.NewFile("saved state", nil)
		f.Users = map[string]scenarios.UserSpec{id: saved[id]}
		if problems := f.Validate(); len(problems) > 0 {
			return nil, nil, fmt.Errorf("adminUsers.%s: %w", id, problems.TrimPath("users."))
		}
		admin[id], sizes[id] = saved[id], len(data)
		if total += len(data); total > limits.MaxAdminBytes {
			return nil, nil, fmt.Errorf("adminUsers: over %d bytes of declarations (--max-admin-bytes)", limits.MaxAdminBytes)
		}
	}
	return admin, sizes, nil
}

// restoreStarted checks saved started sessions like sessions of a scenario file: complete,
// consistent, each answer buildable and conforming to openapi.yaml, within the limits.
func restoreStarted(st SavedState, limits Limits, seed int64) (*startedSessions, error) {
	if n := len(st.Started); n > limits.MaxStartedSessions {
		return nil, fmt.Errorf("startedSessions: %d sessions; this mock keeps at most %d (--max-started-sessions)", n, limits.MaxStartedSessions)
	}
	started := newStartedSessions(limits)
	from := scenarios.NewFile("saved state", nil)
	var problems scenarios.Problems
	add := func(path, what, hint string) { problems = append(problems, from.Problem(path, what, hint)) }
	for i, s := range st.Started {
		at := fmt.Sprintf("startedSessions[%d]", i)
		switch {
		case s.UserID == "" || len(s.UserID) > scenarios.MaxUserIDLength:
			add(at+".userId", fmt.Sprintf("is %d characters", len(s.UserID)), fmt.Sprintf("a userId has 1 to %d characters", scenarios.MaxUserIDLength))
			continue
		case s.Session.SignatureID == "" || tmpl.Has(s.Session.SignatureID):
			add(at+".session.SignatureID", fmt.Sprintf("is %q", s.Session.SignatureID), "a started session has the signatureId Generate URL gave it")
			continue
		case started.bySig[s.Session.SignatureID] != nil:
			add(at+".session.SignatureID", fmt.Sprintf("%q is also the signatureId of an earlier started session", s.Session.SignatureID), "each session has its own")
			continue
		}
		if len(s.Start.Input) > 0 {
			var input map[string]any
			if err := json.Unmarshal(s.Start.Input, &input); err != nil {
				add(at+".start.Input", "is not a JSON object: "+err.Error(), "it is the Generate URL request, as given")
				continue
			}
		} else {
			s.Start.Input = json.RawMessage("{}")
		}
		s.Session.Result, s.Session.Literal = nil, true
		if s.Session.SolutionCode == "" {
			s.Session.SolutionCode = scenarios.DefaultSolutionCode
		}
		problems = append(problems, scenarios.CheckSession("saved state", at+".session", s.Session.spec(), true)...)
		rs := &runtimeSession{userID: s.UserID, session: s.Session, start: s.Start, seq: s.Seq}
		if rs.seq == 0 {
			rs.seq = uint64(i + 1)
		}
		data := tmpl.Data{UserID: s.UserID, Country: s.Session.Region, SolutionCode: s.Session.SolutionCode}
		raw, err := buildResult(seed, rs.fakeIndex(), rs.withInput(rs.session), data)
		if err == nil {
			if p := checkResult(raw, s.UserID); p != nil {
				err = p
			}
		}
		if err != nil {
			add(at+".session", "its answer "+err.Error(), "restore a state saved by idvmock, unchanged")
			continue
		}
		started.add(rs)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	for id, status := range st.ProfileSet {
		if rt := started.byUser[id]; rt != nil {
			if p := idvmock.ProfileStatus(status); p == idvmock.ProfileActive || p == idvmock.ProfileInactive {
				rt.status = p
			} else {
				return nil, fmt.Errorf("profileStatuses.%s: is %q (use ACTIVE or INACTIVE)", id, status)
			}
		}
	}
	return started, nil
}
