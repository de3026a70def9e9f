package engine

import (
	"container/list"
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
	k := &kept{StartedSession: s, size: s.size()}
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
