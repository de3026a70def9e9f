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
	return check[engine.Progress](t)(s.Step(t.Context(), key, m, at))
}

func progress(t *testing.T, s engine.Store, key engine.ProgressKey) (engine.Progress, bool) {
	t.Helper()
	pr, found, err := s.Progress(t.Context(), key)
	failOn(t, err)
	return pr, found
}

func hit(t *testing.T, s engine.Store, rule string) uint64 {
	t.Helper()
	return check[uint64](t)(s.Hit(t.Context(), rule))
}

func next(t *testing.T, s engine.Store) uint64 {
	t.Helper()
	return check[uint64](t)(s.NextSequence(t.Context()))
}

func add(t *testing.T, s engine.Store, ss engine.StartedSession) bool {
	t.Helper()
	return check[bool](t)(s.AddSession(t.Context(), ss))
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
	return check[engine.StartedSession](t)(s.UpdateSession(t.Context(), sig, f))
}

func forget(t *testing.T, s engine.Store, userID string) bool {
	t.Helper()
	return check[bool](t)(s.ForgetUser(t.Context(), userID))
}

func reset(t *testing.T, s engine.Store) int {
	t.Helper()
	return check[int](t)(s.Reset(t.Context()))
}

func issue(t *testing.T, s engine.Store, token string, expires time.Time) {
	t.Helper()
	failOn(t, s.IssueToken(t.Context(), token, expires))
}

func valid(t *testing.T, s engine.Store, token string, at time.Time) bool {
	t.Helper()
	return check[bool](t)(s.TokenValid(t.Context(), token, at))
}

func snapshot(t *testing.T, s engine.Store) engine.Snapshot {
	t.Helper()
	return check[engine.Snapshot](t)(s.Snapshot(t.Context()))
}

// check returns a call's value, failing t on its error.
func check[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		failOn(t, err)
		return v
	}
}

func failOn(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
