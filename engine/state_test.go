package engine

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
)

// A saved state restored into a new engine (a restarted mock) continues exactly where the
// old one stood: progress, admin users, deleted users, started sessions, fault draws.
func TestSavedStateRoundTrip(t *testing.T) {
	old, _ := newTestEngine(t, "team.yaml", "progression.yaml")
	for range 4 { // looper: in-progress x3, then submitted
		ask(t, old, Request{UserID: "looper"})
	}
	if err := putUser(old, "qa_1", ("scenario: failed\nregions: [sg]\n")); err != nil {
		t.Fatal(err)
	}
	if err := old.DeleteUser(t.Context(), "user_error"); err != nil {
		t.Fatal(err)
	}
	started := start(t, old, StartRequest{UserID: "new_customer", BizID: "order-1", Region: "PHL", Input: json.RawMessage(`{"userId": "new_customer"}`)})
	if _, err := old.Complete(t.Context(), started.Session.SignatureID, Completion{OverallResult: idvmock.VerdictPass}); err != nil {
		t.Fatal(err)
	}
	flaky := Request{Operation: "getLatestSessionResult", UserID: "x", Region: "th", Header: http.Header{"X-Test": {"flaky"}}}
	for range 7 {
		decideOK(t, old, flaky)
	}

	data, err := json.Marshal(saveState(t, old))
	if err != nil {
		t.Fatal(err)
	}
	var saved SavedState
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	restarted, _ := newTestEngine(t, "team.yaml", "progression.yaml")
	if err := restarted.RestoreState(t.Context(), saved); err != nil {
		t.Fatal(err)
	}

	for _, req := range []Request{{UserID: "looper"}, {UserID: "qa_1"}, {UserID: "user_error"}, {UserID: "new_customer"}, {UserID: "looper"}} {
		a, b := ask(t, old, req), ask(t, restarted, req)
		if a.Code != b.Code || a.State != b.State || (a.Data != nil) != (b.Data != nil) || (a.Data != nil && string(a.Data.Result) != string(b.Data.Result)) {
			t.Errorf("%s: the restored engine answers %s %s %q, the saved one %s %s %q", req.UserID, b.Code, b.Message, b.State, a.Code, a.Message, a.State)
		}
	}
	if out := ask(t, restarted, Request{UserID: "new_customer"}); out.Data == nil || out.Data.ProfileStatus != idvmock.ProfileActive ||
		!strings.Contains(string(out.Data.Result), started.Session.SignatureID) {
		t.Errorf("the started session did not come back: %+v", out)
	}
	for i := range 20 {
		if a, b := decideOK(t, old, flaky), decideOK(t, restarted, flaky); (a.Fault == nil) != (b.Fault == nil) || a.Delay != b.Delay {
			t.Fatalf("draw %d after the restore differs: %+v vs %+v", i, a, b)
		}
	}
}

// A state that cannot be restored changes nothing, and says why.
func TestRestoreRefusesBadStates(t *testing.T) {
	e, _ := newTestEngine(t, "progression.yaml")
	good := saveState(t, e)
	for name, tc := range map[string]struct {
		edit func(*SavedState)
		want string
	}{
		"version": {func(s *SavedState) { s.Version = 9 }, "reads saved states of version 1"},
		"seed":    {func(s *SavedState) { s.Seed = 42 }, "--seed 42"},
		"admin user": {func(s *SavedState) {
			s.AdminUsers = map[string]scenarios.UserSpec{"bad": {Scenario: "no-such-scenario"}}
		}, "no-such-scenario"},
		"progress": {func(s *SavedState) { s.Progress = []SavedProgress{{Key: []string{"user"}}} }, "progress[0]"},
	} {
		st := good
		tc.edit(&st)
		err := e.RestoreState(t.Context(), st)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
	if _, err := e.Progress(t.Context(), "looper"); err != nil {
		t.Errorf("a refused restore changed the engine: %v", err)
	}
}
