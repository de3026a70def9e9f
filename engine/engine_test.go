package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
)

// 64 goroutines x 1,000 calls advance a looping user exactly as scripted: in every window of
// 10 consecutive calls, 3 in progress, 5 submitted, 2 passed, and the total is exact.
func TestProgressionIsExactUnderConcurrency(t *testing.T) {
	e, _ := newTestEngine(t, "progression.yaml")
	const goroutines, calls = 64, 1000
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]int{}
			for i := 0; i < calls; i++ {
				r := e.Handle(t.Context(), Request{Operation: idvmock.OpGetLatest, UserID: "looper", Region: "sg", Country: "SGP"})
				if r.Trace.Err != nil || r.Code != idvmock.CodeSuccess {
					t.Error(r.Code, r.Trace.Err)
					return
				}
				local[r.Trace.State]++
			}
			mu.Lock()
			for k, v := range local {
				counts[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	total := goroutines * calls // 64,000 = 6,400 cycles of 10
	want := map[string]int{"in-progress": total / 10 * 3, "submitted": total / 10 * 5, "passed": total / 10 * 2}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("states answered %v, want %v", counts, want)
	}
	p, _ := e.Progress(t.Context(), "looper")
	if p.State != "passed" || p.Calls != 2 {
		t.Errorf("after 6,400 full cycles the user has had its 2 calls in the last state: %+v", p)
	}
	if out := ask(t, e, Request{UserID: "looper"}); out.State != "in-progress" {
		t.Errorf("the next call loops back to the first state: %s", out.State)
	}
}

// The sequence answers state by state: the same session progresses (same signatureId),
// profile and verdict follow the script.
func TestProgressionByCallsAndTime(t *testing.T) {
	e, clock := newTestEngine(t, "team.yaml")
	var sigs []string
	var seen []string
	for i := 0; i < 5; i++ {
		out := ask(t, e, Request{UserID: "progressing"})
		seen = append(seen, out.State+"/"+string(out.Data.ProfileStatus))
		sigs = append(sigs, result(t, out).SignatureID)
		clock.now = clock.now.Add(10 * time.Second)
	}
	// started x3, then submitted from the 4th call; 30 s after the first submitted call the
	// user passes.
	want := []string{"started/INIT", "started/INIT", "started/INIT", "submitted/INIT", "submitted/INIT"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("states %v, want %v", seen, want)
	}
	clock.now = clock.now.Add(11 * time.Second) // 31 s after the first submitted call
	out := ask(t, e, Request{UserID: "progressing"})
	if out.State != "passed" || out.Data.ProfileStatus != idvmock.ProfileActive || *result(t, out).OverallResult != idvmock.VerdictPass {
		t.Fatalf("after 30 s: %s %s", out.State, out.Data.ProfileStatus)
	}
	out = ask(t, e, Request{UserID: "progressing"})
	if out.State != "passed" {
		t.Errorf("the last state stays: %s", out.State)
	}
	for _, s := range append(sigs, result(t, out).SignatureID) {
		if s != sigs[0] {
			t.Fatalf("the session changed identity between states: %v", sigs)
		}
	}
}

func TestAdminAdvanceSetStateAndReset(t *testing.T) {
	e, _ := newTestEngine(t, "team.yaml")
	if p, err := e.Advance(t.Context(), "progressing"); err != nil || p.State != "submitted" {
		t.Fatalf("advance: %+v %v", p, err)
	}
	if out := ask(t, e, Request{UserID: "progressing"}); out.State != "submitted" {
		t.Errorf("after advance: %s", out.State)
	}
	if p, err := e.SetState(t.Context(), "progressing", "passed"); err != nil || p.StateIndex != 2 {
		t.Fatalf("set state: %+v %v", p, err)
	}
	if _, err := e.Advance(t.Context(), "progressing"); err == nil {
		t.Error("advancing past the last state of a user that does not loop must fail")
	}
	if _, err := e.SetState(t.Context(), "progressing", "done"); err == nil {
		t.Error("an unknown state must fail")
	}
	if _, err := e.SetState(t.Context(), "progressing", "0"); err != nil {
		t.Errorf("states can be named by number: %v", err)
	}
	e.SetState(t.Context(), "progressing", "passed")
	if n, err := e.Reset(t.Context(), "progressing"); err != nil || n != 1 {
		t.Errorf("reset one user: %d", n)
	}
	if out := ask(t, e, Request{UserID: "progressing"}); out.State != "started" {
		t.Errorf("after reset: %s", out.State)
	}
	if _, err := e.Advance(t.Context(), "nobody"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("advance of an unknown user: %v", err)
	}
}

// A reload keeps the progress of users whose declaration did not change and restarts the
// others; a broken reload changes nothing.
func TestReloadKeepsUnchangedProgress(t *testing.T) {
	e, _ := newTestEngine(t, "team.yaml", "progression.yaml")
	e.Advance(t.Context(), "progressing")
	e.Advance(t.Context(), "looper")
	files, _ := builtinFilesErr(t)
	team, _ := parseTestFile(t, validFixture("team.yaml"))
	changed, err := parseYAML("progression.yaml", (`
users:
  looper:
    loop: true
    states:
      - {name: a, profileStatus: INIT, sessions: [{}], after: 1 call}
      - {name: b, profileStatus: ACTIVE, sessions: [{overallResult: PASS}], after: 1 call}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Load(append(files, team, changed)); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.Progress(t.Context(), "progressing"); p.State != "submitted" {
		t.Errorf("unchanged user lost its progress: %+v", p)
	}
	if p, _ := e.Progress(t.Context(), "looper"); p.State != "a" {
		t.Errorf("changed user kept stale progress: %+v", p)
	}
	broken, _ := parseYAML("broken.yaml", "users:\n  x: {scenario: nope}\n")
	if err := e.Load(append(files, broken)); err == nil {
		t.Fatal("a broken set was loaded")
	}
	if out := ask(t, e, Request{UserID: "progressing"}); out.Code != idvmock.CodeSuccess {
		t.Errorf("the previous set stopped answering: %s", out.Message)
	}
}

// A session started through Generate URL is the user's newest, in progress; completing it
// with PASS makes the profile ACTIVE; Get Result answers it by signatureId.
func TestStartedSessions(t *testing.T) {
	e, clock := newTestEngine(t)
	started := start(t, e, StartRequest{UserID: "dave", BizID: "order-1", Region: "PHL", CallbackURL: "http://cb", Input: json.RawMessage(`{"bizId": "order-1", "userId": "dave", "region": "PHL", "language": "en"}`)})
	out := ask(t, e, Request{UserID: "dave"})
	r := result(t, out)
	if out.Data.ProfileStatus != idvmock.ProfileInit || r.SignatureID != started.Session.SignatureID || r.OverallResult != nil || r.CountryCodeIso3 != "PHL" {
		t.Fatalf("a new user's started session: %s", out.Data.Result)
	}
	if string(out.Data.Result) == "" || indexOf(topLevelKeys(t, out.Data.Result), "inputParameters") < 0 {
		t.Fatal("no inputParameters")
	}
	if _, err := e.Complete(t.Context(), started.Session.SignatureID, Completion{OverallResult: idvmock.VerdictPass, ErrorCode: "LIVENESS_ATTACK"}); err == nil {
		t.Error("an inconsistent completion was accepted")
	}
	clock.now = clock.now.Add(time.Minute)
	if _, err := e.Complete(t.Context(), started.Session.SignatureID, Completion{OverallResult: idvmock.VerdictPass}); err != nil {
		t.Fatal(err)
	}
	out = ask(t, e, Request{UserID: "dave"})
	if out.Data.ProfileStatus != idvmock.ProfileActive || *result(t, out).OverallResult != idvmock.VerdictPass {
		t.Errorf("after a PASS: %s", out.Data.Result)
	}
	raw, err := e.Result(t.Context(), started.Session.SignatureID, Request{Region: "ph", Country: "PHL"})
	if err != nil || string(raw) != string(out.Data.Result) {
		t.Errorf("Get Result differs from the latest session:\n%s\n%s (%v)", raw, out.Data.Result, err)
	}
	// a declared user's session is found by its literal signatureId too
	if _, err := e.Result(t.Context(), "f6e5d4c3b2a1", Request{Region: "sg", Country: "SGP"}); err != nil {
		t.Errorf("user_002's session: %v", err)
	}
	if _, err := e.Result(t.Context(), "nope", Request{}); !errors.Is(err, ErrUnknownSignature) {
		t.Errorf("unknown signature: %v", err)
	}
	// a declared user re-verifying: the started session is the newest
	second := start(t, e, StartRequest{UserID: "user_active", Region: "SGP"})
	if r := result(t, ask(t, e, Request{UserID: "user_active"})); r.SignatureID != second.Session.SignatureID || r.OverallResult != nil {
		t.Errorf("user_active's newest session is the started one: %+v", r)
	}
	if out := ask(t, e, Request{UserID: "user_active"}); out.Data.ProfileStatus != idvmock.ProfileActive {
		t.Errorf("re-verifying keeps the profile: %s", out.Data.ProfileStatus)
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// Built results are cached, but what they depend on still changes them: the state, the
// request's region and solution code, and a user redefined through the admin API.
func TestCachedResultsFollowStateRegionAndRedefinition(t *testing.T) {
	e, _ := newTestEngine(t, "progression.yaml")
	resultOf := func(req Request) string {
		t.Helper()
		out := ask(t, e, req)
		if out.Data == nil {
			t.Fatalf("%+v: %s %s", req, out.Code, out.Message)
		}
		return string(out.Data.Result)
	}
	var byState []string
	for range 10 { // in-progress x3, submitted x5, passed x2
		byState = append(byState, resultOf(Request{UserID: "looper"}))
	}
	if byState[0] != byState[2] || byState[2] == byState[3] || byState[3] != byState[7] || byState[7] == byState[8] {
		t.Errorf("results do not follow the states: %v", byState)
	}
	if !strings.Contains(byState[8], `"overallResult":"PASS"`) || strings.Contains(byState[0], `"overallResult":"PASS"`) {
		t.Errorf("in progress %s\npassed %s", byState[0], byState[8])
	}
	sg := resultOf(Request{UserID: "user_active", Region: "sg", Country: "SGP"})
	ph := resultOf(Request{UserID: "user_active", Region: "ph", Country: "PHL"})
	if sg == ph || sg != resultOf(Request{UserID: "user_active", Region: "sg", Country: "SGP"}) {
		t.Error("a cached result ignores the region, or changes between calls")
	}
	before := resultOf(Request{UserID: "user_active"})
	if err := putUser(e, "user_active", ("profileStatus: ACTIVE\nsessions: [{overallResult: PASS, bizId: changed-by-admin}]\n")); err != nil {
		t.Fatal(err)
	}
	if after := resultOf(Request{UserID: "user_active"}); after == before || !strings.Contains(after, "changed-by-admin") {
		t.Errorf("the redefined user answers its old result:\n%s", after)
	}
}

// Concurrent advances each move the user once, however the store's reads interleave: here
// the first reads of progress wait for one another, as a shared store's can.
func TestConcurrentAdvancesEachCount(t *testing.T) {
	e, _ := newTestEngine(t, "progression.yaml")
	const advances = 10
	e.SetStore(&meetingStore{MemoryStore: NewMemoryStore(Limits{}), waiting: advances, met: make(chan struct{})})
	var wg sync.WaitGroup
	for range advances {
		wg.Go(func() {
			if _, err := e.Advance(t.Context(), "looper"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	p, err := e.Progress(t.Context(), "looper")
	if err != nil || p.StateIndex != advances%3 {
		t.Errorf("after %d advances of a 3-state loop: state %d (%v), want %d", advances, p.StateIndex, err, advances%3)
	}
}

// meetingStore holds its first reads of progress until as many have come, then lets them all
// go: every one of them reads the progress before any writes.
type meetingStore struct {
	*MemoryStore
	mu      sync.Mutex
	waiting int
	met     chan struct{}
}

func (s *meetingStore) Progress(ctx context.Context, key ProgressKey) (Progress, bool, error) {
	s.mu.Lock()
	if s.waiting > 0 {
		s.waiting--
		if s.waiting == 0 {
			close(s.met)
		}
	}
	s.mu.Unlock()
	select {
	case <-s.met:
	case <-time.After(2 * time.Second): // the engine read progress fewer times: nothing to meet
	}
	return s.MemoryStore.Progress(ctx, key)
}
