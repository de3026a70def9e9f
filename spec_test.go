package idvmock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestSpecIsValidWithExamplesChecked(t *testing.T) {
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
}

// A spec whose example breaks its schema must be refused: this proves LoadSpec validates
// examples, so the examples in openapi.yaml are checked against their schemas.
func TestSpecRefusesAnExampleThatBreaksItsSchema(t *testing.T) {
	broken := bytes.Replace(OpenAPI, []byte("profileStatus: INIT\n"), []byte("profileStatus: STARTED\n"), 1)
	if bytes.Equal(broken, OpenAPI) {
		t.Fatal("the INIT example was not found in openapi.yaml")
	}
	if _, err := loadSpec(broken); err == nil || !strings.Contains(err.Error(), "STARTED") {
		t.Fatalf("loadSpec accepted an example with profileStatus STARTED (err = %v)", err)
	}
}

func TestSpecServesTheSixRegionalHosts(t *testing.T) {
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, s := range doc.Servers {
		u, err := url.Parse(s.URL)
		if err != nil || u.Scheme != "https" {
			t.Errorf("server %q is not an https URL", s.URL)
			continue
		}
		hosts = append(hosts, u.Host)
	}
	want := []string{"api.advance.ai", "sg-api.advance.ai", "ph-api.advance.ai", "th-api.advance.ai", "my-api.advance.ai", "vn-api.advance.ai"}
	if !reflect.DeepEqual(hosts, want) {
		t.Errorf("servers = %v, want %v", hosts, want)
	}
}

// The vendor's documented bodies are carried verbatim as named examples.
func TestSpecCarriesTheVendorExamplesVerbatim(t *testing.T) {
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Find("/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result").Get
	examples := op.Responses.Status(200).Value.Content.Get("application/json").Examples
	for name, file := range map[string]string{
		"init":              "init.json",
		"user_not_found":    "user_not_found.json",
		"bad_solution_code": "bad_solution_code.json",
		"server_error":      "server_error.json",
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", "vendor", file))
		if err != nil {
			t.Fatal(err)
		}
		var want any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		ex := examples[name]
		if ex == nil {
			t.Errorf("openapi.yaml has no example %q", name)
			continue
		}
		if !reflect.DeepEqual(normalize(t, ex.Value.Value), want) {
			t.Errorf("example %q differs from the vendor's %s", name, file)
		}
	}
}

// normalize round-trips v through JSON so that YAML-decoded values compare with JSON ones.
func normalize(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The vendor's paths and operationIds, written once in vendor.go, are those of openapi.yaml.
func TestVendorPathsAndOperationsMatchTheSpec(t *testing.T) {
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	for path, op := range map[string]struct{ method, id string }{
		PathLatest:          {"GET", OpGetLatest},
		PathToken:           {"POST", OpToken},
		PathGenerateURL:     {"POST", OpGenerateURL},
		PathGetResult:       {"POST", OpGetResult},
		PathGetProfile:      {"GET", OpGetProfile},
		PathGetProfileCamel: {"GET", OpGetProfileCamel},
		PathUpdateStatus:    {"POST", OpUpdateStatus},
	} {
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(op.method) == nil || item.GetOperation(op.method).OperationID != op.id {
			t.Errorf("%s %s is not operation %s in openapi.yaml", op.method, path, op.id)
		}
	}
	if Sign(SampleAccessKey, SampleSecretKey, "1665993522952") != "02209bbeaf0d0a3dd587f6a1ba22f84c98d142e3b545e77db7e4906ca56349f5" {
		t.Error("the sample keys do not sign the vendor's published test vector")
	}
}

// Every path, query and header parameter carries an example (example, examples, or its
// schema's default), so that tools that call the API from the document alone (Dredd refuses
// "Required URI parameter 'userId' has no example or default value") have a value to send.
// Parameters added later must carry one too.
func TestEveryParameterHasAnExample(t *testing.T) {
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	check := func(where string, params openapi3.Parameters) {
		for _, ref := range params {
			p := ref.Value
			if p.Example != nil || len(p.Examples) > 0 || (p.Schema != nil && p.Schema.Value.Default != nil) {
				continue
			}
			missing = append(missing, fmt.Sprintf("%s: %s parameter %q", where, p.In, p.Name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Components.Parameters)) {
		// Checked here once, not at each $ref to it.
		ref := doc.Components.Parameters[name]
		check("#/components/parameters/"+name, openapi3.Parameters{{Value: ref.Value}})
	}
	inline := func(params openapi3.Parameters) openapi3.Parameters {
		return slices.DeleteFunc(slices.Clone(params), func(p *openapi3.ParameterRef) bool {
			return strings.HasPrefix(p.Ref, "#/components/parameters/")
		})
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		check(path, inline(item.Parameters))
		for _, method := range slices.Sorted(maps.Keys(item.Operations())) {
			check(method+" "+path, inline(item.Operations()[method].Parameters))
		}
	}
	if len(missing) > 0 {
		t.Errorf("openapi.yaml: %d parameters have no example; give each an `example:` that its schema accepts:\n  %s",
			len(missing), strings.Join(missing, "\n  "))
	}
}

// The examples of parameters are checked against their schemas when the document loads.
func TestSpecRefusesAParameterExampleThatBreaksItsSchema(t *testing.T) {
	const good = "      example: ph\n" // JournalRegion's, enum [global, sg, ph, th, my, vn]
	if bytes.Count(OpenAPI, []byte(good)) != 1 {
		t.Fatalf("openapi.yaml has %d lines %q, want 1", bytes.Count(OpenAPI, []byte(good)), good)
	}
	broken := bytes.Replace(OpenAPI, []byte(good), []byte("      example: mars\n"), 1)
	if _, err := loadSpec(broken); err == nil || !strings.Contains(err.Error(), "mars") {
		t.Fatalf("loadSpec accepted the parameter example region=mars (err = %v)", err)
	}
}

// vendorBodies says what each file of testdata/vendor is: a request body or the HTTP 200
// response of an operation.
var vendorBodies = map[string]struct {
	method, path string
	request      bool
}{
	"init.json":                       {"GET", PathLatest, false},
	"user_not_found.json":             {"GET", PathLatest, false},
	"bad_solution_code.json":          {"GET", PathLatest, false},
	"server_error.json":               {"GET", PathLatest, false},
	"requests/get_result.json":        {"POST", PathGetResult, true},
	"requests/token_test_vector.json": {"POST", PathToken, true},
}

// Every body of testdata/vendor conforms to openapi.yaml: a request to its operation's
// request body schema, a response to its HTTP 200 response schema.
func TestVendorBodiesConformToTheSpec(t *testing.T) {
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("testdata", "vendor")
	seen := 0
	err = filepath.WalkDir(root, func(file string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(file) != ".json" {
			return err
		}
		name, _ := filepath.Rel(root, file)
		name = filepath.ToSlash(name)
		what, ok := vendorBodies[name]
		if !ok {
			t.Errorf("%s: no schema to check it against: add it to vendorBodies in spec_test.go (a request body or a response, of which operation)", file)
			return nil
		}
		seen++
		raw, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var body any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("%s: not JSON: %v", file, err)
			return nil
		}
		op := doc.Paths.Find(what.path).GetOperation(what.method)
		var content openapi3.Content
		where := what.method + " " + what.path
		if what.request {
			content, where = op.RequestBody.Value.Content, where+" request body"
		} else {
			content, where = op.Responses.Status(200).Value.Content, where+" 200 response"
		}
		schema := content.Get("application/json").Schema.Value
		if err := schema.VisitJSON(body, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s does not conform to openapi.yaml's %s:\n%v", file, where, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(vendorBodies) {
		t.Errorf("%d of the %d files vendorBodies names were found under %s", seen, len(vendorBodies), root)
	}
}

// Spec, the document every server shares, is not validated at run time: it is the document
// LoadSpec validates above, examples included.
func TestSharedSpecIsTheValidatedDocument(t *testing.T) {
	shared, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Spec(); again != shared {
		t.Error("Spec parsed openapi.yaml again")
	}
	validated, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(shared)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(validated)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("Spec's document differs from LoadSpec's")
	}
}
