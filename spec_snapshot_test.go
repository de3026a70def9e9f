package idvmock

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/format"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// snapshotFile is the Go code that builds the document openapi.yaml parses to, so that a start
// does not parse it (Spec). It is generated from openapi.yaml by this test.
const snapshotFile = "spec_snapshot.go"

// TestSpecSnapshotIsCurrent fails when spec_snapshot.go is not what openapi.yaml gives; run
// `go test . -run SpecSnapshot -update` after changing the spec. (Until then Spec parses
// openapi.yaml, as the snapshot's checksum no longer matches: the mock serves the new spec,
// only slower to start.)
func TestSpecSnapshotIsCurrent(t *testing.T) {
	doc, err := parseSpec(OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	got, err := generateSnapshot(doc, OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(snapshotFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(snapshotFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test . -run SpecSnapshot -update", snapshotFile)
	}
	if !snapshotCurrent(OpenAPI) {
		t.Errorf("%s does not carry the checksum of openapi.yaml", snapshotFile)
	}
}

// The snapshot builds the very document the loader makes of openapi.yaml: every field of
// every object, unexported ones included (the loader's note of where a $ref pointed aside,
// which only matters to documents spread over several files), and the same objects shared
// where the loader shares one (a $ref and its component).
func TestSpecSnapshotBuildsTheParsedDocument(t *testing.T) {
	parsed, err := parseSpec(OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameDocument(reflect.ValueOf(parsed), reflect.ValueOf(specSnapshot()), "doc", map[uintptr]uintptr{}); err != nil {
		t.Fatal(err)
	}
	if a, b := specSnapshot(), specSnapshot(); a == b || a.Components.Schemas["GetResult"].Value == b.Components.Schemas["GetResult"].Value {
		t.Error("two snapshots share objects")
	}
}

// A checksum that is not openapi.yaml's makes Spec parse openapi.yaml instead.
func TestSpecSnapshotIsUsedOnlyForItsSpec(t *testing.T) {
	if !snapshotCurrent(OpenAPI) {
		t.Fatal("the snapshot is stale")
	}
	if snapshotCurrent(append(slices.Clip(OpenAPI), '\n')) {
		t.Error("the snapshot is taken for another document")
	}
}

// BenchmarkSpecSnapshot is what a start pays for openapi.yaml's document (Spec).
func BenchmarkSpecSnapshot(b *testing.B) {
	for b.Loop() {
		if !snapshotCurrent(OpenAPI) || specSnapshot() == nil {
			b.Fatal("no snapshot")
		}
	}
}

// BenchmarkParseSpec is what it paid before the snapshot, and what Spec pays when the
// snapshot is stale.
func BenchmarkParseSpec(b *testing.B) {
	for b.Loop() {
		if _, err := parseSpec(OpenAPI); err != nil {
			b.Fatal(err)
		}
	}
}

// sameDocument reports the first difference between a and b, reached at path. seen pairs
// the pointers of a met so far with those of b, so that an object shared in a is shared in
// b alike.
func sameDocument(a, b reflect.Value, path string, seen map[uintptr]uintptr) error {
	if a.Type() != b.Type() {
		return fmt.Errorf("%s: %v, want %v", path, b.Type(), a.Type())
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Errorf("%s: nil %v, want nil %v", path, b.IsNil(), a.IsNil())
			}
			return nil
		}
		if p, ok := seen[a.Pointer()]; ok {
			if p != b.Pointer() {
				return fmt.Errorf("%s: an object the document shares is not shared alike", path)
			}
			return nil
		}
		seen[a.Pointer()] = b.Pointer()
		return sameDocument(a.Elem(), b.Elem(), path, seen)
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Errorf("%s: nil %v, want nil %v", path, b.IsNil(), a.IsNil())
			}
			return nil
		}
		return sameDocument(a.Elem(), b.Elem(), path, seen)
	case reflect.Struct:
		for i := range a.NumField() {
			if f := a.Type().Field(i); f.Name != "refPath" {
				if err := sameDocument(a.Field(i), b.Field(i), path+"."+f.Name, seen); err != nil {
					return err
				}
			}
		}
		return nil
	case reflect.Slice, reflect.Array:
		if a.Kind() == reflect.Slice && a.IsNil() != b.IsNil() {
			return fmt.Errorf("%s: nil %v, want nil %v", path, b.IsNil(), a.IsNil())
		}
		if a.Len() != b.Len() {
			return fmt.Errorf("%s: %d elements, want %d", path, b.Len(), a.Len())
		}
		for i := range a.Len() {
			if err := sameDocument(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), seen); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return fmt.Errorf("%s: %d entries (nil %v), want %d (nil %v)", path, b.Len(), b.IsNil(), a.Len(), a.IsNil())
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Errorf("%s: no %v", path, k)
			}
			if err := sameDocument(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", path, k), seen); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if a.String() != b.String() {
			return fmt.Errorf("%s: %q, want %q", path, b.String(), a.String())
		}
	case reflect.Bool:
		if a.Bool() != b.Bool() {
			return fmt.Errorf("%s: %v, want %v", path, b.Bool(), a.Bool())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if a.Int() != b.Int() {
			return fmt.Errorf("%s: %v, want %v", path, b.Int(), a.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if a.Uint() != b.Uint() {
			return fmt.Errorf("%s: %v, want %v", path, b.Uint(), a.Uint())
		}
	case reflect.Float32, reflect.Float64:
		if a.Float() != b.Float() {
			return fmt.Errorf("%s: %v, want %v", path, b.Float(), a.Float())
		}
	case reflect.Func:
		if !a.IsNil() || !b.IsNil() {
			return fmt.Errorf("%s: a function", path)
		}
	default:
		return fmt.Errorf("%s: cannot compare a %v", path, a.Kind())
	}
	return nil
}

// generateSnapshot writes the Go code of specSnapshot, which builds doc, parsed from data.
// Objects doc holds in more than one place are preallocated, by type, in a snapObjects (as
// &o.Schema[3]) and filled by statements grouped in functions of a bounded size; the others
// are written in place. Paths, Responses and Callback keep their entries in an unexported
// map: snapSet fills it with their Set method.
func generateSnapshot(doc *openapi3.T, data []byte) ([]byte, error) {
	g := &snapGen{count: map[uintptr]int{}, names: map[uintptr]string{}, sizes: map[string]int{}}
	g.countPointers(reflect.ValueOf(doc))
	root := g.expr(reflect.ValueOf(doc))
	if g.err != nil {
		return nil, g.err
	}
	sum := sha256.Sum256(data)
	var b strings.Builder
	b.WriteString("// Code generated by go test . -run SpecSnapshot -update from openapi.yaml. DO NOT EDIT.\n\n")
	b.WriteString("package idvmock\n\nimport \"github.com/getkin/kin-openapi/openapi3\"\n\n")
	fmt.Fprintf(&b, "// snapshotSum is the SHA-256 of the openapi.yaml specSnapshot was generated from.\nconst snapshotSum = %q\n\n", hex.EncodeToString(sum[:]))
	types := make([]string, 0, len(g.sizes))
	for t := range g.sizes {
		types = append(types, t)
	}
	sort.Strings(types)
	b.WriteString("// snapObjects holds the objects the document shares, by type.\ntype snapObjects struct {\n")
	for _, t := range types {
		fmt.Fprintf(&b, "\t%s []openapi3.%s\n", t, t)
	}
	b.WriteString("}\n\n")
	const perFunc = 40
	fills := 0
	for i := 0; i < len(g.fills); i += perFunc {
		fmt.Fprintf(&b, "func (o *snapObjects) fill%d() {\n", fills)
		for _, s := range g.fills[i:min(i+perFunc, len(g.fills))] {
			b.WriteString(s)
			b.WriteString("\n")
		}
		b.WriteString("}\n\n")
		fills++
	}
	b.WriteString("// specSnapshot builds the document openapi.yaml parses to, new at each call.\nfunc specSnapshot() *openapi3.T {\n\to := &snapObjects{\n")
	for _, t := range types {
		fmt.Fprintf(&b, "\t\t%s: make([]openapi3.%s, %d),\n", t, t, g.sizes[t])
	}
	b.WriteString("\t}\n")
	for i := range fills {
		fmt.Fprintf(&b, "\to.fill%d()\n", i)
	}
	fmt.Fprintf(&b, "\treturn %s\n}\n", root)
	return format.Source([]byte(b.String()))
}

type snapGen struct {
	count map[uintptr]int    // how often each pointer to a struct is met
	names map[uintptr]string // the expression of each shared object
	sizes map[string]int     // shared objects by type name
	fills []string
	err   error
}

const openapi3Path = "github.com/getkin/kin-openapi/openapi3"

func (g *snapGen) fail(format string, args ...any) string {
	if g.err == nil {
		g.err = fmt.Errorf(format, args...)
	}
	return "nil"
}

// countPointers counts how often each pointer to a struct is met, walking each object once.
func (g *snapGen) countPointers(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if v.Elem().Kind() == reflect.Struct {
			g.count[v.Pointer()]++
			if g.count[v.Pointer()] > 1 {
				return
			}
		}
		g.countPointers(v.Elem())
	case reflect.Interface:
		if !v.IsNil() {
			g.countPointers(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).Name != "refPath" {
				g.countPointers(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			g.countPointers(v.Index(i))
		}
	case reflect.Map:
		for _, k := range sortedKeys(v) {
			g.countPointers(v.MapIndex(k))
		}
	}
}

func sortedKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

// typeName is t as Go code in the generated file.
func (g *snapGen) typeName(t reflect.Type) string {
	if t.Name() != "" {
		switch t.PkgPath() {
		case "":
			return t.Name()
		case openapi3Path:
			return "openapi3." + t.Name()
		}
		return g.fail("a value of type %v", t)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + g.typeName(t.Elem())
	case reflect.Slice:
		return "[]" + g.typeName(t.Elem())
	case reflect.Map:
		return "map[" + g.typeName(t.Key()) + "]" + g.typeName(t.Elem())
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any"
		}
	}
	return g.fail("a value of type %v", t)
}

// mapLike reports whether t keeps its entries in an unexported map m (Paths, Responses,
// Callback).
func mapLike(t reflect.Type) bool {
	f, ok := t.FieldByName("m")
	return ok && !f.IsExported() && f.Type.Kind() == reflect.Map
}

// expr is v as a Go expression.
func (g *snapGen) expr(v reflect.Value) string {
	t := v.Type()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "nil"
		}
		e := v.Elem()
		if e.Kind() != reflect.Struct {
			return "snapPtr(" + g.typed(e) + ")"
		}
		if name, ok := g.names[v.Pointer()]; ok {
			return name
		}
		if g.count[v.Pointer()] > 1 {
			if e.Type().PkgPath() != openapi3Path {
				return g.fail("a shared %v", e.Type())
			}
			field := e.Type().Name()
			name := fmt.Sprintf("&o.%s[%d]", field, g.sizes[field])
			g.sizes[field]++
			g.names[v.Pointer()] = name
			fill := name[1:] + " = " + g.structLit(e)
			if mapLike(e.Type()) {
				fill += "\n" + g.setEntries(name, e)
			}
			g.fills = append(g.fills, fill)
			return name
		}
		if mapLike(e.Type()) {
			return g.setEntries("&"+g.structLit(e), e)
		}
		return "&" + g.structLit(e)
	case reflect.Interface:
		if v.IsNil() {
			return "nil"
		}
		return g.typed(v.Elem())
	case reflect.Struct:
		return g.structLit(v)
	case reflect.Slice:
		if v.IsNil() {
			return "nil"
		}
		var b strings.Builder
		b.WriteString(g.typeName(t) + "{\n")
		for i := range v.Len() {
			b.WriteString(g.expr(v.Index(i)) + ",\n")
		}
		b.WriteString("}")
		return b.String()
	case reflect.Map:
		if v.IsNil() {
			return "nil"
		}
		if t.Key().Kind() != reflect.String {
			return g.fail("a map of %v", t)
		}
		var b strings.Builder
		b.WriteString(g.typeName(t) + "{\n")
		for _, k := range sortedKeys(v) {
			b.WriteString(g.expr(k) + ": " + g.expr(v.MapIndex(k)) + ",\n")
		}
		b.WriteString("}")
		return b.String()
	case reflect.String:
		if t.Name() != "string" {
			return g.typeName(t) + "(" + strconv.Quote(v.String()) + ")"
		}
		return strconv.Quote(v.String())
	case reflect.Bool:
		if t.Name() != "bool" {
			return g.typeName(t) + "(" + strconv.FormatBool(v.Bool()) + ")"
		}
		return strconv.FormatBool(v.Bool())
	}
	return g.typed(v)
}

// typed is v as an expression of its own type, even where an untyped constant would take
// another one (in an any).
func (g *snapGen) typed(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return g.typeName(v.Type()) + "(" + strconv.FormatInt(v.Int(), 10) + ")"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return g.typeName(v.Type()) + "(" + strconv.FormatUint(v.Uint(), 10) + ")"
	case reflect.Float32, reflect.Float64:
		return g.typeName(v.Type()) + "(" + strconv.FormatFloat(v.Float(), 'g', -1, 64) + ")"
	case reflect.String, reflect.Bool, reflect.Slice, reflect.Map, reflect.Pointer, reflect.Struct:
		return g.expr(v)
	}
	return g.fail("a %v in an interface", v.Type())
}

// structLit is the struct v as a composite literal of its exported fields that are not
// zero. An unexported field must be zero, but for the loader's refPath and the entries of a
// map-like type (setEntries).
func (g *snapGen) structLit(v reflect.Value) string {
	t := v.Type()
	var b strings.Builder
	b.WriteString(g.typeName(t) + "{\n")
	for i := range v.NumField() {
		f, fv := t.Field(i), v.Field(i)
		switch {
		case !f.IsExported():
			if f.Name != "refPath" && !(f.Name == "m" && mapLike(t)) && !fv.IsZero() {
				return g.fail("%v.%s is set", t, f.Name)
			}
		case !fv.IsZero():
			b.WriteString(f.Name + ": " + g.expr(fv) + ",\n")
		}
	}
	b.WriteString("}")
	return b.String()
}

// setEntries is ptr, an expression of the map-like v's address, with v's entries set.
func (g *snapGen) setEntries(ptr string, v reflect.Value) string {
	m := v.FieldByName("m")
	if m.IsNil() {
		return ptr
	}
	var keys, values strings.Builder
	for _, k := range sortedKeys(m) {
		keys.WriteString(strconv.Quote(k.String()) + ",\n")
		values.WriteString(g.expr(m.MapIndex(k)) + ",\n")
	}
	return fmt.Sprintf("snapSet(%s, []string{\n%s}, []%s{\n%s})", ptr, keys.String(), g.typeName(m.Type().Elem()), values.String())
}
