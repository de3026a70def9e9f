package scenarios

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/brianvoe/gofakeit/v6"
)

func parseTestFile(t *testing.T, path string) (*File, error) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	return ParseFile(filepath.Base(path), fh)
}

// Each file under testdata/invalid is refused with the message its first line names.
func TestInvalidFilesAreRefusedWithAClearProblem(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if len(paths) < 20 {
		t.Fatalf("only %d invalid fixtures", len(paths))
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := wantLine(t, path)
			_, err := parseTestFile(t, path)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), filepath.Base(path)+":") {
				t.Errorf("error %q\nwant it to name the file and contain %q", err, want)
			}
		})
	}
}

func wantLine(t *testing.T, path string) string {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	line, _ := bufio.NewReader(fh).ReadString('\n')
	want, ok := strings.CutPrefix(strings.TrimSpace(line), "# want: ")
	if !ok {
		t.Fatalf("%s: first line must be '# want: <part of the error>'", path)
	}
	return want
}

func TestBuiltinSetLoads(t *testing.T) {
	s, err := Builtin(0)
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"active", "bad_solution_code", "failed", "inactive", "incomplete", "init", "multi", "reverify", "server_error", "user_not_found"}
	if got := s.ScenarioNames(); !reflect.DeepEqual(got, wantNames) {
		t.Errorf("scenarios = %v, want %v", got, wantNames)
	}
	wantUsers := []string{"user_002", "user_active", "user_error", "user_failed", "user_inactive", "user_incomplete", "user_init", "user_multi", "user_reverify"}
	if got := s.UserIDs(); !reflect.DeepEqual(got, wantUsers) {
		t.Errorf("users = %v, want %v", got, wantUsers)
	}
	if got := s.SolutionCodes(); !reflect.DeepEqual(got, []string{"101", "102"}) {
		t.Errorf("solution codes = %v", got)
	}
}

func loadWithTeamFile(t *testing.T) *Set {
	t.Helper()
	builtin, err := BuiltinFiles()
	if err != nil {
		t.Fatal(err)
	}
	team, err := parseTestFile(t, filepath.Join("testdata", "valid", "team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(0, append(builtin, team)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func answer(t *testing.T, s *Set, q Query) Answer {
	t.Helper()
	a, err := s.Answer(q)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The latest session is the most recently created one, whatever the list order, filtered by
// solutionCode; a later file replaces a user of an earlier one; codes a file mentions are
// valid.
func TestLatestSessionAndFileMerging(t *testing.T) {
	s := loadWithTeamFile(t)
	bob := answer(t, s, Query{UserID: "bob", Country: "SGP"})
	if r := bob.Data.Result; *r.OverallResult != VerdictFail || r.FaceDetail.FaceLivenessScore != 12.5 || *r.FaceDetail.LivenessAttackType != 2 {
		t.Errorf("bob's latest is the FAIL created on March 2: %+v", r)
	}
	older := answer(t, s, Query{UserID: "bob", SolutionCode: "101", Country: "SGP"}).Data.Result
	if *older.OverallResult != VerdictPass || older.SignatureID != "sig-bob-1" || older.CountryCodeIso3 != "THA" || older.InputParameters.BizID != "order-77" {
		t.Errorf("bob under 101: %+v", older)
	}
	if a := answer(t, s, Query{UserID: "user_active"}); *a.Data.Result.OverallResult != VerdictFail {
		t.Errorf("user_active was not replaced by the team file: %v", *a.Data.Result.OverallResult)
	}
	alice := answer(t, s, Query{UserID: "alice", Country: "VNM"}).Data.Result
	if alice.SubmissionCompleted == nil || !*alice.SubmissionCompleted || alice.OverallResult != nil {
		t.Errorf("alice is submitted with no verdict yet: %+v", alice)
	}
	if a := answer(t, s, Query{UserID: "user_init", SolutionCode: "205"}); a.Message != MessageUserNotFound {
		t.Errorf("205 is valid but user_init has no session under it: %s", a.Message)
	}
	if a := answer(t, s, Query{UserID: "user_init", SolutionCode: "206"}); a.Message != MessageBadSolutionCode {
		t.Errorf("206 is declared nowhere: %s", a.Message)
	}
}

func TestUserFollowingAnUndeclaredScenarioIsRefused(t *testing.T) {
	f, err := ParseFile("x.yaml", strings.NewReader("users:\n  alice: {scenario: nope}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(0, f)
	if err == nil || !strings.Contains(err.Error(), `users.alice.scenario: names scenario "nope"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestUnknownForcedScenarioListsTheKnownOnes(t *testing.T) {
	s, _ := Builtin(0)
	_, err := s.Answer(Query{UserID: "a", Scenario: "nope"})
	use, ok := err.(*UnknownScenarioError)
	if !ok || use.Name != "nope" || !reflect.DeepEqual(use.Known, s.ScenarioNames()) {
		t.Fatalf("err = %v", err)
	}
}

// Among sessions created at the same instant, the one listed last is the latest.
func TestLatestBreaksTiesByListOrder(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sessions := []Session{{CreatedAt: at, SolutionCode: "101"}, {CreatedAt: at, SolutionCode: "101"}, {CreatedAt: at.Add(-time.Hour), SolutionCode: "101"}}
	if i := latest(sessions, ""); i != 1 {
		t.Errorf("latest = %d, want 1", i)
	}
	if i := latest(sessions, "102"); i != -1 {
		t.Errorf("latest under an absent code = %d, want -1", i)
	}
}

// Generated results are consistent with their verdict for any userId: the invariants the
// contract suite checks on the vendor.
func TestGeneratedResultsAreConsistentForAnyUser(t *testing.T) {
	s, _ := Builtin(0)
	for i := 0; i < 300; i++ {
		user := fmt.Sprintf("user-%d", i)
		for _, name := range []string{"active", "inactive", "failed", "incomplete", "init", "reverify"} {
			r := answer(t, s, Query{UserID: user, Scenario: name, Country: "MYS"}).Data.Result
			checkConsistent(t, name+"/"+user, r)
		}
	}
}

func checkConsistent(t *testing.T, label string, r *Result) {
	t.Helper()
	if !reflect.DeepEqual(r.OverallResult, r.IDVResult) {
		t.Fatalf("%s: idvResult differs from overallResult", label)
	}
	if r.OverallResult == nil {
		if r.ErrorCode != nil || r.FaceDetail.FaceResult != nil || r.DocDetail != nil {
			t.Fatalf("%s: a session in progress has outcome fields", label)
		}
		return
	}
	switch *r.OverallResult {
	case VerdictPass:
		f := r.FaceDetail
		if *r.ErrorCode != ErrorCodeSuccess || *f.FaceResult != VerdictPass || f.FaceLivenessScore < LivenessThreshold ||
			f.FaceSimilarityScore < SimilarityThreshold || f.LivenessAttackType != nil {
			t.Fatalf("%s: inconsistent PASS: %+v %+v", label, r, f.FaceCapture)
		}
	case VerdictFail:
		f := r.FaceDetail
		if *r.ErrorCode == ErrorCodeSuccess || *f.FaceResult != VerdictFail || f.FaceLivenessScore >= LivenessThreshold || f.LivenessAttackType == nil {
			t.Fatalf("%s: inconsistent liveness FAIL: %+v", label, f.FaceCapture)
		}
	case VerdictIncomplete:
		if *r.ErrorCode == ErrorCodeSuccess {
			t.Fatalf("%s: INCOMPLETE with SUCCESS", label)
		}
	}
	if f := r.FaceDetail.FaceCapture; f != nil && (math.IsNaN(f.FaceLivenessScore) || f.FaceLivenessScore > 100 || f.FaceSimilarityScore > 100) {
		t.Fatalf("%s: score out of range", label)
	}
}

// gofakeit's package-level functions read a global source; the bodies must not depend on it.
func TestResultsIgnoreGofakeitsGlobalSource(t *testing.T) {
	s, _ := Builtin(7)
	q := Query{UserID: "user_active", Country: "PHL"}
	gofakeit.Seed(1)
	first := answer(t, s, q).Data.Result
	gofakeit.Seed(2)
	_ = gofakeit.Name()
	again := answer(t, s, q).Data.Result
	if !reflect.DeepEqual(first, again) {
		t.Fatal("the result changed with gofakeit's global seed")
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
