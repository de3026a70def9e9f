package storetest

import (
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// The calls below fail t on the store's error: every check reads as the store's own calls.

func step(t *testing.T, s engine.Store, key engine.ProgressKey, m engine.Machine, at time.Time) engine.Progress {
	t.Helper()
	pr, err := s.Step(t.Context(), key, m, at)
	failOn(t, err)
	return pr
}

func progress(t *testing.T, s engine.Store, key engine.ProgressKey) (engine.Progress, bool) {
	t.Helper()
	pr, found, err := s.Progress(t.Context(), key)
	failOn(t, err)
	return pr, found
}

func hit(t *testing.T, s engine.Store, rule string) uint64 {
	t.Helper()
	n, err := s.Hit(t.Context(), rule)
	failOn(t, err)
	return n
}

func next(t *testing.T, s engine.Store) uint64 {
	t.Helper()
	n, err := s.NextSequence(t.Context())
	failOn(t, err)
	return n
}

func add(t *testing.T, s engine.Store, ss engine.StartedSession) bool {
	t.Helper()
	added, err := s.AddSession(t.Context(), ss)
	failOn(t, err)
	return added
}

func session1(t *testing.T, s engine.Store, sig string) (engine.StartedSession, bool) {
	t.Helper()
	ss, found, err := s.Session(t.Context(), sig)
	failOn(t, err)
	return ss, found
}

func userSessions(t *testing.T, s engine.Store, userID string) ([]engine.StartedSession, idvmock.ProfileStatus) {
	t.Helper()
	ss, status, err := s.UserSessions(t.Context(), userID)
	failOn(t, err)
	return ss, status
}

func update(t *testing.T, s engine.Store, sig string, f func(*engine.StartedSession) (idvmock.ProfileStatus, error)) engine.StartedSession {
	t.Helper()
	ss, err := s.UpdateSession(t.Context(), sig, f)
	failOn(t, err)
	return ss
}

func forget(t *testing.T, s engine.Store, userID string) bool {
	t.Helper()
	found, err := s.ForgetUser(t.Context(), userID)
	failOn(t, err)
	return found
}

func reset(t *testing.T, s engine.Store) int {
	t.Helper()
	n, err := s.Reset(t.Context())
	failOn(t, err)
	return n
}

func issue(t *testing.T, s engine.Store, token string, expires time.Time) {
	t.Helper()
	failOn(t, s.IssueToken(t.Context(), token, expires))
}

func valid(t *testing.T, s engine.Store, token string, at time.Time) bool {
	t.Helper()
	ok, err := s.TokenValid(t.Context(), token, at)
	failOn(t, err)
	return ok
}

func snapshot(t *testing.T, s engine.Store) engine.Snapshot {
	t.Helper()
	snap, err := s.Snapshot(t.Context())
	failOn(t, err)
	return snap
}

func failOn(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
