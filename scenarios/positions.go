package scenarios

import "strings"

// Position is where a value stands in a scenario file, 1-based.
type Position struct{ Line, Column int }

// Positions maps each path of a file ("users.alice.sessions[0].errorCode") to where its value
// stands.
type Positions map[string]Position

// At returns the position of path, or of its nearest enclosing path that has one.
func (p Positions) At(path string) Position {
	for {
		if pos, ok := p[path]; ok {
			return pos
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return p[""]
		}
		path = path[:i]
	}
}

// FieldOf returns the path of the field at pointer in the result overrides of the session at
// session, or the session's own field of that name, or the session itself.
func (p Positions) FieldOf(session string, pointer []string) string {
	for _, candidate := range []string{session + ".result." + strings.Join(pointer, "."), session + "." + strings.Join(pointer, ".")} {
		if _, ok := p[candidate]; ok && len(pointer) > 0 {
			return candidate
		}
	}
	if len(pointer) > 0 {
		if _, ok := p[session+".result."+pointer[0]]; ok {
			return session + ".result." + pointer[0]
		}
	}
	return session
}

// PathAt returns the path of the value at line and column, or "".
func (p Positions) PathAt(line, column int) string {
	for path, pos := range p {
		if pos.Line == line && pos.Column == column {
			return path
		}
	}
	return ""
}

// ColumnOnLine returns the column of the first value that stands on line.
func (p Positions) ColumnOnLine(line int) int {
	col := 0
	for _, pos := range p {
		if pos.Line == line && (col == 0 || pos.Column < col) {
			col = pos.Column
		}
	}
	return max(col, 1)
}

// Positions returns where each path of the file stands.
func (f *File) Positions() Positions { return f.positions }

// Problem is a problem with the value at path, placed where the file has it.
func (f *File) Problem(path, what, hint string) Problem {
	pos := f.positions.At(path)
	return Problem{File: f.name, Line: pos.Line, Column: pos.Column, Path: path, What: what, Hint: hint}
}
