package engine

import (
	"testing"

	"github.com/idvmock/idvmock/scenarios"
)

// frozenBuiltin is a copy of the built-in files, frozen, as scenarios/files.Builtin gives
// them (a copy of this test's own: the sets it compiles are not shared with other tests').
func frozenBuiltin(t *testing.T) []*scenarios.File {
	files := builtinFiles(t)
	for _, f := range files {
		f.Freeze()
	}
	return files
}

// A set compiled from frozen files alone is compiled once per process and seed and shared;
// one with another seed, or with a file that is not frozen, is compiled again.
func TestSetsOfFrozenFilesAreShared(t *testing.T) {
	files := frozenBuiltin(t)
	first, err := New(7, files...)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := New(7, append([]*scenarios.File(nil), files...)...); err != nil || again != first {
		t.Errorf("the same frozen files and seed compiled again (err %v)", err)
	}
	if other, err := New(8, files...); err != nil || other == first {
		t.Errorf("another seed shared the set (err %v)", err)
	}
	extra, err := parseYAML("extra.yaml", "users:\n  qa_extra:\n    scenario: active\n")
	if err != nil {
		t.Fatal(err)
	}
	withExtra, err := New(7, append(files, extra)...)
	if err != nil || withExtra == first || withExtra.User("qa_extra") == nil {
		t.Errorf("a file that is not frozen: shared %v, err %v", withExtra == first, err)
	}
	if again, _ := New(7, append(files, extra)...); again == withExtra {
		t.Error("a set with a file that is not frozen was shared")
	}
}

// Engines built on the same frozen files share their set, and what one engine's admin API
// changes (a file's user deleted, a user declared) is its own: the shared set, and the
// other engine, still answer the file's users.
func TestEnginesOnFrozenFilesKeepTheirChangesApart(t *testing.T) {
	files := frozenBuiltin(t)
	a, err := NewEngine(0, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewEngine(0, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Set() != b.Set() {
		t.Fatal("two engines on the same frozen files compiled the set twice")
	}
	shared := a.Set()
	if err := a.DeleteUser(t.Context(), "user_active"); err != nil {
		t.Fatal(err)
	}
	if err := a.Load(files); err != nil { // a reload compiles the files again, the deletion kept
		t.Fatal(err)
	}
	if err := putUser(a, "qa_own", "scenario: active\n"); err != nil {
		t.Fatal(err)
	}
	if a.Set().User("user_active") != nil || a.Set().User("qa_own") == nil {
		t.Errorf("engine a: user_active %v, qa_own %v; want deleted and declared", a.Set().User("user_active") != nil, a.Set().User("qa_own") != nil)
	}
	for name, s := range map[string]*Set{"the shared set": shared, "engine b's set": b.Set()} {
		if s.User("user_active") == nil || s.User("qa_own") != nil {
			t.Errorf("%s: user_active %v, qa_own %v; want engine a's changes kept out", name, s.User("user_active") != nil, s.User("qa_own") != nil)
		}
	}
}
