package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// One exchange through the checker: kin-openapi's response validation and the rules. Each
// iteration gets its own transactionId, as real answers do.
func BenchmarkCheckExchange(b *testing.B) {
	c, err := NewChecker()
	if err != nil {
		b.Fatal(err)
	}
	recs, _ := readFixture(b, "testdata/good/mock-answers.json")
	ex := recs[0].Exchange // an ACTIVE user's whole answer
	var compact bytes.Buffer
	if err := json.Compact(&compact, ex.Body); err != nil {
		b.Fatal(err)
	}
	ex.Body = compact.Bytes()
	at := bytes.Index(ex.Body, []byte(`"transactionId":"`)) + len(`"transactionId":"`)
	if at < len(`"transactionId":"`) || !bytes.HasPrefix(ex.Body[at+16:], []byte(`"`)) {
		b.Fatal("no 16-character transactionId in the fixture")
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		copy(ex.Body[at:], fmt.Sprintf("%016x", n))
		if vs := c.Check(ex); len(vs) > 0 {
			b.Fatal(vs)
		}
	}
}
