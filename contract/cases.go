package contract

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Case is one request of the suite and what its answer must hold. The checker's rules apply
// to every answer; Expect and Match add what this case in particular expects.
type Case struct {
	Name      string            `yaml:"name" json:"name"`
	Operation string            `yaml:"operation,omitempty" json:"operation,omitempty"` // an operationId of caseOperations; "" is OpGetLatest
	User      string            `yaml:"user,omitempty" json:"user,omitempty"`           // a key of the users file
	Query     map[string]string `yaml:"query,omitempty" json:"query,omitempty"`         // GET operations
	Fields    map[string]any    `yaml:"fields,omitempty" json:"fields,omitempty"`       // POST operations: body fields besides those the runner fills
	Token     string            `yaml:"token,omitempty" json:"token,omitempty"`         // "" the run's token, "none" no header, else this token
	Body      string            `yaml:"body,omitempty" json:"body,omitempty"`           // OpToken: BodySigned (default) or BodyWrongSignature
	Expect    map[string]any    `yaml:"expect" json:"expect"`                           // JSON pointer -> value
	Match     map[string]string `yaml:"match,omitempty" json:"match,omitempty"`         // JSON pointer -> a kind of value (matchKinds)

	source string // file:line, for messages
}

// caseOperation is how a case calls one operation: its method and path, and the request
// field its user: fills ("" when the runner looks the input up instead, as for Get Result).
type caseOperation struct {
	method, path string
	userField    string
}

// caseOperations are the operations a case may call, by operationId.
var caseOperations = map[string]caseOperation{
	OpGetLatest:       {http.MethodGet, PathLatest, "userId"},
	OpToken:           {http.MethodPost, PathToken, ""},
	OpGetResult:       {http.MethodPost, PathGetResult, "signatureId"},
	OpGetProfile:      {http.MethodGet, PathGetProfile, "externalUserId"},
	OpGetProfileCamel: {http.MethodGet, PathGetProfileCamel, "externalUserId"},
	OpUpdateStatus:    {http.MethodPost, PathUpdateStatus, "externalUserId"},
	OpGenerateURL:     {http.MethodPost, PathGenerateURL, "userId"},
}

// isWrite reports whether op changes the target's data: such a case runs only as Options
// and the target allow (runner.writeSkip).
func isWrite(op string) bool { return op == OpUpdateStatus || op == OpGenerateURL }

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
	op, known := caseOperations[c.operation()]
	switch {
	case !known:
		out = append(out, fmt.Sprintf("operation: %q is not one of %s", c.Operation, strings.Join(sortedKeys(caseOperations), ", ")))
	case c.operation() == OpToken:
		if c.User != "" || len(c.Query) > 0 || len(c.Fields) > 0 {
			out = append(out, "user, query, fields: the token API takes none of them (its body is body: signed or wrong-signature)")
		}
		if c.Body != "" && c.Body != BodySigned && c.Body != BodyWrongSignature {
			out = append(out, fmt.Sprintf("body: %q is not signed or wrong-signature", c.Body))
		}
	default:
		if c.Body != "" {
			out = append(out, "body: only the token API (operation: generateToken) takes body: give the request's fields under fields:")
		}
		if op.method == http.MethodGet && len(c.Fields) > 0 {
			out = append(out, fmt.Sprintf("fields: %s is a GET and sends no body: give its parameters under query:", c.operation()))
		}
		if op.method == http.MethodPost && c.Query != nil {
			out = append(out, fmt.Sprintf("query: %s takes its input in a JSON body: give it under fields:", c.operation()))
		}
		if _, both := c.Fields[op.userField]; both && c.User != "" {
			out = append(out, fmt.Sprintf("user, fields.%s: give one of them (user: fills %s)", op.userField, op.userField))
		}
	}
	if len(c.Expect) == 0 {
		out = append(out, "expect: missing (say at least what /code must be)")
	}
	for ptr := range c.Expect {
		if !strings.HasPrefix(ptr, "/") {
			out = append(out, fmt.Sprintf("expect: %q is not a JSON pointer: write it from the root, e.g. /code or /data/profileStatus", ptr))
		}
	}
	for _, ptr := range sortedKeys(c.Match) {
		if !strings.HasPrefix(ptr, "/") {
			out = append(out, fmt.Sprintf("match: %q is not a JSON pointer: write it from the root, e.g. /data/url", ptr))
		}
		if _, _, err := parseMatch(c.Match[ptr]); err != nil {
			out = append(out, fmt.Sprintf("match: %s: %v", ptr, err))
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
