package scenarios

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/brianvoe/gofakeit/v6"
)

// Scenario strings may hold Go templates: {{ .userId }}, {{ .region }}, {{ .country }},
// {{ .solutionCode }} are the request's values, and {{ fake "firstname" }} is a gofakeit
// function, seeded from the seed, the userId and the place of the template, so the same
// request gives the same text. upper, lower and printf are available too.

// templateFields are the request values a template may read.
var templateFields = []string{"userId", "region", "country", "solutionCode"}

func hasTemplate(s string) bool { return strings.Contains(s, "{{") }

// templateData is what a template sees of the request.
type templateData struct {
	UserID, Region, Country, SolutionCode string
}

func (d templateData) values() map[string]string {
	return map[string]string{"userId": d.UserID, "region": d.Region, "country": d.Country, "solutionCode": d.SolutionCode}
}

// baseFuncs are the template functions; fake is bound to a seeded source at execution.
var baseFuncs = template.FuncMap{
	"fake":  func(string, ...string) (string, error) { return "", nil },
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
}

var parsedTemplates sync.Map // text → *template.Template

func parseTemplate(text string) (*template.Template, error) {
	if t, ok := parsedTemplates.Load(text); ok {
		return t.(*template.Template), nil
	}
	t, err := template.New("value").Funcs(baseFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	parsedTemplates.Store(text, t)
	return t, nil
}

// checkTemplate reports a template that cannot be evaluated: bad syntax, an unknown function,
// an unknown request value, or a fake function gofakeit does not have or that would read
// gofakeit's global source (and so not repeat).
func checkTemplate(text string) error {
	t, err := parseTemplate(text)
	if err != nil {
		return fmt.Errorf("template %q: %s", text, strings.TrimPrefix(err.Error(), "template: value:"))
	}
	var problem error
	walkTemplate(t.Tree.Root, func(n parse.Node) {
		if problem != nil {
			return
		}
		switch n := n.(type) {
		case *parse.FieldNode:
			if !slices.Contains(templateFields, n.Ident[0]) || len(n.Ident) > 1 {
				problem = fmt.Errorf("template %q reads .%s: use one of .%s", text, strings.Join(n.Ident, "."), strings.Join(templateFields, ", ."))
			}
		case *parse.CommandNode:
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "fake" {
				problem = checkFakeCall(text, n)
			}
		}
	})
	return problem
}

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
	if _, err := fakeValue(rand.New(rand.NewSource(1)), args[0], args[1:]); err != nil {
		return fmt.Errorf("template %q: %v", text, err)
	}
	if !fakeRepeats(args[0], args[1:]) {
		return fmt.Errorf("template %q: gofakeit's %q reads its global source, so it would not repeat; pick another function", text, args[0])
	}
	return nil
}

func walkTemplate(n parse.Node, visit func(parse.Node)) {
	if n == nil {
		return
	}
	visit(n)
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			walkTemplate(c, visit)
		}
	case *parse.ActionNode:
		walkTemplate(n.Pipe, visit)
	case *parse.PipeNode:
		for _, c := range n.Cmds {
			walkTemplate(c, visit)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkTemplate(a, visit)
		}
	case *parse.IfNode:
		walkTemplate(n.Pipe, visit)
		walkTemplate(n.List, visit)
		walkTemplate(n.ElseList, visit)
	case *parse.RangeNode:
		walkTemplate(n.Pipe, visit)
		walkTemplate(n.List, visit)
		walkTemplate(n.ElseList, visit)
	case *parse.WithNode:
		walkTemplate(n.Pipe, visit)
		walkTemplate(n.List, visit)
		walkTemplate(n.ElseList, visit)
	}
}

// fakeValue runs the gofakeit function name with parameters "key=value" on r.
func fakeValue(r *rand.Rand, name string, params []string) (string, error) {
	info := gofakeit.GetFuncLookup(name)
	if info == nil {
		return "", fmt.Errorf("gofakeit has no function %q%s", name, fakeHint(name))
	}
	m := gofakeit.NewMapParams()
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return "", fmt.Errorf("parameter %q of %s: write key=value", p, name)
		}
		m.Add(k, v)
	}
	v, err := info.Generate(r, m, info)
	if err != nil {
		return "", fmt.Errorf("gofakeit %s: %v", name, err)
	}
	return fmt.Sprint(v), nil
}

func fakeHint(name string) string {
	names := make([]string, 0, len(gofakeit.FuncLookups))
	for k := range gofakeit.FuncLookups {
		names = append(names, k)
	}
	sort.Strings(names)
	if best, d := closest(name, names); d <= 3 {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

var repeats sync.Map // name+params → bool

// fakeRepeats reports whether a gofakeit function depends only on the source it is given:
// the same seed must give the same value whatever gofakeit's global source holds. A few v6
// functions (date, daterange, person, ...) read the global source instead.
func fakeRepeats(name string, params []string) bool {
	key := name + "\x00" + strings.Join(params, "\x00")
	if ok, done := repeats.Load(key); done {
		return ok.(bool)
	}
	ok := true
	for seed := int64(1); seed <= 4 && ok; seed++ {
		gofakeit.Seed(seed)
		a, _ := fakeValue(rand.New(rand.NewSource(seed)), name, params)
		gofakeit.Seed(seed + 1000)
		b, _ := fakeValue(rand.New(rand.NewSource(seed)), name, params)
		ok = a == b
	}
	repeats.Store(key, ok)
	return ok
}

// render evaluates text for a request, with fake values drawn from a source seeded by seed,
// the userId and key (the template's place), so the same request gives the same text.
func render(text string, data templateData, seed int64, key string) (string, error) {
	if !hasTemplate(text) {
		return text, nil
	}
	t, err := parseTemplate(text)
	if err != nil {
		return "", err
	}
	f := faker(seed, data.UserID, "template:"+key, 0)
	t, err = t.Clone()
	if err != nil {
		return "", err
	}
	t.Funcs(template.FuncMap{"fake": func(name string, params ...string) (string, error) {
		return fakeValue(f.Rand, name, params)
	}})
	var b strings.Builder
	if err := t.Execute(&b, data.values()); err != nil {
		return "", err
	}
	return b.String(), nil
}
