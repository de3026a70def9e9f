package contract

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Large answers. An answer is decoded in place and rendered in messages by its beginning
// only, so that checking one costs about its size once more, not several times.

// decodeObject decodes a body that must be exactly one JSON object, numbers as json.Number.
// A valid body is decoded from its scan (scanJSON), without the copies a json.Decoder makes;
// the Decoder still says what is wrong with an invalid one, unless it is large.
func decodeObject(body []byte) (map[string]any, error) {
	t, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	defer t.release()
	return t.object(), nil
}

// parseObject scans a body that must be exactly one JSON object; the errors are
// decodeObject's. The tree is the caller's to release.
func parseObject(body []byte) (*jsonTree, error) {
	t, ok := scanJSON(body)
	if !ok {
		var v any
		switch {
		case json.Valid(body): // what scanJSON refuses, encoding/json refuses too: kept for safety
			v = decodeWithoutScan(body)
		case len(body) > 1<<20:
			var raw json.RawMessage
			return nil, json.Unmarshal(body, &raw) // the syntax error, found without copying body
		default:
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			if dec.More() {
				return nil, fmt.Errorf("more than one JSON value")
			}
		}
		if obj, isObject := v.(map[string]any); isObject {
			// not reached (scanJSON accepts what json.Valid accepts): the object, encoded again
			if again, err := json.Marshal(obj); err == nil {
				if t, ok := scanJSON(again); ok {
					return t, nil
				}
			}
			return nil, fmt.Errorf("a JSON object the checker cannot read")
		}
		return nil, fmt.Errorf("a JSON %s, not an object", jsonKind(v))
	}
	if t.nodes[0].kind != '{' {
		err := fmt.Errorf("a JSON %s, not an object", jsonKind(t.value(0)))
		t.release()
		return nil, err
	}
	return t, nil
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	default:
		return "number"
	}
}

// maxJSONDepth is encoding/json's limit of nested objects and arrays.
const maxJSONDepth = 10000

// jsonTree is a JSON text scanned once: its values in document order, each object's
// members as a key and a value, after the object's node. Matchers and the checker's rules
// read it without decoding; object and value decode it as a json.Decoder with UseNumber
// would.
type jsonTree struct {
	data []byte
	// text is data as a string: strings and numbers without escapes are parts of it. Until
	// own, it is data itself, not a copy, for a check that only reads the tree (quickPass)
	// and keeps nothing of it; whatever may outlive the check is decoded after own, which
	// copies data once (object does).
	text  string
	owned bool
	nodes []jnode
}

// jnode is one value of a jsonTree.
type jnode struct {
	kind  byte  // '{', '[', '"', '0' (a number), 't', 'f', 'n'
	esc   bool  // a string with escapes or invalid UTF-8: its value is not its text
	start int32 // of a string's inside, of a number, of an object's or array's bracket
	end   int32 // past it (of an object or array: past its closing bracket)
	n     int32 // members of an object or array
	next  int32 // the node after this value and its members
}

var treePool = sync.Pool{New: func() any { return &jsonTree{nodes: make([]jnode, 0, 128)} }}

// release gives t back for another scan; nothing of it may be used after.
func (t *jsonTree) release() {
	if cap(t.nodes) > 1<<16 {
		return // a large body's: not kept
	}
	t.data, t.text, t.owned, t.nodes = nil, "", false, t.nodes[:0]
	treePool.Put(t)
}

// scanJSON reports whether body is valid JSON as json.Valid does, and gives its tree (the
// caller's to release). It reads each byte once, without encoding/json's state machine.
func scanJSON(body []byte) (*jsonTree, bool) {
	if len(body) >= math.MaxInt32 {
		return nil, false
	}
	t := treePool.Get().(*jsonTree)
	s := jsonScanner{data: body, nodes: t.nodes}
	ok := s.value()
	if ok {
		s.space()
		ok = s.i == len(s.data)
	}
	t.nodes = s.nodes
	if !ok {
		t.release()
		return nil, false
	}
	t.data, t.text = body, unsafe.String(unsafe.SliceData(body), len(body)) // not empty: valid JSON
	return t, true
}

type jsonScanner struct {
	data  []byte
	i     int
	depth int
	nodes []jnode
}

func (s *jsonScanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) value() bool {
	s.space()
	if s.i >= len(s.data) {
		return false
	}
	switch c := s.data[s.i]; {
	case c == '{' || c == '[':
		return s.container(c)
	case c == '"':
		return s.string()
	case c == 't':
		return s.literal('t', "true")
	case c == 'f':
		return s.literal('f', "false")
	case c == 'n':
		return s.literal('n', "null")
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	}
	return false
}

// container scans an object or an array; its n is its number of members.
func (s *jsonScanner) container(open byte) bool {
	if s.depth++; s.depth > maxJSONDepth {
		return false
	}
	at := len(s.nodes)
	s.nodes = append(s.nodes, jnode{kind: open, start: int32(s.i)})
	closer := byte(']')
	if open == '{' {
		closer = '}'
	}
	s.i++
	s.space()
	if s.i < len(s.data) && s.data[s.i] == closer {
		s.i++
		s.depth--
		s.nodes[at].end, s.nodes[at].next = int32(s.i), int32(len(s.nodes))
		return true
	}
	n := 0
	for {
		if open == '{' {
			s.space()
			if s.i >= len(s.data) || s.data[s.i] != '"' || !s.string() {
				return false
			}
			s.space()
			if s.i >= len(s.data) || s.data[s.i] != ':' {
				return false
			}
			s.i++
		}
		if !s.value() {
			return false
		}
		n++
		s.space()
		if s.i >= len(s.data) {
			return false
		}
		switch s.data[s.i] {
		case ',':
			s.i++
			continue
		case closer:
			s.i++
			s.nodes[at].n, s.nodes[at].end, s.nodes[at].next = int32(n), int32(s.i), int32(len(s.nodes))
			s.depth--
			return true
		}
		return false
	}
}

func (s *jsonScanner) literal(kind byte, word string) bool {
	if !bytes.HasPrefix(s.data[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	s.nodes = append(s.nodes, jnode{kind: kind, next: int32(len(s.nodes) + 1)})
	return true
}

func (s *jsonScanner) string() bool {
	s.i++ // '"'
	start, escaped, high := s.i, false, false
	for {
		// eight bytes at a time while none of them needs attention, then one at a time
		for s.i+8 <= len(s.data) && plainWord(binary.LittleEndian.Uint64(s.data[s.i:])) {
			s.i += 8
		}
		for s.i < len(s.data) && plainInString[s.data[s.i]] {
			s.i++
		}
		if s.i >= len(s.data) {
			return false
		}
		switch c := s.data[s.i]; {
		case c == '"':
			esc := escaped || high && !utf8.Valid(s.data[start:s.i])
			s.nodes = append(s.nodes, jnode{kind: '"', esc: esc, start: int32(start), end: int32(s.i), next: int32(len(s.nodes) + 1)})
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.data) {
				return false
			}
			switch s.data[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.data) {
					return false
				}
				for _, h := range s.data[s.i+2 : s.i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				s.i += 6
			default:
				return false
			}
		default: // a byte of UTF-8 beyond ASCII
			high = true
			s.i++
		}
	}
}

// plainWord tells whether all eight bytes of w are plainInString: none is '"' or '\\', below
// 0x20 or from 0x80. (x-0x01...)&^x&0x80... has a high bit set exactly when a byte of x is
// zero, and (w-0x20...)&^w&0x80... when a byte of w is below 0x20.)
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	special := (quote-ones)&^quote | (backslash-ones)&^backslash | (w-ones*0x20)&^w | w
	return special&highs == 0
}

// plainInString are the bytes a string's scan passes over: ASCII, neither a control
// character, nor '"', nor '\\'.
var plainInString = func() (plain [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
	}
	return plain
}()

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number() bool {
	start := s.i
	if s.data[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.data) && s.data[s.i] == '0':
		s.i++
	case s.i < len(s.data) && '1' <= s.data[s.i] && s.data[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	s.nodes = append(s.nodes, jnode{kind: '0', start: int32(start), end: int32(s.i), next: int32(len(s.nodes) + 1)})
	return true
}

func (s *jsonScanner) digits() int {
	start := s.i
	for s.i < len(s.data) && '0' <= s.data[s.i] && s.data[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// decodeJSON decodes body, which must be valid JSON (json.Valid), to what a json.Decoder
// with UseNumber gives: map[string]any, []any, string, json.Number, bool and nil.
func decodeJSON(body []byte) any {
	t, ok := scanJSON(body)
	if !ok {
		return decodeWithoutScan(body)
	}
	defer t.release()
	t.own()
	return t.value(0)
}

// own makes t.text a copy of the body: what is decoded after is the caller's to keep.
func (t *jsonTree) own() {
	if !t.owned {
		t.text, t.owned = string(t.data), true
	}
}

// object decodes the tree's value, an object, to keep (see own).
func (t *jsonTree) object() map[string]any {
	t.own()
	v, _ := t.value(0).(map[string]any)
	return v
}

// value decodes the value at node i: to keep only if t is owned (own). Strings and numbers
// without escapes are parts of t.text; escapes are decoded as encoding/json decodes them (invalid UTF-8 and lone
// surrogates become U+FFFD).
func (t *jsonTree) value(i int) any {
	nd := &t.nodes[i]
	switch nd.kind {
	case '{':
		obj := make(map[string]any, nd.n)
		for j, k := i+1, 0; k < int(nd.n); k++ {
			obj[t.str(j)] = t.value(j + 1)
			j = int(t.nodes[j+1].next)
		}
		return obj
	case '[':
		arr := make([]any, nd.n)
		for j, k := i+1, 0; k < int(nd.n); k++ {
			arr[k] = t.value(j)
			j = int(t.nodes[j].next)
		}
		return arr
	case '"':
		return t.str(i)
	case '0':
		return json.Number(t.text[nd.start:nd.end])
	case 't':
		return true
	case 'f':
		return false
	}
	return nil
}

// str is the value of the string at node i.
func (t *jsonTree) str(i int) string {
	nd := &t.nodes[i]
	if !nd.esc {
		return t.text[nd.start:nd.end]
	}
	return unescape(t.data[nd.start:nd.end])
}

// raw is the text of the string or number at node i: for a string without escapes, its
// value, without a copy.
func (t *jsonTree) raw(i int) []byte {
	return t.data[t.nodes[i].start:t.nodes[i].end]
}

// member finds the value of the member key of the object at node i, as a decoded object
// has it: the last member of that name.
func (t *jsonTree) member(i int, key string) (int, bool) {
	found := -1
	for j, k := i+1, 0; k < int(t.nodes[i].n); k++ {
		if t.isString(j, key) {
			found = j + 1
		}
		j = int(t.nodes[j+1].next)
	}
	return found, found >= 0
}

// isString tells whether node i is the string s.
func (t *jsonTree) isString(i int, s string) bool {
	nd := &t.nodes[i]
	if nd.kind != '"' {
		return false
	}
	if !nd.esc {
		return string(t.data[nd.start:nd.end]) == s
	}
	return unescape(t.data[nd.start:nd.end]) == s
}

// decodeWithoutScan decodes valid JSON that scanJSON refused (none: kept for safety) with a
// json.Decoder.
func decodeWithoutScan(body []byte) any {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	_ = dec.Decode(&v)
	return v
}

// unescape decodes the inside of a string literal that has escapes or invalid UTF-8, as
// encoding/json does: invalid UTF-8 and lone surrogates become U+FFFD.
func unescape(raw []byte) string {
	var b strings.Builder
	b.Grow(len(raw))
	for r := 0; r < len(raw); {
		c := raw[r]
		switch {
		case c == '\\':
			r += writeEscape(&b, raw[r:])
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			r++
		default:
			rr, size := utf8.DecodeRune(raw[r:])
			b.WriteRune(rr) // RuneError for a byte of invalid UTF-8, as encoding/json does
			r += size
		}
	}
	return b.String()
}

// writeEscape writes the character of the escape s starts with and returns the escape's
// length: 2, 6 for a \u escape, 12 for a surrogate pair written as two.
func writeEscape(b *strings.Builder, s []byte) int {
	switch e := s[1]; e {
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		rr := hex4(s[2:])
		if utf16.IsSurrogate(rr) && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if pair := utf16.DecodeRune(rr, hex4(s[8:])); pair != utf8.RuneError {
				b.WriteRune(pair)
				return 12
			}
		}
		if utf16.IsSurrogate(rr) {
			rr = utf8.RuneError
		}
		b.WriteRune(rr)
		return 6
	default: // '"', '\\', '/'
		b.WriteByte(e)
	}
	return 2
}

// hex4 reads the four hex digits of a \u escape (valid: json.Valid checked them).
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// shrink returns v cut down for a message: strings to n bytes, objects to their n/64 first
// keys in JSON's sorted order, arrays to their n/64 first items. The first characters of its
// JSON are those of v's, without encoding the whole of a large value.
func shrink(v any, n int) any {
	switch x := v.(type) {
	case string:
		if len(x) > n {
			return strings.ToValidUTF8(x[:n], "")
		}
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		out := make(map[string]any, min(len(keys), n/64))
		for _, k := range keys[:min(len(keys), n/64)] {
			out[k] = shrink(x[k], n)
		}
		return out
	case []any:
		out := make([]any, min(len(x), n/64))
		for i := range out {
			out[i] = shrink(x[i], n)
		}
		return out
	}
	return v
}
