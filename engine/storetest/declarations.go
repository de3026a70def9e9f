package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/idvmock/idvmock/engine"
)

func declarations(t *testing.T, s engine.Store) engine.Declarations {
	t.Helper()
	return check[engine.Declarations](t)(s.Declarations(t.Context()))
}

// The admin layer: declarations kept and replaced, deleted users hidden or not, a version
// that moves on with every change, and kept by Reset and Restore.
func testDeclarations(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{})
	v0 := declarations(t, s).Version
	v1 := check[uint64](t)(s.PutDeclaration(t.Context(), "alice", json.RawMessage(`{"scenario":"active"}`), 20))
	v2 := check[uint64](t)(s.PutDeclaration(t.Context(), "alice", json.RawMessage(`{"scenario":"init"}`), 18))
	v3 := check[uint64](t)(s.DeleteDeclaration(t.Context(), "user_active", true))
	if !(v0 < v1 && v1 < v2 && v2 < v3) {
		t.Errorf("versions %d, %d, %d, %d: each change must move the version on", v0, v1, v2, v3)
	}
	d := declarations(t, s)
	if d.Version != v3 || string(d.Users["alice"]) != `{"scenario":"init"}` || d.Sizes["alice"] != 18 || !d.Removed["user_active"] || len(d.Users) != 1 {
		t.Errorf("layer %+v", d)
	}
	check[uint64](t)(s.PutDeclaration(t.Context(), "user_active", json.RawMessage(`{"scenario":"failed"}`), 21))
	if d := declarations(t, s); d.Removed["user_active"] || len(d.Users) != 2 {
		t.Errorf("declaring a deleted user again must show it: %+v", d)
	}
	check[uint64](t)(s.DeleteDeclaration(t.Context(), "alice", false))
	if d := declarations(t, s); d.Users["alice"] != nil || d.Removed["alice"] {
		t.Errorf("alice deleted without hiding: %+v", d)
	}
	reset(t, s)
	failOn(t, s.Restore(t.Context(), engine.Snapshot{}))
	if d := declarations(t, s); len(d.Users) != 1 {
		t.Errorf("Reset or Restore changed the admin layer: %+v", d)
	}
	replaced := engine.Declarations{Users: map[string]json.RawMessage{"bob": json.RawMessage(`{"scenario":"init"}`)},
		Sizes: map[string]int{"bob": 5}, Removed: map[string]bool{"user_multi": true}}
	v := check[uint64](t)(s.ReplaceDeclarations(t.Context(), replaced))
	if d := declarations(t, s); d.Version != v || len(d.Users) != 1 || d.Users["bob"] == nil || !d.Removed["user_multi"] || d.Sizes["bob"] != 5 {
		t.Errorf("after ReplaceDeclarations: %+v", d)
	}
}

// Past MaxAdminUsers or MaxAdminBytes a declaration changes nothing and says why; replacing
// one within the bytes is still fine.
func testDeclarationLimits(t *testing.T, newStore NewStore) {
	s := newStore(t, engine.Limits{MaxAdminUsers: 2, MaxAdminBytes: 100})
	for i := range 2 {
		check[uint64](t)(s.PutDeclaration(t.Context(), fmt.Sprint("u", i), json.RawMessage(`{}`), 40))
	}
	before := declarations(t, s)
	if _, err := s.PutDeclaration(t.Context(), "u2", json.RawMessage(`{}`), 1); !errors.Is(err, engine.ErrAdminFull) {
		t.Errorf("a third user past MaxAdminUsers 2: %v", err)
	}
	if _, err := s.PutDeclaration(t.Context(), "u0", json.RawMessage(`{}`), 61); !errors.Is(err, engine.ErrAdminFull) {
		t.Errorf("101 bytes past MaxAdminBytes 100: %v", err)
	}
	if after := declarations(t, s); after.Version != before.Version || len(after.Users) != 2 || after.Sizes["u0"] != 40 {
		t.Errorf("a refused declaration changed the layer: %+v", after)
	}
	check[uint64](t)(s.PutDeclaration(t.Context(), "u0", json.RawMessage(`{}`), 60))
}
