package contract

import (
	"context"
	"encoding/json"
	"errors"
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

// Values the runner fills in a Generate URL request: the session's bizId, and where the H5
// page sends the user back (a custom scheme, which the vendor documents, so that no web page
// is ever opened by a run).
const (
	ContractBizID         = "idvmock-contract"
	ContractReturnURL     = "idvmock-contract://done"
	ContractFailReturnURL = "idvmock-contract://failed"
)

// runCase runs one case into res; its error is the request's, already in res.
func (ru *runner) runCase(ctx context.Context, res *CaseResult, c Case, at regionRun) error {
	method, rawURL, tok, body, err := ru.caseRequest(ctx, c, at)
	var noInput *lookupFailed
	if errors.As(err, &noInput) {
		res.Method, res.URL, res.Status, res.Code = http.MethodGet, noInput.url, noInput.status, noInput.code
		v := Violation{Rule: RuleExpectation, Where: "Get Latest Session Result, asked for the signatureId",
			Expected: "SUCCESS with data.result.signatureId (the user's latest session)", Got: noInput.got,
			Hint: fmt.Sprintf("case at %s; the case asks Get Result about the latest session of users key %s (%s): map %s to a user with a session", c.source, noInput.key, noInput.userID, noInput.key)}
		res.Violations = []Violation{v}
		return nil
	}
	if err != nil {
		res.Error = err.Error()
		return err
	}
	res.Method, res.URL = method, rawURL
	if body != nil && c.operation() != OpToken { // the token API's body holds the signature
		res.RequestBody = string(body)
	}
	start := ru.now()
	status, header, raw, err := ru.do(ctx, method, rawURL, at.host, tok, body)
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
		if sig, ok := resolve(env, "/data/signatureId"); ok && c.operation() == OpGenerateURL && c.User != "" && res.Code == "SUCCESS" {
			if s, ok := sig.(string); ok && s != "" {
				at.started[c.User] = s
			}
		}
	}
	return nil
}

// caseRequest is the request case c sends on a region: its method, URL, X-ACCESS-TOKEN ("":
// none) and body (nil: none). Its error is a Get Result case's failure to learn the
// signatureId of its user.
func (ru *runner) caseRequest(ctx context.Context, c Case, at regionRun) (method, rawURL, tok string, body []byte, err error) {
	target := at.target.String()
	if c.operation() == OpToken {
		secret := ru.opts.SecretKey
		if c.Body == BodyWrongSignature {
			secret += "-wrong"
		}
		return http.MethodPost, target + PathToken, "", ru.tokenBody(secret), nil
	}
	switch c.Token {
	case "":
		tok = at.token
	case TokenNone:
	default:
		tok = c.Token
	}
	op := caseOperations[c.operation()]
	if op.method == http.MethodGet {
		q := url.Values{}
		if c.User != "" {
			q.Set(op.userField, ru.opts.Users[c.User])
		}
		for _, k := range sortedKeys(c.Query) {
			q.Set(k, c.Query[k])
		}
		rawURL = target + op.path
		if len(q) > 0 {
			rawURL += "?" + q.Encode()
		}
		return http.MethodGet, rawURL, tok, nil, nil
	}
	fields := map[string]any{}
	switch c.operation() {
	case OpGenerateURL:
		fields["bizId"], fields["region"] = ContractBizID, at.region.Country
		fields["returnUrl"], fields["failReturnUrl"] = ContractReturnURL, ContractFailReturnURL
	case OpGetResult:
		if c.User != "" {
			sig, err := ru.signatureOf(ctx, c.User, at)
			if err != nil {
				return "", "", "", nil, err
			}
			fields["signatureId"] = sig
		}
	}
	if c.User != "" && c.operation() != OpGetResult {
		fields[op.userField] = ru.opts.Users[c.User]
	}
	for k, v := range c.Fields {
		fields[k] = v
	}
	body, err = json.Marshal(fields)
	if err != nil { // a value YAML gave that JSON cannot carry
		return "", "", "", nil, fmt.Errorf("case at %s: fields: %v", c.source, err)
	}
	return http.MethodPost, target + op.path, tok, body, nil
}

// signatureOf is the signatureId a Get Result case asks about for the user of key: the one
// this run's Generate URL started for that key on the region, or else the latest session's,
// as Get Latest Session Result answers it (which the mock and the vendor both answer, without
// other configuration).
func (ru *runner) signatureOf(ctx context.Context, key string, at regionRun) (string, error) {
	if sig := at.started[key]; sig != "" {
		return sig, nil
	}
	userID := ru.opts.Users[key]
	rawURL := at.target.String() + PathLatest + "?" + url.Values{"userId": {userID}}.Encode()
	status, _, raw, err := ru.do(ctx, http.MethodGet, rawURL, at.host, at.token, nil)
	if err != nil {
		return "", fmt.Errorf("asking Get Latest Session Result for the signatureId of %s (users key %s): %w", userID, key, err)
	}
	var env struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Result struct {
				SignatureID string `json:"signatureId"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return "", &lookupFailed{key: key, userID: userID, url: rawURL, status: status, got: fmt.Sprintf("HTTP %d with %s", status, describeBody(raw, err))}
	}
	if env.Data.Result.SignatureID == "" {
		return "", &lookupFailed{key: key, userID: userID, url: rawURL, status: status, code: env.Code,
			got: fmt.Sprintf("HTTP %d %s %q without one", status, env.Code, clip(env.Message, 80))}
	}
	return env.Data.Result.SignatureID, nil
}

// lookupFailed is a Get Latest Session Result answer without the signatureId a Get Result
// case needed: the case fails with it, as with an answer it did not expect.
type lookupFailed struct {
	key, userID, url string
	status           int
	code, got        string
}

func (e *lookupFailed) Error() string {
	return fmt.Sprintf("Get Latest Session Result for %s answered %s", e.userID, e.got)
}

// expectations compares the answer with what the case expects, pointer by pointer: the
// values of expect, then the kinds of match.
func expectations(c Case, env map[string]any) []Violation {
	ptrs := sortedKeys(c.Expect)
	matchPtrs := sortedKeys(c.Match)
	if want, ok := c.Expect["/code"]; ok && jsonText(want) != jsonText(env["code"]) {
		ptrs, matchPtrs = []string{"/code"}, nil // another outcome: the rest of the body cannot match either
	}
	var out []Violation
	add := func(p, want, got string) {
		v := violation(RuleExpectation, p, want, got)
		v.Hint = fmt.Sprintf("case at %s; %s", c.source, v.Hint)
		out = append(out, v)
	}
	for _, p := range ptrs {
		want := jsonText(c.Expect[p])
		got, ok := resolve(env, p)
		gotText := "nothing (the field is absent)"
		if ok {
			gotText = jsonText(got)
		}
		if !ok || gotText != want {
			add(p, want, gotText)
		}
	}
	for _, p := range matchPtrs {
		kind, arg, _ := parseMatch(c.Match[p]) // checked when the case was read
		got, ok := resolve(env, p)
		if good, want := matches(kind, arg, got, ok); !good {
			gotText := "nothing (the field is absent)"
			if ok {
				gotText = clip(jsonText(got), 120)
			}
			add(p, want, gotText)
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
