package files

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/idvmock/idvmock/engine"
)

// Any file content: parsing and lint never panic, and a file they accept compiles into an
// engine that answers its users.
func FuzzParseAndLint(f *testing.F) {
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	builtin, err := Builtin()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", bytes.NewReader(data))
		if err != nil {
			return
		}
		e, err := engine.NewEngine(0, append(builtin, file), nil)
		if err != nil {
			return
		}
		for id := range file.Users {
			req := engine.Request{Operation: "getLatestSessionResult", UserID: id, Region: "sg", Country: "SGP"}
			if _, err := answerOf(t.Context(), e, req); err != nil {
				t.Fatalf("a linted file fails to answer user %q: %v\n%s", id, err, data)
			}
		}
	})
}
