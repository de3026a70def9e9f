package files

import (
	"embed"
	"io/fs"
	"path"
	"strings"

	"github.com/idvmock/idvmock/scenarios"
)

//go:embed builtin/*.yaml
var builtinFiles embed.FS

// Builtin parses the scenario files embedded in idvmock, in name order.
func Builtin() ([]*scenarios.File, error) {
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
		files = append(files, f)
	}
	return files, nil
}
