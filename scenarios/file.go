package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gopkg.in/yaml.v3"
)

// File is one scenario file: extra solution codes, named scenarios (the outcomes the
// X-Mock-Scenario header can force) and users.
type File struct {
	SolutionCodes []string               `yaml:"solutionCodes"`
	Scenarios     map[string]ProfileSpec `yaml:"scenarios"`
	Users         map[string]UserSpec    `yaml:"users"`
}

// UserSpec declares one user: either a named scenario to follow, or a profile of its own.
type UserSpec struct {
	Scenario    string `yaml:"scenario"`
	ProfileSpec `yaml:",inline"`
}

// ProfileSpec declares a profile status and the sessions behind it, or a forced answer.
type ProfileSpec struct {
	ProfileStatus ProfileStatus `yaml:"profileStatus"`
	Answer        string        `yaml:"answer"`
	Sessions      []SessionSpec `yaml:"sessions"`
}

// SessionSpec declares one session. Only what matters to the scenario needs to be given; the
// rest is generated consistently with it.
type SessionSpec struct {
	SignatureID         string       `yaml:"signatureId"`
	SolutionCode        string       `yaml:"solutionCode"`
	CreatedAt           *Timestamp   `yaml:"createdAt"`
	State               SessionState `yaml:"state"`
	OverallResult       Verdict      `yaml:"overallResult"`
	ErrorCode           string       `yaml:"errorCode"`
	BizID               string       `yaml:"bizId"`
	Region              string       `yaml:"region"`
	FaceLivenessScore   *float64     `yaml:"faceLivenessScore"`
	FaceSimilarityScore *float64     `yaml:"faceSimilarityScore"`
	LivenessAttackType  *int         `yaml:"livenessAttackType"`
}

// DefaultSolutionCode is the solution code shown in the vendor's public documentation; it is
// always valid, and sessions that name no code use it.
const DefaultSolutionCode = "101"

// ParseFile decodes a scenario file, rejecting unknown keys, and checks it. name is used in
// error messages.
func ParseFile(name string, r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &f, nil
}

// profile turns a declaration into the model, without generated fields.
func (p ProfileSpec) profile(name string) Profile {
	out := Profile{Name: name, Status: p.ProfileStatus, Answer: p.Answer}
	for _, s := range p.Sessions {
		out.Sessions = append(out.Sessions, s.session())
	}
	return out
}

func (s SessionSpec) session() Session {
	out := Session{
		SignatureID:  s.SignatureID,
		SolutionCode: s.SolutionCode,
		State:        s.state(),
		Verdict:      s.OverallResult,
		ErrorCode:    s.ErrorCode,
		BizID:        s.BizID,
		Region:       s.Region,
		Face: FaceOverrides{
			LivenessScore:      s.FaceLivenessScore,
			SimilarityScore:    s.FaceSimilarityScore,
			LivenessAttackType: s.LivenessAttackType,
		},
	}
	if out.SolutionCode == "" {
		out.SolutionCode = DefaultSolutionCode
	}
	if s.CreatedAt != nil {
		out.CreatedAt = s.CreatedAt.Time.UTC()
	}
	return out
}

// state is the declared state, or the one implied by the presence of a verdict.
func (s SessionSpec) state() SessionState {
	switch {
	case s.State != "":
		return s.State
	case s.OverallResult != "":
		return StateFinished
	default:
		return StateInProgress
	}
}

// Timestamp is a point in time written in RFC 3339, as in 2026-03-01T10:00:00Z.
type Timestamp struct{ time.Time }

// UnmarshalYAML reads an RFC 3339 time and names the line of a bad one.
func (t *Timestamp) UnmarshalYAML(node *yaml.Node) error {
	parsed, err := time.Parse(time.RFC3339, node.Value)
	if node.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("line %d: %q is not a time: write RFC 3339, e.g. 2026-03-01T10:00:00Z", node.Line, node.Value)
	}
	t.Time = parsed
	return nil
}
