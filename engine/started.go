package engine

import (
	"container/list"
	"encoding/json"
	"slices"

	"github.com/idvmock/idvmock"
)

// Limits bound what an engine keeps for its clients, so that a mock left running for weeks
// keeps a flat memory whatever is sent to it. Zero fields take the defaults.
type Limits struct {
	// MaxStartedSessions bounds the sessions started through Generate URL; the oldest go
	// first. Default 10,000.
	MaxStartedSessions int
	// MaxSessionsPerUser bounds the started sessions of one userId; its oldest go first.
	// Default 100.
	MaxSessionsPerUser int
	// MaxStartedBytes bounds the Generate URL requests the started sessions echo as their
	// inputParameters, in bytes; the oldest sessions go first. Default 32 MiB.
	MaxStartedBytes int
	// MaxAdminUsers bounds the users declared through the admin API; a declaration past it is
	// refused (nothing a QA configured is dropped silently). Default 5,000.
	MaxAdminUsers int
	// MaxAdminBytes bounds those declarations' total size, refused the same way. Default
	// 32 MiB.
	MaxAdminBytes int
	// MaxProgress bounds the progress kept for userIds answered by pattern rules or the
	// scenario header, which any client can vary without end; the oldest go first. Declared
	// users' progress is always kept. Default 100,000.
	MaxProgress int
}

// Defaults of Limits.
const (
	DefaultMaxStartedSessions = 10_000
	DefaultMaxSessionsPerUser = 100
	DefaultMaxStartedBytes    = 32 << 20
	DefaultMaxAdminUsers      = 5_000
	DefaultMaxAdminBytes      = 32 << 20
	DefaultMaxProgress        = 100_000
)

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxStartedSessions, DefaultMaxStartedSessions)
	def(&l.MaxSessionsPerUser, DefaultMaxSessionsPerUser)
	def(&l.MaxStartedBytes, DefaultMaxStartedBytes)
	def(&l.MaxAdminUsers, DefaultMaxAdminUsers)
	def(&l.MaxAdminBytes, DefaultMaxAdminBytes)
	def(&l.MaxProgress, DefaultMaxProgress)
	return l
}

// runtimeUser is what the Generate URL API added to a userId.
type runtimeUser struct {
	status   idvmock.ProfileStatus // set once a session completed; empty: the declared status, or INIT
	sessions []*runtimeSession
}

// runtimeSession is one session started through Generate URL.
type runtimeSession struct {
	userID  string
	session Session // Result is nil: the echoed request is in start.Input
	start   StartRequest
	seq     uint64 // 1 for the first session the engine started: seeds its fake data
	size    int    // bytes it holds, against MaxStartedBytes
	elem    *list.Element
}

// sessionOverhead is what a started session costs besides its strings, roughly.
const sessionOverhead = 256

func (rs *runtimeSession) measure() {
	st := rs.start
	rs.size = sessionOverhead + len(rs.userID) + len(st.Input) + len(st.BizID) + len(st.Region) + len(st.SolutionCode) +
		len(st.CallbackURL) + len(st.ReturnURL) + len(st.FailReturnURL) + len(rs.session.SignatureID) + len(rs.session.ErrorCode)
}

// fakeIndex is the session number its fake data is drawn for, apart from declared sessions'.
func (rs *runtimeSession) fakeIndex() int { return 1000 + int(rs.seq) }

// withInput returns s (a copy of the session, taken under the engine's lock) with the
// request it was started with as inputParameters. start.Input never changes once started, so
// this runs without the lock.
func (rs *runtimeSession) withInput(s Session) Session {
	var input map[string]any
	if json.Unmarshal(rs.start.Input, &input) != nil || input == nil {
		input = map[string]any{}
	}
	s.Result = map[string]any{"inputParameters": input}
	s.Literal = true
	return s
}

func (rt *runtimeUser) hasCode(code string) bool {
	if rt == nil {
		return false
	}
	for _, s := range rt.sessions {
		if s.session.SolutionCode == code {
			return true
		}
	}
	return false
}

// startedSessions holds the sessions started through Generate URL within Limits: by
// signatureId, by userId, and in the order they started, so that the oldest go first.
type startedSessions struct {
	limits  Limits
	byUser  map[string]*runtimeUser
	bySig   map[string]*runtimeSession
	order   *list.List // of *runtimeSession, oldest first
	bytes   int
	evicted uint64 // sessions dropped to stay within the limits
}

func newStartedSessions(l Limits) *startedSessions {
	return &startedSessions{limits: l, byUser: map[string]*runtimeUser{}, bySig: map[string]*runtimeSession{}, order: list.New()}
}

// add keeps rs, dropping the oldest sessions (of its user, then of all) past the limits.
func (st *startedSessions) add(rs *runtimeSession) {
	rs.measure()
	rt := st.byUser[rs.userID]
	if rt == nil {
		rt = &runtimeUser{}
		st.byUser[rs.userID] = rt
	}
	rt.sessions = append(rt.sessions, rs)
	st.bySig[rs.session.SignatureID] = rs
	rs.elem = st.order.PushBack(rs)
	st.bytes += rs.size
	for len(rt.sessions) > st.limits.MaxSessionsPerUser {
		st.remove(rt.sessions[0])
		st.evicted++
	}
	for st.order.Len() > 1 && (st.order.Len() > st.limits.MaxStartedSessions || st.bytes > st.limits.MaxStartedBytes) {
		st.remove(st.order.Front().Value.(*runtimeSession))
		st.evicted++
	}
}

func (st *startedSessions) remove(rs *runtimeSession) {
	st.order.Remove(rs.elem)
	delete(st.bySig, rs.session.SignatureID)
	st.bytes -= rs.size
	rt := st.byUser[rs.userID]
	rt.sessions = slices.DeleteFunc(rt.sessions, func(s *runtimeSession) bool { return s == rs })
	if len(rt.sessions) == 0 {
		delete(st.byUser, rs.userID)
	}
}

// removeUser forgets every session of userID; it reports whether there was one.
func (st *startedSessions) removeUser(userID string) bool {
	rt := st.byUser[userID]
	if rt == nil {
		return false
	}
	for _, rs := range slices.Clone(rt.sessions) {
		st.remove(rs)
	}
	return true
}

func (st *startedSessions) len() int { return st.order.Len() }

// all lists the sessions, oldest first.
func (st *startedSessions) all() []*runtimeSession {
	out := make([]*runtimeSession, 0, st.order.Len())
	for e := st.order.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*runtimeSession))
	}
	return out
}
