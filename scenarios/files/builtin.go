package files

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/idvmock/idvmock/scenarios"
)

//go:embed builtin/*.yaml
var builtinFiles embed.FS

// BuiltinCheckedSeed is the seed (serve's default) with which every result of the built-in
// files is checked against openapi.yaml by the engine's tests (TestBuiltinResultsConform), so
// that a start with them alone need not check them again.
const BuiltinCheckedSeed int64 = 0

// Builtin returns the scenario files embedded in idvmock, in name order. They are parsed
// once per process and shared by every caller (each engine, a watcher's reloads): nobody
// changes a parsed file. The slice is the caller's.
func Builtin() ([]*scenarios.File, error) {
	files, err := parsedBuiltin()
	return slices.Clone(files), err
}

var parsedBuiltin = sync.OnceValues(func() ([]*scenarios.File, error) {
	names, err := fs.Glob(builtinFiles, "builtin/*.yaml")
	if err != nil {
		return nil, err
	}
	files := make([]*scenarios.File, 0, len(names))
	for _, name := range names {
		data, err := builtinFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := Parse("builtin/"+path.Base(name), strings.NewReader(string(data)))
		if err != nil {
			return nil, err
		}
		files = append(files, f.Freeze().TrustResults(BuiltinCheckedSeed))
	}
	return files, nil
})
