// Package engine answers the vendor's operations from what scenario files declare, and holds
// what changes while the mock runs: where each user stands in its states, sessions started
// through Generate URL, users declared through the admin API, and how often each rule
// matched. It builds the answers' bodies from seeded fake data. It knows neither YAML nor
// HTTP: the mock server asks it what to answer and writes the reply.
package engine

import (
	"maps"
	"slices"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
)

// Session is one verification session of a user, as a scenario declares it. Empty fields are
// filled deterministically when the result is built.
type Session struct {
	SignatureID  string
	SolutionCode string
	CreatedAt    time.Time
	State        scenarios.SessionState
	Verdict      idvmock.Verdict // set only when State is StateFinished
	ErrorCode    string          // failure reason; SUCCESS for PASS
	BizID        string
	Region       string // ISO 3166 alpha-3; empty: the region of the host that was asked
	Face         FaceOverrides
	Result       map[string]any // fields of the Get Result object set over the generated ones
	Verbatim     bool           // Result is the whole Get Result object: nothing is generated
	// Literal marks a session whose strings are data a caller sent (Generate URL): they are
	// answered as they are and never evaluated as templates.
	Literal bool `json:",omitempty"`
}

// FaceOverrides pins face-step values that are otherwise generated consistently with the
// verdict. Nil means "generate".
type FaceOverrides struct {
	LivenessScore      *float64
	SimilarityScore    *float64
	LivenessAttackType *int
}

// Profile is what a user looks like to the vendor, as a sequence of states (one, for a user
// that does not change). Named profiles are the scenarios the X-Mock-Scenario header and
// rules pick.
type Profile struct {
	Name   string // scenario name, when the profile is a named scenario
	States []State
	Loop   bool // after the last state, start over from the first
	hash   string
	after  []scenarios.After // when each state moves on, for the store's Step
	timed  bool              // a state moves on after a duration: steps need the clock
	label  string            // "scenario <name>", in traces
}

// State is one state of a profile: a profile status and the sessions behind it, or a forced
// answer, and when the user moves on.
type State struct {
	Name     string
	Status   idvmock.ProfileStatus
	Answer   string // one of the scenarios.Answer* kinds
	Sessions []Session
	After    scenarios.After // zero: the user stays in this state
	// Customer sets parts of Get Profile's answer over the derived ones; nil: all derived.
	Customer *scenarios.CustomerProfileSpec
}

// sessionOf turns a declaration into the model, without generated fields.
func sessionOf(s scenarios.SessionSpec) Session {
	out := Session{
		SignatureID:  s.SignatureID,
		SolutionCode: s.SolutionCode,
		State:        s.EffectiveState(),
		Verdict:      s.OverallResult,
		ErrorCode:    s.ErrorCode,
		BizID:        s.BizID,
		Region:       s.Region,
		Face: FaceOverrides{
			LivenessScore:      s.FaceLivenessScore,
			SimilarityScore:    s.FaceSimilarityScore,
			LivenessAttackType: s.LivenessAttackType,
		},
		Result:   s.Result,
		Verbatim: s.Verbatim,
	}
	if out.SolutionCode == "" {
		out.SolutionCode = scenarios.DefaultSolutionCode
	}
	if s.CreatedAt != nil {
		out.CreatedAt = s.CreatedAt.Time.UTC()
	}
	return out
}

// spec is the declaration that would give s, for checking a session that was not declared in
// a file (a completion, a saved started session).
func (s Session) spec() scenarios.SessionSpec {
	return scenarios.SessionSpec{SignatureID: s.SignatureID, SolutionCode: s.SolutionCode, State: s.State, OverallResult: s.Verdict,
		ErrorCode: s.ErrorCode, BizID: s.BizID, Region: s.Region, FaceLivenessScore: s.Face.LivenessScore,
		FaceSimilarityScore: s.Face.SimilarityScore, LivenessAttackType: s.Face.LivenessAttackType}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
