package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
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
	Started      []StartedSession              `json:"startedSessions"`
	ProfileSet   map[string]string             `json:"profileStatuses,omitempty"` // userId -> ACTIVE (a started session passed) or INACTIVE (Update Status)
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

// SaveState exports the engine's state: the store's, the admin layer included, as every
// replica sharing the store sees it.
func (e *Engine) SaveState(ctx context.Context) (SavedState, error) {
	snap, err := e.stored().Snapshot(ctx)
	if err != nil {
		return SavedState{}, storeError(err)
	}
	layer, err := e.stored().Declarations(ctx)
	if err != nil {
		return SavedState{}, storeError(err)
	}
	admin, err := decodeDeclarations(layer)
	if err != nil {
		return SavedState{}, err
	}
	st := SavedState{
		Version: StateVersion, SavedAt: e.now().UTC(), Seed: e.seed,
		AdminUsers: admin, RemovedUsers: slices.Sorted(maps.Keys(layer.Removed)),
		RuleMatches: maps.Clone(snap.Hits), StartedCount: snap.Sequence,
		ProfileSet: map[string]string{}, Progress: []SavedProgress{}, Started: snap.Started,
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
	if st.Started == nil {
		st.Started = []StartedSession{}
	}
	for _, key := range slices.SortedFunc(maps.Keys(snap.Progress), compareKeys) {
		pr := snap.Progress[key]
		st.Progress = append(st.Progress, SavedProgress{Key: key.parts(), Hash: pr.Hash, State: pr.State, Calls: pr.Calls, Since: pr.Since})
	}
	for id, status := range snap.Statuses {
		st.ProfileSet[id] = string(status)
	}
	return st, nil
}

// parts is the key as a saved state writes it.
func (k ProgressKey) parts() []string {
	if k.Kind == ProgressUser {
		return []string{k.Kind, k.UserID}
	}
	return []string{k.Kind, k.Name, k.UserID}
}

// RestoreState replaces the engine's state with a saved one. The admin users are checked
// like PUT /__admin/users, and the started sessions like sessions of a scenario file, within
// the engine's Limits; on any problem nothing changes. Progress saved for a definition that
// has changed since (another hash) restarts from the first state, as on a reload.
func (e *Engine) RestoreState(ctx context.Context, st SavedState) error {
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
	snap := Snapshot{Hits: maps.Clone(st.RuleMatches)}
	if snap.Progress, err = restoreProgress(st.Progress, limits); err != nil {
		return err
	}
	if snap.Started, err = restoreStarted(st.Started, limits, e.seed); err != nil {
		return err
	}
	if snap.Statuses, err = restoreStatuses(st.ProfileSet); err != nil {
		return err
	}
	snap.Sequence = max(st.StartedCount, uint64(len(snap.Started)))
	removed := map[string]bool{}
	for _, id := range st.RemovedUsers {
		removed[id] = true
	}
	set, files, err := e.compileCurrent(admin, removed)
	if err != nil {
		return err
	}
	if err := e.stored().Restore(ctx, snap); err != nil {
		return storeError(err)
	}
	layer := Declarations{Users: map[string]json.RawMessage{}, Sizes: adminBytes, Removed: removed}
	raws := map[string]string{}
	for id, spec := range admin {
		raw, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		layer.Users[id], raws[id] = raw, string(raw)
	}
	version, err := e.stored().ReplaceDeclarations(ctx, layer)
	if err != nil {
		return storeError(err)
	}
	for {
		e.mu.Lock()
		if slices.Equal(files, e.files) {
			e.set.Store(set)
			e.admin, e.adminRaw, e.removed = admin, raws, removed
			e.declVersion = max(e.declVersion, version)
			e.adminGen++
			e.results.reset()
			e.mu.Unlock()
			return nil
		}
		e.mu.Unlock()
		if set, files, err = e.compileCurrent(admin, removed); err != nil {
			return err
		}
	}
}

// compileCurrent compiles the scenario files loaded now with the admin layer given, outside
// the lock, and returns the set and the files it was compiled from.
func (e *Engine) compileCurrent(admin map[string]scenarios.UserSpec, removed map[string]bool) (*Set, []*scenarios.File, error) {
	e.mu.Lock()
	files := e.files
	e.mu.Unlock()
	set, err := compile(e.seed, files, admin, removed)
	return set, files, err
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

// restoreProgress checks saved progress entries: well-formed keys, and no more of each kind
// than the mock keeps.
func restoreProgress(saved []SavedProgress, limits Limits) (map[ProgressKey]Progress, error) {
	out := map[ProgressKey]Progress{}
	patterned := 0
	for i, p := range saved {
		var key ProgressKey
		switch {
		case p.State < 0 || p.Calls < 0:
			return nil, fmt.Errorf("progress[%d]: state and calls are 0 or more", i)
		case len(p.Key) == 2 && p.Key[0] == ProgressUser:
			key = userKey(p.Key[1])
		case len(p.Key) == 3 && (p.Key[0] == ProgressScenario || p.Key[0] == ProgressRule):
			key = ProgressKey{Kind: p.Key[0], Name: p.Key[1], UserID: p.Key[2]}
			patterned++
		default:
			return nil, fmt.Errorf(`progress[%d].key: is %q; a key is ["user", userId], ["scenario", name, userId] or ["rule", name, userId]`, i, p.Key)
		}
		out[key] = Progress{Hash: p.Hash, State: p.State, Calls: p.Calls, Since: p.Since}
	}
	if patterned > limits.MaxProgress || len(out)-patterned > limits.MaxProgress {
		return nil, fmt.Errorf("progress: %d entries; this mock keeps at most %d of each kind (--max-progress)", len(out), limits.MaxProgress)
	}
	return out, nil
}

// restoreStarted checks saved started sessions like sessions of a scenario file: complete,
// consistent, each answer buildable and conforming to openapi.yaml, within the limits.
func restoreStarted(saved []StartedSession, limits Limits, seed int64) ([]StartedSession, error) {
	if n := len(saved); n > limits.MaxStartedSessions {
		return nil, fmt.Errorf("startedSessions: %d sessions; this mock keeps at most %d (--max-started-sessions)", n, limits.MaxStartedSessions)
	}
	from := scenarios.NewFile("saved state", nil)
	var problems scenarios.Problems
	out, seen := make([]StartedSession, 0, len(saved)), map[string]bool{}
	for i, s := range saved {
		at := fmt.Sprintf("startedSessions[%d]", i)
		if p := checkStarted(from, at, s, seen); len(p) > 0 {
			problems = append(problems, p...)
			continue
		}
		seen[s.Session.SignatureID] = true
		s.Session.Result, s.Session.Literal = nil, true
		if len(s.Start.Input) == 0 {
			s.Start.Input = json.RawMessage("{}")
		}
		if s.Session.SolutionCode == "" {
			s.Session.SolutionCode = scenarios.DefaultSolutionCode
		}
		if s.Seq == 0 {
			s.Seq = uint64(i + 1)
		}
		if p := scenarios.CheckSession("saved state", at+".session", s.Session.spec(), true); len(p) > 0 {
			problems = append(problems, p...)
			continue
		}
		data := tmpl.Data{UserID: s.UserID, Country: s.Session.Region, SolutionCode: s.Session.SolutionCode}
		raw, err := buildResult(seed, s.fakeIndex(), s.withInput(), data)
		if err == nil {
			if p := checkResult(raw, s.UserID); p != nil {
				err = p
			}
		}
		if err != nil {
			problems = append(problems, from.Problem(at+".session", "its answer "+err.Error(), "restore a state saved by idvmock, unchanged"))
			continue
		}
		out = append(out, s)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

// checkStarted checks what a saved started session needs before its answer can be built:
// a userId, its own signatureId, and a request that is a JSON object.
func checkStarted(from *scenarios.File, at string, s StartedSession, seen map[string]bool) scenarios.Problems {
	problem := func(path, what, hint string) scenarios.Problems {
		return scenarios.Problems{from.Problem(path, what, hint)}
	}
	switch {
	case s.UserID == "" || len(s.UserID) > scenarios.MaxUserIDLength:
		return problem(at+".userId", fmt.Sprintf("is %d characters", len(s.UserID)), fmt.Sprintf("a userId has 1 to %d characters", scenarios.MaxUserIDLength))
	case s.Session.SignatureID == "" || tmpl.Has(s.Session.SignatureID):
		return problem(at+".session.SignatureID", fmt.Sprintf("is %q", s.Session.SignatureID), "a started session has the signatureId Generate URL gave it")
	case seen[s.Session.SignatureID]:
		return problem(at+".session.SignatureID", fmt.Sprintf("%q is also the signatureId of an earlier started session", s.Session.SignatureID), "each session has its own")
	}
	if len(s.Start.Input) > 0 {
		var input map[string]any
		if err := json.Unmarshal(s.Start.Input, &input); err != nil {
			return problem(at+".start.Input", "is not a JSON object: "+err.Error(), "it is the Generate URL request, as given")
		}
	}
	return nil
}

// restoreStatuses checks the profile statuses completed sessions gave.
func restoreStatuses(saved map[string]string) (map[string]idvmock.ProfileStatus, error) {
	out := map[string]idvmock.ProfileStatus{}
	for _, id := range slices.Sorted(maps.Keys(saved)) {
		p := idvmock.ProfileStatus(saved[id])
		if p != idvmock.ProfileActive && p != idvmock.ProfileInactive {
			return nil, fmt.Errorf("profileStatuses.%s: is %q (use ACTIVE or INACTIVE)", id, saved[id])
		}
		out[id] = p
	}
	return out, nil
}
