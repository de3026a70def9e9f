package engine

import (
	"time"

	"github.com/idvmock/idvmock/scenarios"
)

// DefaultRetryAfter is the Retry-After of a service_busy fault that gives none.
const DefaultRetryAfter = 10 * time.Second

// Fault is a compiled fault of a rule.
type Fault struct {
	Kind        scenarios.FaultKind
	Probability float64       // 0 < p <= 1
	Min, Max    time.Duration // latency: a delay drawn from [Min, Max]
	Status      int           // gateway: 502, 503 or 504
	RetryAfter  time.Duration // service_busy
}

// Terminal reports whether the fault replaces the answer (every kind but latency and the
// delivery faults, which act on no answer).
func (f Fault) Terminal() bool { return f.Kind != scenarios.FaultLatency && !f.Kind.Delivery() }

// faultOf compiles a declared fault.
func faultOf(f scenarios.FaultSpec) Fault {
	out := Fault{Kind: f.Type, Probability: 1, Status: f.Status, RetryAfter: DefaultRetryAfter}
	if f.Probability != nil {
		out.Probability = *f.Probability
	}
	if f.Duration != nil {
		out.Min, out.Max = f.Duration.Duration, f.Duration.Duration
	}
	if f.Min != nil && f.Max != nil {
		out.Min, out.Max = f.Min.Duration, f.Max.Duration
	}
	if f.RetryAfter != nil {
		out.RetryAfter = f.RetryAfter.Duration
	}
	return out
}
