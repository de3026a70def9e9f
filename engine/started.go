package engine

import (
	"cmp"
	"container/list"
	"context"
	"fmt"
	"slices"

	"github.com/idvmock/idvmock"
)

// startedSessions holds the sessions started through Generate URL within Limits, for the
// memory store: by signatureId, by userId, and in the order they started, so that the oldest
// go first.
type startedSessions struct {
	limits Limits
	byUser map[string]*runtimeUser
	bySig  map[string]*kept
	order  *list.List // of *kept, oldest first
	bytes  int
}

// runtimeUser is what Generate URL added to a userId.
type runtimeUser struct {
	status   idvmock.ProfileStatus // set once a session passed; empty: the declared status, or INIT
	sessions []*kept
}

// kept is a started session and its place in the order.
type kept struct {
	StartedSession
	size int
	elem *list.Element
}

func newStartedSessions(l Limits) *startedSessions {
	return &startedSessions{limits: l, byUser: map[string]*runtimeUser{}, bySig: map[string]*kept{}, order: list.New()}
}

// add keeps s, dropping the oldest sessions (of its user, then of all) past the limits.
func (st *startedSessions) add(s StartedSession) {
	k := &kept{StartedSession: s, size: s.Size()}
	rt := st.byUser[s.UserID]
	if rt == nil {
		rt = &runtimeUser{}
		st.byUser[s.UserID] = rt
	}
	rt.sessions = append(rt.sessions, k)
	st.bySig[s.Session.SignatureID] = k
	k.elem = st.order.PushBack(k)
	st.bytes += k.size
	for len(rt.sessions) > st.limits.MaxSessionsPerUser {
		st.remove(rt.sessions[0])
	}
	for st.order.Len() > 1 && (st.order.Len() > st.limits.MaxStartedSessions || st.bytes > st.limits.MaxStartedBytes) {
		st.remove(st.order.Front().Value.(*kept))
	}
}

func (st *startedSessions) remove(k *kept) {
	st.order.Remove(k.elem)
	delete(st.bySig, k.Session.SignatureID)
	st.bytes -= k.size
	rt := st.byUser[k.UserID]
	rt.sessions = slices.DeleteFunc(rt.sessions, func(s *kept) bool { return s == k })
	if len(rt.sessions) == 0 {
		delete(st.byUser, k.UserID) // its status goes with its last session
	}
}

// removeUser forgets every session of userID; it reports whether there was one.
func (st *startedSessions) removeUser(userID string) bool {
	rt := st.byUser[userID]
	if rt == nil {
		return false
	}
	for _, k := range slices.Clone(rt.sessions) {
		st.remove(k)
	}
	return true
}

func (st *startedSessions) len() int { return st.order.Len() }

// all lists the sessions, oldest first.
func (st *startedSessions) all() []StartedSession {
	out := make([]StartedSession, 0, st.order.Len())
	for e := st.order.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*kept).StartedSession)
	}
	return out
}

// NextSequence numbers the next session started.
func (s *MemoryStore) NextSequence(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sequence++
	return s.sequence, nil
}

// AddSession keeps a started session.
func (s *MemoryStore) AddSession(_ context.Context, ss StartedSession) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started.bySig[ss.Session.SignatureID] != nil {
		return false, nil
	}
	s.started.add(ss)
	return true, nil
}

// Session returns a started session.
func (s *MemoryStore) Session(_ context.Context, signatureID string) (StartedSession, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.started.bySig[signatureID]; k != nil {
		return k.StartedSession, true, nil
	}
	return StartedSession{}, false, nil
}

// UserSessions returns userID's started sessions and the status a PASS gave its profile.
func (s *MemoryStore) UserSessions(_ context.Context, userID string) ([]StartedSession, idvmock.ProfileStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	started, status := s.userSessions(userID)
	return started, status, nil
}

func (s *MemoryStore) userSessions(userID string) ([]StartedSession, idvmock.ProfileStatus) {
	var status idvmock.ProfileStatus
	if s.inactive[userID] != nil {
		status = idvmock.ProfileInactive
	}
	rt := s.started.byUser[userID]
	if rt == nil {
		return nil, status
	}
	out := make([]StartedSession, len(rt.sessions))
	for i, k := range rt.sessions {
		out[i] = k.StartedSession
	}
	return out, cmp.Or(status, rt.status)
}

// UpdateSession applies update to a started session.
func (s *MemoryStore) UpdateSession(_ context.Context, signatureID string, update func(*StartedSession) (idvmock.ProfileStatus, error)) (StartedSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.started.bySig[signatureID]
	if k == nil {
		return StartedSession{}, fmt.Errorf("%w: %q", ErrUnknownSignature, signatureID)
	}
	changed := k.StartedSession
	status, err := update(&changed)
	if err != nil {
		return k.StartedSession, err
	}
	k.StartedSession = changed
	if status != "" {
		s.started.byUser[k.UserID].status = status
	}
	return changed, nil
}
