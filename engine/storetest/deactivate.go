package storetest

import (
	"fmt"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

func deactivate(t *testing.T, s engine.Store, userID string) {
	t.Helper()
	failOn(t, s.Deactivate(t.Context(), userID))
}

// A deactivated profile is INACTIVE whatever a PASS gave it, in every read, until it is
// forgotten; it survives a snapshot.
func testDeactivate(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	deactivate(t, s, "declared")
	deactivate(t, s, "declared") // twice is once
	if got, status := userSessions(t, s, "declared"); len(got) != 0 || status != idvmock.ProfileInactive {
		t.Errorf("a deactivated user without sessions: %d sessions, status %q", len(got), status)
	}
	if _, _, status, err := s.StepUser(t.Context(), userKey("declared"), twoStates, t0); err != nil || status != idvmock.ProfileInactive {
		t.Errorf("StepUser of a deactivated user: status %q, %v", status, err)
	}
	add(t, s, session("walker", "w1", 1))
	add(t, s, session("walker", "w2", 2))
	update(t, s, "w1", func(*engine.StartedSession) (idvmock.ProfileStatus, error) { return idvmock.ProfileActive, nil })
	deactivate(t, s, "walker")
	update(t, s, "w2", func(*engine.StartedSession) (idvmock.ProfileStatus, error) { return idvmock.ProfileActive, nil })
	if got, status := userSessions(t, s, "walker"); len(got) != 2 || status != idvmock.ProfileInactive {
		t.Errorf("deactivated, then a PASS: %d sessions, status %q, want INACTIVE", len(got), status)
	}
	if _, status := userSessions(t, s, "bystander"); status != "" {
		t.Errorf("a user never deactivated: status %q", status)
	}

	restored := newStore(t, engine.Limits{})
	failOn(t, restored.Restore(t.Context(), snapshot(t, s)))
	for _, id := range []string{"declared", "walker"} {
		if _, status := userSessions(t, restored, id); status != idvmock.ProfileInactive {
			t.Errorf("%s after a snapshot and restore: status %q", id, status)
		}
	}

	if found := forget(t, s, "declared"); !found {
		t.Error("ForgetUser found nothing of a deactivated user")
	}
	if _, status := userSessions(t, s, "declared"); status != "" {
		t.Errorf("the deactivation survived ForgetUser: %q", status)
	}
	deactivate(t, s, "deleted")
	failOn(t, s.ForgetProgress(t.Context(), userKey("deleted")))
	if _, status := userSessions(t, s, "deleted"); status != "" {
		t.Errorf("the deactivation survived ForgetProgress of the user's key (a deleted user): %q", status)
	}
	reset(t, s)
	if _, status := userSessions(t, s, "walker"); status != "" {
		t.Errorf("the deactivation survived Reset: %q", status)
	}
}

// Past MaxProgress deactivated userIds, the oldest deactivation goes first.
func testDeactivateLimit(t *testing.T, newStore NewStore) {
	const limit = 3
	s := newStore(t, engine.Limits{MaxProgress: limit})
	for i := range 3 * limit {
		deactivate(t, s, fmt.Sprint("u", i))
	}
	for i := range 3 * limit {
		_, status := userSessions(t, s, fmt.Sprint("u", i))
		if kept := i >= 2*limit; kept != (status == idvmock.ProfileInactive) {
			t.Errorf("u%d: status %q; only the last %d deactivations should be kept", i, status, limit)
		}
	}
}
