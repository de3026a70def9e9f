package engine

// Regression tests of the attack pass on a shared, long-running mock (issue 10): templates
// that crashed the linter, caller input evaluated as a template, unbounded growth and work
// under the engine's lock. Each case replays what was found; keep them together.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
)

// A template lint cannot see over its limits (it depends on the requested userId) answers
// a BuildError that wraps tmpl.ErrLimit, never a panic; other users keep answering.
func TestAttackTemplateOverItsLimitAtRunTime(t *testing.T) {
	e, err := engineWith(t, `rules:
  - name: long
    match: {userIdGlob: "long-*"}
    profileStatus: INIT
    sessions:
      - bizId: '{{ range len .userId }}{{ range 200 }}{{ end }}{{ end }}'
`)
	if err != nil {
		t.Fatal(err)
	}
	if out := ask(t, e, Request{UserID: "long-1"}); out.Code != idvmock.CodeSuccess {
		t.Fatalf("a short userId: %s %s", out.Code, out.Message)
	}
	req := Request{Operation: "getLatestSessionResult", UserID: "long-" + strings.Repeat("x", 200), Region: "sg", Country: "SGP"}
	r := e.Handle(t.Context(), req)
	if r.Status != 200 || r.Code != idvmock.CodeError || r.Trace.Source != "rule long" || !strings.Contains(r.Trace.Note, "more than 10000 loop iterations") {
		t.Fatalf("want 200 ERROR from rule long noting the limit passed, got %d %s %+v", r.Status, r.Code, r.Trace)
	}
	if out := ask(t, e, Request{UserID: "user_active"}); out.Code != idvmock.CodeSuccess {
		t.Errorf("user_active after a failed build: %s", out.Code)
	}
}

// What a caller of Generate URL sends is data: a bizId of "{{" and templates in any field
// come back verbatim (a bizId of "{{" made every later answer for the user an HTTP 500, and
// {"n": "{{range 2000000}}...{{end}}"} made each poll a 20 MB answer).
func TestAttackGenerateURLInputIsNeverATemplate(t *testing.T) {
	e, _ := newTestEngine(t)
	for _, hostile := range []string{`{{`, `{{.}}`, `{{range 1000000}}x{{end}}`, `{{ fake "firstname" }}`, `{{ .userId }}`} {
		input, _ := json.Marshal(map[string]string{"userId": "victim", "bizId": hostile, "n": hostile, "region": "PHL"})
		started := start(t, e, StartRequest{UserID: "victim", BizID: hostile, Region: "PHL", Input: input})
		out := ask(t, e, Request{UserID: "victim"})
		r := result(t, out)
		var whole struct {
			InputParameters map[string]any `json:"inputParameters"`
		}
		json.Unmarshal(out.Data.Result, &whole)
		if r.SignatureID != started.Session.SignatureID || r.InputParameters.BizID != hostile || whole.InputParameters["n"] != hostile {
			t.Errorf("%q came back as bizId %q, n %v", hostile, r.InputParameters.BizID, whole.InputParameters["n"])
		}
		if len(out.Data.Result) > 4096 {
			t.Errorf("%q made a %d-byte result", hostile, len(out.Data.Result))
		}
		raw, err := e.Result(t.Context(), started.Session.SignatureID, Request{Region: "ph", Country: "PHL"})
		if err != nil || !strings.Contains(string(raw), `"bizId":`+string(mustJSON(hostile))) {
			t.Errorf("Get Result of %q: %v %s", hostile, err, raw)
		}
		// an admin completion's errorCode is data too
		if _, err := e.Complete(t.Context(), started.Session.SignatureID, Completion{OverallResult: idvmock.VerdictFail, ErrorCode: hostile}); err != nil {
			t.Errorf("completion with errorCode %q: %v", hostile, err)
		}
		if r := result(t, ask(t, e, Request{UserID: "victim"})); r.ErrorCode == nil || *r.ErrorCode != hostile {
			t.Errorf("errorCode %q came back as %v", hostile, r.ErrorCode)
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Started sessions are bounded in all, per user, and by the bytes they echo; the oldest go
// first. 100,000 Generate URL calls added 281 MB before.
func TestAttackStartedSessionsAreBounded(t *testing.T) {
	e, _ := newTestEngine(t)
	e.SetLimits(Limits{MaxStartedSessions: 1000, MaxSessionsPerUser: 5, MaxStartedBytes: 1 << 20})
	before := liveHeap()
	input := json.RawMessage(`{"note":"` + strings.Repeat("x", 2000) + `"}`)
	var first, last StartedSession
	for i := range 10_000 {
		s := start(t, e, StartRequest{UserID: fmt.Sprintf("user-%d", i%3000), Region: "PHL", Input: input})
		if i == 0 {
			first = s
		}
		last = s
	}
	grown := int64(liveHeap()) - int64(before)
	store := e.stored().(*MemoryStore)
	store.mu.Lock()
	n, bytes, perUser := store.started.len(), store.started.bytes, 0
	for _, rt := range store.started.byUser {
		perUser = max(perUser, len(rt.sessions))
	}
	store.mu.Unlock()
	if n > 1000 || bytes > 1<<20 || perUser > 5 || n < 100 {
		t.Errorf("%d sessions, %d bytes, at most %d for one user: not within the limits", n, bytes, perUser)
	}
	if hasSession(t, e, first.Session.SignatureID) {
		t.Error("the oldest session is still kept")
	}
	if !hasSession(t, e, last.Session.SignatureID) {
		t.Error("the newest session was dropped")
	}
	if grown > 8<<20 {
		t.Errorf("the live heap grew %d bytes for 10,000 sessions bounded to 1 MiB", grown)
	}
	var newest StartedSession
	for range 20 { // one user's oldest go first
		newest = start(t, e, StartRequest{UserID: "busy", Region: "PHL"})
	}
	busy, _, err := e.stored().UserSessions(t.Context(), "busy")
	if err != nil || len(busy) != 5 || busy[4].Seq != newest.Seq || newest.Seq != 10_020 {
		t.Errorf("busy keeps %d sessions (%v), the newest numbered %d", len(busy), err, newest.Seq)
	}
}

// Admin-declared users are bounded: past the limit a declaration is refused, not another
// user dropped; replacing one is always possible.
func TestAttackAdminUsersAreBounded(t *testing.T) {
	e, _ := newTestEngine(t)
	e.SetLimits(Limits{MaxAdminUsers: 3, MaxAdminBytes: 1 << 10})
	for i := range 3 {
		if err := putUser(e, fmt.Sprintf("qa_%d", i), "scenario: active\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := putUser(e, "qa_3", ("scenario: active\n")); !errors.Is(err, ErrAdminFull) || !strings.Contains(err.Error(), "--max-admin-users") {
		t.Errorf("a fourth user: %v", err)
	}
	if err := putUser(e, "qa_0", ("scenario: failed\n")); err != nil {
		t.Errorf("replacing a user within the limit: %v", err)
	}
	if err := putUser(e, "qa_1", ("scenario: failed\n# " + strings.Repeat("z", 1100) + "\n")); !errors.Is(err, ErrAdminFull) || !strings.Contains(err.Error(), "--max-admin-bytes") {
		t.Errorf("a declaration over the byte limit: %v", err)
	}
	if err := e.DeleteUser(t.Context(), "qa_2"); err != nil {
		t.Fatal(err)
	}
	if err := putUser(e, "qa_3", ("scenario: active\n")); err != nil {
		t.Errorf("after a delete there is room: %v", err)
	}
	for i := range 30 { // declaring and deleting ever new users leaves nothing behind
		id := fmt.Sprintf("churn_%d", i)
		e.DeleteUser(t.Context(), "qa_3")
		if err := putUser(e, id, ("scenario: active\n")); err != nil {
			t.Fatal(err)
		}
		if err := e.DeleteUser(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.DeleteUser(t.Context(), "user_active"); err != nil { // a file's user stays hidden across reloads
		t.Fatal(err)
	}
	e.mu.Lock()
	removed := maps.Clone(e.removed)
	e.mu.Unlock()
	if len(removed) != 1 || !removed["user_active"] {
		t.Errorf("removed users kept: %v; want only the file's user_active", removed)
	}
}

// Progress kept for userIds that rules and the scenario header answer is bounded: three
// times the bound of new userIds leaves the bound, and the heap stays flat.
func TestAttackProgressIsBounded(t *testing.T) {
	e, _ := newTestEngine(t, "progression.yaml")
	e.SetLimits(Limits{MaxProgress: 2000})
	before := liveHeap()
	for i := range 6000 {
		ask(t, e, Request{UserID: fmt.Sprintf("someone-%d", i), Scenario: "active"})
	}
	store := e.stored().(*MemoryStore)
	store.mu.Lock()
	n := len(store.patterns) + len(store.users)
	store.mu.Unlock()
	if n > 2000 || n < 1000 {
		t.Errorf("%d progress entries kept, bound 2000", n)
	}
	e.results.reset() // bounded on its own (TestAttackResultCacheIsBounded)
	if grown := int64(liveHeap()) - int64(before); grown > 4<<20 {
		t.Errorf("the heap grew %d bytes", grown)
	}
	ask(t, e, Request{UserID: "looper"})
	if p, err := e.Progress(t.Context(), "looper"); err != nil || p.Calls != 1 {
		t.Errorf("a declared user's progress after the churn: %+v %v", p, err)
	}
}

// The cache of built results is bounded by entries and bytes, results with large
// templates included.
func TestAttackResultCacheIsBounded(t *testing.T) {
	e, err := engineWith(t, `rules:
  - name: big
    match: {userIdGlob: "big-*"}
    profileStatus: INIT
    sessions:
      - bizId: '{{ range 100 }}{{ printf "%0500d" 1 }}{{ end }}'
`)
	if err != nil {
		t.Fatal(err)
	}
	before := liveHeap()
	for i := range 4000 { // results of about 50 KB: three times the byte bound
		ask(t, e, Request{UserID: fmt.Sprintf("big-%d", i)})
	}
	if e.results.c.Len() > maxCachedResults || e.results.c.Bytes() > maxCachedResultsBytes {
		t.Errorf("%d results, %d bytes cached", e.results.c.Len(), e.results.c.Bytes())
	}
	if grown := int64(liveHeap()) - int64(before); grown > 2*maxCachedResultsBytes {
		t.Errorf("the heap grew %d bytes", grown)
	}
}

// Declarations compiled outside the lock are never lost: concurrent PUTs, deletes and
// reloads all land, and requests go on being answered meanwhile.
func TestConcurrentAdminChangesAndReloadsAllLand(t *testing.T) {
	e, _ := newTestEngine(t, "team.yaml")
	builtin, _ := builtinFilesErr(t)
	team, err := parseTestFile(t, validFixture("team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				id := fmt.Sprintf("w%d-u%d", w, i)
				if err := putUser(e, id, ("scenario: active\n")); err != nil {
					t.Error(err)
				}
				if i%4 == 0 {
					if err := e.DeleteUser(t.Context(), id); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 20 {
			if err := e.Load(append(slices.Clone(builtin), team)); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 2000 {
			ask(t, e, Request{UserID: "user_active"})
		}
	}()
	wg.Wait()
	for w := range 6 {
		for i := range 40 {
			_, err := e.Progress(t.Context(), fmt.Sprintf("w%d-u%d", w, i))
			if deleted := i%4 == 0; deleted != errors.Is(err, ErrUnknownUser) {
				t.Errorf("w%d-u%d: deleted %v, lookup %v", w, i, deleted, err)
			}
		}
	}
}

// PUT /__admin/state checks started sessions like any declaration: an inconsistent,
// incomplete or duplicated one refuses the whole state, and nothing changes.
func TestAttackRestoredStartedSessionsAreChecked(t *testing.T) {
	e, _ := newTestEngine(t)
	good := start(t, e, StartRequest{UserID: "kept", Region: "PHL", Input: json.RawMessage(`{"userId":"kept"}`)})
	saved := saveState(t, e)
	valid := saved.Started[0]
	for name, tc := range map[string]struct {
		edit func(s *StartedSession)
		want string
	}{
		"PASS with a failure code": {func(s *StartedSession) {
			s.Session.State, s.Session.Verdict, s.Session.ErrorCode = scenarios.StateFinished, idvmock.VerdictPass, "LIVENESS_ATTACK"
		}, `startedSessions[0].session.errorCode: is "LIVENESS_ATTACK" on a PASS`},
		"unknown state":      {func(s *StartedSession) { s.Session.State = "done" }, `startedSessions[0].session.state: is "done"`},
		"no userId":          {func(s *StartedSession) { s.UserID = "" }, "startedSessions[0].userId"},
		"userId too long":    {func(s *StartedSession) { s.UserID = strings.Repeat("u", 256) }, "a userId has 1 to 255 characters"},
		"no signatureId":     {func(s *StartedSession) { s.Session.SignatureID = "" }, "startedSessions[0].session.SignatureID"},
		"input not object":   {func(s *StartedSession) { s.Start.Input = json.RawMessage(`[1,2]`) }, "startedSessions[0].start.Input: is not a JSON object"},
		"score out of range": {func(s *StartedSession) { s.Session.Face.LivenessScore = ptr(150.0) }, "faceLivenessScore: is 150"},
	} {
		t.Run(name, func(t *testing.T) {
			st := saveState(t, e)
			bad := valid
			tc.edit(&bad)
			st.Started = []StartedSession{bad}
			err := e.RestoreState(t.Context(), st)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a refusal naming %q, got %v", tc.want, err)
			}
			if !hasSession(t, e, good.Session.SignatureID) {
				t.Error("a refused state changed the engine")
			}
		})
	}
	st := saveState(t, e)
	st.Started = append(st.Started, st.Started[0])
	if err := e.RestoreState(t.Context(), st); err == nil || !strings.Contains(err.Error(), "also the signatureId of an earlier started session") {
		t.Errorf("a duplicated session: %v", err)
	}
	e.SetLimits(Limits{MaxStartedSessions: 1})
	st.Started = append(st.Started[:1], StartedSession{UserID: "other", Session: Session{SignatureID: "abc", State: scenarios.StateInProgress, SolutionCode: "101"}})
	if err := e.RestoreState(t.Context(), st); err == nil || !strings.Contains(err.Error(), "--max-started-sessions") {
		t.Errorf("more sessions than the limit: %v", err)
	}
}
