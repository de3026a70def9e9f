package idvmock

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// packageDirs are the folders of the packages docs/architecture.md names, by package name.
var packageDirs = map[string]string{
	"idvmock": ".", "scenarios": "scenarios", "files": "scenarios/files", "recording": "scenarios/recording",
	"engine": "engine", "storetest": "engine/storetest", "mockserver": "mockserver", "contract": "contract",
	"idvmocktest": "idvmocktest", "main": "cmd/idvmock", "webhook": "webhook", "redisstore": "engine/redisstore",
}

// docName is a name of the code in backquotes: package.Name or package.Type.Method.
var docName = regexp.MustCompile("`((idvmock|scenarios|files|recording|engine|storetest|redisstore|mockserver|contract|idvmocktest|main|webhook)\\.[A-Za-z_]\\w*(\\.[A-Za-z_]\\w*)?)`")

// Every function, type and method docs/architecture.md names exists, so that the map cannot
// drift from the code.
func TestArchitectureNamesExist(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]map[string]bool{}
	names := docName.FindAllStringSubmatch(string(text), -1)
	if len(names) < 60 {
		t.Fatalf("docs/architecture.md names %d functions and types; it walks through the code by name", len(names))
	}
	for _, m := range names {
		pkg, rest, _ := strings.Cut(m[1], ".")
		if declared[pkg] == nil {
			declared[pkg] = declarations(t, packageDirs[pkg])
		}
		if !declared[pkg][rest] {
			t.Errorf("docs/architecture.md names %s, which %s does not declare", m[1], packageDirs[pkg])
		}
	}
}

// declarations lists what the Go files of dir (tests aside) declare: top-level names, and
// Type.Method for methods and the methods of interfaces.
func declarations(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	fset := token.NewFileSet()
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					out[d.Name.Name] = true
				} else {
					out[receiverName(d.Recv.List[0].Type)+"."+d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						out[s.Name.Name] = true
						if it, ok := s.Type.(*ast.InterfaceType); ok {
							for _, m := range it.Methods.List {
								for _, n := range m.Names {
									out[s.Name.Name+"."+n.Name] = true
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							out[n.Name] = true
						}
					}
				}
			}
		}
	}
	return out
}

// receiverName is the type of a method's receiver, without * or type parameters.
func receiverName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return receiverName(x.X)
	case *ast.IndexExpr:
		return receiverName(x.X)
	case *ast.IndexListExpr:
		return receiverName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return ""
}
