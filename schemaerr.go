package idvmock

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// SchemaFinding is what one keyword of openapi.yaml wanted of a value, read from
// kin-openapi's SchemaError: the one translation of it that the mock's messages, lint and
// the contract checker build their words on.
type SchemaFinding struct {
	Pointer  []string // where the value is; for required and additionalProperties, the property's place
	Keyword  string   // the schema keyword that failed: type, maxLength, enum, required, ...
	Expected string   // what the keyword wanted, in words: "at most 255 characters"
	Reason   string   // kin-openapi's reason
	Value    any      // the value that failed
	Schema   *openapi3.Schema
}

var quotedProperty = regexp.MustCompile(`property "([^"]+)"`)

// ExplainSchemaError reads a SchemaError.
func ExplainSchemaError(e *openapi3.SchemaError) SchemaFinding {
	f := SchemaFinding{Pointer: e.JSONPointer(), Keyword: e.SchemaField, Reason: e.Reason, Value: e.Value, Schema: e.Schema}
	s := e.Schema
	switch e.SchemaField {
	case "required":
		if m := quotedProperty.FindStringSubmatch(e.Reason); m != nil && (len(f.Pointer) == 0 || f.Pointer[len(f.Pointer)-1] != m[1]) {
			f.Pointer = append(f.Pointer, m[1])
		}
		f.Expected = "a value (the property is required)"
	case "additionalProperties":
		if m := quotedProperty.FindStringSubmatch(e.Reason); m != nil {
			f.Pointer = append(f.Pointer, m[1])
		}
		f.Expected = "no such property (the schema allows no other properties)"
	case "enum":
		f.Expected = "one of " + compactJSON(s.Enum)
	case "type", "nullable":
		f.Expected = "a value of type " + TypeText(s)
	case "pattern":
		f.Expected = fmt.Sprintf("a string matching %s", s.Pattern)
	case "maxLength":
		f.Expected = fmt.Sprintf("at most %d characters", *s.MaxLength)
	case "minLength":
		f.Expected = fmt.Sprintf("at least %d characters", s.MinLength)
	case "minimum":
		f.Expected = fmt.Sprintf("a number >= %v", *s.Min)
	case "maximum":
		f.Expected = fmt.Sprintf("a number <= %v", *s.Max)
	case "discriminator":
		f.Pointer = []string{"code"}
		f.Expected = "a code the schema's discriminator maps"
	default:
		f.Expected = fmt.Sprintf("a value that satisfies %q: %s", e.SchemaField, e.Reason)
	}
	return f
}

// TypeText names the types a schema allows: "string", "integer or null".
func TypeText(s *openapi3.Schema) string {
	types := "any type"
	if s.Type != nil && len(s.Type.Slice()) > 0 {
		types = strings.Join(s.Type.Slice(), " or ")
	}
	if s.Nullable {
		types += " or null"
	}
	return types
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
