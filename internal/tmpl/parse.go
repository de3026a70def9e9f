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

// walkTemplate visits n and every node under it, each before the nodes under it.
func walkTemplate(n parse.Node, visit func(parse.Node)) {
	if absent(n) {
		return
	}
	visit(n)
	for _, c := range children(n) {
		walkTemplate(c, visit)
	}
}

// absent reports whether n stands for no node: nil, or a nil list or pipeline (the else list
// of an if, range or with that has none; the pipeline of a template call without one).
func absent(n parse.Node) bool {
	switch x := n.(type) {
	case nil:
		return true
	case *parse.ListNode:
		return x == nil
	case *parse.PipeNode:
		return x == nil
	}
	return false
}

// children lists the nodes directly under n, in template order; some may be absent.
func children(n parse.Node) []parse.Node {
	switch n := n.(type) {
	case *parse.ListNode:
		return n.Nodes
	case *parse.PipeNode:
		cmds := make([]parse.Node, len(n.Cmds))
		for i, c := range n.Cmds {
			cmds[i] = c
		}
		return cmds
	case *parse.CommandNode:
		return n.Args
	case *parse.ActionNode:
		return []parse.Node{n.Pipe}
	case *parse.TemplateNode:
		return []parse.Node{n.Pipe}
	case *parse.ChainNode:
		return []parse.Node{n.Node}
	case *parse.IfNode:
		return branch(&n.BranchNode)
	case *parse.RangeNode:
		return branch(&n.BranchNode)
	case *parse.WithNode:
		return branch(&n.BranchNode)
	}
	return nil
}

// branch lists the pipeline and lists of an if, range or with.
func branch(b *parse.BranchNode) []parse.Node {
	return []parse.Node{b.Pipe, b.List, b.ElseList}
}
