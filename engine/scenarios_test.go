package engine

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/brianvoe/gofakeit/v6"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
)

// testClock is a settable clock.
type testClock struct{ now time.Time }

func newTestEngine(t *testing.T, extra ...string) (*Engine, *testClock) {
	t.Helper()
	files, err := builtinFilesErr(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range extra {
		f, err := parseTestFile(t, validFixture(name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	clock := &testClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	e, err := NewEngine(0, files, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return e, clock
}

// ask asks e Get Latest Session Result (in sg unless req says otherwise).
func ask(t testing.TB, e *Engine, req Request) answered {
	t.Helper()
	if req.Region == "" {
		req.Region, req.Country = "sg", "SGP"
	}
	if req.Operation == "" {
		req.Operation = "getLatestSessionResult"
	}
	r := e.Handle(t.Context(), req)
	if r.Trace.Err != nil {
		t.Fatal(r.Trace.Err)
	}
	return view(r)
}

// result decodes an answer's result.
func result(t *testing.T, out answered) *idvmock.Result {
	t.Helper()
	if out.Data == nil {
		t.Fatalf("%s %s: no data", out.Code, out.Message)
	}
	var r idvmock.Result
	if err := json.Unmarshal(out.Data.Result, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// The latest session is the most recently created one, whatever the list order, filtered by
// solutionCode; a later file replaces a user of an earlier one; codes a file mentions are
// valid.
func TestLatestSessionAndFileMerging(t *testing.T) {
	e, _ := newTestEngine(t, "team.yaml")
	bob := result(t, ask(t, e, Request{UserID: "bob"}))
	if *bob.OverallResult != idvmock.VerdictFail || bob.FaceDetail.FaceLivenessScore != 12.5 || *bob.FaceDetail.LivenessAttackType != 2 {
		t.Errorf("bob's latest is the FAIL created on March 2: %+v", bob)
	}
	older := result(t, ask(t, e, Request{UserID: "bob", SolutionCode: "101"}))
	if *older.OverallResult != idvmock.VerdictPass || older.SignatureID != "sig-bob-1" || older.CountryCodeIso3 != "THA" || older.InputParameters.BizID != "order-77" {
		t.Errorf("bob under 101: %+v", older)
	}
	if r := result(t, ask(t, e, Request{UserID: "user_active"})); *r.OverallResult != idvmock.VerdictFail {
		t.Errorf("user_active was not replaced by the team file: %v", *r.OverallResult)
	}
	alice := result(t, ask(t, e, Request{UserID: "alice"}))
	if alice.SubmissionCompleted == nil || !*alice.SubmissionCompleted || alice.OverallResult != nil {
		t.Errorf("alice is submitted with no verdict yet: %+v", alice)
	}
	if a := ask(t, e, Request{UserID: "user_init", SolutionCode: "205"}); a.Message != idvmock.MessageUserNotFound {
		t.Errorf("205 is valid but user_init has no session under it: %s", a.Message)
	}
	if a := ask(t, e, Request{UserID: "user_init", SolutionCode: "206"}); a.Message != idvmock.MessageBadSolutionCode {
		t.Errorf("206 is declared nowhere: %s", a.Message)
	}
}

func TestUnknownForcedScenarioListsTheKnownOnes(t *testing.T) {
	e, _ := newTestEngine(t)
	out := ask(t, e, Request{UserID: "a", Scenario: "nope"})
	want := `X-Mock-Scenario "nope" is not a loaded scenario; use one of ` + strings.Join(e.Set().ScenarioNames(), ", ")
	if out.reply.Status != 400 || out.Code != idvmock.CodeClientError || out.Message != want {
		t.Fatalf("%d %s %q, want 400 CLIENT_ERROR %q", out.reply.Status, out.Code, out.Message, want)
	}
}

// Among sessions created at the same instant, the one listed last is the latest.
func TestLatestBreaksTiesByListOrder(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sessions := []Session{{CreatedAt: at, SolutionCode: "101"}, {CreatedAt: at, SolutionCode: "101"}, {CreatedAt: at.Add(-time.Hour), SolutionCode: "101"}}
	if i := latestIndex(sessions, ""); i != 1 {
		t.Errorf("latest = %d, want 1", i)
	}
	if i := latestIndex(sessions, "102"); i != -1 {
		t.Errorf("latest under an absent code = %d, want -1", i)
	}
}

// Generated results are consistent with their verdict for any userId: the invariants the
// contract suite checks on the vendor.
func TestGeneratedResultsAreConsistentForAnyUser(t *testing.T) {
	e, _ := newTestEngine(t)
	for i := 0; i < 200; i++ {
		user := fmt.Sprintf("user-%d", i)
		for _, name := range []string{"active", "inactive", "failed", "incomplete", "init", "reverify"} {
			out := ask(t, e, Request{UserID: user, Scenario: name, Region: "my", Country: "MYS"})
			if err := checkResult(out.Data.Result, user); err != nil {
				t.Fatalf("%s/%s: %v", name, user, err)
			}
		}
	}
}

// gofakeit's package-level functions read a global source; the bodies must not depend on it.
func TestResultsIgnoreGofakeitsGlobalSource(t *testing.T) {
	e, _ := newTestEngine(t, "team.yaml")
	for _, user := range []string{"user_inactive", "templated"} {
		gofakeit.Seed(1)
		first := ask(t, e, Request{UserID: user}).Data.Result
		gofakeit.Seed(2)
		_ = gofakeit.Name()
		if again := ask(t, e, Request{UserID: user}).Data.Result; string(again) != string(first) {
			t.Fatalf("%s: the result changed with gofakeit's global seed", user)
		}
	}
}

func TestFakerSeedsDifferByUserSeedAndPurpose(t *testing.T) {
	base := faker(0, "alice", "result", 0).Uint64()
	for name, other := range map[string]uint64{
		"seed":    faker(1, "alice", "result", 0).Uint64(),
		"user":    faker(0, "alicf", "result", 0).Uint64(),
		"purpose": faker(0, "alice", "session", 0).Uint64(),
		"index":   faker(0, "alice", "result", 1).Uint64(),
	} {
		if other == base {
			t.Errorf("another %s gives the same fake data", name)
		}
	}
	if faker(0, "alice", "result", 0).Uint64() != base {
		t.Error("the same inputs give different fake data")
	}
}

// Templates read the request and draw repeatable fake data; result overrides keep the
// vendor's field order and add new fields after it.
func TestTemplatesAndResultOverrides(t *testing.T) {
	e, _ := newTestEngine(t, "team.yaml")
	raw := ask(t, e, Request{UserID: "templated", Region: "vn", Country: "VNM"}).Data.Result
	var r map[string]any
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r["signatureId"] != "sig-templated" || r["inputParameters"].(map[string]any)["bizId"] != "order-templated-vn" {
		t.Errorf("templates of the request: %s", raw)
	}
	doc := r["docDetail"].(map[string]any)
	name, _ := doc["fullName"].(string)
	if doc["issuer"] != "VNM" || name == "" || name != strings.ToUpper(name) || strings.Contains(name, "{{") || doc["docType"] != "VN-ID-N" {
		t.Errorf("docDetail merges the override over the generated OCR: %v", doc)
	}
	if r["vendorNewField"] != "x" || r["feeDetail"] == nil {
		t.Errorf("extra fields: %s", raw)
	}
	keys := topLevelKeys(t, raw)
	if keys[0] != "signatureId" || keys[len(keys)-1] != "vendorNewField" || indexOf(keys, "countryCodeIso3") > indexOf(keys, "feeDetail") {
		t.Errorf("field order: %v", keys)
	}
	again := ask(t, e, Request{UserID: "templated", Region: "vn", Country: "VNM"}).Data.Result
	if string(again) != string(raw) {
		t.Error("the same request gave another templated body")
	}
	other := ask(t, e, Request{UserID: "templated", Region: "ph", Country: "PHL"}).Data.Result
	if string(other) == string(raw) || !strings.Contains(string(other), `"order-templated-ph"`) {
		t.Errorf("another region: %s", other)
	}
}

func topLevelKeys(t *testing.T, raw []byte) []string {
	o, err := decodeObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	return o.keys
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// A user declared with regions answers only there; elsewhere it does not exist, and the near
// miss says why.
func TestUserVisibleOnOneRegion(t *testing.T) {
	e, _ := newTestEngine(t, "team.yaml")
	if out := ask(t, e, Request{UserID: "sg_only", Region: "sg", Country: "SGP"}); out.Code != idvmock.CodeSuccess {
		t.Fatalf("on sg: %s %s", out.Code, out.Message)
	}
	out := ask(t, e, Request{UserID: "sg_only", Region: "ph", Country: "PHL"})
	if out.Message != idvmock.MessageUserNotFound {
		t.Fatalf("on ph: %s %s", out.Code, out.Message)
	}
	if len(out.NearMisses) == 0 || out.NearMisses[0].Name != "sg_only" || !strings.Contains(out.NearMisses[0].Differences[0], "visible on sg only") {
		t.Errorf("near misses: %+v", out.NearMisses)
	}
}

func TestNearMissesNameTheClosestUsersAndRules(t *testing.T) {
	e, _ := newTestEngine(t, "team.yaml")
	out := ask(t, e, Request{UserID: "user_actve"})
	if out.Message != idvmock.MessageUserNotFound || len(out.NearMisses) == 0 || out.NearMisses[0].Name != "user_active" ||
		!strings.Contains(out.NearMisses[0].Differences[0], "1 edit away") {
		t.Errorf("user_actve: %+v", out.NearMisses)
	}
	out = ask(t, e, Request{UserID: "USER_ACTIVE"})
	if len(out.NearMisses) == 0 || out.NearMisses[0].Name != "user_active" ||
		!strings.Contains(out.NearMisses[0].Differences[0], "case-sensitive") {
		t.Errorf("USER_ACTIVE: %+v", out.NearMisses)
	}
	out = ask(t, e, Request{UserID: "qa-17", Region: "sg", Country: "SGP"})
	found := false
	for _, nm := range out.NearMisses {
		found = found || (nm.Kind == "rule" && nm.Name == "qa-regex" && strings.Contains(strings.Join(nm.Differences, ";"), "region is sg, the rule wants ph"))
	}
	if !found {
		t.Errorf("qa-17 on sg: %+v", out.NearMisses)
	}
}

// Rules are tried in order; the first that matches answers; the header wins over rules.
func TestRulesMatchByContent(t *testing.T) {
	e, _ := newTestEngine(t, "team.yaml")
	out := ask(t, e, Request{UserID: "qa-pass-7"})
	if out.Source != "rule qa-pass" || *result(t, out).OverallResult != idvmock.VerdictPass {
		t.Errorf("qa-pass-7: %s %+v", out.Source, out)
	}
	if out := ask(t, e, Request{UserID: "qa-17", Region: "ph", Country: "PHL"}); out.Source != "rule qa-regex" {
		t.Errorf("qa-17 on ph: %s", out.Source)
	}
	if out := ask(t, e, Request{UserID: "qa-17x", Region: "ph", Country: "PHL"}); out.Code != idvmock.CodeParameterError {
		t.Errorf("qa-17x does not match the regex: %s", out.Source)
	}
	if out := ask(t, e, Request{UserID: "qa-pass-7", Scenario: "failed"}); *result(t, out).OverallResult != idvmock.VerdictFail {
		t.Error("the header must win over the rule")
	}
	token := Request{Operation: "generateToken", Region: "th", Header: http.Header{"X-Test": {"flaky"}}}
	if d := decideOK(t, e, token); d.Rule == nil || d.Rule.Name != "flaky-th" {
		t.Errorf("flaky-th applies to the token API too: %+v", d)
	}
	if d := decideOK(t, e, Request{Operation: "generateToken", Region: "th", Header: http.Header{"X-Test": {"calm"}}}); d.Rule != nil {
		t.Errorf("a header mismatch matched %s", d.Rule.Name)
	}
}

// A fault with probability p fires on about p of the matches, the same ones on every run, and
// latency stays within its range.
func TestFaultDrawsAreSeededAndProportional(t *testing.T) {
	run := func() []bool {
		e, _ := newTestEngine(t, "team.yaml")
		req := Request{Operation: "getLatestSessionResult", UserID: "x", Region: "th", Header: http.Header{"X-Test": {"flaky"}}}
		var fired []bool
		for i := 0; i < 4000; i++ {
			d := decideOK(t, e, req)
			if d.Delay < 10*time.Millisecond || d.Delay > 20*time.Millisecond {
				t.Fatalf("delay %v outside 10ms..20ms", d.Delay)
			}
			fired = append(fired, d.Fault != nil && d.Fault.Kind == scenarios.FaultGateway && d.Fault.Status == 503)
		}
		return fired
	}
	first, second := run(), run()
	if !reflect.DeepEqual(first, second) {
		t.Fatal("two runs drew different faults")
	}
	n := 0
	for _, f := range first {
		if f {
			n++
		}
	}
	if n < 900 || n > 1100 { // 25% of 4000 is 1000; 1100 is over 6 standard deviations away
		t.Errorf("the 25%% fault fired %d times in 4000", n)
	}
}

// A verbatim session answers its result exactly: nothing generated is added or merged.
func TestVerbatimSessionAnswersItsResultExactly(t *testing.T) {
	e, _ := newTestEngine(t, "recorded.yaml")
	out := ask(t, e, Request{UserID: "rec_1"})
	if out.Code != idvmock.CodeSuccess || out.Data == nil {
		t.Fatalf("%s %s", out.Code, out.Message)
	}
	want := `{"signatureId":"7f3a9c0d1e2b","overallResult":"PASS","idvResult":"PASS","errorCode":"SUCCESS","errorCodes":[],` +
		`"faceDetail":{"faceResult":"PASS","faceLivenessScore":88.5,"faceSimilarityScore":91.25,"vendorOnlyField":"kept"},` +
		`"docDetail":null,"inputParameters":{"bizId":"loan-7","userId":"rec_1","region":"SGP"},"countryCodeIso3":"SGP"}`
	var got, exp any
	if err := json.Unmarshal(out.Data.Result, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(want), &exp)
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("result\n%s\nwant\n%s", out.Data.Result, want)
	}
}
func (c *testClock) Now() time.Time { return c.now }
