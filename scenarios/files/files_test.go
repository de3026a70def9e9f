package files

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

func parseTestFile(t testing.TB, path string) (*scenarios.File, error) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	return Parse(filepath.Base(path), fh)
}

// Each file under testdata/invalid is refused, alone or with the built-in files, with the
// file:line:column, path and message its first line names.
func TestInvalidFilesAreRefusedWithFileLineAndMessage(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if len(paths) < 50 {
		t.Fatalf("only %d invalid fixtures", len(paths))
	}
	builtin, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := filepath.Base(path) + ":" + wantLine(t, path)
			f, err := parseTestFile(t, path)
			if err == nil {
				_, err = engine.New(0, append(builtin, f)...)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, want)
			}
			var problems scenarios.Problems
			if !asProblems(err, &problems) || problems[0].Hint == "" {
				t.Errorf("the problem carries no hint: %#v", err)
			}
		})
	}
}

func asProblems(err error, out *scenarios.Problems) bool {
	p, ok := err.(scenarios.Problems)
	*out = p
	return ok && len(p) > 0
}

func wantLine(t *testing.T, path string) string {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	line, _ := bufio.NewReader(fh).ReadString('\n')
	want, ok := strings.CutPrefix(strings.TrimSpace(line), "# want: ")
	if !ok {
		t.Fatalf("%s: first line must be '# want: line:column: path: message'", path)
	}
	return want
}

func TestBuiltinSetLoads(t *testing.T) {
	s, err := builtinSet(t)
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"active", "bad_solution_code", "failed", "inactive", "incomplete", "init", "multi", "reverify", "server_error", "user_not_found"}
	if got := s.ScenarioNames(); !reflect.DeepEqual(got, wantNames) {
		t.Errorf("scenarios = %v, want %v", got, wantNames)
	}
	wantUsers := []string{"user_002", "user_active", "user_deactivate", "user_error", "user_failed", "user_inactive", "user_incomplete", "user_init", "user_multi", "user_reverify"}
	if got := s.UserIDs(); !reflect.DeepEqual(got, wantUsers) {
		t.Errorf("users = %v, want %v", got, wantUsers)
	}
	if got := s.SolutionCodes(); !reflect.DeepEqual(got, []string{"101", "102"}) {
		t.Errorf("solution codes = %v", got)
	}
}
