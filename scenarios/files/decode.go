package files

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/idvmock/idvmock/scenarios"
)

// Parse decodes a scenario file, rejecting unknown keys, and checks that every declaration
// in it is complete and consistent. name is used in messages. The error lists every problem
// as file:line:column: path: what (hint).
func Parse(name string, r io.Reader) (*scenarios.File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f, problems := parseDeclarations(name, data)
	if len(problems) > 0 {
		return nil, problems
	}
	return f, nil
}

// parseDeclarations decodes data and checks its declarations, reporting as many problems as
// it can in one go: unknown keys and what the declarations get wrong besides them. A problem
// that an unknown key explains (profileStatus is missing, where profilStatus was written) is
// left to the unknown key's.
func parseDeclarations(name string, data []byte) (*scenarios.File, scenarios.Problems) {
	f, problems := decodeFile(name, data)
	if f == nil {
		return nil, problems
	}
	explained := map[string]bool{}
	for _, p := range problems {
		if p.Suggested != "" {
			explained[join(parentPath(p.Path), p.Suggested)] = true
		}
	}
	for _, p := range f.Validate() {
		if !explained[p.Path] {
			problems = append(problems, p)
		}
	}
	return f, problems.Sorted()
}

// parentPath is the path of the mapping path is a key of.
func parentPath(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

// decodeFile parses data into a File with the positions of its values. Problems are YAML
// syntax errors, unknown keys and values of the wrong type.
func decodeFile(name string, data []byte) (*scenarios.File, scenarios.Problems) {
	pos := scenarios.Positions{"": {Line: 1, Column: 1}}
	f := scenarios.NewFile(name, pos)
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil // an empty file declares nothing
		}
		return nil, scenarios.Problems{syntaxProblem(name, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, scenarios.Problems{{File: name, Line: extra.Line, Column: extra.Column, What: "holds more than one YAML document",
			Hint: "put every declaration in one document, without --- separators"}}
	}
	if p, deep := tooDeep(&root); deep {
		p.File = name
		return nil, scenarios.Problems{p}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return f, nil
	}
	var problems scenarios.Problems
	badValue := false
	walkKeys(doc, reflect.TypeOf(scenarios.File{}), "", pos, func(p scenarios.Problem, fatal bool) {
		p.File = name
		problems = append(problems, p)
		badValue = badValue || fatal
	})
	if badValue {
		return nil, problems
	}
	if err := doc.Decode(f); err != nil { // unknown keys aside: they are left out
		return nil, append(problems, decodeProblems(name, err, pos)...)
	}
	return f, problems
}

// MaxDepth is how deeply the mappings and lists of a scenario file may nest: far more than
// any declaration needs (a result override is about 6 levels deep), and a bound on the work a
// hostile document can cause.
const MaxDepth = 64

// tooDeep finds a value nested deeper than MaxDepth, and says where it is.
func tooDeep(root *yaml.Node) (scenarios.Problem, bool) {
	type frame struct {
		node  *yaml.Node
		depth int
		path  string
	}
	stack := []frame{{root, 0, ""}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if f.node.Kind == yaml.DocumentNode {
			for _, c := range f.node.Content {
				stack = append(stack, frame{c, f.depth, f.path})
			}
			continue
		}
		if f.node.Kind != yaml.MappingNode && f.node.Kind != yaml.SequenceNode {
			continue
		}
		if f.depth == MaxDepth {
			return scenarios.Problem{Line: f.node.Line, Column: f.node.Column, Path: f.path,
				What: fmt.Sprintf("nests deeper than %d levels", MaxDepth), Hint: "a declaration needs a few levels: flatten this value"}, true
		}
		if f.node.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(f.node.Content); i += 2 {
				stack = append(stack, frame{f.node.Content[i+1], f.depth + 1, join(f.path, clipKey(f.node.Content[i].Value))})
			}
			continue
		}
		for i, c := range f.node.Content {
			stack = append(stack, frame{c, f.depth + 1, fmt.Sprintf("%s[%d]", f.path, i)})
		}
	}
	return scenarios.Problem{}, false
}

// clipKey shortens a key for a message.
func clipKey(k string) string {
	if len(k) > 40 {
		return k[:37] + "..."
	}
	return k
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// syntaxProblem turns a YAML syntax error into a Problem with its line.
func syntaxProblem(name string, err error) scenarios.Problem {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return scenarios.Problem{File: name, Line: line, Column: 1, What: "YAML syntax: " + m[2], Hint: "check indentation, quotes and colons on this line"}
	}
	return scenarios.Problem{File: name, Line: 1, Column: 1, What: strings.TrimPrefix(msg, "yaml: "), Hint: "the file must be YAML (or JSON)"}
}

// decodeProblems turns decoding errors (wrong types, bad durations or times) into Problems.
func decodeProblems(name string, err error, pos scenarios.Positions) scenarios.Problems {
	var problems scenarios.Problems
	var te *yaml.TypeError
	switch {
	case errors.As(err, &te):
		for _, e := range te.Errors {
			p := scenarios.Problem{File: name, Line: 1, Column: 1, What: e}
			if m := yamlLine.FindStringSubmatch(e); m != nil {
				p.Line, _ = strconv.Atoi(m[1])
				p.Column = pos.ColumnOnLine(p.Line)
				p.Path = pos.PathAt(p.Line, p.Column)
				p.What = m[2]
				p.Hint = "see docs/scenarios.md for the type of each field"
				if strings.Contains(p.What, "already defined") {
					p.Hint = "a key may appear once in a mapping: merge the two or rename one"
				}
			}
			problems = append(problems, p)
		}
	default:
		problems = append(problems, scenarios.Problem{File: name, Line: 1, Column: 1, What: err.Error()})
	}
	return problems
}
