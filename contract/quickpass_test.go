package contract

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idvmock/idvmock"
)

// fixtureExchanges are the exchanges of the fixtures and of idvmock's vendor examples.
func fixtureExchanges(t *testing.T) []Recorded {
	t.Helper()
	files, _ := filepath.Glob("testdata/*/*.json")
	vendor, _ := filepath.Glob("../testdata/vendor/*.json")
	var out []Recorded
	for _, f := range append(files, vendor...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := ReadExchanges(f, data)
		if err != nil {
			continue // not an exchange file
		}
		out = append(out, recs...)
	}
	if len(out) < 40 {
		t.Fatalf("only %d exchanges: the fixtures were not found", len(out))
	}
	return out
}

// textVariants are bodies that differ from body's text where a decoded body cannot: each
// object with its first name given twice (before, with another value, and after, with
// another value or the same), each string with its first character escaped.
func textVariants(body []byte) [][]byte {
	tree, ok := scanJSON(body)
	if !ok {
		return nil
	}
	defer tree.release()
	var out [][]byte
	splice := func(at int, insert string, from int) {
		v := append(append(append([]byte{}, body[:at]...), insert...), body[from:]...)
		out = append(out, v)
	}
	for i, nd := range tree.nodes {
		switch {
		case nd.kind == '{' && nd.n > 0:
			key := string(body[tree.nodes[i+1].start-1 : tree.nodes[i+1].end+1])
			same := tree.nodes[i+2]
			sameText := string(body[same.start:same.end])
			if same.kind == '"' {
				sameText = string(body[same.start-1 : same.end+1])
			} else if same.kind == 't' || same.kind == 'f' || same.kind == 'n' {
				sameText = map[byte]string{'t': "true", 'f': "false", 'n': "null"}[same.kind]
			}
			for _, other := range []string{`null`, `"x"`, `{}`, sameText} {
				splice(int(nd.start)+1, key+":"+other+",", int(nd.start)+1)
				splice(int(nd.end)-1, ","+key+":"+other, int(nd.end)-1)
			}
		case nd.kind == '"' && nd.end > nd.start && body[nd.start] < 0x80 && body[nd.start] >= 0x20 && body[nd.start] != '\\':
			splice(int(nd.start), fmt.Sprintf(`\u%04x`, body[nd.start]), int(nd.start)+1)
		}
	}
	return out
}

// Check says the same of every exchange whether quickPass passes it or checkRouted checks
// it: the fixtures' exchanges with their bodies changed in one place (by value, by a name
// given twice, by an escape), under other statuses and content types, each checked twice
// (the second time, its transactionId is repeated; the variants once). Every violation is compared, message
// included.
func TestQuickPassAgreesWithCheckRouted(t *testing.T) {
	c := newChecker(t)
	stride := 5 // a fifth of the variants, for the test's time: every kind of change, everywhere
	if raceDetector || testing.Short() {
		stride = 53
	}
	passed, checked, n := 0, 0, 0
	check := func(ex Exchange, label string, rounds int) {
		if n++; rounds == 1 && n%stride != 0 {
			return
		}
		quick, slow := c.NewRun(), c.NewRun()
		slow.slowOnly = true
		for round := range rounds {
			before := len(quick.ids)
			got, want := quick.Check(ex), slow.Check(ex)
			checked++
			if len(got) == 0 && len(quick.ids) > before && round == 0 {
				passed++
			}
			if !reflect.DeepEqual(got, want) || len(quick.ids) != len(slow.ids) {
				t.Fatalf("%s, round %d, status %d, %q:\n%s\nquickPass:\n%s\ncheckRouted:\n%s", label, round, ex.Status,
					ex.Header.Get("Content-Type"), ex.Body, violationLines(got), violationLines(want))
			}
		}
	}
	for _, rec := range fixtureExchanges(t) {
		ex := rec.Exchange
		if c.Operation(ex.Request) == "" {
			continue
		}
		check(ex, rec.Label, 2)
		for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "text/plain", "", "application/json;"} {
			h := ex.Header.Clone()
			h.Set("Content-Type", ct)
			check(Exchange{Request: ex.Request, RequestBody: ex.RequestBody, Status: ex.Status, Header: h, Body: ex.Body}, rec.Label+" content type", 2)
		}
		for _, status := range []int{201, 400, 404, 500, 503} {
			check(Exchange{Request: ex.Request, RequestBody: ex.RequestBody, Status: status, Header: ex.Header, Body: ex.Body}, rec.Label+" status", 2)
		}
		var bodies [][]byte
		if env, err := decodeObject(ex.Body); err == nil {
			for _, v := range variants(env) {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				bodies = append(bodies, b)
			}
		}
		bodies = append(bodies, textVariants(ex.Body)...)
		for _, b := range bodies {
			check(Exchange{Request: ex.Request, RequestBody: ex.RequestBody, Status: ex.Status, Header: ex.Header, Body: b}, rec.Label+" variant", 1)
		}
	}
	if passed < checked/20 {
		t.Errorf("quickPass passed %d of %d checks", passed, checked)
	}
	t.Logf("%d checks, %d passed by quickPass", checked, passed)
}

// A resultView holds all idvmock.CheckResult reads of a result: it finds the same in it as in
// the whole result, for the fixtures' results changed in one place and every userId.
func TestResultViewIsEnoughForCheckResult(t *testing.T) {
	stride := 1
	if raceDetector || testing.Short() {
		stride = 5
	}
	compared, n := 0, 0
	for _, rec := range fixtureExchanges(t) {
		env, err := decodeObject(rec.Body)
		if err != nil {
			continue
		}
		data, _ := env["data"].(map[string]any)
		result, ok := data["result"].(map[string]any)
		if !ok {
			result = data // Get Result's data is a result
		}
		if result == nil {
			continue
		}
		vs := variants(result)
		for at, v := range vs {
			original := at == len(vs)-1
			if n++; n%stride != 0 && !original {
				continue
			}
			if _, ok := v.(map[string]any); !ok {
				continue
			}
			b, _ := json.Marshal(v)
			texts := [][]byte{b}
			if original { // names given twice, inputParameters among them
				texts = append(texts, textVariants(b)...)
				for _, twice := range []string{`"inputParameters":{"userId":"someone"}`, `"inputParameters":"x"`, `"inputParameters":{}`, `"countryCodeIso3":"phl"`} {
					texts = append(texts, []byte("{"+twice+","+string(b[1:])), []byte(string(b[:len(b)-1])+","+twice+"}"))
				}
			}
			for _, text := range texts {
				tree, ok := scanJSON(text)
				if !ok || tree.nodes[0].kind != '{' {
					t.Fatalf("%s: not an object", text)
				}
				decoded := tree.object()
				view := viewResult(tree, 0)
				for _, user := range []string{"", "user_active", "someone"} {
					if got, want := idvmock.CheckResult(view.result, user), idvmock.CheckResult(decoded, user); !reflect.DeepEqual(got, want) {
						t.Fatalf("%s, userId %q: on the view %v, on the result %v", text, user, got, want)
					}
					compared++
				}
				view.release()
				tree.release()
			}
		}
	}
	if compared < 1000 {
		t.Errorf("only %d comparisons", compared)
	}
}

// queryValue is URL.Query().Get.
func TestQueryValue(t *testing.T) {
	for _, q := range []string{"", "userId=a", "userId=a&userId=b", "x=1&userId=%41b+c", "userId=%zz&userId=ok", "userId;x=1&userId=2",
		"%75serId=enc", "userId", "userId=&userId=b", "&&userId=a&", "user%Id=1&userId=2", "a=1;userId=3", "userId=a=b"} {
		u := &url.URL{RawQuery: q}
		if got, want := queryValue(u, "userId"), u.Query().Get("userId"); got != want {
			t.Errorf("%q: %q, want %q", q, got, want)
		}
	}
}

// clip leaves alone what it has nothing to do to, and does the rest as before.
func TestClip(t *testing.T) {
	reference := func(s string, n int) string {
		s = strings.Join(strings.Fields(s), " ")
		r := []rune(s)
		if len(r) <= n {
			return s
		}
		return string(r[:n]) + "..."
	}
	for _, s := range []string{"", "GET /a?b=c", " GET /a", "GET /a ", "GET  /a", "GET\t/a", "GET\n/a", "GET\v/a", "GET\f/a", "GET\r/a",
		"café au lait", "a\u00a0b", "a\u0085b", "x", "a b c d e f", "0123456789", "01234 6789x", "ab\xffcd"} {
		for _, n := range []int{3, 10, 120} {
			if got, want := clip(s, n), reference(s, n); got != want {
				t.Errorf("clip(%q, %d) = %q, want %q", s, n, got, want)
			}
		}
	}
}

// responseOf is Responses.Status, or else Responses.Default, for every status of every
// operation (openapi.yaml's, and ones with status classes and a default).
func TestResponseOf(t *testing.T) {
	c := newChecker(t)
	all := []*openapi3.Responses{openapi3.NewResponses(
		openapi3.WithStatus(201, &openapi3.ResponseRef{Value: openapi3.NewResponse()}),
		openapi3.WithName("4XX", openapi3.NewResponse()),
		openapi3.WithName("default", openapi3.NewResponse()),
	)}
	for _, item := range c.doc.Paths.Map() {
		for _, op := range item.Operations() {
			all = append(all, op.Responses)
		}
	}
	for _, responses := range all {
		for status := -1; status < 700; status++ {
			want := responses.Status(status)
			if want == nil {
				want = responses.Default()
			}
			if got := responseOf(responses, status); got != want {
				t.Fatalf("status %d: %p, want %p", status, got, want)
			}
		}
	}
}

// requestLine is the request's method and RequestURI, clipped.
func TestRequestLine(t *testing.T) {
	for _, raw := range []string{"https://h/a/b?userId=x", "https://h/a/b", "https://h", "https://h/?", "https://h/a%2Fb?q", "https://h/a b?x=1 2",
		"mailto:someone@example.com", "https://h/caf\u00e9", "https://h/" + strings.Repeat("x", 200)} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, force := range []bool{false, true} {
			u.ForceQuery = force
			req := &http.Request{Method: http.MethodGet, URL: u}
			if got, want := requestLine(req), clip(req.Method+" "+u.RequestURI(), 120); got != want {
				t.Errorf("%s (ForceQuery %v): %q, want %q", raw, force, got, want)
			}
		}
	}
}

// Nothing the checker keeps, or gives back decoded, is a view of the body: changing the body
// after changes none of it.
func TestNothingKeptViewsTheBody(t *testing.T) {
	c := newChecker(t)
	recs, _ := readFixture(t, "testdata/good/mock-answers.json")
	ex := recs[0].Exchange
	body := append([]byte{}, ex.Body...)
	ex.Body = body
	want, err := decodeObject(append([]byte{}, body...))
	if err != nil {
		t.Fatal(err)
	}
	if vs := c.Check(ex); len(vs) > 0 {
		t.Fatalf("the fixture breaks the contract:\n%s", violationLines(vs))
	}
	tree, err := parseObject(body)
	if err != nil {
		t.Fatal(err)
	}
	_, env := c.NewRun().checkDecoded(ex, tree, nil, true) // passed by quickPass, then decoded
	decoded, _ := decodeObject(body)
	for i := range body {
		body[i] = 'x'
	}
	id := want["transactionId"].(string)
	if _, ok := c.ids[id]; !ok || len(c.ids) != 1 {
		t.Errorf("the remembered transactionIds changed with the body: %q", slices.Collect(maps.Keys(c.ids)))
	}
	if !reflect.DeepEqual(env, want) || !reflect.DeepEqual(decoded, want) {
		t.Errorf("a decoded body changed with the body")
	}
}
