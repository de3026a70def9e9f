package files

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/idvmock/idvmock/scenarios"
)

// The Go types that read scenario files and the JSON Schema editors use (generated from
// openapi.yaml) declare the same keys.
func TestGoTypesAndJSONSchemaAgree(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "scenarios.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Definitions map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	for name, typ := range map[string]reflect.Type{
		"ScenarioFile":    reflect.TypeOf(scenarios.File{}),
		"ScenarioUser":    reflect.TypeOf(scenarios.UserSpec{}),
		"ScenarioProfile": reflect.TypeOf(scenarios.ProfileSpec{}),
		"ScenarioState":   reflect.TypeOf(scenarios.StateSpec{}),
		"ScenarioSession": reflect.TypeOf(scenarios.SessionSpec{}),
		"ScenarioRule":    reflect.TypeOf(scenarios.RuleSpec{}),
		"ScenarioMatch":   reflect.TypeOf(scenarios.MatchSpec{}),
		"ScenarioFault":   reflect.TypeOf(scenarios.FaultSpec{}),
	} {
		var goKeys, schemaKeys []string
		for k := range yamlFields(typ) {
			goKeys = append(goKeys, k)
		}
		for k := range schema.Definitions[name].Properties {
			schemaKeys = append(schemaKeys, k)
		}
		sort.Strings(goKeys)
		sort.Strings(schemaKeys)
		if !reflect.DeepEqual(goKeys, schemaKeys) {
			t.Errorf("%s:\n Go keys     %v\n schema keys %v", name, goKeys, schemaKeys)
		}
	}
}

// Every valid fixture and every shipped example validates against the JSON Schema; the
// invalid fixtures about unknown keys do not.
func TestFilesAgainstTheJSONSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join("..", "..", "docs", "scenarios.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	valid, _ := filepath.Glob(filepath.Join("testdata", "valid", "*.yaml"))
	examples, _ := filepath.Glob(filepath.Join("..", "..", "examples", "scenarios", "*.yaml"))
	builtin, _ := filepath.Glob(filepath.Join("builtin", "*.yaml"))
	files := append(append(valid, examples...), builtin...)
	if len(files) < 8 {
		t.Fatalf("only %d files", len(files))
	}
	for _, path := range files {
		if err := sch.Validate(yamlAsJSON(t, path)); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	for _, name := range []string{"unknown-key.yaml", "unknown-top-key.yaml", "fault-unknown-type.yaml", "bad-profile-status.yaml"} {
		if err := sch.Validate(yamlAsJSON(t, filepath.Join("testdata", "invalid", name))); err == nil {
			t.Errorf("%s passes the JSON Schema", name)
		}
	}
}

// yamlAsJSON reads a YAML file as the JSON value an editor's schema check sees.
func yamlAsJSON(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
