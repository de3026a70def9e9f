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
	switch {
	case json.Valid(body):
		v = decodeJSON(body)
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

// decodeJSON decodes body, which must be valid JSON (json.Valid), to what a json.Decoder
// with UseNumber gives: map[string]any, []any, string, json.Number, bool and nil. Unlike
// the Decoder, which first copies the whole value into a buffer it grows by doubling, it
// reads body where it is; each string is copied once, escapes decoded as encoding/json
// decodes them (invalid UTF-8 and lone surrogates become U+FFFD).
func decodeJSON(body []byte) any {
	d := jsonDecoder{data: body}
	return d.value()
}

type jsonDecoder struct {
	data []byte
	i    int
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
		obj := map[string]any{}
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
		arr := []any{}
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
	return json.Number(d.data[start:d.i])
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
		return string(raw)
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
