package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/idvmock/idvmock"
)

// FaultKind is the kind of failure a rule injects.
type FaultKind string

// Fault kinds. Latency adds a delay and lets the answer through; every other kind replaces
// the answer.
const (
	FaultLatency      FaultKind = "latency"       // wait duration, or between min and max
	FaultHang         FaultKind = "hang"          // never answer; hold until the client gives up
	FaultGateway      FaultKind = "gateway"       // HTTP 502, 503 or 504 with a gateway's HTML page
	FaultReset        FaultKind = "reset"         // reset the connection (TCP RST)
	FaultEmpty        FaultKind = "empty"         // close the connection without a byte
	FaultTruncated    FaultKind = "truncated"     // send the first half of the JSON body
	FaultMalformed    FaultKind = "malformed"     // send JSON with a syntax error
	FaultServiceBusy  FaultKind = "service_busy"  // SERVICE_BUSY "Rate limit is exceeded" with Retry-After
	FaultTokenExpired FaultKind = "token_expired" // IAM_FAILED "Token not found or expired"
	FaultServerError  FaultKind = "server_error"  // the vendor's ERROR body

	// Delivery faults act on the delivery of a session's completion (its callback or
	// webhook), never on the answer to a request.
	FaultDuplicateDelivery FaultKind = "duplicate_delivery" // the delivery is sent twice, in full
	FaultBadSignature      FaultKind = "bad_signature"      // a webhook's aai-signature is an HMAC with another key
)

// FaultKinds lists every kind of fault.
var FaultKinds = []FaultKind{FaultLatency, FaultHang, FaultGateway, FaultReset, FaultEmpty, FaultTruncated,
	FaultMalformed, FaultServiceBusy, FaultTokenExpired, FaultServerError, FaultDuplicateDelivery, FaultBadSignature}

// Delivery reports whether the fault acts on deliveries (a completion's callback or webhook)
// rather than on the answers to requests.
func (k FaultKind) Delivery() bool { return k == FaultDuplicateDelivery || k == FaultBadSignature }

// DeliveryRule reports whether r is a rule of deliveries: it has faults, all of them delivery
// faults. Such a rule matches the deliveries of completions (operation sessionCompleted) and
// never a request. Validate refuses a rule that mixes delivery faults with anything else.
func (r RuleSpec) DeliveryRule() bool {
	for _, f := range r.Faults {
		if !f.Type.Delivery() {
			return false
		}
	}
	return len(r.Faults) > 0
}

// delivery checks what a rule with delivery faults may also declare: no request faults, no
// answer, and a match a delivery can meet.
func (v *validator) delivery(at string, r RuleSpec) {
	const kinds = "duplicate_delivery, bad_signature"
	var delivery, request []string
	for _, f := range r.Faults {
		switch {
		case f.Type.Delivery():
			delivery = append(delivery, string(f.Type))
		case slices.Contains(FaultKinds, f.Type): // an unknown type has its own problem
			request = append(request, string(f.Type))
		}
	}
	m := r.Match
	switch {
	case len(delivery) == 0 && m.Operation == idvmock.OpSessionCompleted:
		v.add(at+".match.operation", fmt.Sprintf("is %s, the delivery of a completion, but the rule has no delivery fault", m.Operation),
			"only the delivery faults ("+kinds+") act on deliveries: give the rule one, or match a vendor operation")
	case len(delivery) == 0:
	case len(request) > 0:
		v.add(at+".faults", fmt.Sprintf("mixes delivery faults (%s) with request faults (%s)", strings.Join(delivery, ", "), strings.Join(request, ", ")),
			"delivery faults act on a completion's callback or webhook, the others on requests: split them into two rules")
	case r.Scenario != "" || !r.ProfileSpec.Empty():
		v.add(at, "has delivery faults and an answer (scenario or profile)",
			"a rule of delivery faults answers no request: put the answer in a rule of its own")
	case m.Operation != "" && m.Operation != idvmock.OpSessionCompleted:
		v.add(at+".match.operation", fmt.Sprintf("is %s, but delivery faults act on deliveries only", m.Operation),
			"use operation: "+idvmock.OpSessionCompleted+", or leave operation out")
	case len(m.Headers) > 0:
		v.add(at+".match.headers", "is set, but a delivery has no request headers to match",
			"match deliveries on userId (or its glob or regex), solutionCode and regions; drop headers")
	}
}

// fault checks one fault of a rule: a known type, a probability in range, and only the
// settings its type takes.
func (v *validator) fault(path string, f FaultSpec) {
	known := false
	for _, k := range FaultKinds {
		known = known || k == f.Type
	}
	if !known {
		what := fmt.Sprintf("unknown fault %q", f.Type)
		if f.Type == "" {
			what = v.describe(path+".type", "")
		}
		v.add(path+".type", what, "use one of "+joinKinds())
		return
	}
	if p := f.Probability; p != nil && (*p <= 0 || *p > 1) {
		v.add(path+".probability", fmt.Sprintf("is %g", *p), "a probability is above 0 and at most 1")
	}
	latency := f.Duration != nil || f.Min != nil || f.Max != nil
	switch {
	case f.Type == FaultLatency && f.Duration != nil && (f.Min != nil || f.Max != nil):
		v.add(path, "gives both duration and min/max", "a fixed delay takes duration; a ranged one min and max")
	case f.Type == FaultLatency && f.Duration == nil && (f.Min == nil || f.Max == nil):
		v.add(path, "latency needs duration, or min and max", "e.g. duration: 300ms, or min: 100ms and max: 2s")
	case f.Type == FaultLatency && f.Min != nil && f.Max != nil && f.Min.Duration > f.Max.Duration:
		v.add(path+".min", fmt.Sprintf("%v is above max %v", f.Min.Duration, f.Max.Duration), "swap them")
	case f.Type != FaultLatency && latency:
		v.add(path, fmt.Sprintf("%s takes no duration, min or max", f.Type), "add a separate fault of type latency")
	}
	switch {
	case f.Type == FaultGateway && f.Status != 502 && f.Status != 503 && f.Status != 504:
		v.add(path+".status", fmt.Sprintf("is %d", f.Status), "a gateway fault answers 502, 503 or 504")
	case f.Type != FaultGateway && f.Status != 0:
		v.add(path+".status", fmt.Sprintf("is set on a %s fault", f.Type), "status belongs to type: gateway")
	}
	if f.Type != FaultServiceBusy && f.RetryAfter != nil {
		v.add(path+".retryAfter", fmt.Sprintf("is set on a %s fault", f.Type), "retryAfter belongs to type: service_busy")
	}
}

// joinKinds lists the fault kinds for a hint.
func joinKinds() string {
	s := ""
	for i, k := range FaultKinds {
		if i > 0 {
			s += ", "
		}
		s += string(k)
	}
	return s
}
