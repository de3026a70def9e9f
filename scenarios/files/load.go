package files

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// ReadPaths parses the scenario files at paths: files, or folders whose *.yaml, *.yml and
// *.json files are read in name order. Every problem of every file is returned, joined. A
// file in a folder that is plainly one of idvmock's other formats (a contract users or cases
// file, an exchange file, a HAR file) is skipped: it comes back as a file that declares
// nothing, whose Skipped says why. Named on its own, such a file is a problem.
func ReadPaths(paths []string) ([]*scenarios.File, error) {
	names, err := expandPaths(paths)
	if err != nil {
		return nil, err
	}
	explicit := map[string]bool{}
	for _, p := range paths {
		explicit[p] = true
	}
	var files []*scenarios.File
	var problems scenarios.Problems
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("cannot read scenario file %s: %w", name, err)
		}
		if kind := otherFormat(data); kind != "" {
			if !explicit[name] {
				files = append(files, scenarios.SkippedFile(name, kind+", not a scenario file"))
				continue
			}
			problems = append(problems, scenarios.Problem{File: name, Line: 1, Column: 1, What: "is " + kind + ", not a scenario file",
				Hint: "give serve and lint scenario files only; keep contract files in a folder of their own"})
			continue
		}
		f, err := Parse(name, strings.NewReader(string(data)))
		var ps scenarios.Problems
		switch {
		case errors.As(err, &ps):
			problems = append(problems, ps...)
		case err != nil:
			return nil, err
		default:
			files = append(files, f)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return files, nil
}

// otherFormat recognises idvmock's files that are not scenario files, by their top-level
// keys, and says which kind it is; "" for anything else.
func otherFormat(data []byte) string {
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return ""
	}
	switch {
	case top["cases"] != nil:
		return "a contract cases file (idvmock contract --cases)"
	case top["exchanges"] != nil:
		return "an exchange file (idvmock validate)"
	case top["log"] != nil:
		return "a HAR file (idvmock validate)"
	}
	users, ok := top["users"].(map[string]any)
	if !ok || len(top) != 1 || len(users) == 0 {
		return ""
	}
	for _, v := range users {
		if _, scalar := v.(string); !scalar {
			return ""
		}
	}
	return "a contract users file (idvmock contract --users)"
}

// expandPaths lists the files named by paths, folders expanded.
func expandPaths(paths []string) ([]string, error) {
	var names []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("scenario path %s: %w", p, errors.Unwrap(err))
		}
		if !info.IsDir() {
			names = append(names, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if scenarioName(path) && !d.IsDir() {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("scenario folder %s holds no .yaml, .yml or .json file", p)
		}
		sort.Strings(found)
		names = append(names, found...)
	}
	return names, nil
}

// scenarioName reports whether a file of a scenario folder is read as a scenario file, by
// its extension: .yaml, .yml or .json, in any case.
func scenarioName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Lint checks scenario files the way serve does, with the built-in files, and returns every
// problem.
func Lint(paths []string) error {
	_, err := LintFiles(paths)
	return err
}

// LintFiles is Lint, and says which files were read and which skipped (see ReadPaths).
func LintFiles(paths []string) ([]*scenarios.File, error) {
	files, err := ReadPaths(paths)
	if err != nil {
		return nil, err
	}
	builtin, err := Builtin()
	if err != nil {
		return nil, err
	}
	_, err = engine.New(0, append(builtin, files...)...)
	return files, err
}
