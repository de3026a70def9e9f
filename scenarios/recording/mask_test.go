package recording

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/contract"
)

// Masks are keyed with a secret of each Recorder: a placeholder is not the plain SHA-256 of
// the value (found by hashing guesses, e.g. "FEMALE"), it is the same for the same value within
// a run, and another run gives other placeholders.
func TestMasksAreKeyedPerRun(t *testing.T) {
	result := resultOfEnvelope(mockEnvelope(t, "user_keyed"))
	doc := result["docDetail"].(map[string]any)
	doc["gender"], doc["firstName"], doc["lastName"], doc["idNumber"] = "FEMALE", "TAN", "TAN", "S1234567D"
	result["faceDetail"].(map[string]any)["faceVideoUrl"] = "PENDING"
	before, _ := json.Marshal(result)

	first, second := newRecorder(t, t.TempDir()), newRecorder(t, t.TempDir())
	a, again, b := first.Mask(result), first.Mask(result), second.Mask(result)
	if after, _ := json.Marshal(result); !bytes.Equal(before, after) {
		t.Error("Mask changed the result it was given")
	}
	docOf := func(r map[string]any) map[string]any { return r["docDetail"].(map[string]any) }
	for _, field := range []string{"gender", "idNumber", "firstName"} {
		value := doc[field].(string)
		sum := sha256.Sum256([]byte(value))
		plain := hex.EncodeToString(sum[:])
		masked, _ := docOf(a)[field].(string)
		switch {
		case !strings.HasPrefix(masked, "masked-") || masked == value:
			t.Errorf("docDetail.%s %q masked to %q", field, value, masked)
		case strings.Contains(plain, strings.TrimPrefix(masked, "masked-")):
			t.Errorf("docDetail.%s %q masked to %q, a prefix of its unkeyed SHA-256 %s", field, value, masked, plain)
		case docOf(again)[field] != masked:
			t.Errorf("docDetail.%s masked to %q, then to %q by the same Recorder", field, masked, docOf(again)[field])
		case docOf(b)[field] == masked:
			t.Errorf("docDetail.%s masked to %q by two Recorders: the key is not drawn for each run", field, masked)
		}
	}
	if docOf(a)["firstName"] != docOf(a)["lastName"] {
		t.Errorf("the same value masked to %q and %q in one run", docOf(a)["firstName"], docOf(a)["lastName"])
	}
	if face := a["faceDetail"].(map[string]any); face["faceVideoUrl"] != "PENDING" || !strings.HasPrefix(face["faceImage"].(string), maskedMediaURL) {
		t.Errorf("faceVideoUrl %v (PENDING is kept), faceImage %v (a placeholder URL)", face["faceVideoUrl"], face["faceImage"])
	}
	if docOf(a)["docType"] != doc["docType"] || a["inputParameters"].(map[string]any)["bizId"] != result["inputParameters"].(map[string]any)["bizId"] {
		t.Error("docType or inputParameters.bizId, marked x-idvmock-personal: false, was masked")
	}
}

// mark is one schema property the masker must handle: its path, and how openapi.yaml marks it.
type mark struct {
	path     []string // property names; "[]" for an array's items
	schema   *openapi3.Schema
	personal bool // masked (marked or below a mark)
	media    bool
	kept     bool // marked x-idvmock-personal: false
	open     bool // a personal object that takes undeclared properties
}

// walkMarks lists the properties of s with their marks, read from openapi.yaml's extensions
// here rather than through the masker's own code.
func walkMarks(s *openapi3.Schema, path []string, personal, media bool, seen map[*openapi3.Schema]int, out *[]mark) {
	if seen[s] > 1 { // a schema referred to from several places is walked from each, not in loops
		return
	}
	seen[s]++
	defer func() { seen[s]-- }()
	kept := false
	for _, sub := range append(openapi3.SchemaRefs{{Value: s}}, s.AllOf...) {
		switch sub.Value.Extensions["x-idvmock-personal"] {
		case true:
			personal, media = true, false
		case "media":
			personal, media = true, true
		case false:
			personal, media, kept = false, false, true
		}
	}
	*out = append(*out, mark{path: path, schema: s, personal: personal, media: media, kept: kept,
		open: personal && s.Type.Is("object") && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has)})
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		walkMarks(s.Properties[name].Value, append(slices.Clip(path), name), personal, media, seen, out)
	}
	if s.Items != nil {
		walkMarks(s.Items.Value, append(slices.Clip(path), "[]"), personal, media, seen, out)
	}
}

// set puts v at path in obj, creating the objects and one-item arrays on the way.
func set(obj map[string]any, path []string, v any) {
	for i, name := range path {
		if i == len(path)-1 {
			obj[name] = v
			return
		}
		if path[i+1] == "[]" {
			items, _ := obj[name].([]any)
			if len(items) == 0 {
				items = []any{map[string]any{}}
				obj[name] = items
			}
			if i+2 == len(path) {
				items[0] = v
				return
			}
			next, _ := items[0].(map[string]any)
			if next == nil {
				next = map[string]any{}
				items[0] = next
			}
			set(next, path[i+2:], v)
			return
		}
		next, _ := obj[name].(map[string]any)
		if next == nil {
			next = map[string]any{}
			obj[name] = next
		}
		obj = next
	}
}

// Every field openapi.yaml marks personal, and every undeclared field below a personal
// object, is masked in the recorded file, whatever its value; fields marked
// x-idvmock-personal: false are kept; the file still loads and the mock replays it.
func TestEveryPersonalFieldIsMaskedInTheRecording(t *testing.T) {
	doc, err := idvmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var marks []mark
	walkMarks(doc.Components.Schemas["GetResult"].Value, nil, false, false, map[*openapi3.Schema]int{}, &marks)

	const userID = "user_masked"
	env := mockEnvelope(t, userID)
	result := resultOfEnvelope(env)
	var secrets, kept []string
	masked := map[string]bool{}
	for i, m := range marks {
		name := strings.Join(m.path, ".")
		if len(m.path) == 0 || strings.Contains(name, "[]") && !m.personal {
			continue
		}
		switch {
		case m.open: // an undeclared field, a nested object and an array below it
			secret := fmt.Sprintf("Undeclared-%d-Secret", i)
			set(result, append(slices.Clip(m.path), "unknownField"), secret)
			set(result, append(slices.Clip(m.path), "unknownObject"), map[string]any{"deep": secret + "-deep", "list": []any{secret + "-item"}})
			set(result, append(slices.Clip(m.path), "unknownDate"), fmt.Sprintf("19%02d-0%d-1%d", 40+i%50, 1+i%9, i%10))
			secrets = append(secrets, secret, secret+"-deep", secret+"-item", fmt.Sprintf("19%02d-0%d-1%d", 40+i%50, 1+i%9, i%10))
			masked[name+".unknownField"] = true
		case !m.schema.Type.Is("string") || !m.personal && !m.kept:
		case m.kept:
			if name == "inputParameters.userId" {
				continue
			}
			value := fmt.Sprintf("Kept-%d-Value", i)
			set(result, m.path, value)
			kept = append(kept, value)
		case len(m.schema.Enum) > 1:
			set(result, m.path, m.schema.Enum[len(m.schema.Enum)-1])
			masked[name] = true
		case m.schema.Format == "date":
			value := fmt.Sprintf("19%02d-1%d-2%d", 40+i%50, i%3, i%10)
			set(result, m.path, value)
			secrets = append(secrets, value)
			masked[name] = true
		default:
			value := fmt.Sprintf("Personal-%d-Secret", i)
			if m.media {
				value = "https://cdn.vendor.example/face/" + value + ".jpg?sign=" + value
			}
			set(result, m.path, value)
			secrets = append(secrets, value)
			masked[name] = true
		}
	}
	for _, want := range []string{"docDetail.fullName", "docDetail.idNumber", "docDetail.birthDate", "docDetail.nationality", "docDetail.unknownField",
		"faceDetail.faceImage", "faceDetail.silentImage", "faceDetail.auditImageUrl", "faceDetail.faceVideoUrl", "inputParameters.unknownField"} {
		if !masked[want] {
			t.Errorf("openapi.yaml no longer marks %s personal (marked: %v)", want, slices.Sorted(maps.Keys(masked)))
		}
	}
	if len(kept) < 5 {
		t.Errorf("only %d fields are kept: %v", len(kept), kept)
	}

	dir := t.TempDir()
	rec := newRecorder(t, dir)
	file, err := record(rec, userID, "", env)
	if err != nil || file == "" {
		t.Fatalf("not recorded: %q %v", file, err)
	}
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(text, []byte(s)) {
			t.Errorf("the recorded file holds %q", s)
		}
	}
	for _, s := range kept {
		if !bytes.Contains(text, []byte(s)) {
			t.Errorf("the recorded file lost %q, a field marked x-idvmock-personal: false", s)
		}
	}

	loadRecordings(t, dir)
	replay := httptest.NewServer(newMock(t, dir))
	defer replay.Close()
	p := getLatest(t, replay.URL, "userId="+userID)
	req, _ := http.NewRequest(http.MethodGet, replay.URL+idvmock.PathLatest+"?userId="+userID, nil)
	c, err := contract.NewChecker()
	if err != nil {
		t.Fatal(err)
	}
	vs := c.Check(contract.Exchange{Request: req, Status: p.status, Header: http.Header{"Content-Type": {"application/json"}}, Body: p.body})
	if p.status != 200 || len(vs) > 0 {
		t.Errorf("the replay answers HTTP %d, violations %v:\n%s", p.status, vs, p.body)
	}
	replayed := resultOfEnvelope(resultOf(t, p.body, nil))
	if want := plainNumbers(rec.Mask(result)); !reflect.DeepEqual(jsonOf(replayed), jsonOf(want)) {
		t.Errorf("replayed\n%s\nwant\n%s", jsonOf(replayed), jsonOf(want))
	}
}

// The masker keeps what a marked field's schema requires: an enum's first value, a date for a
// date or a date pattern, the minimum of a marked number; kept values stay.
func TestMaskKeepsWhatTheSchemaRequires(t *testing.T) {
	personal := func(s *openapi3.Schema, mark any) *openapi3.SchemaRef {
		if s.Extensions == nil {
			s.Extensions = map[string]any{}
		}
		s.Extensions["x-idvmock-personal"] = mark
		return &openapi3.SchemaRef{Value: s}
	}
	minimum := 5.0
	schema := &openapi3.Schema{Type: &openapi3.Types{"object"}, Properties: openapi3.Schemas{
		"gender":   personal(&openapi3.Schema{Type: &openapi3.Types{"string"}, Enum: []any{nil, "F", "M"}}, true),
		"born":     personal(&openapi3.Schema{Type: &openapi3.Types{"string"}, Pattern: `^\d{4}-\d{2}-\d{2}$`}, true),
		"seen":     personal(&openapi3.Schema{Type: &openapi3.Types{"string"}, Format: "date-time"}, true),
		"height":   personal(&openapi3.Schema{Type: &openapi3.Types{"number"}, Min: &minimum}, true),
		"verified": personal(&openapi3.Schema{Type: &openapi3.Types{"boolean"}}, true),
		"score":    {Value: &openapi3.Schema{Type: &openapi3.Types{"number"}}},
		"video": personal(&openapi3.Schema{Type: &openapi3.Types{"string"},
			Extensions: map[string]any{keptValuesExtension: []any{"PENDING"}}}, "media"),
		"wrapped": {Value: &openapi3.Schema{AllOf: openapi3.SchemaRefs{personal(&openapi3.Schema{Type: &openapi3.Types{"string"}}, true)}}},
		"address": personal(&openapi3.Schema{Type: &openapi3.Types{"object"}, Properties: openapi3.Schemas{
			"country": personal(&openapi3.Schema{Type: &openapi3.Types{"string"}}, false),
			"age":     {Value: &openapi3.Schema{Type: &openapi3.Types{"integer"}}},
		}}, true),
	}}
	m := masker{key: []byte("k"), schema: schema}
	got := m.value(map[string]any{
		"gender": "M", "born": "1990-02-03", "seen": "2020-01-01T10:00:00Z", "height": json.Number("181"), "verified": true,
		"score": json.Number("77"), "video": "PENDING", "wrapped": "secret",
		"address": map[string]any{"country": "SGP", "age": json.Number("33"), "street": "1 Main St", "old": []any{"2 Side St"}},
	}, schema, false, false).(map[string]any)
	want := map[string]any{
		"gender": "F", "born": "1970-01-01", "seen": "1970-01-01T00:00:00Z", "height": json.Number("5"), "verified": false,
		"score": json.Number("77"), "video": "PENDING", "wrapped": "masked-" + m.sum("secret", 8),
		"address": map[string]any{"country": "SGP", "age": json.Number("33"), "street": "masked-" + m.sum("1 Main St", 8),
			"old": []any{"masked-" + m.sum("2 Side St", 8)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("masked\n%s\nwant\n%s", jsonOf(got), jsonOf(want))
	}
	if bad := checkMarks(personal(&openapi3.Schema{}, "yes").Value, "components.schemas.X", map[*openapi3.Schema]bool{}); bad == nil ||
		!strings.Contains(bad.Error(), "components.schemas.X: x-idvmock-personal is yes: write true, false or media") {
		t.Errorf("a mark the masker does not know: %v", bad)
	}
}
