package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/idvmock/idvmock/internal/tmpl"
)

// object is a JSON object that keeps the order of its members, so that a result with
// overridden fields keeps the vendor's field order.
type object struct {
	keys   []string
	values map[string]any // string, json.Number, bool, nil, []any or *object
}

func (o *object) set(key string, v any) {
	if _, ok := o.values[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.values[key] = v
}

// decodeObject reads a JSON object keeping member order.
func decodeObject(data []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("not a JSON object")
	}
	return o, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{values: map[string]any{}}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				o.set(k.(string), v)
			}
			_, err := dec.Token()
			return o, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
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
		if err := encodeValue(w, k); err != nil {
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

func encodeValue(w io.Writer, v any) error {
	switch x := v.(type) {
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
	return tmpl.Render(text, data, faker(seed, data.UserID, "template:"+key, 0), b)
}
