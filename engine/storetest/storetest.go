// Package storetest checks that an engine.Store keeps the contract the engine relies on: each
// call one atomic step, counted once whatever runs at the same time, within the limits, and
// a snapshot that restores what it saw. Every store runs it: the memory store in engine's
// tests, and any other store in its own.
package storetest

import (
	"context"
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
		"UpdateProgress":    testUpdateProgressIsAtomic,
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
		"Deactivate":        testDeactivate,
		"DeactivateLimit":   testDeactivateLimit,
		"Declarations":      testDeclarations,
		"DeclarationLimits": testDeclarationLimits,
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

func testForgetAndReset(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	keys := []engine.ProgressKey{userKey("u"), {Kind: engine.ProgressScenario, Name: "active", UserID: "u"},
		{Kind: engine.ProgressRule, Name: "r", UserID: "u"}, userKey("other")}
	for _, k := range keys {
		step(t, s, k, twoStates, t0)
	}
	add(t, s, session("u", "s1", 1))
	hit(t, s, "r")
	before := next(t, s)
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
	if seq := next(t, s); seq != before+1 { // numbers handed out before a reset never come back
		t.Errorf("the sequence after Reset: %d, want %d", seq, before+1)
	}
	if ok := valid(t, s, "tok", t0); !ok {
		t.Error("Reset forgot an issued token")
	}
}

func testTokens(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	defer func() { // other limits set later keep the tokens issued
		s.SetLimits(engine.Limits{MaxProgress: 5})
		if ok := valid(t, s, "tok", t0); !ok {
			t.Error("SetLimits of other limits forgot an issued token")
		}
	}()
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
