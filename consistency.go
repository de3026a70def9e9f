package idvmock

import "fmt"

// Rules a Get Result object must keep, as the vendor's documentation implies them. Their ids
// are the contract suite's rule ids; scenario lint applies the same rules to what a scenario
// would answer.
const (
	RuleInProgressNulls  = "in-progress-nulls"
	RulePassSuccess      = "pass-error-code-success"
	RuleFailureErrorCode = "failure-error-code"
	RuleIDVResult        = "idv-result-equals-overall"
	RuleCountryCode      = "country-code-iso3"
	RuleUserIDEchoed     = "user-id-echoed"
)

// Inconsistency is one way a Get Result object contradicts itself or its request.
type Inconsistency struct {
	Rule     string
	Field    string // where in the result, as a JSON pointer without the leading slash: "errorCode", "inputParameters/userId"
	Expected string // what the rule wants there
	Got      any    // the value found (nil: null or absent)
}

// CheckResult checks a Get Result object, decoded from JSON, against the rules; userID is
// the userId the request asked for ("": the request named none). It returns the
// inconsistencies in a fixed order.
func CheckResult(r map[string]any, userID string) []Inconsistency {
	var out []Inconsistency
	add := func(rule, field, expected string, got any) {
		out = append(out, Inconsistency{Rule: rule, Field: field, Expected: expected, Got: got})
	}
	overall, idv, errorCode := r["overallResult"], r["idvResult"], r["errorCode"]
	switch overall {
	case nil:
		if idv != nil {
			add(RuleInProgressNulls, "idvResult", "null, as overallResult is null (in progress)", idv)
		}
		if errorCode != nil {
			add(RuleInProgressNulls, "errorCode", "null, as overallResult is null (in progress)", errorCode)
		}
	case string(VerdictPass):
		if errorCode != ErrorCodeSuccess {
			add(RulePassSuccess, "errorCode", `"SUCCESS", as overallResult is PASS`, errorCode)
		}
	case string(VerdictFail), string(VerdictIncomplete):
		if s, ok := errorCode.(string); !ok || s == "" || s == ErrorCodeSuccess {
			add(RuleFailureErrorCode, "errorCode", fmt.Sprintf("a failure reason (e.g. LIVENESS_ATTACK), as overallResult is %s", overall), errorCode)
		}
	}
	if overall != nil && idv != overall {
		add(RuleIDVResult, "idvResult", fmt.Sprintf("%q, the value of overallResult", overall), idv)
	}
	if cc, ok := r["countryCodeIso3"].(string); !ok || !isAlpha3(cc) {
		add(RuleCountryCode, "countryCodeIso3", "three capital letters, e.g. SGP", r["countryCodeIso3"])
	}
	if userID != "" {
		in, _ := r["inputParameters"].(map[string]any)
		if got, _ := in["userId"].(string); got != userID {
			add(RuleUserIDEchoed, "inputParameters/userId", fmt.Sprintf("%q, the requested userId", userID), in["userId"])
		}
	}
	return out
}

func isAlpha3(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
