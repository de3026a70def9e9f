package idvmock

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/idvmock/idvmock"

// listed is what go list says of a package.
type listed struct {
	ImportPath string
	Imports    []string
}

// projectDeps lists the project's packages that pkg depends on (itself included).
func projectDeps(t *testing.T, pkg string) []listed {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-json", pkg).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list %s: %v", pkg, err)
	}
	var deps []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.ImportPath == module || strings.HasPrefix(p.ImportPath, module+"/") {
			deps = append(deps, p)
		}
	}
	return deps
}

// The packages keep to their ideas (docs/architecture.md): the scenario language and the
// engine know neither HTTP nor YAML, the mock server reads no YAML (so it can share state
// and answer without the file format), and the contract checker knows nothing of scenarios.
func TestImportRules(t *testing.T) {
	forbidden := func(pkg string, bad func(imp string) bool, why string) {
		for _, p := range projectDeps(t, module+pkg) {
			for _, imp := range p.Imports {
				if bad(imp) {
					t.Errorf("%s depends on %s, which imports %s: %s", pkg, p.ImportPath, imp, why)
				}
			}
		}
	}
	isHTTP := func(imp string) bool { return imp == "net/http" || strings.HasPrefix(imp, "github.com/labstack/echo") }
	isYAML := func(imp string) bool { return imp == "gopkg.in/yaml.v3" }
	for _, pkg := range []string{"/scenarios", "/engine"} {
		forbidden(pkg, isHTTP, "the scenario language and the engine know nothing of HTTP")
		forbidden(pkg, isYAML, "YAML is read by scenarios/files alone")
	}
	forbidden("/mockserver", isYAML, "the mock server reads no scenario file")
	for _, p := range projectDeps(t, module+"/contract") {
		if strings.HasPrefix(p.ImportPath, module+"/scenarios") || slices.ContainsFunc(p.Imports, func(imp string) bool { return strings.HasPrefix(imp, module+"/scenarios") }) {
			t.Errorf("contract depends on %s: the checker knows exchanges and the spec, not scenarios", p.ImportPath)
		}
	}
}

// The idvmock binary writes its metrics itself (internal/promtext): it links neither
// Prometheus' client library nor protobuf, whose package init every start would pay (and
// whose size the binary would carry). Tests may use Prometheus' parser.
func TestBinaryLinksNoPrometheusClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./cmd/idvmock").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, module+"/internal/promtext") {
		t.Fatalf("go list -deps ./cmd/idvmock does not list internal/promtext: %v", deps)
	}
	for _, dep := range deps {
		for _, bad := range []string{"github.com/prometheus/client_golang", "github.com/prometheus/client_model", "google.golang.org/protobuf"} {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("the idvmock binary depends on %s", dep)
			}
		}
	}
}
