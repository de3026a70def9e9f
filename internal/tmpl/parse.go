package tmpl

import (
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/idvmock/idvmock/internal/bounded"
)

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

// parseTemplate parses text with the names of the functions a template may call, with steps
// inserted, or takes it from the cache.
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

// walkBranch visits the pipeline and lists of an if, range or with.
func walkBranch(b *parse.BranchNode, visit func(parse.Node)) {
	walkTemplate(b.Pipe, visit)
	walkTemplate(b.List, visit)
	walkTemplate(b.ElseList, visit)
}
