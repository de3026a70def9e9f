package engine

import (
	"context"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
)

// DeliveryFaults is what the rules decide for the delivery of a session's completion (its
// callback or webhook).
type DeliveryFaults struct {
	Rule         string                // the rule of delivery faults that matched; "" for none
	Duplicate    bool                  // duplicate_delivery fired: send the delivery twice
	BadSignature bool                  // bad_signature fired: sign the webhook with another key
	Fired        []scenarios.FaultKind // the faults that fired, for the journal
}

// DeliveryFaults draws the delivery faults for the completion of s. The delivery is matched
// against the rules of delivery faults (scenarios.RuleSpec.DeliveryRule) as a request of
// operation sessionCompleted with the session's userId, solutionCode and region, the one
// whose country is the region (ISO 3166 alpha-3) Generate URL was given, or global. Only the
// first matching rule applies; its match is counted with Store.Hit and its faults are drawn
// from the seed, the rule and the count, as a request's are, so runs repeat. A store that
// fails is an error wrapping ErrStore; the rule is named then.
func (e *Engine) DeliveryFaults(ctx context.Context, s StartedSession) (DeliveryFaults, error) {
	req := Request{Operation: idvmock.OpSessionCompleted, UserID: s.UserID, SolutionCode: s.Session.SolutionCode,
		Region: regionOfCountry(s.Start.Region)}
	rule := e.Set().firstDeliveryRule(&req)
	if rule == nil {
		return DeliveryFaults{}, nil
	}
	d := DeliveryFaults{Rule: rule.Name}
	hit, err := e.stored().Hit(ctx, rule.Name)
	if err != nil {
		return d, storeError(err)
	}
	for i, f := range rule.Faults {
		if draw(e.seed, rule.Name, i, hit, 0) >= f.Probability {
			continue
		}
		d.Fired = append(d.Fired, f.Kind)
		switch f.Kind {
		case scenarios.FaultDuplicateDelivery:
			d.Duplicate = true
		case scenarios.FaultBadSignature:
			d.BadSignature = true
		}
	}
	return d, nil
}

// regionOfCountry is the name of the region whose country is alpha3 (PHL: ph), or global.
func regionOfCountry(alpha3 string) string {
	regions := idvmock.SpecFacts().Regions
	for _, name := range regions.Names() {
		if r, _ := regions.ByName(name); r.Country == alpha3 {
			return name
		}
	}
	return "global"
}
