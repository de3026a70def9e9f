// Package contract checks that answers of ADVANCE.AI's identity-verification API, from the
// real vendor or from idvmock, conform to openapi.yaml and to the rules the vendor's
// documentation implies.
//
// A Checker checks one exchange (a request and its answer) and returns its violations, each
// with a stable rule id, the JSON pointer of the offending value, what was expected, what
// came, and a hint. App teams can use it from their own Go tests:
//
//	checker, err := contract.NewChecker()
//	...
//	resp, err := client.Do(req)
//	...
//	violations, err := checker.CheckResponse(req, resp)
//	for _, v := range violations {
//		t.Error(v)
//	}
//
// The suite (Run) sends cases to a target on every regional host and checks each answer.
package contract

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/idvmock/idvmock"
)

// Exchange is one request and the answer to it. Request needs the method and URL; its
// header and body matter to the rules that compare the answer with what was asked.
type Exchange struct {
	Request     *http.Request
	RequestBody []byte // the request's body, when it had one (Request.Body is not read)
	Status      int
	Header      http.Header
	Body        []byte
}

// Violation is one way an exchange breaks the contract.
type Violation struct {
	Rule     string `json:"rule"`              // a stable id from Rules
	Pointer  string `json:"pointer,omitempty"` // JSON pointer into the answer's body ("" when not in the body)
	Where    string `json:"where"`             // "status", "header Content-Type", "body", or the case's request
	Expected string `json:"expected"`
	Got      string `json:"got"`
	Hint     string `json:"hint,omitempty"`
}

func (v Violation) String() string {
	where := v.Where
	if v.Pointer != "" {
		where = "body " + v.Pointer
	}
	s := fmt.Sprintf("[%s] %s: expected %s, got %s", v.Rule, where, v.Expected, v.Got)
	if v.Hint != "" {
		s += " (" + v.Hint + ")"
	}
	return s
}

// Rule is one check of the contract.
type Rule struct {
	ID    string
	Title string
	Hint  string // what to look at when the rule is broken
}

// Rule ids. They are stable: reports, dashboards and X-Contract-Violations headers name them.
const (
	RuleSchema                = "schema"
	RuleHTTPStatus            = "http-status"
	RuleContentType           = "content-type"
	RuleJSON                  = "json-body"
	RuleCodeDocumented        = "code-documented"
	RuleDataNull              = "data-null-unless-success"
	RuleTransactionID         = "transaction-id"
	RuleTransactionIDUnique   = "transaction-id-unique"
	RulePricingStrategy       = "pricing-strategy-free"
	RuleProfileStatus         = "profile-status"
	RuleInProgressNulls       = idvmock.RuleInProgressNulls // the rules of idvmock.CheckResult
	RulePassSuccess           = idvmock.RulePassSuccess
	RuleFailureErrorCode      = idvmock.RuleFailureErrorCode
	RuleIDVResult             = idvmock.RuleIDVResult
	RuleUserIDEchoed          = idvmock.RuleUserIDEchoed
	RuleCountryCode           = idvmock.RuleCountryCode
	RuleCustomerProfileStatus = "customer-profile-status"
	RuleDocTypeUnique         = "document-type-unique"
	RuleSignatureEchoed       = "signature-id-echoed"
	RuleImageType             = "image-type"
	RuleExpectation           = "case-expectation"
)

// Rules lists every rule, in the order reports explain them.
var Rules = []Rule{
	{RuleSchema, "the body conforms to the operation's response schema in openapi.yaml", "compare the value with the schema at the pointer in openapi.yaml"},
	{RuleHTTPStatus, "every documented business outcome is HTTP 200 (CLIENT_ERROR carries its own status)", "the vendor reports outcomes in code, not in the HTTP status"},
	{RuleContentType, "the answer is application/json", "a gateway or proxy may have answered instead of the API"},
	{RuleJSON, "the body is one JSON object", "a truncated, empty or HTML body means the API did not answer"},
	{RuleCodeDocumented, "code is one of the operation's documented codes", "a new code needs a decision in openapi.yaml before clients can handle it"},
	{RuleDataNull, "data is null exactly when code is not SUCCESS (Update Status: always null)", "clients read data only on SUCCESS"},
	{RuleTransactionID, "transactionId is present, a string of 1 to 64 characters", "support needs it to trace the request"},
	{RuleTransactionIDUnique, "transactionId is unique within a run", "two answers with one id cannot be told apart in the vendor's logs"},
	{RulePricingStrategy, "pricingStrategy is FREE when present", "the field is deprecated and always FREE"},
	{RuleProfileStatus, "profileStatus is INIT, ACTIVE or INACTIVE", "a new status needs a decision in openapi.yaml"},
	{RuleInProgressNulls, "a session in progress has null overallResult, idvResult and errorCode", "no verdict exists before the session finishes"},
	{RulePassSuccess, "PASS goes with errorCode SUCCESS", "a passed session has no failure reason"},
	{RuleFailureErrorCode, "FAIL and INCOMPLETE carry a failure errorCode", "clients show the failure reason to the user"},
	{RuleIDVResult, "idvResult equals overallResult", "idvResult is the deprecated alias of overallResult"},
	{RuleUserIDEchoed, "inputParameters.userId equals the requested userId", "an answer about another user is a data leak"},
	{RuleCountryCode, "countryCodeIso3 is three capital letters (ISO 3166 alpha-3)", "the region given to Generate URL, e.g. SGP"},
	{RuleCustomerProfileStatus, "Get Profile's status is ACTIVE or INACTIVE", "a user whose profile is still INIT has none: Get Profile answers PARAMETER_ERROR for it"},
	{RuleDocTypeUnique, "Get Profile lists one documentInfos entry per docType", "the vendor keeps the latest document of each type"},
	{RuleSignatureEchoed, "Get Result answers about the signatureId asked for", "an answer about another session is a data leak"},
	{RuleImageType, "Get Result's image fields hold what returnImageType asked: URLs (the default) or the base64 of the image", "BASE64 answers carry the bytes, never a URL; URL answers a link, never the bytes"},
	{RuleExpectation, "the answer is the one the case expects", "check the users file: does the userId still have the state the case names?"},
}

func ruleHint(id string) string {
	for _, r := range Rules {
		if r.ID == id {
			return r.Hint
		}
	}
	return ""
}

// violation builds a Violation of rule with its standard hint.
func violation(rule, pointer, expected, got string) Violation {
	where := "body"
	if pointer == "" {
		where = "answer"
	}
	return Violation{Rule: rule, Pointer: pointer, Where: where, Expected: expected, Got: got, Hint: ruleHint(rule)}
}

// RuleIDs lists the distinct rule ids of vs, in order of first appearance.
func RuleIDs(vs []Violation) []string {
	var ids []string
	seen := map[string]bool{}
	for _, v := range vs {
		if !seen[v.Rule] {
			seen[v.Rule] = true
			ids = append(ids, v.Rule)
		}
	}
	return ids
}

// pointerOf joins JSON pointer tokens, escaping ~ and /.
func pointerOf(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}
