package mockserver

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current answers")

// The golden file freezes every demo user's answer on every host with the default seed,
// transactionId aside. A change here changes what app teams' snapshot tests see: review the
// diff, then run `go test ./mockserver -run Golden -update`.
func TestGoldenBodiesOfTheDemoUsers(t *testing.T) {
	s := newTestServer(t, Config{})
	var got bytes.Buffer
	fmt.Fprintln(&got, "# host userId: body (seed 0, transactionId replaced)")
	for _, h := range hosts {
		for _, user := range demoUsers {
			rec := serve(t, s, latestCall("userId="+user, h.host))
			fmt.Fprintf(&got, "%s %s: %s\n", h.host, user, withTransactionID(rec.Body.Bytes(), "-"))
		}
	}
	path := filepath.Join("testdata", "golden", "demo-users.txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		gotLines, wantLines := bytes.Split(got.Bytes(), []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := range min(len(gotLines), len(wantLines)) {
			if !bytes.Equal(gotLines[i], wantLines[i]) {
				t.Fatalf("%s line %d differs:\n got %s\nwant %s\n(if the change is intended, run with -update)", path, i+1, gotLines[i], wantLines[i])
			}
		}
		t.Fatalf("%s has %d lines, the answers %d (if the change is intended, run with -update)", path, len(wantLines), len(gotLines))
	}
}
