package contract

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Case is one request of the suite and what its answer must hold. The checker's rules apply
// to every answer; Expect adds what this case in particular expects.
type Case struct {
	Name      string            `yaml:"name" json:"name"`
	Operation string            `yaml:"operation,omitempty" json:"operation,omitempty"` // OpGetLatest (default) or OpToken
	User      string            `yaml:"user,omitempty" json:"user,omitempty"`           // a key of the users file
	Query     map[string]string `yaml:"query,omitempty" json:"query,omitempty"`
	Token     string            `yaml:"token,omitempty" json:"token,omitempty"` // "" the run's token, "none" no header, else this token
	Body      string            `yaml:"body,omitempty" json:"body,omitempty"`   // OpToken: BodySigned (default) or BodyWrongSignature
	Expect    map[string]any    `yaml:"expect" json:"expect"`                   // JSON pointer -> value

	source string // file:line, for messages
}

// Values of Case.Token and Case.Body.
const (
	TokenNone          = "none"
	BodySigned         = "signed"
	BodyWrongSignature = "wrong-signature"
)

//go:embed cases.yaml
var builtinCases []byte

//go:embed users.yaml
var builtinUsers []byte

// BuiltinCases are the suite's own cases.
func BuiltinCases() []Case {
	cases, err := ParseCases("cases.yaml (built in)", builtinCases)
	if err != nil {
		panic(err) // a test proves the embedded file parses
	}
	return cases
}

// BuiltinUsers maps the states the built-in cases name to idvmock's demo users.
func BuiltinUsers() map[string]string {
	users, err := ParseUsers("users.yaml (built in)", builtinUsers)
	if err != nil {
		panic(err)
	}
	return users
}

// ParseCases reads a cases file: {cases: [...]}, unknown keys refused.
func ParseCases(name string, data []byte) ([]Case, error) {
	var file struct {
		Cases []Case `yaml:"cases"`
	}
	if err := decodeStrict(name, data, &file); err != nil {
		return nil, err
	}
	var lines struct {
		Cases []yaml.Node `yaml:"cases"`
	}
	_ = yaml.Unmarshal(data, &lines)
	var problems []string
	for i := range file.Cases {
		c := &file.Cases[i]
		c.source = fmt.Sprintf("%s: case %d", name, i)
		if i < len(lines.Cases) {
			c.source = fmt.Sprintf("%s:%d", name, lines.Cases[i].Line)
		}
		for _, p := range c.problems() {
			problems = append(problems, c.source+": "+p)
		}
	}
	if len(file.Cases) == 0 {
		problems = append(problems, name+": no cases: the file needs a list under cases:")
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return file.Cases, nil
}

func (c *Case) problems() []string {
	var out []string
	if c.Name == "" {
		out = append(out, "name: missing (every case needs a name, for the reports)")
	}
	switch c.Operation {
	case "", OpGetLatest:
		if c.Body != "" {
			out = append(out, "body: only the token API (operation: generateToken) takes a body")
		}
	case OpToken:
		if c.User != "" || len(c.Query) > 0 {
			out = append(out, "user, query: the token API takes neither")
		}
		if c.Body != "" && c.Body != BodySigned && c.Body != BodyWrongSignature {
			out = append(out, fmt.Sprintf("body: %q is not signed or wrong-signature", c.Body))
		}
	default:
		out = append(out, fmt.Sprintf("operation: %q is not %s or %s", c.Operation, OpGetLatest, OpToken))
	}
	if len(c.Expect) == 0 {
		out = append(out, "expect: missing (say at least what /code must be)")
	}
	for ptr := range c.Expect {
		if !strings.HasPrefix(ptr, "/") {
			out = append(out, fmt.Sprintf("expect: %q is not a JSON pointer: write it from the root, e.g. /code or /data/profileStatus", ptr))
		}
	}
	return out
}

// ParseUsers reads a users file: {users: {state: userId}}.
func ParseUsers(name string, data []byte) (map[string]string, error) {
	var file struct {
		Users map[string]string `yaml:"users"`
	}
	if err := decodeStrict(name, data, &file); err != nil {
		return nil, err
	}
	if len(file.Users) == 0 {
		return nil, fmt.Errorf("%s: no users: map each state to a userId under users:, e.g. active: my_test_user_1", name)
	}
	return file.Users, nil
}

var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type .+$`)

// decodeStrict decodes YAML with unknown keys refused; errors are "name:line: ...".
func decodeStrict(name string, data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var lines []string
	for _, e := range te.Errors {
		if m := unknownField.FindStringSubmatch(e); m != nil {
			lines = append(lines, fmt.Sprintf("%s:%s: unknown key %q", name, m[1], m[2]))
			continue
		}
		if line, rest, ok := strings.Cut(strings.TrimPrefix(e, "line "), ": "); ok {
			lines = append(lines, fmt.Sprintf("%s:%s: %s", name, line, rest))
			continue
		}
		lines = append(lines, name+": "+e)
	}
	return errors.New(strings.Join(lines, "\n"))
}
