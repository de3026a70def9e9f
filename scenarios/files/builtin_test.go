package files

import (
	"strings"
	"testing"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

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

// Every result the built-in files give with BuiltinCheckedSeed conforms to openapi.yaml and
// the consistency rules: the check a start skips for them (they are trusted) is made here, on
// copies parsed afresh, which nobody trusts, so engine.New makes it in full.
func TestBuiltinResultsConform(t *testing.T) {
	trusted, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var fresh []*scenarios.File
	for _, f := range trusted {
		if !f.ResultsTrusted(BuiltinCheckedSeed) || f.ResultsTrusted(BuiltinCheckedSeed+1) {
			t.Fatalf("%s: trusted with seed %d: %v, with another: %v", f.Name(), BuiltinCheckedSeed,
				f.ResultsTrusted(BuiltinCheckedSeed), f.ResultsTrusted(BuiltinCheckedSeed+1))
		}
		data, err := builtinFiles.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		g, err := Parse(f.Name(), strings.NewReader(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		if g.ResultsTrusted(BuiltinCheckedSeed) {
			t.Fatal("a file parsed afresh is trusted")
		}
		fresh = append(fresh, g)
	}
	if _, err := engine.New(BuiltinCheckedSeed, fresh...); err != nil {
		t.Fatalf("the built-in files' results with seed %d:\n%v", BuiltinCheckedSeed, err)
	}
}

// A file is trusted only once frozen, and only for the seeds it was trusted with.
func TestOnlyFrozenFilesAreTrusted(t *testing.T) {
	f := scenarios.NewFile("a.yaml", nil).TrustResults(0)
	if f.ResultsTrusted(0) {
		t.Error("a file trusted before it was frozen")
	}
	f.Freeze().TrustResults(7)
	if !f.ResultsTrusted(7) || f.ResultsTrusted(0) || f.ResultsTrusted(8) {
		t.Errorf("trusted with 7: %v, 0: %v, 8: %v", f.ResultsTrusted(7), f.ResultsTrusted(0), f.ResultsTrusted(8))
	}
}
