// Package storetest checks that an engine.Store keeps the contract the engine relies on: each
// call one atomic step, counted once whatever runs at the same time, within the limits, and
// a snapshot that restores what it saw. Every store runs it: the memory store in engine's
// tests, and any other store in its own.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// NewStore returns an empty store within l, for one test.
type NewStore func(t *testing.T, l engine.Limits) engine.Store

// Run checks the store that newStore makes.
func Run(t *testing.T, newStore NewStore) {
	for name, check := range map[string]func(*testing.T, NewStore){
		"Step":              testStep,
		"StepUser":          testStepUser,
		"StepIsAtomic":      testStepIsAtomic,
		"Progress":          testProgress,
		"Counters":          testCounters,
		"Sessions":          testSessions,
		"UpdateSession":     testUpdateSession,
		"ForgetAndReset":    testForgetAndReset,
		"Tokens":            testTokens,
		"SnapshotRestore":   testSnapshotRestore,
		"SessionLimits":     testSessionLimits,
		"ProgressLimits":    testProgressLimits,
		"TokenLimit":        testTokenLimit,
		"ConcurrentCounter": testConcurrentCounters,
	} {
		t.Run(name, func(t *testing.T) { check(t, newStore) })
	}
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// twoStates moves on after two calls, then after a minute, and loops.
var twoStates = engine.Machine{Hash: "h1", Loop: true, After: []scenarios.After{{Calls: 2}, {Duration: time.Minute}}}

func userKey(id string) engine.ProgressKey {
	return engine.ProgressKey{Kind: engine.ProgressUser, UserID: id}
}

func testStep(t *testing.T, newStore NewStore) {
	s, key := newStore(t, engine.Limits{}), userKey("u")
	want := []struct{ state, calls int }{{0, 1}, {0, 2}, {1, 1}, {1, 2}}
	for i, w := range want {
		pr := step(t, s, key, twoStates, t0)
		if pr.State != w.state || pr.Calls != w.calls || pr.Hash != "h1" {
			t.Fatalf("call %d: state %d calls %d hash %q, want state %d calls %d", i+1, pr.State, pr.Calls, pr.Hash, w.state, w.calls)
		}
	}
	if pr := step(t, s, key, twoStates, t0.Add(time.Minute)); pr.State != 0 || pr.Calls != 1 {
		t.Errorf("a minute in the second state loops to the first: %+v", pr)
	}
	other := twoStates
	other.Hash = "h2"
	if pr := step(t, s, key, other, t0); pr.State != 0 || pr.Calls != 1 || pr.Hash != "h2" {
		t.Errorf("another definition starts over: %+v", pr)
	}
}

// StepUser counts the call as Step does and reads the user's started sessions with it.
func testStepUser(t *testing.T, newStore NewStore) {
	s, key := newStore(t, engine.Limits{}), userKey("alice")
	add(t, s, session("alice", "a1", 1))
	update(t, s, "a1", func(*engine.StartedSession) (idvmock.ProfileStatus, error) { return idvmock.ProfileInactive, nil })
	add(t, s, session("bob", "b1", 2))
	for i, w := range []struct{ state, calls int }{{0, 1}, {0, 2}, {1, 1}} {
		pr, started, status, err := s.StepUser(t.Context(), key, twoStates, t0)
		if err != nil {
			t.Fatal(err)
		}
		if pr.State != w.state || pr.Calls != w.calls || len(started) != 1 || started[0].Session.SignatureID != "a1" || status != idvmock.ProfileInactive {
			t.Fatalf("call %d: state %d calls %d, sessions %+v, status %q; want state %d calls %d, a1, INACTIVE",
				i+1, pr.State, pr.Calls, started, status, w.state, w.calls)
		}
	}
	if pr, _ := progress(t, s, key); pr.Calls != 1 || pr.State != 1 {
		t.Errorf("StepUser and Progress disagree: %+v", pr)
	}
	pr, started, status, err := s.StepUser(t.Context(), userKey("carol"), twoStates, t0)
	if err != nil || pr.Calls != 1 || len(started) != 0 || status != "" {
		t.Errorf("a user without sessions: %+v %v %q %v", pr, started, status, err)
	}
}

// Calls from many goroutines are each counted once: the progress after them is the one the
// same number of calls in a row gives.
func testStepIsAtomic(t *testing.T, newStore NewStore) {
	s, key := newStore(t, engine.Limits{}), userKey("busy")
	m := engine.Machine{Hash: "h", Loop: true, After: []scenarios.After{{Calls: 3}, {Calls: 4}, {Calls: 5}}}
	const goroutines, calls = 8, 125
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				if _, err := s.Step(t.Context(), key, m, t0); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := engine.Progress{}
	for range goroutines * calls {
		want = m.Advance(want, t0)
	}
	got, _ := progress(t, s, key)
	if got.State != want.State || got.Calls != want.Calls {
		t.Errorf("after %d concurrent calls: state %d calls %d, want state %d calls %d", goroutines*calls, got.State, got.Calls, want.State, want.Calls)
	}
}

func testProgress(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	key := engine.ProgressKey{Kind: engine.ProgressRule, Name: "r", UserID: "u"}
	if _, found := progress(t, s, key); found {
		t.Error("a key no call reached has progress")
	}
	put := engine.Progress{Hash: "h", State: 1, Calls: 7, Since: t0}
	if err := s.PutProgress(t.Context(), key, put); err != nil {
		t.Fatal(err)
	}
	if got, found := progress(t, s, key); !found || got != put {
		t.Errorf("put %+v, read %+v (found %v)", put, got, found)
	}
	if err := s.ForgetProgress(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if _, found := progress(t, s, key); found {
		t.Error("forgotten progress is still there")
	}
}

func testCounters(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	for want := range uint64(3) {
		if got := hit(t, s, "flaky"); got != want {
			t.Errorf("hit %d of flaky returned %d", want+1, got)
		}
	}
	if got := hit(t, s, "other"); got != 0 {
		t.Errorf("another rule's first hit returned %d", got)
	}
	for want := uint64(1); want <= 3; want++ {
		if got := next(t, s); got != want {
			t.Errorf("sequence %d, want %d", got, want)
		}
	}
}

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

func testForgetAndReset(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	keys := []engine.ProgressKey{userKey("u"), {Kind: engine.ProgressScenario, Name: "active", UserID: "u"},
		{Kind: engine.ProgressRule, Name: "r", UserID: "u"}, userKey("other")}
	for _, k := range keys {
		step(t, s, k, twoStates, t0)
	}
	add(t, s, session("u", "s1", 1))
	hit(t, s, "r")
	if found := forget(t, s, "u"); !found {
		t.Error("ForgetUser found nothing of u")
	}
	for _, k := range keys[:3] {
		if _, found := progress(t, s, k); found {
			t.Errorf("%+v survived ForgetUser", k)
		}
	}
	if _, found := progress(t, s, keys[3]); !found {
		t.Error("ForgetUser forgot another user")
	}
	if _, found := session1(t, s, "s1"); found {
		t.Error("u's session survived ForgetUser")
	}
	if found := forget(t, s, "u"); found {
		t.Error("ForgetUser found u twice")
	}
	issue(t, s, "tok", t0.Add(time.Hour))
	if n := reset(t, s); n != 1 {
		t.Errorf("Reset forgot %d userIds, want 1", n)
	}
	if _, found := progress(t, s, keys[3]); found {
		t.Error("progress survived Reset")
	}
	if hit := hit(t, s, "r"); hit != 0 {
		t.Errorf("rule matches survived Reset: %d", hit)
	}
	if seq := next(t, s); seq != 1 {
		t.Errorf("the sequence survived Reset: %d", seq)
	}
	if ok := valid(t, s, "tok", t0); !ok {
		t.Error("Reset forgot an issued token")
	}
}

func testTokens(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	if err := s.IssueToken(t.Context(), "tok", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for at, want := range map[time.Time]bool{t0: true, t0.Add(59 * time.Second): true, t0.Add(time.Minute): false} {
		if ok := valid(t, s, "tok", at); ok != want {
			t.Errorf("at %v: valid %v, want %v", at.Sub(t0), ok, want)
		}
	}
	if ok := valid(t, s, "never", t0); ok {
		t.Error("a token never issued is valid")
	}
}

func testSnapshotRestore(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	step(t, s, userKey("u"), twoStates, t0)
	step(t, s, engine.ProgressKey{Kind: engine.ProgressRule, Name: "r", UserID: "x"}, twoStates, t0)
	hit(t, s, "r")
	next(t, s)
	add(t, s, session("u", "s1", 1))
	add(t, s, session("v", "s2", 2))
	update(t, s, "s2", func(*engine.StartedSession) (idvmock.ProfileStatus, error) { return idvmock.ProfileActive, nil })
	snap := snapshot(t, s)
	if len(snap.Progress) != 2 || snap.Hits["r"] != 1 || snap.Sequence != 1 || len(snap.Started) != 2 ||
		snap.Started[0].Session.SignatureID != "s1" || snap.Statuses["v"] != idvmock.ProfileActive {
		t.Fatalf("snapshot %+v", snap)
	}
	other := newStore(t, engine.Limits{})
	step(t, other, userKey("gone"), twoStates, t0)
	if err := other.Restore(t.Context(), snap); err != nil {
		t.Fatal(err)
	}
	again := snapshot(t, other)
	if fmt.Sprint(again) != fmt.Sprint(snap) {
		t.Errorf("restored\n%+v\nfrom\n%+v", again, snap)
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

func testProgressLimits(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{MaxProgress: 10})
	for i := range 20 {
		step(t, s, userKey(fmt.Sprint("declared-", i)), twoStates, t0)
		step(t, s, engine.ProgressKey{Kind: engine.ProgressScenario, Name: "active", UserID: fmt.Sprint("any-", i)}, twoStates, t0)
	}
	snap := snapshot(t, s)
	users, patterns := 0, 0
	for k := range snap.Progress {
		if k.Kind == engine.ProgressUser {
			users++
		} else {
			patterns++
		}
	}
	if users != 20 || patterns != 10 {
		t.Errorf("%d declared users' and %d other userIds' progress kept, want 20 (all) and 10 (the bound)", users, patterns)
	}
	if _, found := progress(t, s, engine.ProgressKey{Kind: engine.ProgressScenario, Name: "active", UserID: "any-19"}); !found {
		t.Error("the newest progress was dropped")
	}
}

func testTokenLimit(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{MaxTokens: 3})
	for i := range 5 {
		issue(t, s, fmt.Sprint("t", i), t0.Add(time.Hour))
	}
	for i, want := range []bool{false, false, true, true, true} {
		if ok := valid(t, s, fmt.Sprint("t", i), t0); ok != want {
			t.Errorf("token t%d valid %v, want %v (the oldest go first)", i, ok, want)
		}
	}
}

// Counters hand out each number once, whatever runs at the same time.
func testConcurrentCounters(t *testing.T, newStore NewStore) {
	s, ctx := newStore(t, engine.Limits{}), context.Background()
	const goroutines, calls = 8, 100
	var mu sync.Mutex
	seen := map[uint64]int{}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				n, err := s.NextSequence(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[n]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for n := uint64(1); n <= goroutines*calls; n++ {
		if seen[n] != 1 {
			t.Fatalf("sequence number %d handed out %d times", n, seen[n])
		}
	}
}

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
