package engine

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// decodeObject keeps members in order and leaves are written back as they were read, so an
// object decoded and encoded again is the same JSON value with the same member order.
func TestDecodeObjectRoundTrip(t *testing.T) {
	docs := []string{
		`{}`,
		`{"a":1}`,
		` { "b" : [ 1 , 2.5e-3 , -0 , true , false , null , "x" , { } , [ ] ] , "a" : { "z" : null } } `,
		`{"esc\"aped":"line\nbreak \u2028 \\ \/ é 中","html":"<a href=\"x\">&amp;</a>","n":12345678901234567890}`,
		`{"nested":{"deeper":{"deepest":[[[{"k":"v"}]]]}},"after":"\\"}`,
		`{"dup":1,"other":2,"dup":3}`,
		"{\"ws\":\t\r\n\"v\"\t}",
	}
	if got := memberOrder(t, []byte(docs[2])); !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Fatalf("memberOrder of %s = %v", docs[2], got)
	}
	for _, doc := range docs {
		o, err := decodeObject([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		out, err := o.MarshalJSON()
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		var want, got any
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: wrote invalid JSON %s: %v", doc, out, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: came back as %s", doc, out)
		}
		if keys, wantKeys := memberOrder(t, out), memberOrder(t, []byte(doc)); !reflect.DeepEqual(keys, wantKeys) {
			t.Errorf("%s: member order %v, want %v", doc, keys, wantKeys)
		}
	}
	if o, _ := decodeObject([]byte(`{"dup":1,"other":2,"dup":3}`)); !reflect.DeepEqual(o.keys, []string{"dup", "other"}) {
		t.Errorf("a repeated member keeps its first place and its last value: keys %v", o.keys)
	}
}

// memberOrder lists the top-level member names in the order a streaming decoder meets them,
// repeated names once.
func memberOrder(t *testing.T, doc []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		if k := tok.(string); !seen[k] {
			keys = append(keys, k)
			seen[k] = true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// Anything that is not one valid JSON object is refused, never half read.
func TestDecodeObjectRefusesOtherInput(t *testing.T) {
	for _, doc := range []string{``, `[]`, `"s"`, `1`, `null`, `{"a":}`, `{"a":1`, `{"a":"unterminated}`, `{"a":1} {}`, `{a:1}`} {
		if o, err := decodeObject([]byte(doc)); err == nil {
			t.Errorf("%q: accepted as %+v", doc, o)
		}
	}
}

// Strings are not unquoted: a member is read as the JSON text it was, and stringValue gives
// its Go value.
func TestDecodeObjectKeepsStringsAsText(t *testing.T) {
	o, err := decodeObject([]byte(`{"docType":"PH-ID-\u0053SS","n":1,"big":"` + strings.Repeat("QUJD", 4096) + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := o.stringValue("docType"); !ok || s != "PH-ID-SSS" {
		t.Errorf("docType = %q, %v", s, ok)
	}
	if _, ok := o.stringValue("n"); ok {
		t.Error("a number read as a string")
	}
	if raw, ok := o.values["big"].(rawJSON); !ok || len(raw) != 4*4096+2 {
		t.Errorf("the long string is %T of %d bytes", o.values["big"], len(raw))
	}
}

// A string with escapes comes out as encodeValue writes its value, as it did when every
// string was decoded: without HTML escapes, U+FFFD as the character, "\/" as "/". Get
// Profile's document fields and overridden Get Results depend on it.
func TestDecodeObjectWritesEscapedStringsAsValues(t *testing.T) {
	in := `{"a":"Tom \u0026 Jerry \u003cLtd\u003e","b":"\ufffd","c":"\/x","d":"line\nbreak \"q\" \u2028","e":"plain"}`
	want := `{"a":"Tom & Jerry <Ltd>","b":"` + "\uFFFD" + `","c":"/x","d":"line\nbreak \"q\" \u2028","e":"plain"}`
	o, err := decodeObject([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := o.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Errorf("wrote %s\nwant  %s", out, want)
	}
}
