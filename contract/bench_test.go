package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// One exchange through the checker: kin-openapi's response validation and the rules. Each
// iteration gets its own transactionId, as real answers do.
func BenchmarkCheckExchange(b *testing.B) {
	benchmarkCheck(b, "testdata/good/mock-answers.json", nil) // an ACTIVE user's whole answer
}

// One exchange that breaks the contract: the slow path, where kin-openapi's errors become
// violations. Its profileStatus is outside the enum, which both the schema and the
// profile-status rule catch.
func BenchmarkCheckFailingExchange(b *testing.B) {
	benchmarkCheck(b, "testdata/bad/profile-status-unknown.json", []string{RuleSchema, RuleProfileStatus})
}

// benchmarkCheck checks the first exchange of fixture, its body compacted, over and over
// with a new transactionId each time; every check must break exactly the rules want.
func benchmarkCheck(b *testing.B, fixture string, want []string) {
	c, err := NewChecker()
	if err != nil {
		b.Fatal(err)
	}
	recs, _ := readFixture(b, fixture)
	ex := recs[0].Exchange
	var compact bytes.Buffer
	if err := json.Compact(&compact, ex.Body); err != nil {
		b.Fatal(err)
	}
	ex.Body = compact.Bytes()
	at := bytes.Index(ex.Body, []byte(`"transactionId":"`)) + len(`"transactionId":"`)
	if at < len(`"transactionId":"`) || !bytes.HasPrefix(ex.Body[at+16:], []byte(`"`)) {
		b.Fatal("no 16-character transactionId in the fixture")
	}
	slices.Sort(want)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		copy(ex.Body[at:], fmt.Sprintf("%016x", n))
		vs := c.Check(ex)
		if len(vs) == 0 && len(want) == 0 {
			continue
		}
		if got := RuleIDs(vs); len(got) != len(want) || !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			b.Fatalf("rules %v, want %v:\n%s", got, want, violationLines(vs))
		}
	}
}
