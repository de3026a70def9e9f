package recording

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idvmock/idvmock"
)

// Masking. openapi.yaml marks what is personal in the Get Result object with extensions:
//
//	x-idvmock-personal: true   the value, and every string below it, declared or not
//	x-idvmock-personal: false  not personal, below a personal value
//	x-idvmock-personal: media  a photo or video (URL or base64) of the person
//	x-idvmock-kept-values: [PENDING, ERROR]  values of a marked field that are not personal
//
// A masked string keeps what the schema requires of it: an enum's first value, 1970-01-01
// for a date, a placeholder URL for media; else masked-<8 hex digits of its HMAC>. A number
// or boolean is masked only when its own schema is marked (to the schema's minimum or 0, and
// false).
const (
	personalExtension   = "x-idvmock-personal"
	keptValuesExtension = "x-idvmock-kept-values"
	maskedMediaURL      = "https://files.idvmock.invalid/masked/"
)

// getResultSchema is openapi.yaml's GetResult (of the shared, read-only Spec), its marks
// checked.
var getResultSchema = sync.OnceValues(func() (*openapi3.Schema, error) {
	doc, err := idvmock.Spec()
	if err != nil {
		return nil, err
	}
	ref := doc.Components.Schemas["GetResult"]
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("openapi.yaml: components.schemas.GetResult is missing; recordings are masked by its %s marks", personalExtension)
	}
	if err := checkMarks(ref.Value, "components.schemas.GetResult", map[*openapi3.Schema]bool{}); err != nil {
		return nil, err
	}
	return ref.Value, nil
})

// checkMarks refuses a mark the masker would not understand.
func checkMarks(s *openapi3.Schema, at string, seen map[*openapi3.Schema]bool) error {
	if s == nil || seen[s] {
		return nil
	}
	seen[s] = true
	if v, ok := s.Extensions[personalExtension]; ok && v != true && v != false && v != "media" {
		return fmt.Errorf("openapi.yaml: %s: %s is %v: write true, false or media", at, personalExtension, v)
	}
	if v, ok := s.Extensions[keptValuesExtension]; ok {
		list, isList := v.([]any)
		for _, e := range list {
			if _, isString := e.(string); !isString {
				isList = false
			}
		}
		if !isList {
			return fmt.Errorf("openapi.yaml: %s: %s is %v: write a list of strings", at, keptValuesExtension, v)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		if err := checkMarks(s.Properties[name].Value, at+".properties."+name, seen); err != nil {
			return err
		}
	}
	if s.Items != nil {
		if err := checkMarks(s.Items.Value, at+".items", seen); err != nil {
			return err
		}
	}
	if s.AdditionalProperties.Schema != nil {
		if err := checkMarks(s.AdditionalProperties.Schema.Value, at+".additionalProperties", seen); err != nil {
			return err
		}
	}
	for kind, subs := range map[string]openapi3.SchemaRefs{"allOf": s.AllOf, "anyOf": s.AnyOf, "oneOf": s.OneOf} {
		for i, sub := range subs {
			if err := checkMarks(sub.Value, fmt.Sprintf("%s.%s[%d]", at, kind, i), seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// masker masks a Get Result object as its schema marks it, keyed with key.
type masker struct {
	key    []byte
	schema *openapi3.Schema
}

// Mask returns a copy of a Get Result object with the values openapi.yaml marks personal
// replaced by placeholders: the same value gets the same placeholder for this Recorder,
// another one for another Recorder. result is not changed.
func (r *Recorder) Mask(result map[string]any) map[string]any {
	return r.mask.value(result, r.mask.schema, false, false).(map[string]any)
}

// value masks v, described by s (nil: a value the schema does not declare); personal and
// media are the marks inherited from above.
func (m masker) value(v any, s *openapi3.Schema, personal, media bool) any {
	mark, marked := markOf(s)
	if marked {
		personal, media = mark != false, mark == "media"
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = m.value(e, propertyOf(s, k), personal, media)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.value(e, itemsOf(s), personal, media)
		}
		return out
	case string:
		if personal {
			return m.maskString(x, s, media)
		}
	case json.Number, float64:
		if personal && marked {
			if e := enumOf(s); len(e) > 0 {
				return e[0]
			}
			if s.Min != nil {
				return json.Number(strconv.FormatFloat(*s.Min, 'f', -1, 64))
			}
			return json.Number("0")
		}
	case bool:
		if personal && marked {
			return false
		}
	}
	return v
}

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// maskString replaces a personal string by a value its schema s still accepts.
func (m masker) maskString(x string, s *openapi3.Schema, media bool) string {
	if s != nil {
		if kept, _ := s.Extensions[keptValuesExtension].([]any); slices.Contains(kept, any(x)) {
			return x
		}
		for _, e := range enumOf(s) {
			if str, ok := e.(string); ok {
				return str
			}
		}
	}
	switch {
	case media:
		return maskedMediaURL + m.sum(x, 16) + ".jpg"
	case s == nil && isoDate.MatchString(x): // an undeclared date stays a date
		return "1970-01-01"
	case s == nil:
		return "masked-" + m.sum(x, 8)
	case s.Format == "date":
		return "1970-01-01"
	case s.Format == "date-time":
		return "1970-01-01T00:00:00Z"
	}
	masked := "masked-" + m.sum(x, 8)
	if s.Pattern != "" {
		if re, err := regexp.Compile(s.Pattern); err == nil && !re.MatchString(masked) && re.MatchString("1970-01-01") {
			return "1970-01-01" // a date by its pattern
		}
	}
	return masked
}

// sum is the first n hex digits of the HMAC-SHA256 of x. A long value (a base64 image) is
// fed in pieces, not copied whole.
func (m masker) sum(x string, n int) string {
	h := hmac.New(sha256.New, m.key)
	buf := make([]byte, min(len(x), 32<<10))
	for len(x) > 0 {
		k := copy(buf, x)
		h.Write(buf[:k])
		x = x[k:]
	}
	return hex.EncodeToString(h.Sum(nil))[:n]
}

// markOf reads the personal mark of s, or of the schemas it is allOf.
func markOf(s *openapi3.Schema) (mark any, ok bool) {
	if s == nil {
		return nil, false
	}
	if mark, ok := s.Extensions[personalExtension]; ok {
		return mark, true
	}
	for _, sub := range s.AllOf {
		if mark, ok := markOf(sub.Value); ok {
			return mark, true
		}
	}
	return nil, false
}

// propertyOf is the schema of property k of an object described by s, nil when undeclared.
func propertyOf(s *openapi3.Schema, k string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if p := s.Properties[k]; p != nil {
		return p.Value
	}
	for _, sub := range s.AllOf {
		if p := propertyOf(sub.Value, k); p != nil {
			return p
		}
	}
	if s.AdditionalProperties.Schema != nil {
		return s.AdditionalProperties.Schema.Value
	}
	return nil
}

// itemsOf is the schema of the items of an array described by s.
func itemsOf(s *openapi3.Schema) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if s.Items != nil {
		return s.Items.Value
	}
	for _, sub := range s.AllOf {
		if items := itemsOf(sub.Value); items != nil {
			return items
		}
	}
	return nil
}

// enumOf is the enum of s, or of the schemas it is allOf; null is left out.
func enumOf(s *openapi3.Schema) []any {
	if s == nil {
		return nil
	}
	var out []any
	for _, e := range s.Enum {
		if e != nil {
			out = append(out, e)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, sub := range s.AllOf {
		if e := enumOf(sub.Value); len(e) > 0 {
			return e
		}
	}
	return nil
}

// plainNumbers turns json.Numbers into int64 or float64, which YAML writes as numbers.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plainNumbers(e)
		}
	}
	return v
}
