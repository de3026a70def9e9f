package files

import (
	"strconv"
	"strings"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// ParseUser reads one user's declaration, as PUT /__admin/users/{userId} sends it: the value
// of users.<id> in a scenario file, YAML or JSON. The file it returns declares that user
// alone, its values placed on the lines and columns of data; problems are placed the same
// way, their paths starting at the userId.
func ParseUser(id string, data []byte) (*scenarios.File, error) {
	wrapped := append([]byte("users:\n  "+strconv.Quote(id)+":\n"), indent(data)...)
	f, problems := parseDeclarations(engine.AdminSource, wrapped)
	if len(problems) > 0 {
		return nil, unwrap(problems)
	}
	pos := f.Positions()
	for path, p := range pos {
		pos[path] = unwrapPosition(p)
	}
	return f, nil
}

// wrapLines and wrapIndent are what ParseUser adds before and to each line of a declaration.
const (
	wrapLines  = 2
	wrapIndent = 4
)

// indent makes a user's declaration the value of its key in a wrapping file.
func indent(data []byte) []byte {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.Repeat(" ", wrapIndent) + l
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// unwrapPosition places a position of the wrapping file on the lines and columns of the
// declaration.
func unwrapPosition(p scenarios.Position) scenarios.Position {
	if p.Line > wrapLines {
		p.Line -= wrapLines
		p.Column = max(1, p.Column-wrapIndent)
	}
	return p
}

// unwrap places problems of a wrapped declaration on the lines of the original.
func unwrap(ps scenarios.Problems) scenarios.Problems {
	for i := range ps {
		pos := unwrapPosition(scenarios.Position{Line: ps[i].Line, Column: ps[i].Column})
		ps[i].Line, ps[i].Column = pos.Line, pos.Column
	}
	return ps.TrimPath("users.")
}
