package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// NewStores returns two stores that keep the same things, as two processes sharing one
// Redis do, empty, within l, for one test. A store of one process returns itself twice.
type NewStores func(t *testing.T, l engine.Limits) (a, b engine.Store)

// RunShared checks that two stores sharing what they keep act as one: each call counted
// once, whichever store takes it, whatever runs at the same time.
func RunShared(t *testing.T, newStores NewStores) {
	for name, check := range map[string]func(*testing.T, NewStores){
		"StepIsAtomic":     testSharedStep,
		"Counters":         testSharedCounters,
		"UpdateIsAtomic":   testSharedUpdates,
		"SessionsAndUsers": testSharedSessions,
	} {
		t.Run(name, func(t *testing.T) { check(t, newStores) })
	}
}

const sharedGoroutines = 64

// Steps of one key from 64 goroutines on two stores are each counted once: the progress
// after them is the one as many calls in a row give, for a declared user (StepUser and Step)
// and a pattern-matched userId.
func testSharedStep(t *testing.T, newStores NewStores) {
	a, b := newStores(t, engine.Limits{})
	m := engine.Machine{Hash: "h", Loop: true, After: []scenarios.After{{Calls: 3}, {Calls: 4}, {Calls: 5}}}
	keys := []engine.ProgressKey{userKey("busy"), {Kind: engine.ProgressRule, Name: "r", UserID: "any"}}
	const calls = 20
	var wg sync.WaitGroup
	for g := range sharedGoroutines {
		s := []engine.Store{a, b}[g%2]
		wg.Go(func() {
			for i := range calls {
				for _, key := range keys {
					var err error
					if key.Kind == engine.ProgressUser && i%2 == 0 {
						_, _, _, err = s.StepUser(t.Context(), key, m, t0)
					} else {
						_, err = s.Step(t.Context(), key, m, t0)
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	want := engine.Progress{}
	for range sharedGoroutines * calls {
		want = m.Advance(want, t0)
	}
	for _, key := range keys {
		for name, s := range map[string]engine.Store{"a": a, "b": b} {
			got, _ := progress(t, s, key)
			if got.State != want.State || got.Calls != want.Calls {
				t.Errorf("%+v read from %s after %d calls on two stores: state %d calls %d, want state %d calls %d",
					key, name, sharedGoroutines*calls, got.State, got.Calls, want.State, want.Calls)
			}
		}
	}
}

// Rule matches and sequence numbers counted on two stores at once are handed out once each.
func testSharedCounters(t *testing.T, newStores NewStores) {
	a, b := newStores(t, engine.Limits{})
	const calls = 10
	var mu sync.Mutex
	hits, seqs := map[uint64]int{}, map[uint64]int{}
	var wg sync.WaitGroup
	for g := range sharedGoroutines {
		s := []engine.Store{a, b}[g%2]
		wg.Go(func() {
			for range calls {
				h, err1 := s.Hit(t.Context(), "shared")
				n, err2 := s.NextSequence(t.Context())
				if err1 != nil || err2 != nil {
					t.Error(err1, err2)
					return
				}
				mu.Lock()
				hits[h]++
				seqs[n]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i := range uint64(sharedGoroutines * calls) {
		if hits[i] != 1 || seqs[i+1] != 1 {
			t.Fatalf("hit count %d returned %d times, sequence number %d handed out %d times", i, hits[i], i+1, seqs[i+1])
		}
	}
}

// Updates of one progress and of one started session on two stores at once lose none.
func testSharedUpdates(t *testing.T, newStores NewStores) {
	a, b := newStores(t, engine.Limits{})
	add(t, a, session("alice", "a1", 1))
	key := engine.ProgressKey{Kind: engine.ProgressScenario, Name: "s", UserID: "moved"}
	const updates = 5
	var wg sync.WaitGroup
	for g := range sharedGoroutines {
		s := []engine.Store{a, b}[g%2]
		wg.Go(func() {
			for range updates {
				_, err1 := s.UpdateProgress(t.Context(), key, func(p engine.Progress, _ bool) (engine.Progress, error) {
					p.Calls++
					return p, nil
				})
				_, err2 := s.UpdateSession(t.Context(), "a1", func(ss *engine.StartedSession) (idvmock.ProfileStatus, error) {
					ss.Session.BizID += "x"
					return "", nil
				})
				if err1 != nil || err2 != nil {
					t.Error(err1, err2)
					return
				}
			}
		})
	}
	wg.Wait()
	if pr, _ := progress(t, b, key); pr.Calls != sharedGoroutines*updates {
		t.Errorf("%d concurrent progress updates on two stores left %d", sharedGoroutines*updates, pr.Calls)
	}
	if ss, _ := session1(t, a, "a1"); len(ss.Session.BizID) != sharedGoroutines*updates {
		t.Errorf("%d concurrent session updates on two stores left %d", sharedGoroutines*updates, len(ss.Session.BizID))
	}
}

// What one store keeps, the other reads: sessions (a signatureId taken on one is taken on
// the other), statuses, deactivations, tokens; and what one forgets, the other no longer
// reads.
func testSharedSessions(t *testing.T, newStores NewStores) {
	a, b := newStores(t, engine.Limits{})
	if added := add(t, a, session("alice", "a1", 1)); !added {
		t.Fatal("a1 was not added")
	}
	if added := add(t, b, session("bob", "a1", 2)); added {
		t.Error("a signatureId taken on one store was added on the other")
	}
	update(t, b, "a1", func(*engine.StartedSession) (idvmock.ProfileStatus, error) { return idvmock.ProfileActive, nil })
	if _, started, status, err := a.StepUser(t.Context(), userKey("alice"), twoStates, t0); err != nil || len(started) != 1 || status != idvmock.ProfileActive {
		t.Errorf("alice's sessions and status after a PASS on the other store: %d, %q, %v", len(started), status, err)
	}
	deactivate(t, a, "alice")
	if _, status := userSessions(t, b, "alice"); status != idvmock.ProfileInactive {
		t.Errorf("deactivated on one store, %q on the other", status)
	}
	issue(t, a, "tok", t0.Add(time.Minute))
	if !valid(t, b, "tok", t0) {
		t.Error("a token issued on one store is not valid on the other")
	}
	if found := forget(t, b, "alice"); !found {
		t.Error("ForgetUser on one store found nothing of what the other kept")
	}
	if _, found := session1(t, a, "a1"); found {
		t.Error("a session forgotten on one store is still read on the other")
	}
	for i := range 3 {
		step(t, a, userKey(fmt.Sprint("u", i)), twoStates, t0)
	}
	if n := reset(t, b); n != 3 {
		t.Errorf("Reset on one store forgot %d userIds of the other's 3", n)
	}
}
