package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/idvmock/idvmock/internal/tmpl"
)

// object is a JSON object that keeps the order of its members, so that a result with
// overridden fields keeps the vendor's field order.
type object struct {
	keys   []string
	values map[string]any // rawJSON, nil, []any or *object; and, set by merge, YAML-decoded scalars
}

// rawJSON is a decoded string, number or boolean kept as its JSON text and written back
// unchanged: a result's 16 KB base64 images are neither unquoted nor quoted again.
type rawJSON []byte

func (o *object) set(key string, v any) {
	if _, ok := o.values[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.values[key] = v
}

// stringValue is the member key of o as a Go string, when it is a JSON string.
func (o *object) stringValue(key string) (string, bool) {
	raw, ok := o.values[key].(rawJSON)
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// decodeObject reads a JSON object keeping member order. Its strings, numbers and booleans
// stay JSON text (rawJSON) that shares data's bytes; null is nil.
func decodeObject(data []byte) (*object, error) {
	if !json.Valid(data) {
		return nil, fmt.Errorf("not valid JSON")
	}
	d := jsonScan{data: data}
	o, ok := d.value().(*object)
	if !ok {
		return nil, fmt.Errorf("not a JSON object")
	}
	return o, nil
}

// jsonScan reads a document json.Valid has accepted, so it checks nothing itself.
type jsonScan struct {
	data []byte
	i    int
}

func (d *jsonScan) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonScan) value() any {
	d.space()
	switch d.data[d.i] {
	case '{':
		d.i++
		o := &object{values: map[string]any{}}
		for d.space(); d.data[d.i] != '}'; d.space() {
			key := d.key()
			d.space()
			d.i++ // ':'
			o.set(key, d.value())
			if d.space(); d.data[d.i] == ',' {
				d.i++
				d.space()
			}
		}
		d.i++
		return o
	case '[':
		d.i++
		arr := []any{}
		for d.space(); d.data[d.i] != ']'; d.space() {
			arr = append(arr, d.value())
			if d.space(); d.data[d.i] == ',' {
				d.i++
			}
		}
		d.i++
		return arr
	case '"':
		return canonicalString(d.data[d.i:d.stringEnd()])
	case 'n':
		d.i += len("null")
		return nil
	}
	start := d.i // a number, true or false
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return rawJSON(d.data[start:d.i])
		}
		d.i++
	}
	return rawJSON(d.data[start:])
}

// canonicalString is a string's JSON text as encodeValue writes its value: as it is when it
// has no escape (the usual case, and the long base64 images), else decoded and encoded again
// without HTML escapes, so that "\u0026" comes out as "&" and "\ufffd" as the character, as
// they did when every string was decoded.
func canonicalString(raw []byte) rawJSON {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return raw
	}
	var s string
	_ = json.Unmarshal(raw, &s) // valid: json.Valid accepted the document
	var buf bytes.Buffer
	_ = encodeValue(&buf, s)
	return buf.Bytes()
}

// stringEnd moves past the string that starts at d.i and returns where it ends.
func (d *jsonScan) stringEnd() int {
	for d.i++; d.data[d.i] != '"'; d.i++ {
		if d.data[d.i] == '\\' {
			d.i++
		}
	}
	d.i++
	return d.i
}

func (d *jsonScan) key() string {
	start := d.i
	raw := d.data[start:d.stringEnd()]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var k string
	_ = json.Unmarshal(raw, &k) // valid: json.Valid accepted the document
	return k
}

// merge sets the fields of override over o: objects merge member by member, anything else
// (arrays included) replaces. New members come after the existing ones, in name order.
func (o *object) merge(override map[string]any) {
	for _, k := range sortedKeys(override) {
		v := override[k]
		if sub, ok := v.(map[string]any); ok {
			if existing, ok := o.values[k].(*object); ok {
				existing.merge(sub)
				continue
			}
			fresh := &object{values: map[string]any{}}
			fresh.merge(sub)
			o.set(k, fresh)
			continue
		}
		o.set(k, plain(v))
	}
}

// plain turns a YAML-decoded value into one encodeValue writes, objects in name order.
func plain(v any) any {
	switch x := v.(type) {
	case map[string]any:
		o := &object{values: map[string]any{}}
		o.merge(x)
		return o
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = plain(item)
		}
		return out
	}
	return v
}

// MarshalJSON writes the object with its members in order.
func (o *object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(o.size())
	if err := o.encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (o *object) encode(w io.Writer) error {
	if _, err := io.WriteString(w, "{"); err != nil {
		return err
	}
	for i, k := range o.keys {
		if i > 0 {
			io.WriteString(w, ",")
		}
		if err := encodeKey(w, k); err != nil {
			return err
		}
		io.WriteString(w, ":")
		if err := encodeValue(w, o.values[k]); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "}")
	return err
}

// size is about how many bytes o's JSON takes, to size its buffer.
func (o *object) size() int {
	n := 2
	for _, k := range o.keys {
		n += len(k) + 4 + valueSize(o.values[k])
	}
	return n
}

func valueSize(v any) int {
	switch x := v.(type) {
	case rawJSON:
		return len(x)
	case *object:
		return x.size()
	case []any:
		n := 2
		for _, item := range x {
			n += valueSize(item) + 1
		}
		return n
	}
	return 16
}

// encodeKey writes a member's name, quoted as encodeValue would without its encoder where
// the name needs no escape.
func encodeKey(w io.Writer, k string) error {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return encodeValue(w, k)
		}
	}
	io.WriteString(w, `"`)
	io.WriteString(w, k)
	_, err := io.WriteString(w, `"`)
	return err
}

func encodeValue(w io.Writer, v any) error {
	switch x := v.(type) {
	case rawJSON:
		_, err := w.Write(x)
		return err
	case *object:
		return x.encode(w)
	case []any:
		io.WriteString(w, "[")
		for i, item := range x {
			if i > 0 {
				io.WriteString(w, ",")
			}
			if err := encodeValue(w, item); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "]")
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return err
}

// renderValues evaluates the templates in every string of a free-form override, spending b.
func renderValues(v any, data tmpl.Data, seed int64, key string, b *tmpl.Budget) (any, error) {
	switch x := v.(type) {
	case string:
		out, err := renderText(x, data, seed, key, b)
		if err != nil {
			_, field, _ := strings.Cut(key, ".") // key is session[i].result...
			return nil, &FieldError{Field: field, Err: err}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			r, err := renderValues(x[k], data, seed, key+"."+k, b)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			r, err := renderValues(item, data, seed, fmt.Sprintf("%s[%d]", key, i), b)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// renderText evaluates one string's template, with fake data seeded from the seed, the userId
// and key (the template's place).
func renderText(text string, data tmpl.Data, seed int64, key string, b *tmpl.Budget) (string, error) {
	if !tmpl.Has(text) {
		return text, nil
	}
	f := faker(seed, data.UserID, "template:"+key, 0)
	defer release(f)
	return tmpl.Render(text, data, f, b)
}
