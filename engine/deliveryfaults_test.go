package engine

import (
	"errors"
	"slices"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
)

func completed(userID, country, code string) StartedSession {
	return StartedSession{UserID: userID, Session: Session{SolutionCode: code}, Start: StartRequest{UserID: userID, Region: country}}
}

func deliveryFaultsOK(t *testing.T, e *Engine, s StartedSession) DeliveryFaults {
	t.Helper()
	d, err := e.DeliveryFaults(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A rule of delivery faults acts on deliveries and lets requests through to the next rule;
// a rule of request faults never acts on deliveries. Deliveries match on userId, region (the
// one of the session's country) and solutionCode.
func TestDeliveryFaultsMatchDeliveriesOnly(t *testing.T) {
	e, err := engineWith(t, `rules:
  - name: dup-ph
    match: {operation: sessionCompleted, userIdGlob: "qa-*", regions: [ph]}
    faults: [{type: duplicate_delivery}]
  - name: bad-102
    match: {solutionCode: "102"}
    faults: [{type: bad_signature}, {type: duplicate_delivery}]
  - name: down
    match: {userIdGlob: "qa-*"}
    faults: [{type: server_error}]
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		session StartedSession
		want    DeliveryFaults
	}{
		{"ph session", completed("qa-1", "PHL", "101"), DeliveryFaults{Rule: "dup-ph", Duplicate: true, Fired: []scenarios.FaultKind{scenarios.FaultDuplicateDelivery}}},
		{"sg session: the next rule of delivery faults", completed("qa-1", "SGP", "102"), DeliveryFaults{Rule: "bad-102", Duplicate: true, BadSignature: true,
			Fired: []scenarios.FaultKind{scenarios.FaultBadSignature, scenarios.FaultDuplicateDelivery}}},
		{"a country of no regional host is global", completed("qa-1", "IND", "101"), DeliveryFaults{}},
		{"request faults never act on deliveries", completed("qa-2", "SGP", "101"), DeliveryFaults{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deliveryFaultsOK(t, e, tc.session); got.Rule != tc.want.Rule || got.Duplicate != tc.want.Duplicate ||
				got.BadSignature != tc.want.BadSignature || !slices.Equal(got.Fired, tc.want.Fired) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	r := e.Handle(t.Context(), Request{Operation: idvmock.OpGetLatest, UserID: "qa-1", Region: "ph", Country: "PHL", SolutionCode: "102"})
	if r.Trace.Rule != "down" || r.Code != idvmock.CodeError {
		t.Errorf("a request that rules of delivery faults match: rule %q, %s; want the request rule down", r.Trace.Rule, r.Code)
	}
}

// Draws follow the seed and the rule's count in the store: the same completions give the same
// faults in every run, another seed others; a reset of the store starts the count over.
func TestDeliveryFaultDrawsAreSeeded(t *testing.T) {
	const rules = `rules:
  - name: flaky-delivery
    match: {}
    faults: [{type: duplicate_delivery, probability: 0.5}]
`
	draws := func(seed int64) []bool {
		f, err := parseYAML("d.yaml", rules)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewEngine(seed, append(builtinFiles(t), f), nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []bool
		for range 40 {
			out = append(out, deliveryFaultsOK(t, e, completed("u", "SGP", "101")).Duplicate)
		}
		if _, err := e.Reset(t.Context(), ""); err != nil {
			t.Fatal(err)
		}
		if again := deliveryFaultsOK(t, e, completed("u", "SGP", "101")).Duplicate; again != out[0] {
			t.Errorf("seed %d: after a reset the first draw is %v, before it %v", seed, again, out[0])
		}
		return out
	}
	a, b, other := draws(7), draws(7), draws(8)
	if !slices.Equal(a, b) {
		t.Errorf("seed 7 drew differently in two runs:\n%v\n%v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 7 and 8 drew the same 40 times")
	}
	if n := len(slices.DeleteFunc(slices.Clone(a), func(x bool) bool { return !x })); n < 8 || n > 32 {
		t.Errorf("probability 0.5 fired %d times in 40", n)
	}
}

// A store that fails is an error naming the rule; no fault is drawn.
func TestDeliveryFaultsStoreFailure(t *testing.T) {
	e, err := engineWith(t, "rules:\n  - {name: dup, match: {}, faults: [{type: duplicate_delivery}]}\n")
	if err != nil {
		t.Fatal(err)
	}
	e.SetStore(failingStore{NewMemoryStore(Limits{})})
	d, err := e.DeliveryFaults(t.Context(), completed("u", "SGP", "101"))
	if !errors.Is(err, ErrStore) || d.Rule != "dup" || d.Duplicate {
		t.Errorf("got %+v, %v", d, err)
	}
}
