package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Large answers. An answer is decoded in place and rendered in messages by its beginning
// only, so that checking one costs about its size once more, not several times.

// decodeObject decodes a body that must be exactly one JSON object, numbers as json.Number.
// A valid body is decoded in place (decodeJSON), without the copies a json.Decoder makes; the
// Decoder still says what is wrong with an invalid one, unless it is large.
func decodeObject(body []byte) (map[string]any, error) {
	var v any
	if sizes, ok := scanJSON(body); ok {
		v = decodeScanned(body, sizes)
	} else {
		switch {
		case json.Valid(body): // what scanJSON refuses, encoding/json refuses too: kept for safety
			v = decodeScanned(body, nil)
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
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a JSON %s, not an object", jsonKind(v))
	}
	return obj, nil
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

// scanJSON reports whether body is valid JSON as json.Valid does, and gives the number of
// members of each object and array, in the order they open, for decodeScanned to make
// each the right size at once. It reads each byte once, without encoding/json's state
// machine.
func scanJSON(body []byte) (sizes []int, ok bool) {
	s := jsonScanner{data: body, sizes: make([]int, 0, 64)}
	if !s.value() {
		return nil, false
	}
	s.space()
	return s.sizes, s.i == len(s.data)
}

type jsonScanner struct {
	data  []byte
	i     int
	depth int
	sizes []int
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
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	}
	return false
}

// container scans an object or an array; its size is its number of members.
func (s *jsonScanner) container(open byte) bool {
	if s.depth++; s.depth > maxJSONDepth {
		return false
	}
	at := len(s.sizes)
	s.sizes = append(s.sizes, 0)
	closer := byte(']')
	if open == '{' {
		closer = '}'
	}
	s.i++
	s.space()
	if s.i < len(s.data) && s.data[s.i] == closer {
		s.i++
		s.depth--
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
			s.sizes[at] = n
			s.depth--
			return true
		}
		return false
	}
}

func (s *jsonScanner) literal(word string) bool {
	if !bytes.HasPrefix(s.data[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}

func (s *jsonScanner) string() bool {
	s.i++ // '"'
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
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
		default:
			s.i++
		}
	}
	return false
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number() bool {
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
	sizes, _ := scanJSON(body)
	return decodeScanned(body, sizes)
}

// decodeScanned decodes valid JSON, its objects and arrays made with the sizes scanJSON
// gave (nil: grown as they fill). Unlike a json.Decoder, which first copies the whole value
// into a buffer it grows by doubling, it copies body once into a string, of which strings
// and numbers without escapes are parts; escapes are decoded as encoding/json decodes them
// (invalid UTF-8 and lone surrogates become U+FFFD).
func decodeScanned(body []byte, sizes []int) any {
	d := jsonDecoder{data: body, text: string(body), sizes: sizes}
	return d.value()
}

type jsonDecoder struct {
	data  []byte
	text  string // data, copied once
	i     int
	sizes []int // of the objects and arrays not yet decoded
}

// size is the number of members of the object or array being opened, or 0 if unknown.
func (d *jsonDecoder) size() int {
	if len(d.sizes) == 0 {
		return 0
	}
	n := d.sizes[0]
	d.sizes = d.sizes[1:]
	return n
}

func (d *jsonDecoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips spaces and returns the byte there, consumed.
func (d *jsonDecoder) next() byte {
	d.space()
	c := d.data[d.i]
	d.i++
	return c
}

func (d *jsonDecoder) value() any {
	d.space()
	switch d.data[d.i] {
	case '{':
		d.i++
		obj := make(map[string]any, d.size())
		d.space()
		if d.data[d.i] == '}' {
			d.i++
			return obj
		}
		for {
			d.space()
			key := d.string()
			d.next() // ':'
			obj[key] = d.value()
			if d.next() == '}' {
				return obj
			}
		}
	case '[':
		d.i++
		arr := make([]any, 0, d.size())
		d.space()
		if d.data[d.i] == ']' {
			d.i++
			return arr
		}
		for {
			arr = append(arr, d.value())
			if d.next() == ']' {
				return arr
			}
		}
	case '"':
		return d.string()
	case 't':
		d.i += len("true")
		return true
	case 'f':
		d.i += len("false")
		return false
	case 'n':
		d.i += len("null")
		return nil
	}
	start := d.i
	for d.i < len(d.data) && strings.IndexByte("+-.0123456789eE", d.data[d.i]) >= 0 {
		d.i++
	}
	return json.Number(d.text[start:d.i])
}

// string decodes the string literal at d.i.
func (d *jsonDecoder) string() string {
	d.i++ // '"'
	start, escaped := d.i, false
	for d.data[d.i] != '"' {
		if d.data[d.i] == '\\' {
			escaped = true
			d.i++
		}
		d.i++
	}
	raw := d.data[start:d.i]
	d.i++
	if !escaped && utf8.Valid(raw) {
		return d.text[start : d.i-1]
	}
	return unescape(raw)
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
