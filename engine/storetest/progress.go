package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

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
	got, err := s.UpdateProgress(t.Context(), key, func(_ engine.Progress, found bool) (engine.Progress, error) {
		if found {
			t.Error("UpdateProgress found progress no call made")
		}
		return put, nil
	})
	if err != nil || got != put {
		t.Fatalf("UpdateProgress: %+v %v", got, err)
	}
	refused := errors.New("refused")
	if _, err := s.UpdateProgress(t.Context(), key, func(engine.Progress, bool) (engine.Progress, error) {
		return engine.Progress{State: 9}, refused
	}); !errors.Is(err, refused) {
		t.Errorf("a refused update: %v", err)
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

// UpdateProgress reads and writes in one step: concurrent updates lose none.
func testUpdateProgressIsAtomic(t *testing.T, newStore NewStore) {
	s, key := newStore(t, engine.Limits{}), userKey("admin-moved")
	const goroutines, updates = 8, 50
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range updates {
				if _, err := s.UpdateProgress(t.Context(), key, func(p engine.Progress, _ bool) (engine.Progress, error) {
					p.Calls++
					return p, nil
				}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if pr, _ := progress(t, s, key); pr.Calls != goroutines*updates {
		t.Errorf("%d concurrent updates left %d", goroutines*updates, pr.Calls)
	}
}
