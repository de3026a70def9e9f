package contract

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// decodeWithDecoder is what decodeObject did before decoding in place: the reference.
func decodeWithDecoder(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

var jsonSeeds = []string{
	`{}`, `[]`, `{"a":[]}`, `{"a":{}}`, ` { "a" : [ 1 , 2.5 , -0 , 1e3 , -1.5E-7 , 12345678901234567890 ] } `,
	`{"a":true,"b":false,"c":null}`, `{"dup":1,"dup":2}`, `{"":""}`,
	`{"s":"plain ascii"}`, `{"s":"caf\u00e9 \u4e16\u754c"}`, `{"s":"café 世界 🙂"}`,
	`{"s":"\"\\\/\b\f\n\r\t"}`, `{"s":"a\/b\/c"}`, `{"\u0061\"key":"v"}`,
	`{"s":"\ud83d\ude00"}`, `{"s":"\ud83d"}`, `{"s":"\ude00"}`, `{"s":"\ud83dx"}`, `{"s":"\ud83d\u0041"}`,
	`{"s":"\ud83d\ud83d\ude00"}`, `{"s":"\u0000\u001f\uFFFD\uffff"}`,
	"{\"s\":\"\xff\xfe bad utf8 \xc3\"}", "{\"s\":\"\xe2\x82\"}", "{\"s\":\"\xed\xa0\x80\"}", "{\"s\\u00e9\xff\":1}",
	`[[[[[[[[[[{"deep":[{"er":"x"}]}]]]]]]]]]]`, `"top-level string"`, `42`, `null`,
	"\t\r\n {\"ws\" :\n[ ]\t}\r\n",
}

// decodeJSON gives what a json.Decoder with UseNumber gives, for every valid JSON text:
// strings with escapes, surrogate pairs, lone surrogates and invalid UTF-8 included.
func TestDecodeJSONIsEncodingJSON(t *testing.T) {
	inputs := append([]string(nil), jsonSeeds...)
	files, _ := filepath.Glob("testdata/*/*.json")
	vendor, _ := filepath.Glob("../testdata/vendor/*.json")
	for _, f := range append(files, vendor...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(data))
	}
	if len(inputs) < len(jsonSeeds)+20 {
		t.Fatalf("only %d inputs: the test data was not found", len(inputs))
	}
	for _, in := range inputs {
		if !json.Valid([]byte(in)) {
			continue
		}
		want, err := decodeWithDecoder([]byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := decodeJSON([]byte(in)); !reflect.DeepEqual(got, want) {
			t.Errorf("%.80q:\ngot  %#v\nwant %#v", in, got, want)
		}
	}
}

// decodeObject keeps its errors: the Decoder's for a small body, the syntax error for a large
// one, and "not an object" for other JSON values.
func TestDecodeObjectErrors(t *testing.T) {
	for body, want := range map[string]string{
		``:           "EOF",
		`{"a":`:      "unexpected EOF",
		`{} {}`:      "more than one JSON value",
		`[1]`:        "a JSON array, not an object",
		`"s"`:        "a JSON string, not an object",
		`<html>`:     "invalid character '<' looking for beginning of value",
		`{"a":1,}`:   "invalid character '}' looking for beginning of object key string",
		`{"a":01}`:   "invalid character '1' after object key:value pair",
		`{"a":"\x"}`: "invalid character 'x' in string escape code",
	} {
		if _, err := decodeObject([]byte(body)); err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
	large := []byte(`{"image":"` + strings.Repeat("A", 2<<20) + `"`) // truncated
	if _, err := decodeObject(large); err == nil || !strings.Contains(err.Error(), "unexpected end of JSON input") {
		t.Errorf("a large truncated body: error %v", err)
	}
}

// Any valid JSON text decodes as encoding/json decodes it.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		want, err := decodeWithDecoder(body)
		if err != nil {
			t.Fatalf("valid JSON the Decoder refuses: %v", err)
		}
		if got := decodeJSON(body); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\ngot  %#v\nwant %#v", body, got, want)
		}
	})
}

// shrink keeps the beginning of a value's JSON, which is all a message shows of it.
func TestShrinkKeepsTheBeginningOfTheJSON(t *testing.T) {
	big := map[string]any{"image": strings.Repeat("QUJD", 1<<20), "b": []any{json.Number("1"), "x"}, "a": nil}
	for i := range 200 {
		big[strings.Repeat("k", i%7)+string(rune('a'+i%26))+strings.Repeat("z", i/26)] = i
	}
	full, _ := json.Marshal(big)
	small, _ := json.Marshal(shrink(big, 4096))
	if len(small) > 8192 || !bytes.HasPrefix(full, small[:1000]) {
		t.Errorf("shrink gave %d bytes; want the first 1000 of the full JSON:\n%.200s\n%.200s", len(small), small, full)
	}
	if got, want := jsonText(big), clip(string(full), 80); got != want {
		t.Errorf("jsonText = %q, want %q", got, want)
	}
}

var invalidJSONSeeds = []string{
	``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a" 1}`, `{1:2}`, `[1 2]`,
	`01`, `-`, `-a`, `1.`, `.5`, `1e`, `1e+`, `+1`, `0x1`, `tru`, `truex`, `nul`, `NaN`, `"a`, `"\x"`, `"\u12"`,
	`"\u12g4"`, "\"a\tb\"", "\"\x00\"", `{} {}`, `[] x`, `"\`,
}

// scanJSON accepts exactly what json.Valid accepts, nesting limit included.
func TestScanJSONIsValid(t *testing.T) {
	inputs := append(append([]string(nil), jsonSeeds...), invalidJSONSeeds...)
	inputs = append(inputs, strings.Repeat("[", maxJSONDepth)+strings.Repeat("]", maxJSONDepth),
		strings.Repeat("[", maxJSONDepth+1)+strings.Repeat("]", maxJSONDepth+1),
		strings.Repeat(`{"a":`, maxJSONDepth)+"1"+strings.Repeat("}", maxJSONDepth))
	for _, in := range inputs {
		if _, ok := scanJSON([]byte(in)); ok != json.Valid([]byte(in)) {
			t.Errorf("%.80q: scanJSON %v, json.Valid %v", in, ok, !ok)
		}
	}
}

// Any input: scanJSON and json.Valid agree.
func FuzzScanJSON(f *testing.F) {
	for _, s := range append(append([]string(nil), jsonSeeds...), invalidJSONSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, ok := scanJSON(body); ok != json.Valid(body) {
			t.Fatalf("%q: scanJSON %v, json.Valid %v", body, ok, !ok)
		}
	})
}

// plainWord says of eight bytes what plainInString says of each.
func TestPlainWord(t *testing.T) {
	var b [8]byte
	for c := range 256 {
		for at := range 8 {
			for k := range b {
				b[k] = 'a'
			}
			b[at] = byte(c)
			want := plainInString[c]
			if got := plainWord(binary.LittleEndian.Uint64(b[:])); got != want {
				t.Fatalf("%q with %#x at %d: %v, want %v", b, c, at, got, want)
			}
		}
	}
	for c := range 256 { // every byte with every other, everywhere: the tricks' borrows
		for d := range 256 {
			b = [8]byte{byte(c), byte(d), byte(c), byte(d), byte(d), byte(c), byte(d), byte(c)}
			want := plainInString[c] && plainInString[d]
			if got := plainWord(binary.LittleEndian.Uint64(b[:])); got != want {
				t.Fatalf("%q: %v, want %v", b, got, want)
			}
		}
	}
}
