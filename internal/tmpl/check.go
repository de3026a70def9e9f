package tmpl

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
)

// Check reports a template that cannot be evaluated: bad syntax, an unknown function,
// an unknown request value, or a fake function gofakeit does not have or that would read
// gofakeit's global source (and so not repeat).
func Check(text string) error {
	t, err := template.New("value").Funcs(parseFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return fmt.Errorf("template %q: %s", text, strings.TrimPrefix(err.Error(), "template: value:"))
	}
	var problem error
	for _, d := range t.Templates() {
		if d.Tree == nil {
			continue
		}
		walkTemplate(d.Tree.Root, func(n parse.Node) {
			if problem == nil {
				problem = checkNode(text, n)
			}
		})
	}
	return problem
}

// checkNode reports a node of a template that cannot be evaluated: a request value that is not
// one of Fields, or a bad call of fake.
func checkNode(text string, n parse.Node) error {
	switch n := n.(type) {
	case *parse.FieldNode:
		if !slices.Contains(Fields, n.Ident[0]) || len(n.Ident) > 1 {
			return fmt.Errorf("template %q reads .%s: use one of .%s", text, strings.Join(n.Ident, "."), strings.Join(Fields, ", ."))
		}
	case *parse.CommandNode:
		if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "fake" {
			return checkFakeCall(text, n)
		}
	}
	return nil
}

// checkFakeCall reports a call of fake that cannot be evaluated, or whose value would not
// repeat: no function name, arguments that are not quoted strings, a function gofakeit does
// not have, or one that reads its global source.
func checkFakeCall(text string, n *parse.CommandNode) error {
	if len(n.Args) < 2 {
		return fmt.Errorf("template %q: fake needs the name of a gofakeit function, e.g. {{ fake \"firstname\" }}", text)
	}
	var args []string
	for _, a := range n.Args[1:] {
		s, ok := a.(*parse.StringNode)
		if !ok {
			return fmt.Errorf("template %q: the arguments of fake must be quoted strings", text)
		}
		args = append(args, s.Text)
	}
	if _, err := FakeValue(rand.New(rand.NewSource(1)), args[0], args[1:]); err != nil {
		return fmt.Errorf("template %q: %v", text, err)
	}
	if !fakeRepeats(args[0], args[1:]) {
		return fmt.Errorf("template %q: gofakeit's %q reads its global source, so it would not repeat; pick another function", text, args[0])
	}
	return nil
}
