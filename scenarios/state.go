package scenarios

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StateVersion is the version of the saved-state format.
const StateVersion = 1

// SavedState is what an engine knows beyond its scenario files: users put or deleted through
// the admin API, every userId's progress through its states, sessions started through
// Generate URL, and how many requests each rule has matched (which seeds fault draws). A QA
// saves it (GET /__admin/state), restarts the mock, and restores it (PUT /__admin/state).
type SavedState struct {
	Version      int                 `json:"version"`
	SavedAt      time.Time           `json:"savedAt"`
	Seed         int64               `json:"seed"`
	AdminUsers   map[string]UserSpec `json:"adminUsers"`
	RemovedUsers []string            `json:"removedUsers"`
	Progress     []SavedProgress     `json:"progress"`
	Started      []SavedSession      `json:"startedSessions"`
	ProfileSet   map[string]string   `json:"profileStatuses,omitempty"` // userId -> status a completed started session set
	RuleMatches  map[string]uint64   `json:"ruleMatches"`
	StartedCount uint64              `json:"startedCount"`
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
		StartedCount: e.started,
		ProfileSet:   map[string]string{},
		Progress:     []SavedProgress{},
		Started:      []SavedSession{},
	}
	if st.RemovedUsers == nil {
		st.RemovedUsers = []string{}
	}
	if st.AdminUsers == nil {
		st.AdminUsers = map[string]UserSpec{}
	}
	if st.RuleMatches == nil {
		st.RuleMatches = map[string]uint64{}
	}
	for _, key := range slices.Sorted(maps.Keys(e.progress)) {
		pr := e.progress[key]
		st.Progress = append(st.Progress, SavedProgress{Key: strings.Split(key, "\x00"), Hash: pr.hash, State: pr.state, Calls: pr.calls, Since: pr.since})
	}
	for _, id := range slices.Sorted(maps.Keys(e.runtime)) {
		rt := e.runtime[id]
		if rt.status != "" {
			st.ProfileSet[id] = string(rt.status)
		}
		for _, s := range rt.sessions {
			st.Started = append(st.Started, SavedSession{UserID: s.userID, Session: s.session, Start: s.start})
		}
	}
	return st
}

// RestoreState replaces the engine's state with a saved one. The admin users are checked
// like PUT /__admin/users; on any problem nothing changes. Progress saved for a definition
// that has changed since (another hash) restarts from the first state, as on a reload.
func (e *Engine) RestoreState(st SavedState) error {
	if st.Version != StateVersion {
		return fmt.Errorf("version %d: this idvmock reads saved states of version %d", st.Version, StateVersion)
	}
	if st.Seed != e.seed {
		return fmt.Errorf("seed %d: the state was saved by a mock started with --seed %d; this one has --seed %d, so its generated data would differ", st.Seed, st.Seed, e.seed)
	}
	admin := map[string]UserSpec{}
	for id, spec := range st.AdminUsers {
		data, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		f, problems := decodeFile("saved state", append([]byte("users:\n  "+strconv.Quote(id)+":\n"), indent(data)...))
		if len(problems) == 0 {
			problems = f.validate()
		}
		if len(problems) > 0 {
			return fmt.Errorf("adminUsers.%s: %w", id, shiftLines(problems, 2))
		}
		admin[id] = f.Users[id]
	}
	removed := map[string]bool{}
	for _, id := range st.RemovedUsers {
		removed[id] = true
	}
	prog := map[string]*progress{}
	for i, p := range st.Progress {
		if len(p.Key) < 2 || p.State < 0 || p.Calls < 0 {
			return fmt.Errorf("progress[%d]: needs a key of two or three parts and a state and calls of 0 or more", i)
		}
		prog[strings.Join(p.Key, "\x00")] = &progress{hash: p.Hash, state: p.State, calls: p.Calls, since: p.Since}
	}
	runtime, bySig := map[string]*runtimeUser{}, map[string]*runtimeSession{}
	for i, s := range st.Started {
		if s.UserID == "" || s.Session.SignatureID == "" {
			return fmt.Errorf("startedSessions[%d]: needs a userId and a session with a signatureId", i)
		}
		rt := runtime[s.UserID]
		if rt == nil {
			rt = &runtimeUser{}
			runtime[s.UserID] = rt
		}
		rs := &runtimeSession{userID: s.UserID, session: s.Session, start: s.Start}
		rt.sessions = append(rt.sessions, rs)
		bySig[s.Session.SignatureID] = rs
	}
	for id, status := range st.ProfileSet {
		if rt := runtime[id]; rt != nil {
			rt.status = ProfileStatus(status)
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	set, err := e.compile(e.files, admin, removed)
	if err != nil {
		return err
	}
	e.set, e.admin, e.removed = set, admin, removed
	e.progress, e.runtime, e.bySig = prog, runtime, bySig
	e.hits = maps.Clone(st.RuleMatches)
	if e.hits == nil {
		e.hits = map[string]uint64{}
	}
	e.started = st.StartedCount
	e.results.reset()
	return nil
}
