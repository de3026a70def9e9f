package engine

import (
	"testing"

	"github.com/idvmock/idvmock"
)

// Two replicas on one store: a user put through one is answered by the other once it syncs
// (Follow syncs on every change the store reports), a deletion too, file users deleted stay
// hidden, and the saved state of either shows the admin layer.
func TestReplicasShareTheAdminLayer(t *testing.T) {
	a, _ := newTestEngine(t)
	b, _ := newTestEngine(t)
	shared := NewMemoryStore(Limits{})
	a.SetStore(shared)
	b.SetStore(shared)
	latest := func(e *Engine, id string) Reply {
		return e.Handle(t.Context(), Request{Operation: idvmock.OpGetLatest, UserID: id, Region: "sg", Country: "SGP"})
	}
	if err := putUser(a, "carol", "profileStatus: ACTIVE\nsessions: [{overallResult: PASS}]"); err != nil {
		t.Fatal(err)
	}
	if r := latest(b, "carol"); r.Code != idvmock.CodeParameterError {
		t.Fatalf("before a sync, b answered carol: %s", r.Code)
	}
	if err := b.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := latest(b, "carol"); r.Code != idvmock.CodeSuccess {
		t.Errorf("after a sync, b answers carol %s %s", r.Code, r.Message)
	}
	st, err := b.SaveState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.AdminUsers["carol"]; !ok {
		t.Errorf("b's saved state has no carol: %v", st.AdminUsers)
	}
	if err := b.DeleteUser(t.Context(), "user_active"); err != nil {
		t.Fatal(err)
	}
	if err := putUser(b, "carol", "scenario: failed"); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := latest(a, "user_active"); r.Code != idvmock.CodeParameterError {
		t.Errorf("a still answers user_active, deleted through b: %s", r.Code)
	}
	if r := latest(a, "carol"); r.Code != idvmock.CodeSuccess || r.Trace.Scenario != "failed" {
		t.Errorf("a answers carol from %q, want b's redeclaration (failed)", r.Trace.Scenario)
	}
	if err := a.Load(builtinFiles(t)); err != nil { // a reload keeps the layer
		t.Fatal(err)
	}
	if r := latest(a, "user_active"); r.Code != idvmock.CodeParameterError {
		t.Errorf("after a reload, a answers user_active again: %s", r.Code)
	}
}
