package engine

import (
	"context"
	"github.com/idvmock/idvmock"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/idvmock/idvmock/scenarios"
)

// The engine's tests read scenario files with yaml.v3 directly (scenarios/files, the reader
// users get, imports the engine): values read, declarations checked, positions not kept.

// parseYAML reads a scenario file given as text and checks its declarations.
func parseYAML(name, text string) (*scenarios.File, error) {
	f := scenarios.NewFile(name, nil)
	if err := yaml.Unmarshal([]byte(text), f); err != nil {
		return nil, err
	}
	if problems := f.Validate(); len(problems) > 0 {
		return nil, problems
	}
	return f, nil
}

// parseTestFile reads a file of scenarios/files/testdata.
func parseTestFile(t testing.TB, path string) (*scenarios.File, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseYAML(filepath.Base(path), string(data))
}

// validFixture is the path of a valid scenario file of scenarios/files/testdata.
func validFixture(name string) string {
	return filepath.Join("..", "scenarios", "files", "testdata", "valid", name)
}

// builtinFiles are idvmock's built-in scenario files.
func builtinFiles(t testing.TB) []*scenarios.File {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "scenarios", "files", "builtin", "*.yaml"))
	var files []*scenarios.File
	for _, p := range paths {
		f, err := parseTestFile(t, p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatal("no built-in scenario files")
	}
	return files
}

// putUser declares a user through the admin path, from a declaration in YAML.
func putUser(e *Engine, id, declaration string) error {
	var spec scenarios.UserSpec
	if err := yaml.Unmarshal([]byte(declaration), &spec); err != nil {
		return err
	}
	f := scenarios.NewFile(AdminSource, nil)
	f.Users = map[string]scenarios.UserSpec{id: spec}
	if problems := f.Validate(); len(problems) > 0 {
		return problems.TrimPath("users.")
	}
	return e.PutUser(context.Background(), f, id, len(declaration))
}

// engineWith compiles the built-in files plus one scenario file given as text.
func engineWith(t testing.TB, text string) (*Engine, error) {
	t.Helper()
	f, err := parseYAML("attack.yaml", text)
	if err != nil {
		return nil, err
	}
	return NewEngine(0, append(builtinFiles(t), f), nil)
}

// builtinFilesErr is builtinFiles in the shape of files.Builtin.
func builtinFilesErr(t testing.TB) ([]*scenarios.File, error) { return builtinFiles(t), nil }

// decideOK is e.decide, failing t on an error of the store.
func decideOK(t testing.TB, e *Engine, req Request) Decision {
	t.Helper()
	d, err := e.decide(t.Context(), e.Set(), &req)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// start is e.StartSession, failing t on an error of the store.
func start(t testing.TB, e *Engine, req StartRequest) StartedSession {
	t.Helper()
	s, err := e.StartSession(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// saveState is e.SaveState, failing t on an error of the store.
func saveState(t testing.TB, e *Engine) SavedState {
	t.Helper()
	st, err := e.SaveState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// hasSession reports whether e keeps a started session of this signatureId.
func hasSession(t testing.TB, e *Engine, sig string) bool {
	t.Helper()
	_, found, err := e.Session(t.Context(), sig)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// answered is what a test reads of a reply to Get Latest Session Result.
type answered struct {
	Code, Message           string
	Data                    *idvmock.LatestData // on SUCCESS
	Source, Scenario, State string
	Unmatched               bool
	NearMisses              []NearMiss
	reply                   Reply
}

func view(r Reply) answered {
	out := answered{Code: r.Code, Message: r.Message, Source: r.Trace.Source, Scenario: r.Trace.Scenario, State: r.Trace.State,
		Unmatched: r.Trace.Unmatched, NearMisses: r.Trace.NearMisses, reply: r}
	out.Data, _ = r.Data.(*idvmock.LatestData)
	return out
}
