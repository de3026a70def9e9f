package files

import "testing"

// The built-in files are parsed once per process and frozen: every call gives the same
// files, in a slice of its own.
func TestBuiltinIsParsedOnceAndFrozen(t *testing.T) {
	a, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d built-in files", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] || !a[i].Frozen() {
			t.Errorf("%s: parsed again %v, frozen %v", a[i].Name(), a[i] != b[i], a[i].Frozen())
		}
	}
	a[0] = nil
	if b[0] == nil {
		t.Error("two calls share their slice")
	}
}
