package engine

import (
	"context"
	"sync"
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

// pausingStore holds its first Declarations read until told to go on, with what it read.
type pausingStore struct {
	*MemoryStore
	once          sync.Once
	read, proceed chan struct{}
}

func (s *pausingStore) Declarations(ctx context.Context) (Declarations, error) {
	d, err := s.MemoryStore.Declarations(ctx)
	s.once.Do(func() {
		close(s.read)
		<-s.proceed
	})
	return d, err
}

// A sync that read the store before a put (here, before there was any layer) cannot undo
// the put: the put makes its swap fail, and it reads the store again.
func TestSyncNeverUndoesANewerPut(t *testing.T) {
	a, _ := newTestEngine(t)
	store := &pausingStore{MemoryStore: NewMemoryStore(Limits{}), read: make(chan struct{}), proceed: make(chan struct{})}
	a.SetStore(store)
	synced := make(chan error)
	go func() { synced <- a.Sync(t.Context()) }()
	<-store.read // the sync holds an empty layer of version 0
	if err := putUser(a, "racer", "scenario: active"); err != nil {
		t.Fatal(err)
	}
	close(store.proceed)
	if err := <-synced; err != nil {
		t.Fatal(err)
	}
	if a.Set().User("racer") == nil {
		t.Error("a sync that read the store before the put removed the user the store holds")
	}
}
