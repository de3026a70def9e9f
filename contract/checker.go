package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/idvmock/idvmock"
)

// Operation ids of the vendor's operations in openapi.yaml.
const (
	OpGetLatest   = idvmock.OpGetLatest
	OpGetResult   = idvmock.OpGetResult
	OpGenerateURL = idvmock.OpGenerateURL
	OpToken       = idvmock.OpToken
)

// maxTransactionIDs bounds the memory of the uniqueness rule in a long-running proxy (about
// 20 MB at most): past it, the ids seen so far are forgotten.
const maxTransactionIDs = 100_000

// Checker checks exchanges against openapi.yaml and the vendor's rules. It remembers the
// transactionIds it has seen, for the uniqueness rule; it is safe for concurrent use.
type Checker struct {
	doc      *openapi3.T
	router   routers.Router
	codes    map[string][]string // operationId -> documented codes
	statuses []string            // the ProfileStatus enum

	mu  sync.Mutex
	ids map[string]string // transactionId -> the request that first had it
}

// NewChecker returns a Checker for the openapi.yaml shipped with idvmock.
func NewChecker() (*Checker, error) {
	doc, err := idvmock.LoadSpec()
	if err != nil {
		return nil, err
	}
	return NewCheckerFor(doc)
}

// NewCheckerFor returns a Checker for doc, an idvmock openapi.yaml. It changes doc: routing
// is by path, whatever the host, so the servers are cleared.
func NewCheckerFor(doc *openapi3.T) (*Checker, error) {
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
		for _, op := range item.Operations() {
			op.Servers = nil
		}
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	c := &Checker{doc: doc, router: router, codes: map[string][]string{}, ids: map[string]string{}}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if idvmock.IsVendorOperation(op) {
				c.codes[op.OperationID] = documentedCodes(op)
			}
		}
	}
	if s := doc.Components.Schemas["ProfileStatus"]; s != nil && s.Value != nil {
		for _, v := range s.Value.Enum {
			if str, ok := v.(string); ok {
				c.statuses = append(c.statuses, str)
			}
		}
	}
	if len(c.statuses) == 0 {
		return nil, fmt.Errorf("openapi.yaml: components.schemas.ProfileStatus has no enum")
	}
	return c, nil
}

// NewRun returns a checker for the same document with nothing remembered: a new run, in
// which transactionIds seen by c do not count.
func (c *Checker) NewRun() *Checker {
	return &Checker{doc: c.doc, router: c.router, codes: c.codes, statuses: c.statuses, ids: map[string]string{}}
}

// documentedCodes are the codes of the operation's HTTP 200 answer: the discriminator's
// mapping of its schema, or the enum of its code property.
func documentedCodes(op *openapi3.Operation) []string {
	resp := op.Responses.Status(http.StatusOK)
	if resp == nil || resp.Value == nil {
		return nil
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	s := mt.Schema.Value
	set := map[string]bool{}
	if s.Discriminator != nil && len(s.Discriminator.Mapping) > 0 {
		for code := range s.Discriminator.Mapping {
			set[code] = true
		}
		return sortedKeys(set)
	}
	for _, sub := range append(append(openapi3.SchemaRefs{}, s.OneOf...), mt.Schema) {
		if p := sub.Value.Properties["code"]; p != nil && p.Value != nil {
			for _, v := range p.Value.Enum {
				if str, ok := v.(string); ok {
					set[str] = true
				}
			}
		}
	}
	return sortedKeys(set)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Operation names the vendor operation req is for, or "" when it is none of them (idvmock's
// admin API, an unknown path).
func (c *Checker) Operation(req *http.Request) string {
	route, _, err := c.router.FindRoute(req)
	if err != nil || !idvmock.IsVendorOperation(route.Operation) {
		return ""
	}
	return route.Operation.OperationID
}

// Check checks one exchange. An exchange that is not for one of the vendor's operations has
// no violations: use Operation to tell.
func (c *Checker) Check(ex Exchange) []Violation {
	if c.Operation(ex.Request) == "" {
		return nil
	}
	env, err := decodeObject(ex.Body)
	return c.checkDecoded(ex, env, err)
}

// checkDecoded checks an exchange whose body is already decoded: env, or err when the body is
// not one JSON object. The proxy decodes an answer once for the checker and the recorder.
func (c *Checker) checkDecoded(ex Exchange, env map[string]any, err error) []Violation {
	route, params, routeErr := c.router.FindRoute(ex.Request)
	if routeErr != nil || !idvmock.IsVendorOperation(route.Operation) {
		return nil
	}
	op := route.Operation.OperationID
	var out []Violation

	mediaType, _, _ := mime.ParseMediaType(ex.Header.Get("Content-Type"))
	if mediaType != "application/json" {
		v := violation(RuleContentType, "", "Content-Type application/json", quoteOrNothing(ex.Header.Get("Content-Type")))
		v.Where = "header Content-Type"
		out = append(out, v)
	}
	if err != nil {
		v := violation(RuleJSON, "", "a JSON object", describeBody(ex.Body, err))
		v.Where = "body"
		return append(out, v)
	}
	status := c.checkStatus(ex.Status, env)
	out = append(out, status...)
	if mediaType == "application/json" {
		out = append(out, c.schemaViolations(ex, route, params, env, len(status) > 0)...)
	}
	out = append(out, c.checkEnvelope(op, ex, env)...)
	return out
}

// checkStatus: business outcomes are HTTP 200; CLIENT_ERROR is the one code that travels
// with an HTTP error status.
func (c *Checker) checkStatus(status int, env map[string]any) []Violation {
	code, _ := env["code"].(string)
	if status == http.StatusOK || code == "CLIENT_ERROR" {
		return nil
	}
	v := violation(RuleHTTPStatus, "", "HTTP 200", fmt.Sprintf("HTTP %d with code %s", status, quoteOrNothing(code)))
	v.Where = "status"
	return []Violation{v}
}

func (c *Checker) checkEnvelope(op string, ex Exchange, env map[string]any) []Violation {
	var out []Violation
	code, isString := env["code"].(string)
	if codes := c.codes[op]; !isString || (ex.Status == http.StatusOK && !slices.Contains(codes, code)) {
		out = append(out, violation(RuleCodeDocumented, "/code", "one of "+jsonText(codes), valueText(env, "code")))
	}
	data, hasData := env["data"]
	switch {
	case code == "SUCCESS" && (!hasData || data == nil):
		out = append(out, violation(RuleDataNull, "/data", "an object, as code is SUCCESS", valueText(env, "data")))
	case isString && code != "SUCCESS" && hasData && data != nil:
		out = append(out, violation(RuleDataNull, "/data", "null, as code is "+code, valueText(env, "data")))
	}
	out = append(out, c.checkTransactionID(ex, env)...)
	if ps, ok := env["pricingStrategy"]; ok && ps != "FREE" {
		out = append(out, violation(RulePricingStrategy, "/pricingStrategy", `"FREE"`, jsonText(ps)))
	}
	if code != "SUCCESS" {
		return out
	}
	dataObj, ok := data.(map[string]any)
	if !ok {
		return out
	}
	switch op {
	case OpGetLatest:
		if ps, ok := dataObj["profileStatus"].(string); !ok || !slices.Contains(c.statuses, ps) {
			out = append(out, violation(RuleProfileStatus, "/data/profileStatus", "one of "+jsonText(c.statuses), valueText(dataObj, "profileStatus")))
		}
		if result, ok := dataObj["result"].(map[string]any); ok {
			out = append(out, checkResult("/data/result", result, ex.Request.URL.Query().Get("userId"))...)
		}
	case OpGetResult:
		out = append(out, checkResult("/data", dataObj, "")...)
	}
	return out
}

func (c *Checker) checkTransactionID(ex Exchange, env map[string]any) []Violation {
	id, ok := env["transactionId"].(string)
	if !ok || id == "" || len([]rune(id)) > 64 {
		return []Violation{violation(RuleTransactionID, "/transactionId", "a string of 1 to 64 characters", valueText(env, "transactionId"))}
	}
	here := clip(ex.Request.Method+" "+ex.Request.URL.RequestURI(), 120)
	c.mu.Lock()
	defer c.mu.Unlock()
	if first, seen := c.ids[id]; seen {
		return []Violation{violation(RuleTransactionIDUnique, "/transactionId", "an id no earlier answer of the run had", fmt.Sprintf("%q, already the id of the answer to %s", id, first))}
	}
	if len(c.ids) >= maxTransactionIDs {
		clear(c.ids)
	}
	c.ids[id] = here
	return nil
}

// checkResult checks a Get Result object at pointer against idvmock.CheckResult's rules;
// userID is the requested userId ("" when the request named none).
func checkResult(pointer string, r map[string]any, userID string) []Violation {
	var out []Violation
	for _, in := range idvmock.CheckResult(r, userID) {
		got := jsonText(in.Got)
		if in.Got == nil {
			got = valueTextAt(r, in.Field)
		}
		out = append(out, violation(in.Rule, pointer+"/"+in.Field, in.Expected, got))
	}
	return out
}

// valueTextAt shows the value at field (a/b) of r, or says it is absent.
func valueTextAt(r map[string]any, field string) string {
	parent, key := r, field
	if before, after, ok := strings.Cut(field, "/"); ok {
		parent, _ = r[before].(map[string]any)
		key = after
	}
	return valueText(parent, key)
}

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

// describeBody says what a body that is not a JSON object holds.
func describeBody(body []byte, err error) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return "an empty body"
	}
	return fmt.Sprintf("%s (%v)", clip(string(body[:min(len(body), 4096)]), 60), err)
}

// valueText renders obj[key] for a message: its JSON, or "nothing" when it is absent.
func valueText(obj map[string]any, key string) string {
	v, ok := obj[key]
	if !ok {
		return "nothing (the field is absent)"
	}
	return jsonText(v)
}

func jsonText(v any) string {
	b, err := json.Marshal(shrink(v, 4096))
	if err != nil {
		return fmt.Sprint(v)
	}
	return clip(string(b), 80)
}

func quoteOrNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return fmt.Sprintf("%q", s)
}

// clip shortens s to n characters for a one-line message, its whitespace collapsed.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}

// CheckResponse checks an answer as an HTTP client got it: it reads the body (and puts it
// back, so the caller can still read it) and checks the exchange with req.
func (c *Checker) CheckResponse(req *http.Request, resp *http.Response) ([]Violation, error) {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	return c.Check(Exchange{Request: req, Status: resp.StatusCode, Header: resp.Header, Body: body}), nil
}
