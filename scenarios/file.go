package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
)

// File is one scenario file: extra solution codes, named scenarios (the outcomes the
// X-Mock-Scenario header and rules can pick), users, and rules. docs/scenarios.md describes
// it and docs/scenarios.schema.json is its JSON Schema.
type File struct {
	SolutionCodes []string               `yaml:"solutionCodes,omitempty" json:"solutionCodes,omitempty"`
	Scenarios     map[string]ProfileSpec `yaml:"scenarios,omitempty" json:"scenarios,omitempty"`
	Users         map[string]UserSpec    `yaml:"users,omitempty" json:"users,omitempty"`
	Rules         []RuleSpec             `yaml:"rules,omitempty" json:"rules,omitempty"`

	name      string    // file name, for messages
	positions Positions // where each path of the file is
	skipped   string    // why the file declares nothing: it is not a scenario file
	frozen    bool      // see Freeze
	checked   []int64   // see TrustResults
}

// Freeze declares that nobody will change f any more (the built-in files, parsed once per
// process and shared): what is compiled from frozen files alone may be compiled once per
// process and shared too (engine.New). It returns f.
func (f *File) Freeze() *File {
	f.frozen = true
	return f
}

// Frozen reports whether f was frozen: it does not change.
func (f *File) Frozen() bool { return f.frozen }

// TrustResults declares that every result f's sessions give with these seeds was checked
// against openapi.yaml when idvmock was built (the built-in files, by a test): engine.New
// need not build and check them again at each start. It is for frozen files only, and
// returns f.
func (f *File) TrustResults(seeds ...int64) *File {
	if f.frozen {
		f.checked = append(f.checked, seeds...)
	}
	return f
}

// ResultsTrusted reports whether f's results with seed were checked when idvmock was built.
func (f *File) ResultsTrusted(seed int64) bool { return f.frozen && slices.Contains(f.checked, seed) }

// NewFile returns an empty file called name (for messages), whose values stand where
// positions say (nil: nowhere known).
func NewFile(name string, positions Positions) *File {
	if positions == nil {
		positions = Positions{}
	}
	return &File{name: name, positions: positions}
}

// SkippedFile stands for a file of a scenario folder that is not a scenario file: it
// declares nothing, and says why.
func SkippedFile(name, why string) *File {
	return &File{name: name, positions: Positions{}, skipped: why}
}

// Skipped says why a file found in a scenario folder was not read as a scenario file (it is
// a contract users file, ...), or "".
func (f *File) Skipped() string { return f.skipped }

// Name is the file's name, as given.
func (f *File) Name() string { return f.name }

// UserSpec declares one user: a named scenario to follow, or a profile of its own, and the
// regions it is visible on.
type UserSpec struct {
	Scenario    string   `yaml:"scenario,omitempty" json:"scenario,omitempty"`
	Regions     []string `yaml:"regions,omitempty" json:"regions,omitempty"`
	ProfileSpec `yaml:",inline"`
}

// ProfileSpec declares what a user looks like: a profile status and its sessions (or a forced
// answer), or a sequence of such states the user moves through.
type ProfileSpec struct {
	ProfileBody `yaml:",inline"`
	States      []StateSpec `yaml:"states,omitempty" json:"states,omitempty"`
	Loop        bool        `yaml:"loop,omitempty" json:"loop,omitempty"`
}

// Empty reports whether p declares nothing.
func (p ProfileSpec) Empty() bool {
	return p.ProfileStatus == "" && p.Answer == "" && len(p.Sessions) == 0 && len(p.States) == 0 && !p.Loop
}

// ProfileBody is a profile status and the sessions behind it, or a forced answer.
// CustomerProfile sets what Get Profile answers where the sessions cannot say it.
type ProfileBody struct {
	ProfileStatus   idvmock.ProfileStatus `yaml:"profileStatus,omitempty" json:"profileStatus,omitempty"`
	Answer          string                `yaml:"answer,omitempty" json:"answer,omitempty"`
	Sessions        []SessionSpec         `yaml:"sessions,omitempty" json:"sessions,omitempty"`
	CustomerProfile *CustomerProfileSpec  `yaml:"customerProfile,omitempty" json:"customerProfile,omitempty"`
}

// CustomerProfileSpec sets parts of Get Profile's answer over those derived from the state's
// sessions (the documents of the latest PASS session of each document type, and every
// session's signatureId). A list left out or empty is derived.
type CustomerProfileSpec struct {
	// DocumentInfos is Get Profile's documentInfos as given, each an object with at least
	// docType: data, never evaluated as a template.
	DocumentInfos []map[string]any `yaml:"documentInfos,omitempty" json:"documentInfos,omitempty"`
	// SignatureIDs is Get Profile's signatureIds as given.
	SignatureIDs []string `yaml:"signatureIds,omitempty" json:"signatureIds,omitempty"`
}

// StateSpec is one state of a sequence; After says when the user moves on to the next state.
type StateSpec struct {
	Name        string `yaml:"name,omitempty" json:"name,omitempty"`
	ProfileBody `yaml:",inline"`
	After       *After `yaml:"after,omitempty" json:"after,omitempty"`
}

// SessionSpec declares one session. Only what matters to the scenario needs to be given; the
// rest is generated consistently with it. Result sets any field of the Get Result object,
// over the generated one.
type SessionSpec struct {
	SignatureID         string          `yaml:"signatureId,omitempty" json:"signatureId,omitempty"`
	SolutionCode        string          `yaml:"solutionCode,omitempty" json:"solutionCode,omitempty"`
	CreatedAt           *Timestamp      `yaml:"createdAt,omitempty" json:"createdAt,omitempty"`
	State               SessionState    `yaml:"state,omitempty" json:"state,omitempty"`
	OverallResult       idvmock.Verdict `yaml:"overallResult,omitempty" json:"overallResult,omitempty"`
	ErrorCode           string          `yaml:"errorCode,omitempty" json:"errorCode,omitempty"`
	BizID               string          `yaml:"bizId,omitempty" json:"bizId,omitempty"`
	Region              string          `yaml:"region,omitempty" json:"region,omitempty"`
	FaceLivenessScore   *float64        `yaml:"faceLivenessScore,omitempty" json:"faceLivenessScore,omitempty"`
	FaceSimilarityScore *float64        `yaml:"faceSimilarityScore,omitempty" json:"faceSimilarityScore,omitempty"`
	LivenessAttackType  *int            `yaml:"livenessAttackType,omitempty" json:"livenessAttackType,omitempty"`
	// Verbatim answers Result as the whole Get Result object, with nothing generated or
	// merged: the form idvmock proxy --record writes, so that a replay answers what was
	// recorded.
	Verbatim bool           `yaml:"verbatim,omitempty" json:"verbatim,omitempty"`
	Result   map[string]any `yaml:"result,omitempty" json:"result,omitempty"`
}

// RuleSpec matches requests by their content and answers them with a scenario, an inline
// profile or faults. The first rule that matches a request is the one that applies.
type RuleSpec struct {
	Name        string    `yaml:"name" json:"name"`
	Match       MatchSpec `yaml:"match" json:"match"`
	Scenario    string    `yaml:"scenario,omitempty" json:"scenario,omitempty"`
	ProfileSpec `yaml:",inline"`
	Faults      []FaultSpec `yaml:"faults,omitempty" json:"faults,omitempty"`
}

// MatchSpec is what a request must have for a rule to apply. Empty fields match anything.
type MatchSpec struct {
	Operation    string            `yaml:"operation,omitempty" json:"operation,omitempty"`
	UserID       string            `yaml:"userId,omitempty" json:"userId,omitempty"`
	UserIDGlob   string            `yaml:"userIdGlob,omitempty" json:"userIdGlob,omitempty"`
	UserIDRegex  string            `yaml:"userIdRegex,omitempty" json:"userIdRegex,omitempty"`
	SolutionCode string            `yaml:"solutionCode,omitempty" json:"solutionCode,omitempty"`
	Regions      []string          `yaml:"regions,omitempty" json:"regions,omitempty"`
	Headers      map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// FaultSpec is one fault of a rule. Probability (default 1) is drawn from the seeded source,
// so a run is reproducible.
type FaultSpec struct {
	Type        FaultKind `yaml:"type" json:"type"`
	Probability *float64  `yaml:"probability,omitempty" json:"probability,omitempty"`
	Duration    *Duration `yaml:"duration,omitempty" json:"duration,omitempty"`
	Min         *Duration `yaml:"min,omitempty" json:"min,omitempty"`
	Max         *Duration `yaml:"max,omitempty" json:"max,omitempty"`
	Status      int       `yaml:"status,omitempty" json:"status,omitempty"`
	RetryAfter  *Duration `yaml:"retryAfter,omitempty" json:"retryAfter,omitempty"`
}

// DefaultSolutionCode is the solution code shown in the vendor's public documentation; it is
// always valid, and sessions that name no code use it.
const DefaultSolutionCode = "101"

// ValueError is a value that cannot be read as its type (a time, a duration, an after), and
// what to write instead. The file reader places it at the value.
type ValueError struct{ What, Hint string }

func (e *ValueError) Error() string { return e.What }

// Timestamp is a point in time written in RFC 3339, as in 2026-03-01T10:00:00Z.
type Timestamp struct{ time.Time }

// UnmarshalText reads an RFC 3339 time.
func (t *Timestamp) UnmarshalText(text []byte) error {
	parsed, err := time.Parse(time.RFC3339, string(text))
	if err != nil {
		return &ValueError{fmt.Sprintf("%q is not a time", text), "write RFC 3339, e.g. 2026-03-01T10:00:00Z"}
	}
	t.Time = parsed
	return nil
}

// MarshalText writes the time in RFC 3339, with its fraction of a second when it has one
// (recordings order the answers of one second by their milliseconds).
func (t Timestamp) MarshalText() ([]byte, error) { return []byte(t.Format(time.RFC3339Nano)), nil }

// MarshalJSON writes the time in RFC 3339 (not time.Time's, which it embeds).
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(t.Format(time.RFC3339))), nil
}

// UnmarshalJSON reads an RFC 3339 time from a JSON string.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	s, err := strconv.Unquote(string(data))
	if err != nil {
		return &ValueError{fmt.Sprintf("%s is not a time", data), "write RFC 3339 in a string, e.g. \"2026-03-01T10:00:00Z\""}
	}
	return t.UnmarshalText([]byte(s))
}

// Duration is a Go duration written as text: 250ms, 30s, 2m.
type Duration struct{ time.Duration }

// UnmarshalText reads a duration such as 250ms or 30s.
func (d *Duration) UnmarshalText(text []byte) error {
	parsed, err := time.ParseDuration(string(text))
	if err != nil || parsed < 0 {
		return &ValueError{fmt.Sprintf("%q is not a duration", text), "write e.g. 250ms, 30s or 2m"}
	}
	d.Duration = parsed
	return nil
}

// MarshalText writes the duration as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// After says when a user leaves a state: after a number of calls answered in it ("3 calls"),
// or a time after the first call answered in it ("30s").
type After struct {
	Calls    int
	Duration time.Duration
}

// UnmarshalText reads "N calls", "1 call" or a duration.
func (a *After) UnmarshalText(text []byte) error {
	v := strings.TrimSpace(string(text))
	if n, unit, ok := strings.Cut(v, " "); ok && (unit == "calls" || unit == "call") {
		calls, err := strconv.Atoi(n)
		if err != nil || calls < 1 {
			return &ValueError{fmt.Sprintf("after %q: the number of calls is not a whole number from 1", v), "write e.g. 3 calls"}
		}
		*a = After{Calls: calls}
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return &ValueError{fmt.Sprintf("after %q is neither a number of calls nor a duration", v), "write e.g. 3 calls or 30s"}
	}
	*a = After{Duration: d}
	return nil
}

// String writes the value the way it is read.
func (a After) String() string {
	switch {
	case a.Calls == 1:
		return "1 call"
	case a.Calls > 1:
		return fmt.Sprintf("%d calls", a.Calls)
	}
	return a.Duration.String()
}

// MarshalText writes the value the way it is read.
func (a After) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// EffectiveState is the declared state, or the one implied by the presence of a verdict.
func (s SessionSpec) EffectiveState() SessionState {
	switch {
	case s.State != "":
		return s.State
	case s.OverallResult != "":
		return StateFinished
	default:
		return StateInProgress
	}
}
