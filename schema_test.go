package idvmock

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite generated files (docs/scenarios.schema.json) from openapi.yaml")

// schemaFile is the JSON Schema of scenario files, for editors. It is generated from the
// Scenario* schemas of openapi.yaml, the one place the format is declared.
var schemaFile = filepath.Join("docs", "scenarios.schema.json")

// TestScenarioJSONSchemaIsCurrent fails when docs/scenarios.schema.json is not what
// openapi.yaml gives; run `go test . -run JSONSchema -update` after changing the spec.
func TestScenarioJSONSchemaIsCurrent(t *testing.T) {
	got := scenarioJSONSchema(t)
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test . -run JSONSchema -update", schemaFile)
	}
}

// scenarioJSONSchema converts the ScenarioFile schema of openapi.yaml and every schema it
// refers to into a draft-07 JSON Schema: references move to #/definitions, nullable becomes a
// null type, and OpenAPI 3.0's boolean exclusiveMinimum becomes draft-07's number.
func scenarioJSONSchema(t *testing.T) []byte {
	t.Helper()
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(doc.Components.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	defs := map[string]any{}
	var collect func(name string)
	collect = func(name string) {
		if _, done := defs[name]; done {
			return
		}
		s := convertSchema(all[name])
		defs[name] = s
		for _, ref := range refsIn(s) {
			collect(ref)
		}
	}
	collect("ScenarioFile")
	root := map[string]any{
		"$schema":     "http://json-schema.org/draft-07/schema#",
		"$id":         "https://idvmock.invalid/scenarios.schema.json",
		"title":       "idvmock scenario file",
		"description": "Generated from openapi.yaml (components/schemas/Scenario*) by `go test . -run JSONSchema -update`; see docs/scenarios.md.",
		"allOf":       []any{map[string]any{"$ref": "#/definitions/ScenarioFile"}},
		"definitions": defs,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func convertSchema(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			out[k] = convertSchema(val)
		}
		if ref, ok := out["$ref"].(string); ok {
			out["$ref"] = strings.Replace(ref, "#/components/schemas/", "#/definitions/", 1)
		}
		if out["nullable"] == true {
			delete(out, "nullable")
			if typ, ok := out["type"].(string); ok {
				out["type"] = []any{typ, "null"}
			}
		}
		if out["exclusiveMinimum"] == true {
			out["exclusiveMinimum"] = out["minimum"]
			delete(out, "minimum")
		}
		return out
	case []any:
		for i := range x {
			x[i] = convertSchema(x[i])
		}
		return x
	}
	return v
}

// refsIn lists the schema names v refers to, sorted.
func refsIn(v any) []string {
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				seen[strings.TrimPrefix(ref, "#/definitions/")] = true
			}
			for _, val := range x {
				walk(val)
			}
		case []any:
			for _, val := range x {
				walk(val)
			}
		}
	}
	walk(v)
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
