package files

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/idvmock/idvmock/internal/edit"
	"github.com/idvmock/idvmock/scenarios"
)

var textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// walkKeys checks that every mapping key of node is a field of t (by yaml tag, inline
// structs included), that every value of a type read from text (a time, a duration, an
// after) reads, and records the position of every value under path. Free-form values
// (map[string]any) are not entered. report's fatal says the file cannot be decoded.
func walkKeys(node *yaml.Node, t reflect.Type, path string, pos scenarios.Positions, report func(p scenarios.Problem, fatal bool)) {
	pos[path] = scenarios.Position{Line: node.Line, Column: node.Column}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		if err := readText(node, t); err != nil {
			report(scenarios.Problem{Path: path, Line: node.Line, Column: node.Column, What: err.What, Hint: err.Hint}, true)
		}
		return
	}
	switch {
	case t.Kind() == reflect.Interface || (t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Interface):
		recordPositions(node, path, pos)
	case t.Kind() == reflect.Struct && node.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, value := node.Content[i], node.Content[i+1]
			ft, ok := fields[key.Value]
			if !ok {
				hint, suggested := keyHint(key.Value, fields)
				report(scenarios.Problem{Path: join(path, key.Value), Line: key.Line, Column: key.Column,
					What: fmt.Sprintf("unknown key %q", key.Value), Hint: hint, Suggested: suggested}, false)
				continue
			}
			walkKeys(value, ft, join(path, key.Value), pos, report)
		}
	case t.Kind() == reflect.Map && t.Elem().Kind() != reflect.Interface && node.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			walkKeys(node.Content[i+1], t.Elem(), join(path, node.Content[i].Value), pos, report)
		}
	case t.Kind() == reflect.Slice && node.Kind == yaml.SequenceNode:
		for i, item := range node.Content {
			walkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), pos, report)
		}
	}
}

// readText reads a scalar node as t, a type read from text, and says what is wrong if it
// cannot.
func readText(node *yaml.Node, t reflect.Type) *scenarios.ValueError {
	v := reflect.New(t).Interface().(encoding.TextUnmarshaler)
	err := v.UnmarshalText([]byte(node.Value))
	var ve *scenarios.ValueError
	switch {
	case node.Kind != yaml.ScalarNode:
		// a mapping or a list where a time, duration or after goes: say what the text would be
		if errors.As(v.UnmarshalText(nil), &ve) {
			return ve
		}
		return &scenarios.ValueError{What: "is not a single value", Hint: "write it as text"}
	case errors.As(err, &ve):
		return ve
	case err != nil:
		return &scenarios.ValueError{What: err.Error(), Hint: "see docs/scenarios.md for the type of each field"}
	}
	return nil
}

// recordPositions records where every value of a free-form node stands.
func recordPositions(node *yaml.Node, path string, pos scenarios.Positions) {
	pos[path] = scenarios.Position{Line: node.Line, Column: node.Column}
	switch node.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			recordPositions(node.Content[i+1], join(path, node.Content[i].Value), pos)
		}
	case yaml.SequenceNode:
		for i, item := range node.Content {
			recordPositions(item, fmt.Sprintf("%s[%d]", path, i), pos)
		}
	}
}

// join is the path of key in the mapping at path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the yaml keys of struct t to their types, inline structs flattened.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

// keyHint suggests the known key closest to an unknown one, and returns it too.
func keyHint(unknown string, fields map[string]reflect.Type) (hint, suggested string) {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	if unknown == "after" || unknown == "name" {
		return unknown + " belongs to an item of states:", ""
	}
	if best, d := edit.Closest(unknown, names); d <= max(2, len(unknown)/3) {
		return fmt.Sprintf("did you mean %q?", best), best
	}
	return "known keys here: " + strings.Join(names, ", "), ""
}
