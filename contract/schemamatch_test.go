package contract

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// kinVerdict is what the checker asked kin-openapi before matchers: does value conform?
func kinVerdict(s *openapi3.Schema, value any) verdict {
	if s.VisitJSON(value, openapi3.MultiErrors(), openapi3.VisitAsResponse(), openapi3.DisableSchemaErrorDetails()) != nil {
		return breaks
	}
	return conforms
}

// matchValue is m's verdict on value's JSON.
func matchValue(m *matcher, value any) verdict {
	b, err := json.Marshal(value)
	if err != nil {
		panic(err)
	}
	t, ok := scanJSON(b)
	if !ok {
		panic("json.Marshal gave invalid JSON: " + string(b))
	}
	defer t.release()
	return m.match(t, 0)
}

// variants are body and bodies that differ from it in one place: each value replaced by
// values of every JSON type (the nearest a schema can tell apart), each property removed,
// an unknown property added to each object.
func variants(body any) []any {
	replacements := []any{nil, "", "SUCCESS", "PHL", "phl", "2024-02-30",
		json.Number("-1"), json.Number("1.5"), json.Number("100"), json.Number("1e400"), json.Number("9223372036854775808"), json.Number("1e19"),
		true, []any{"x"}, map[string]any{}}
	var out []any
	var walk func(v any, set func(any))
	walk = func(v any, set func(any)) {
		for _, r := range replacements {
			set(r)
			out = append(out, deepCopy(body))
		}
		set(v)
		switch x := v.(type) {
		case map[string]any:
			x["unknownProperty"] = "x"
			out = append(out, deepCopy(body))
			delete(x, "unknownProperty")
			for _, k := range slices.Sorted(mapsKeys(x)) {
				child := x[k]
				delete(x, k)
				out = append(out, deepCopy(body))
				x[k] = child
				walk(child, func(n any) { x[k] = n })
			}
		case []any:
			for i := range x {
				walk(x[i], func(n any) { x[i] = n })
			}
		}
	}
	walk(body, func(any) {})
	return append(out, body)
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// A matcher says a body conforms exactly when kin-openapi's visit finds no error, and that
// it breaks exactly when it finds one: for every schema of the vendor's answers, the
// fixtures' bodies and their variants.
func TestMatchersAgreeWithKinOpenAPI(t *testing.T) {
	c := newChecker(t)
	var bodies []any
	seen := map[string]bool{}
	for _, r := range fixtureExchanges(t) {
		if env, err := decodeObject(r.Body); err == nil {
			if b, _ := json.Marshal(env); !seen[string(b)] {
				seen[string(b)] = true
				bodies = append(bodies, env)
			}
		}
	}
	if len(bodies) < 20 {
		t.Fatalf("only %d bodies: the fixtures were not found", len(bodies))
	}
	var schemas []*openapi3.Schema
	for s, m := range c.matchers {
		if len(m.oneOf) > 0 { // the envelopes, whose branches are the other schemas
			schemas = append(schemas, s)
		}
	}
	if len(schemas) < 5 {
		t.Fatalf("only %d envelope schemas prepared", len(schemas))
	}
	told, checked := 0, 0
	// A quarter of the pairs, for the test's time: every variant meets a schema. Under the race
	// detector, ten times slower, about every 4th variant, each against the next schema in turn.
	pick := func(n int) bool { return n%4 == 0 }
	if raceDetector || testing.Short() {
		pick = func(n int) bool { return n%(4*len(schemas)+1) == 0 }
	}
	n := 0
	for _, body := range bodies {
		for _, v := range variants(body) {
			for _, s := range schemas {
				if n++; !pick(n) {
					continue
				}
				got, want := matchValue(c.matchers[s], v), kinVerdict(s, v)
				checked++
				if got == unknown {
					continue
				}
				told++
				if got != want {
					b, _ := json.Marshal(v)
					t.Fatalf("matcher says %d, kin-openapi %d, for %s", got, want, b)
				}
			}
		}
	}
	if told < checked*9/10 {
		t.Errorf("the matchers told only %d of %d verdicts", told, checked)
	}
	t.Logf("%d verdicts, %d told by matchers", checked, told)
}

// A schema whose oneOf reaches itself is left to kin-openapi, whose cycle detection
// answers it; so is a keyword matchers do not follow.
func TestMatchersLeaveWhatTheyDoNotFollow(t *testing.T) {
	loop := &openapi3.Schema{}
	loop.OneOf = openapi3.SchemaRefs{{Value: loop}, {Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}}}}
	ms := newMatcherSet()
	m := ms.prepare(&openapi3.SchemaRef{Value: loop})
	ms.distrustCycles()
	if got := matchValue(m, "x"); got != unknown {
		t.Errorf("a oneOf cycle: %d, want unknown", got)
	}
	unique := &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray}, UniqueItems: true}
	ms = newMatcherSet()
	if got := matchValue(ms.prepare(&openapi3.SchemaRef{Value: unique}), []any{"a", "a"}); got != unknown {
		t.Errorf("uniqueItems: %d, want unknown", got)
	}
	obj := &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject},
		Properties: openapi3.Schemas{"secret": {Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, WriteOnly: true}}}}
	ms = newMatcherSet()
	if got := matchValue(ms.prepare(&openapi3.SchemaRef{Value: obj}), map[string]any{"secret": "x"}); got != unknown {
		t.Errorf("a writeOnly property: %d, want unknown", got)
	}
}
