package contract

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

func newChecker(t *testing.T) *Checker {
	t.Helper()
	c, err := NewChecker()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readFixture(t testing.TB, path string) ([]Recorded, ExchangeFile) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ReadExchanges(path, data)
	if err != nil {
		t.Fatal(err)
	}
	var f ExchangeFile
	if strings.Contains(string(data), `"exchanges"`) {
		if f, err = decodeExchangeFile(data); err != nil {
			t.Fatal(err)
		}
	}
	return recs, f
}

// Every known-bad exchange is caught, with exactly the rule ids its fixture names.
func TestKnownBadExchangesAreCaught(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.json")
	if len(files) < 20 {
		t.Fatalf("%d known-bad fixtures, want one or more per rule", len(files))
	}
	covered := map[string]bool{}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			recs, f := readFixture(t, file)
			if len(f.Want) == 0 {
				t.Fatalf("%s names no rule under want", file)
			}
			c := newChecker(t)
			var all []Violation
			for _, r := range recs {
				all = append(all, c.Check(r.Exchange)...)
			}
			got := RuleIDs(all)
			sort.Strings(got)
			want := slices.Clone(f.Want)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s (%s): rules %v, want %v\n%s", file, f.About, got, want, violationLines(all))
			}
			for _, p := range f.Pointers {
				if !slices.ContainsFunc(all, func(v Violation) bool { return v.Pointer == p }) {
					t.Errorf("%s (%s): no violation names %s\n%s", file, f.About, p, violationLines(all))
				}
			}
			for _, v := range all {
				covered[v.Rule] = true
				if v.Expected == "" || v.Got == "" || v.Hint == "" {
					t.Errorf("a violation without expected, got or hint: %+v", v)
				}
				if v.Where == "body" && v.Rule != RuleJSON && !strings.HasPrefix(v.Pointer, "/") {
					t.Errorf("a body violation without a JSON pointer: %+v", v)
				}
			}
		})
	}
	for _, r := range Rules {
		if r.ID != RuleExpectation && !covered[r.ID] {
			t.Errorf("rule %s has no known-bad fixture that breaks it", r.ID)
		}
	}
}

// The vendor's documented examples and answers that conform pass.
func TestDocumentedExamplesPass(t *testing.T) {
	files, _ := filepath.Glob("../testdata/vendor/*.json")
	good, _ := filepath.Glob("testdata/good/*.json")
	if len(files) < 4 || len(good) == 0 {
		t.Fatalf("%d vendor examples and %d good fixtures", len(files), len(good))
	}
	for _, file := range append(files, good...) {
		recs, _ := readFixture(t, file)
		c := newChecker(t) // one run per file: two documented examples share a transactionId
		for _, r := range recs {
			if vs := c.Check(r.Exchange); len(vs) > 0 {
				t.Errorf("%s: %s", r.Label, violationLines(vs))
			}
		}
	}
}

// Violations say where and what in words a user can act on.
func TestViolationMessagesAreReadable(t *testing.T) {
	recs, _ := readFixture(t, "testdata/bad/profile-status-unknown.json")
	vs := newChecker(t).Check(recs[0].Exchange)
	text := violationLines(vs)
	for _, want := range []string{
		`[profile-status] body /data/profileStatus: expected one of ["INIT","ACTIVE","INACTIVE"], got "SUSPENDED"`,
		`[schema] body /data/profileStatus: expected one of ["INIT","ACTIVE","INACTIVE"], got "SUSPENDED"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	recs, _ = readFixture(t, "testdata/bad/schema-required-signature.json")
	text = violationLines(newChecker(t).Check(recs[0].Exchange))
	if !strings.Contains(text, "[schema] body /data/result/signatureId: expected a value (the property is required), got nothing") {
		t.Errorf("required property:\n%s", text)
	}
}

// Operation tells the vendor's operations from idvmock's own and from unknown paths.
func TestOperation(t *testing.T) {
	c := newChecker(t)
	for url, want := range map[string]string{
		LatestURL + "?userId=a": OpGetLatest,
		"http://sg-api.localhost:8080/intl/openapi/identity-risk/idvs-h5/ekyc/v1/get-result": OpGetResult,
		"http://sg-api.localhost:8080" + PathGetProfile + "?externalUserId=a":                OpGetProfile,
		"https://api.advance.ai" + PathGetProfileCamel + "?externalUserId=a":                 OpGetProfileCamel,
		"https://ph-api.advance.ai" + PathUpdateStatus:                                       OpUpdateStatus,
		"https://th-api.advance.ai" + PathGenerateURL:                                        OpGenerateURL,
		"http://localhost:8080/__admin/users":                                                "",
		"http://localhost:8080/nowhere":                                                      "",
	} {
		method := http.MethodGet
		if want == OpGetResult || want == OpUpdateStatus || want == OpGenerateURL {
			method = http.MethodPost
		}
		req, _ := http.NewRequest(method, url, nil)
		if got := c.Operation(req); got != want {
			t.Errorf("%s: %q, want %q", url, got, want)
		}
	}
}

func violationLines(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// The README's table of rules lists every rule, and no rule that does not exist.
func TestREADMEListsEveryRule(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "| `") {
			id, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
			listed[id] = true
		}
	}
	for _, r := range Rules {
		if !listed[r.ID] {
			t.Errorf("README's rule table lacks %s", r.ID)
		}
	}
}

// The uniqueness rule's memory is bounded in a long-running proxy, and still catches a
// repeat it remembers.
func TestTransactionIDMemoryIsBounded(t *testing.T) {
	c := newChecker(t)
	req, _ := http.NewRequest(http.MethodGet, LatestURL+"?userId=u", nil)
	ex := Exchange{Request: req}
	for i := range maxTransactionIDs + 10 {
		if vs := c.checkTransactionID(ex, map[string]any{"transactionId": fmt.Sprintf("%016x", i)}); len(vs) > 0 {
			t.Fatalf("id %d: %v", i, vs)
		}
	}
	if len(c.ids) > maxTransactionIDs {
		t.Errorf("%d ids remembered, more than %d", len(c.ids), maxTransactionIDs)
	}
	last := map[string]any{"transactionId": fmt.Sprintf("%016x", maxTransactionIDs+9)}
	if vs := c.checkTransactionID(ex, last); len(vs) != 1 || vs[0].Rule != RuleTransactionIDUnique {
		t.Errorf("a repeat of the latest id: %v", vs)
	}
}

// A new run forgets the transactionIds of the old one; the old one still remembers them.
func TestNewRunForgetsTransactionIDs(t *testing.T) {
	c := newChecker(t)
	req, _ := http.NewRequest(http.MethodGet, LatestURL+"?userId=u", nil)
	ex, id := Exchange{Request: req}, map[string]any{"transactionId": "0123456789abcdef"}
	c.checkTransactionID(ex, id)
	if vs := c.NewRun().checkTransactionID(ex, id); len(vs) != 0 {
		t.Errorf("a new run: %v", vs)
	}
	if vs := c.checkTransactionID(ex, id); len(vs) != 1 {
		t.Errorf("the old run forgot the id: %v", vs)
	}
}
