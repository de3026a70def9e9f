package engine

import (
	"container/list"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/bounded"
)

// MemoryStore is the Store of one process: maps under a lock, within its Limits.
type MemoryStore struct {
	mu       sync.Mutex
	limits   Limits
	users    map[ProgressKey]*Progress // declared users' progress: always kept
	patterns map[ProgressKey]*list.Element
	order    *list.List // of patternProgress, oldest first: past MaxProgress they go first
	hits     map[string]uint64
	started  *startedSessions
	inactive map[string]*list.Element // deactivated userIds, in inactiveOrder
	// inactiveOrder lists the deactivated userIds, oldest first: past MaxProgress they go
	// first.
	inactiveOrder *list.List
	sequence      uint64
	tokens        *bounded.Cache[string, time.Time]
	// declarations is the admin layer, apart from the rest: Reset and Restore keep it.
	declarations *memoryDeclarations
}

type patternProgress struct {
	key ProgressKey
	pr  Progress
}

// tokenBytes is about what one kept token costs.
const tokenBytes = 100

// NewMemoryStore returns an empty store within l (zero fields: the defaults).
func NewMemoryStore(l Limits) *MemoryStore {
	l = l.WithDefaults()
	s := &MemoryStore{limits: l, tokens: bounded.NewCache[string, time.Time](l.MaxTokens, 0), declarations: newMemoryDeclarations()}
	s.clear()
	return s
}

func (s *MemoryStore) clear() {
	s.users, s.patterns, s.order = map[ProgressKey]*Progress{}, map[ProgressKey]*list.Element{}, list.New()
	s.hits = map[string]uint64{}
	s.started = newStartedSessions(s.limits)
	s.inactive, s.inactiveOrder = map[string]*list.Element{}, list.New()
	s.sequence = 0
}

// Deactivate makes userID's profile INACTIVE.
func (s *MemoryStore) Deactivate(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deactivate(userID)
	return nil
}

func (s *MemoryStore) deactivate(userID string) {
	if s.inactive[userID] != nil {
		return
	}
	for s.inactiveOrder.Len() >= s.limits.MaxProgress {
		delete(s.inactive, s.inactiveOrder.Remove(s.inactiveOrder.Front()).(string))
	}
	s.inactive[userID] = s.inactiveOrder.PushBack(userID)
}

// forgetDeactivation forgets that userID was deactivated; it reports whether it was.
func (s *MemoryStore) forgetDeactivation(userID string) bool {
	e := s.inactive[userID]
	if e == nil {
		return false
	}
	s.inactiveOrder.Remove(e)
	delete(s.inactive, userID)
	return true
}

// currentLimits are the store's limits now.
func (s *MemoryStore) currentLimits() Limits {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits
}

// Name is "memory".
func (s *MemoryStore) Name() string { return "memory" }

// Ping always answers: the store is this process's memory.
func (s *MemoryStore) Ping(context.Context) error { return nil }

// SetLimits bounds what the store keeps from now on. The issued tokens are kept unless
// MaxTokens changes.
func (s *MemoryStore) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l = l.WithDefaults(); l.MaxTokens != s.limits.MaxTokens {
		s.tokens = bounded.NewCache[string, time.Time](l.MaxTokens, 0)
	}
	s.limits = l
	s.started.limits = l
}

// Step counts one call of key and returns where it stands now.
func (s *MemoryStore) Step(_ context.Context, key ProgressKey, m Machine, now time.Time) (Progress, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.slot(key)
	*pr = m.Advance(*pr, now)
	return *pr, nil
}

// StepUser counts one call of a declared user's key and returns where it stands, with the
// user's started sessions.
func (s *MemoryStore) StepUser(_ context.Context, key ProgressKey, m Machine, now time.Time) (Progress, []StartedSession, idvmock.ProfileStatus, error) {
	s.mu.Lock()
	pr := s.slot(key)
	*pr = m.Advance(*pr, now)
	out := *pr
	started, status := s.userSessions(key.UserID) // cannot panic: no deferred unlock needed
	s.mu.Unlock()
	return out, started, status, nil
}

// Progress returns where key stands.
func (s *MemoryStore) Progress(_ context.Context, key ProgressKey) (Progress, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, ok := s.get(key)
	return pr, ok, nil
}

// UpdateProgress moves key to what update makes of where it stands, under the lock.
func (s *MemoryStore) UpdateProgress(_ context.Context, key ProgressKey, update func(Progress, bool) (Progress, error)) (Progress, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, found := s.get(key)
	next, err := update(pr, found)
	if err != nil {
		return pr, err
	}
	s.put(key, next)
	return next, nil
}

// ForgetProgress forgets key's progress, and a declared user's deactivation.
func (s *MemoryStore) ForgetProgress(_ context.Context, key ProgressKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key.Kind == ProgressUser {
		s.forgetDeactivation(key.UserID)
	}
	delete(s.users, key)
	if e := s.patterns[key]; e != nil {
		s.order.Remove(e)
		delete(s.patterns, key)
	}
	return nil
}

func (s *MemoryStore) get(key ProgressKey) (Progress, bool) {
	if key.Kind == ProgressUser {
		if pr := s.users[key]; pr != nil {
			return *pr, true
		}
		return Progress{}, false
	}
	if e := s.patterns[key]; e != nil {
		return e.Value.(*patternProgress).pr, true
	}
	return Progress{}, false
}

// put keeps key's progress.
func (s *MemoryStore) put(key ProgressKey, pr Progress) { *s.slot(key) = pr }

// slot is where key's progress is kept, made (zero) when it has none; a new pattern-matched
// userId past MaxProgress pushes out the oldest.
func (s *MemoryStore) slot(key ProgressKey) *Progress {
	if key.Kind == ProgressUser {
		pr := s.users[key]
		if pr == nil {
			pr = &Progress{}
			s.users[key] = pr
		}
		return pr
	}
	if e := s.patterns[key]; e != nil {
		return &e.Value.(*patternProgress).pr
	}
	for s.order.Len() >= s.limits.MaxProgress {
		oldest := s.order.Remove(s.order.Front()).(*patternProgress)
		delete(s.patterns, oldest.key)
	}
	pp := &patternProgress{key: key}
	s.patterns[key] = s.order.PushBack(pp)
	return &pp.pr
}

// Hit counts a match of rule.
func (s *MemoryStore) Hit(_ context.Context, rule string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.hits[rule]
	s.hits[rule] = n + 1
	return n, nil
}

// ForgetUser forgets userID's progress and started sessions.
func (s *MemoryStore) ForgetUser(_ context.Context, userID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	if _, ok := s.users[ProgressKey{Kind: ProgressUser, UserID: userID}]; ok {
		delete(s.users, ProgressKey{Kind: ProgressUser, UserID: userID})
		found = true
	}
	for key, e := range s.patterns {
		if key.UserID == userID {
			s.order.Remove(e)
			delete(s.patterns, key)
			found = true
		}
	}
	if s.started.removeUser(userID) {
		found = true
	}
	if s.forgetDeactivation(userID) {
		found = true
	}
	return found, nil
}

// Reset forgets everything but the tokens and the sequence.
func (s *MemoryStore) Reset(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	forgotten := map[string]bool{}
	for key := range s.users {
		forgotten[key.UserID] = true
	}
	for key := range s.patterns {
		forgotten[key.UserID] = true
	}
	for id := range s.started.byUser {
		forgotten[id] = true
	}
	for id := range s.inactive {
		forgotten[id] = true
	}
	n := len(forgotten)
	sequence := s.sequence
	s.clear()
	s.sequence = sequence
	return n, nil
}

// IssueToken keeps a token until it expires or is pushed out.
func (s *MemoryStore) IssueToken(_ context.Context, token string, expires time.Time) error {
	s.tokenCache().Put(token, expires, tokenBytes)
	return nil
}

// tokenCache is the cache of tokens (SetLimits replaces it); it has a lock of its own.
func (s *MemoryStore) tokenCache() *bounded.Cache[string, time.Time] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens
}

// TokenValid reports whether token was issued and has not expired.
func (s *MemoryStore) TokenValid(_ context.Context, token string, now time.Time) (bool, error) {
	exp, ok := s.tokenCache().Get(token)
	return ok && now.Before(exp), nil
}

// Snapshot is everything but the tokens.
func (s *MemoryStore) Snapshot(context.Context) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{Progress: map[ProgressKey]Progress{}, Hits: maps.Clone(s.hits), Statuses: map[string]idvmock.ProfileStatus{},
		Started: s.started.all(), Sequence: s.sequence}
	for key, pr := range s.users {
		snap.Progress[key] = *pr
	}
	for key, e := range s.patterns {
		snap.Progress[key] = e.Value.(*patternProgress).pr
	}
	for id, rt := range s.started.byUser {
		if rt.status != "" {
			snap.Statuses[id] = rt.status
		}
	}
	for id := range s.inactive {
		snap.Statuses[id] = idvmock.ProfileInactive
	}
	return snap, nil
}

// Restore replaces everything but the tokens with snap.
func (s *MemoryStore) Restore(_ context.Context, snap Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
	for _, key := range slices.SortedFunc(maps.Keys(snap.Progress), compareKeys) {
		s.put(key, snap.Progress[key])
	}
	for _, ss := range snap.Started {
		s.started.add(ss)
	}
	for _, id := range slices.Sorted(maps.Keys(snap.Statuses)) {
		switch status := snap.Statuses[id]; {
		case status == idvmock.ProfileInactive:
			s.deactivate(id)
		case s.started.byUser[id] != nil:
			s.started.byUser[id].status = status
		}
	}
	maps.Copy(s.hits, snap.Hits)
	s.sequence = snap.Sequence
	return nil
}
