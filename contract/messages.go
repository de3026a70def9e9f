package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// How a violation shows what came: values as short, one-line JSON, absent fields and
// headers said in words.

// describeBody says what a body that is not a JSON object holds.
func describeBody(body []byte, err error) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return "an empty body"
	}
	return fmt.Sprintf("%s (%v)", clip(string(body[:min(len(body), 4096)]), 60), err)
}

// valueText renders obj[key] for a message: its JSON, or "nothing" when it is absent.
func valueText(obj map[string]any, key string) string {
	v, ok := obj[key]
	if !ok {
		return "nothing (the field is absent)"
	}
	return jsonText(v)
}

// valueTextAt shows the value at field (a/b) of r, or says it is absent.
func valueTextAt(r map[string]any, field string) string {
	parent, key := r, field
	if before, after, ok := strings.Cut(field, "/"); ok {
		parent, _ = r[before].(map[string]any)
		key = after
	}
	return valueText(parent, key)
}

// jsonText renders v for a message: its JSON, cut to one short line.
func jsonText(v any) string {
	b, err := json.Marshal(shrink(v, 4096))
	if err != nil {
		return fmt.Sprint(v)
	}
	return clip(string(b), 80)
}

// quoteOrNothing quotes a header's value for a message, or says there was none.
func quoteOrNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return fmt.Sprintf("%q", s)
}

// clip shortens s to n characters for a one-line message, its whitespace collapsed.
func clip(s string, n int) string {
	if len(s) <= n && isOneLine(s) {
		return s // nothing to collapse or cut
	}
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}

// isOneLine tells whether s is ASCII, its words separated by single spaces, with none before
// or after: what clip leaves as it is (when short enough).
func isOneLine(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf, c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
			return false
		case c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' '):
			return false
		}
	}
	return true
}
