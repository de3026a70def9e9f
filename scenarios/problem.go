package scenarios

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong in a scenario file: where (file, line, column and the path of
// the value), what, and what to do about it.
type Problem struct {
	File         string
	Line, Column int
	Path         string
	What         string
	Hint         string

	Suggested string // for an unknown key: the known key it is probably a typo of
}

// Error writes the problem as file:line:column: path: what (hint), leaving out what is not
// known.
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		fmt.Fprintf(&b, "%s:", p.File)
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", p.Line, p.Column)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.What)
	if p.Hint != "" {
		b.WriteString(" (" + p.Hint + ")")
	}
	return b.String()
}

// Problems is every problem found in one check, in file order. It is an error.
type Problems []Problem

// Error writes one problem a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// TrimPath takes prefix off the path of every problem (users. off the problems of a user
// declared alone), and returns them.
func (ps Problems) TrimPath(prefix string) Problems {
	for i := range ps {
		ps[i].Path = strings.TrimPrefix(ps[i].Path, prefix)
	}
	return ps
}

// Sorted sorts the problems by file, line and column, and returns them.
func (ps Problems) Sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
	return ps
}
