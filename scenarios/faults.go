package scenarios

import (
	"fmt"
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
)

// FaultKinds lists every kind of fault.
var FaultKinds = []FaultKind{FaultLatency, FaultHang, FaultGateway, FaultReset, FaultEmpty, FaultTruncated,
	FaultMalformed, FaultServiceBusy, FaultTokenExpired, FaultServerError}

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
