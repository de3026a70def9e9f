// Package tmpl evaluates the Go templates scenario files may hold in their strings: the
// request's values and seeded fake data, within limits no template can pass. Lint checks a
// template with Check; the engine renders it with Render.
package tmpl

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/brianvoe/gofakeit/v6"

	"github.com/idvmock/idvmock/internal/bounded"
	"github.com/idvmock/idvmock/internal/edit"
)

// Scenario strings may hold Go templates: {{ .userId }}, {{ .region }}, {{ .country }},
// {{ .solutionCode }} are the request's values, and {{ fake "firstname" }} is a gofakeit
// function, seeded from the seed, the userId and the place of the template, so the same
// request gives the same text. upper, lower, printf and text/template's own functions and
// actions (if, range, with, else, ...) are available too.
//
// Templates come from scenario files and the admin API only: what a caller of the vendor's
// API sends is data and is never parsed as a template. Their execution is bounded, so that
// no template can stall or flood the mock: see the limits below.

// Limits of template execution. Over a limit, building the answer fails: lint reports it
// when it can see it, and otherwise the answer is the vendor's ERROR envelope and the
// journal says why.
const (
	// MaxOutput is the most one template (one field) may write, in bytes; it bounds
	// what each function returns too.
	MaxOutput = 64 << 10
	// MaxAnswerOutput is the most all the templates of one result may write.
	MaxAnswerOutput = 1 << 20
	// MaxSteps is how many loop iterations, function calls and template calls the
	// templates of one result may make.
	MaxSteps = 10_000
	// maxFormatWidth bounds the width and precision of a printf verb (fmt allows 10^6).
	maxFormatWidth = 1024
)

// ErrLimit is wrapped by the errors of a template that passed a limit.
var ErrLimit = errors.New("template limit")

// limitError is a limit a template passed.
type limitError struct{ msg string }

func (e *limitError) Error() string        { return e.msg }
func (e *limitError) Is(target error) bool { return target == ErrLimit }

func overLimit(format string, args ...any) error { return &limitError{fmt.Sprintf(format, args...)} }

// templateError says what went wrong with a template in a sentence: the limit it passed, or
// text/template's own message.
func templateError(text string, err error) error {
	shown := text
	if len(shown) > 80 {
		shown = shown[:77] + "..."
	}
	var le *limitError
	if errors.As(err, &le) {
		return fmt.Errorf("template %q %w", shown, le)
	}
	return fmt.Errorf("template %q: %s", shown, strings.TrimPrefix(err.Error(), "template: value:"))
}

// Fields are the request values a template may read.
var Fields = []string{"userId", "region", "country", "solutionCode"}

// Has reports whether s holds a template.
func Has(s string) bool { return strings.Contains(s, "{{") }

// Data is what a template sees of the request.
type Data struct {
	UserID, Region, Country, SolutionCode string
}

func (d Data) values() map[string]string {
	return map[string]string{"userId": d.UserID, "region": d.Region, "country": d.Country, "solutionCode": d.SolutionCode}
}

// stepFunc is called at the start of every loop iteration and every defined template: it
// is inserted into the parsed tree, so that loops count against MaxSteps even when
// their bodies call nothing.
const stepFunc = "idvmockStep"

// parseFuncs are the functions a template may name; execution binds the real ones, bounded.
var parseFuncs = template.FuncMap{
	"fake":   func(string, ...string) (string, error) { return "", nil },
	"upper":  strings.ToUpper,
	"lower":  strings.ToLower,
	stepFunc: func() string { return "" },
}

// Parsed templates, shared by every engine: bounded, and cleared by Engine.Reset.
const (
	maxCachedTemplates     = 4096
	maxCachedTemplateBytes = 8 << 20 // of template text; a parsed tree is a few times that
)

var parsedTemplates = bounded.NewCache[string, *template.Template](maxCachedTemplates, maxCachedTemplateBytes)

// ClearCache forgets every parsed template.
func ClearCache() { parsedTemplates.Clear() }

func parseTemplate(text string) (*template.Template, error) {
	if t, ok := parsedTemplates.Get(text); ok {
		return t, nil
	}
	t, err := template.New("value").Funcs(parseFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	for _, d := range t.Templates() {
		if d.Tree != nil {
			insertSteps(d.Tree)
		}
	}
	parsedTemplates.Put(text, t, len(text))
	return t, nil
}

// insertSteps makes every range iteration and every call of a defined template call
// stepFunc first.
func insertSteps(tree *parse.Tree) {
	step := func(pos parse.Pos) *parse.ActionNode {
		id := parse.NewIdentifier(stepFunc).SetTree(tree).SetPos(pos)
		cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{id}}
		return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Line: 1,
			Pipe: &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{cmd}}}
	}
	if tree.Root != nil {
		tree.Root.Nodes = append([]parse.Node{step(tree.Root.Pos)}, tree.Root.Nodes...)
	}
	walkTemplate(tree.Root, func(n parse.Node) {
		if r, ok := n.(*parse.RangeNode); ok && r.List != nil {
			r.List.Nodes = append([]parse.Node{step(r.Position())}, r.List.Nodes...)
		}
	})
}

// checkTemplate reports a template that cannot be evaluated: bad syntax, an unknown function,
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

// walkTemplate visits n and every node under it. The lists of if, range and with are nil
// pointers when the template has no else: they are skipped.
func walkTemplate(n parse.Node, visit func(parse.Node)) {
	switch x := n.(type) {
	case nil:
		return
	case *parse.ListNode:
		if x == nil {
			return
		}
	case *parse.PipeNode:
		if x == nil {
			return
		}
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
	case *parse.ChainNode:
		walkTemplate(n.Node, visit)
	case *parse.TemplateNode:
		walkTemplate(n.Pipe, visit)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, visit)
	}
}

func walkBranch(b *parse.BranchNode, visit func(parse.Node)) {
	walkTemplate(b.Pipe, visit)
	walkTemplate(b.List, visit)
	walkTemplate(b.ElseList, visit)
}

// fakeValue runs the gofakeit function name with parameters "key=value" on r.
func FakeValue(r *rand.Rand, name string, params []string) (string, error) {
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
	if best, d := edit.Closest(name, names); d <= 3 {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// repeats remembers which gofakeit calls repeat, by name and parameters: bounded, since the
// admin API can send parameters without end.
var repeats = bounded.NewCache[string, bool](1024, 0)

// fakeRepeats reports whether a gofakeit function depends only on the source it is given:
// the same seed must give the same value. A few v6 functions (date, daterange, person, ...)
// read gofakeit's global source instead, which moves on with every use: two calls with
// equally seeded private sources then differ. gofakeit's global source is never seeded here
// (the mock may run inside a user's test process, idvmocktest).
func fakeRepeats(name string, params []string) bool {
	key := name + "\x00" + strings.Join(params, "\x00")
	if ok, done := repeats.Get(key); done {
		return ok
	}
	ok := true
	for seed := int64(1); seed <= 16 && ok; seed++ {
		a, _ := FakeValue(rand.New(rand.NewSource(seed)), name, params)
		b, _ := FakeValue(rand.New(rand.NewSource(seed)), name, params)
		ok = a == b
	}
	repeats.Put(key, ok, len(key))
	return ok
}

// budget is what the templates of one result may still do.
type Budget struct {
	steps int
	bytes int
}

func NewBudget() *Budget { return &Budget{steps: MaxSteps, bytes: MaxAnswerOutput} }

func (b *Budget) step() error {
	if b.steps <= 0 {
		return overLimit("makes more than %d loop iterations and function calls in one answer", MaxSteps)
	}
	b.steps--
	return nil
}

// capped checks what a function returns against MaxOutput.
func capped(s string) (string, error) {
	if len(s) > MaxOutput {
		return "", overLimit("calls a function that returns %d bytes; at most %d are allowed", len(s), MaxOutput)
	}
	return s, nil
}

// boundFuncs are the template functions of one execution: each counts a step and returns at
// most MaxOutput bytes, fmt's and text/template's own printing functions included.
func boundFuncs(f *gofakeit.Faker, b *Budget) template.FuncMap {
	text := func(fn func(...any) string) func(...any) (string, error) {
		return func(args ...any) (string, error) {
			if err := b.step(); err != nil {
				return "", err
			}
			return capped(fn(args...))
		}
	}
	upper := func(fn func(string) string) func(string) (string, error) {
		return func(s string) (string, error) {
			if err := b.step(); err != nil {
				return "", err
			}
			return capped(fn(s))
		}
	}
	return template.FuncMap{
		stepFunc: func() (string, error) { return "", b.step() },
		"fake": func(name string, params ...string) (string, error) {
			if err := b.step(); err != nil {
				return "", err
			}
			v, err := FakeValue(f.Rand, name, params)
			if err != nil {
				return "", err
			}
			return capped(v)
		},
		"upper": upper(strings.ToUpper),
		"lower": upper(strings.ToLower),
		"printf": func(format string, args ...any) (string, error) {
			if err := b.step(); err != nil {
				return "", err
			}
			if err := checkFormat(format); err != nil {
				return "", err
			}
			return capped(fmt.Sprintf(format, args...))
		},
		"print":    text(fmt.Sprint),
		"println":  text(fmt.Sprintln),
		"html":     text(template.HTMLEscaper),
		"js":       text(template.JSEscaper),
		"urlquery": text(template.URLQueryEscaper),
	}
}

// checkFormat refuses printf widths and precisions that would make fmt allocate more than a
// field may hold: over maxFormatWidth, or given as * (from an argument).
func checkFormat(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format) && strings.IndexByte("+-# 0[]123456789.*", format[i]) >= 0; i++ {
			switch c := format[i]; {
			case c == '*':
				return overLimit("calls printf %q with a width from an argument (*); write the width as a number up to %d", format, maxFormatWidth)
			case c >= '1' && c <= '9' && (i == 0 || format[i-1] != '['):
				n := 0
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					if n = n*10 + int(format[i]-'0'); n > maxFormatWidth {
						return overLimit("calls printf %q with a width or precision over %d", format, maxFormatWidth)
					}
				}
				i--
			}
		}
	}
	return nil
}

// limitedWriter fails once more than limit bytes have been written.
type limitedWriter struct {
	b     strings.Builder
	limit int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.limit {
		return 0, overLimit("writes more than %d bytes", w.limit)
	}
	return w.b.Write(p)
}

// Render evaluates text for a request, with fake values drawn from f (seeded by the caller
// from the seed, the userId and the template's place, so the same request gives the same
// text). It spends b, the budget of the whole answer.
func Render(text string, data Data, f *gofakeit.Faker, b *Budget) (string, error) {
	if !Has(text) {
		return text, nil
	}
	t, err := parseTemplate(text)
	if err != nil {
		return "", templateError(text, err)
	}
	t, err = t.Clone()
	if err != nil {
		return "", err
	}
	t.Funcs(boundFuncs(f, b))
	w := &limitedWriter{limit: min(MaxOutput, b.bytes)}
	if err := t.Execute(w, data.values()); err != nil {
		return "", templateError(text, err)
	}
	b.bytes -= w.b.Len()
	return w.b.String(), nil
}
