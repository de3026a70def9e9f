package contract

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// operation is the case's operation id; a case without one calls Get Latest Session Result.
func (c Case) operation() string {
	if c.Operation == "" {
		return OpGetLatest
	}
	return c.Operation
}

// runCase runs one case into res; its error is the request's, already in res.
func (ru *runner) runCase(ctx context.Context, res *CaseResult, c Case, target *url.URL, host, token string) error {
	method, rawURL, tok, body := ru.caseRequest(c, target, token)
	res.Method, res.URL = method, rawURL
	start := ru.now()
	status, header, raw, err := ru.do(ctx, method, rawURL, host, tok, body)
	res.Duration = ru.now().Sub(start)
	if err != nil {
		res.Error = err.Error()
		return err
	}
	res.Status = status
	req, _ := http.NewRequest(method, rawURL, nil)
	res.Violations = ru.checker.Check(Exchange{Request: req, RequestBody: body, Status: status, Header: header, Body: raw})
	var env map[string]any
	if obj, err := decodeObject(raw); err == nil {
		env = obj
		res.Code, _ = env["code"].(string)
	}
	if env != nil {
		res.Violations = append(res.Violations, expectations(c, env)...)
	}
	return nil
}

// caseRequest is the request case c sends to target: its method, URL, X-ACCESS-TOKEN ("":
// none) and body (nil: none). token is the region's.
func (ru *runner) caseRequest(c Case, target *url.URL, token string) (method, rawURL, tok string, body []byte) {
	if c.operation() == OpToken {
		secret := ru.opts.SecretKey
		if c.Body == BodyWrongSignature {
			secret += "-wrong"
		}
		return http.MethodPost, target.String() + PathToken, "", ru.tokenBody(secret)
	}
	q := url.Values{}
	if c.User != "" {
		q.Set("userId", ru.opts.Users[c.User])
	}
	for _, k := range sortedKeys(c.Query) {
		q.Set(k, c.Query[k])
	}
	rawURL = target.String() + PathLatest
	if len(q) > 0 {
		rawURL += "?" + q.Encode()
	}
	switch c.Token {
	case "":
		tok = token
	case TokenNone:
	default:
		tok = c.Token
	}
	return http.MethodGet, rawURL, tok, nil
}

// expectations compares the answer with what the case expects, pointer by pointer.
func expectations(c Case, env map[string]any) []Violation {
	ptrs := sortedKeys(c.Expect)
	if want, ok := c.Expect["/code"]; ok && jsonText(want) != jsonText(env["code"]) {
		ptrs = []string{"/code"} // another outcome: the rest of the body cannot match either
	}
	var out []Violation
	for _, p := range ptrs {
		want := jsonText(c.Expect[p])
		got, ok := resolve(env, p)
		gotText := "nothing (the field is absent)"
		if ok {
			gotText = jsonText(got)
		}
		if !ok || gotText != want {
			v := violation(RuleExpectation, p, want, gotText)
			v.Hint = fmt.Sprintf("case at %s; %s", c.source, v.Hint)
			out = append(out, v)
		}
	}
	return out
}

// resolve finds the value at a JSON pointer.
func resolve(v any, pointer string) (any, bool) {
	if pointer == "" {
		return v, true
	}
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
