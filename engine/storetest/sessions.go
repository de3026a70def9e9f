package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// session is a started session of userID, numbered seq.
func session(userID, sig string, seq uint64) engine.StartedSession {
	return engine.StartedSession{UserID: userID, Seq: seq, Start: engine.StartRequest{UserID: userID, Input: []byte(`{}`)},
		Session: engine.Session{SignatureID: sig, SolutionCode: "101", State: scenarios.StateInProgress, CreatedAt: t0, Literal: true}}
}

func testSessions(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	for i, sig := range []string{"a1", "a2"} {
		if added := add(t, s, session("alice", sig, uint64(i+1))); !added {
			t.Fatalf("%s was not added", sig)
		}
	}
	if added := add(t, s, session("bob", "a1", 3)); added {
		t.Error("a taken signatureId was added again")
	}
	got, status := userSessions(t, s, "alice")
	if len(got) != 2 || got[0].Session.SignatureID != "a1" || got[1].Session.SignatureID != "a2" || status != "" {
		t.Errorf("alice's sessions %+v, status %q", got, status)
	}
	if one, found := session1(t, s, "a2"); !found || one.UserID != "alice" || one.Seq != 2 {
		t.Errorf("session a2: %+v found %v", one, found)
	}
	if _, found := session1(t, s, "zz"); found {
		t.Error("an unknown signatureId was found")
	}
	if bob, _ := userSessions(t, s, "bob"); len(bob) != 0 {
		t.Errorf("bob has %d sessions", len(bob))
	}
}

func testUpdateSession(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	add(t, s, session("alice", "a1", 1))
	refused := errors.New("refused")
	_, err := s.UpdateSession(t.Context(), "a1", func(ss *engine.StartedSession) (idvmock.ProfileStatus, error) {
		ss.Session.State = scenarios.StateFinished
		return idvmock.ProfileActive, refused
	})
	if !errors.Is(err, refused) {
		t.Errorf("the update's error: %v", err)
	}
	if one, _ := session1(t, s, "a1"); one.Session.State != scenarios.StateInProgress {
		t.Errorf("a failed update changed the session: %s", one.Session.State)
	}
	out, err := s.UpdateSession(t.Context(), "a1", func(ss *engine.StartedSession) (idvmock.ProfileStatus, error) {
		ss.Session.State, ss.Session.Verdict = scenarios.StateFinished, idvmock.VerdictPass
		return idvmock.ProfileActive, nil
	})
	if err != nil || out.Session.Verdict != idvmock.VerdictPass {
		t.Fatalf("update: %+v %v", out, err)
	}
	if sessions, status := userSessions(t, s, "alice"); status != idvmock.ProfileActive || sessions[0].Session.State != scenarios.StateFinished {
		t.Errorf("after the update: %+v, status %q", sessions, status)
	}
	_, err = s.UpdateSession(t.Context(), "zz", func(*engine.StartedSession) (idvmock.ProfileStatus, error) { return "", nil })
	if !errors.Is(err, engine.ErrUnknownSignature) {
		t.Errorf("an unknown signatureId: %v", err)
	}
}

func testSessionLimits(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{MaxStartedSessions: 5, MaxSessionsPerUser: 2})
	for i := range 3 {
		add(t, s, session("one", fmt.Sprint("one-", i), uint64(i+1)))
	}
	if got, _ := userSessions(t, s, "one"); len(got) != 2 || got[0].Session.SignatureID != "one-1" {
		t.Errorf("one keeps %d sessions, the oldest %+v; want 2 from one-1", len(got), got)
	}
	for i := range 6 {
		add(t, s, session(fmt.Sprint("u", i), fmt.Sprint("s", i), uint64(10+i)))
	}
	snap := snapshot(t, s)
	if len(snap.Started) != 5 || snap.Started[4].Session.SignatureID != "s5" {
		t.Errorf("%d sessions kept (want 5), the newest %+v", len(snap.Started), snap.Started[len(snap.Started)-1])
	}
}
