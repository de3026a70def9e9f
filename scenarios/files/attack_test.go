package files

// Regression tests of the attack pass on a shared, long-running mock (issue 10): templates
// that crashed the linter, caller input evaluated as a template, unbounded growth and work
// under the engine's lock. Each case replays what was found; keep them together.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// engineWith compiles the built-in files plus one scenario file given as text.
func engineWith(t testing.TB, yaml string) (*engine.Engine, error) {
	t.Helper()
	files, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("attack.yaml", strings.NewReader(yaml))
	if err != nil {
		return nil, err
	}
	return engine.NewEngine(0, append(files, f), nil)
}

// Every text/template construct lints and serves: if, range and with, each with and
// without else, nested, variables, define/template, break and continue. The first of them
// (an if without else) panicked the linter: walkTemplate followed a nil ElseList.
func TestAttackEveryTemplateConstructLintsAndServes(t *testing.T) {
	for _, tc := range []struct{ template, want string }{
		{`{{ if eq .region "sg" }}SG{{ end }}`, "SG"},
		{`{{ if eq .region "ph" }}PH{{ else }}not PH{{ end }}`, "not PH"},
		{`{{ if eq .region "ph" }}PH{{ else if eq .region "sg" }}SG{{ else }}?{{ end }}`, "SG"},
		{`{{ range $i := 3 }}{{ $i }}{{ end }}`, "012"},
		{`{{ range 0 }}x{{ else }}none{{ end }}`, "none"},
		{`{{ with .country }}{{ . }}{{ end }}`, "SGP"},
		{`{{ with "" }}x{{ else }}empty{{ end }}`, "empty"},
		{`{{ with .userId }}{{ if eq . "u1" }}{{ range 2 }}{{ upper $.region }}{{ end }}{{ end }}{{ end }}`, "SGSG"},
		{`{{ $c := .country }}{{ lower $c }}-{{ printf "%03d" 7 }}`, "sgp-007"},
		{`{{ range $i := 5 }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $i }}{{ end }}`, "02"},
		{`{{ define "tag" }}[{{ . }}]{{ end }}{{ template "tag" .region }}`, "[sg]"},
		{`{{ len .userId }} {{ html "<a>" }} {{ urlquery "a b" }} {{ print 1 2 }}`, "2 &lt;a&gt; a+b 1 2"},
	} {
		t.Run(tc.template, func(t *testing.T) {
			yaml := fmt.Sprintf("users:\n  u1:\n    profileStatus: ACTIVE\n    sessions:\n      - overallResult: PASS\n        bizId: %q\n", tc.template)
			e, err := engineWith(t, yaml)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got := result(t, ask(t, e, engine.Request{UserID: "u1"})).InputParameters.BizID; got != tc.want {
				t.Errorf("bizId %q, want %q", got, tc.want)
			}
			if err := putUser(e, "u2", (fmt.Sprintf("profileStatus: INIT\nsessions: [{bizId: %q}]\n", tc.template))); err != nil {
				t.Errorf("PUT refused it: %v", err)
			}
		})
	}
}

// Templates that would run away are refused by lint, with the limit they pass.
func TestAttackRunawayTemplatesAreLintProblems(t *testing.T) {
	for name, template := range map[string]string{
		"long loop":         `{{ range 2000000 }}ABCDEFGHIJ{{ end }}`,
		"nested loops":      `{{ range 1000 }}{{ range 1000 }}{{ end }}{{ end }}`,
		"empty long loop":   `{{ range 100000000 }}{{ end }}`,
		"doubling variable": `{{ $a := printf "%s%s" .userId .userId }}` + strings.Repeat(`{{ $a = printf "%s%s" $a $a }}`, 30) + `{{ $a }}`,
		"wide printf":       `{{ printf "%01000000d" 1 }}`,
		"printf star width": `{{ printf "%*d" 100000000 1 }}`,
		"recursion":         `{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}`,
		"output":            `{{ range 9000 }}ABCDEFGHIJ{{ end }}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := engineWith(t, fmt.Sprintf("users:\n  u1:\n    profileStatus: INIT\n    sessions:\n      - bizId: '%s'\n", template))
			if err == nil {
				t.Fatal("accepted")
			}
			var problems scenarios.Problems
			if !errors.As(err, &problems) || len(problems) != 1 || problems[0].Line != 5 || problems[0].Path != "users.u1.sessions[0].bizId" ||
				!strings.Contains(problems[0].Hint, "see Templates in docs/scenarios.md") {
				t.Errorf("want one problem at attack.yaml:5, users.u1.sessions[0].bizId, with the limits as hint; got:\n%v", err)
			}
		})
	}
}

// A document nested deeper than MaxDepth is refused with where it goes too deep, before any
// work that grows with the depth (a 9,000-deep body was accepted, at a memory cost quadratic
// in its depth).
func TestAttackDeepDocumentsAreRefused(t *testing.T) {
	e := newTestEngine(t)
	for name, body := range map[string]string{
		"flow lists":    "sessions: [{result: {x: " + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "}}]\n",
		"block maps":    deepBlockMaps(100),
		"json":          `{"profileStatus":"INIT","sessions":[{"result":` + strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000) + `}]}`,
		"just too deep": "sessions: [{result: {x: " + strings.Repeat("[", MaxDepth-3) + strings.Repeat("]", MaxDepth-3) + "}}]\n",
	} {
		t.Run(name, func(t *testing.T) {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			err := putUser(e, "deep", (body))
			runtime.ReadMemStats(&m1)
			var problems scenarios.Problems
			if !errors.As(err, &problems) || !strings.Contains(err.Error(), fmt.Sprintf("nests deeper than %d levels", MaxDepth)) || problems[0].Line < 1 {
				t.Fatalf("want a problem naming the depth with its line, got %v", err)
			}
			if !strings.HasPrefix(problems[0].Path, "deep.sessions[0].result") {
				t.Errorf("path %q does not lead to the deep value", problems[0].Path)
			}
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 512*uint64(len(body))+1<<20 { // linear: yaml.v3 keeps a node per level
				t.Errorf("refusing a %d-byte body allocated %d bytes", len(body), alloc)
			}
		})
	}
	if err := putUser(e, "shallow", ("sessions: [{result: {x: " + strings.Repeat("[", MaxDepth-6) + strings.Repeat("]", MaxDepth-6) + "}}]\n")); err != nil &&
		strings.Contains(err.Error(), "deeper") {
		t.Errorf("a value within the depth limit was refused for its depth: %v", err)
	}
}

func deepBlockMaps(depth int) string {
	var b strings.Builder
	b.WriteString("sessions:\n  - result:\n")
	for i := range depth {
		fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat("  ", i+3), i)
	}
	fmt.Fprintf(&b, "%sleaf: 1\n", strings.Repeat("  ", depth+3))
	return b.String()
}

// YAML aliases cannot multiply a small declaration into a huge one ("billion laughs").
func TestAttackYAMLAliasBomb(t *testing.T) {
	e := newTestEngine(t)
	body := `a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
profileStatus: INIT
sessions: [{result: {x: *g}}]
`
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	err := putUser(e, "bomb", (body))
	runtime.ReadMemStats(&m1)
	if err == nil {
		t.Fatal("accepted")
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 64<<20 {
		t.Errorf("refusing it allocated %d bytes", alloc)
	}
}

// An unchanged file rewritten in place every 50 ms, under load, never makes an answer differ
// from the file's: a half-written file is never applied. (With polling alone, 3,822 of
// 54,171 answers said the user did not exist.) A real change is applied once the writes
// stop.
func TestAttackHotReloadNeverAppliesAHalfWrittenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "steady.yaml")
	content := "users:\n  steady:\n    profileStatus: ACTIVE\n    sessions:\n      - overallResult: PASS\n" +
		"# padding, so that a write takes a moment\n" + strings.Repeat("# "+strings.Repeat("x", 70)+"\n", 200)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	builtin, _ := Builtin()
	files, err := ReadPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.NewEngine(0, append(builtin, files...), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWatcher([]string{dir}, builtin, e, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx, WatchOptions{Interval: 10 * time.Millisecond, Settle: 200 * time.Millisecond})

	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() { // rewrite the same bytes in place, in two steps, every 50 ms
		defer close(writerDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				continue
			}
			f.WriteString(content[:len(content)/3])
			time.Sleep(3 * time.Millisecond)
			f.WriteString(content[len(content)/3:])
			f.Close()
		}
	}()
	answers, wrong := 0, 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		req := engine.Request{Operation: "getLatestSessionResult", UserID: "steady", Region: "sg", Country: "SGP"}
		out, err := answerOf(t.Context(), e, req)
		answers++
		if err != nil || out.Code != idvmock.CodeSuccess || out.Data.ProfileStatus != idvmock.ProfileActive {
			wrong++
		}
	}
	close(stop)
	<-writerDone
	if answers < 1000 || wrong != 0 {
		t.Errorf("%d of %d answers differ from the file's", wrong, answers)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(content, "ACTIVE", "INACTIVE", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if out := ask(t, e, engine.Request{UserID: "steady"}); out.Data != nil && out.Data.ProfileStatus == idvmock.ProfileInactive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a real change was not applied within 5 s: %+v", w.Status())
		}
	}
}

// Lint reports every problem of a file in one run where it can: an unknown key does not hide
// the problems of other declarations, the problem its typo explains is not reported twice,
// and a key that is not there reads as missing.
func TestLintReportsEveryProblemAndMissingKeys(t *testing.T) {
	_, err := Parse("qa.yaml", strings.NewReader(`users:
  alice:
    profilStatus: ACTIVE
    sessions: [{overallResult: PASS}]
  bob:
    sessions: [{overallResult: PASS, errorCode: DOC_EXPIRED}]
  carol:
    profileStatus: INIT
rules:
  - name: flaky
    match: {userIdGlob: "x-*"}
    faults: [{probability: 0.5}]
`))
	var problems scenarios.Problems
	if !errors.As(err, &problems) {
		t.Fatalf("accepted: %v", err)
	}
	got := map[string]string{}
	for _, p := range problems {
		got[p.Path] = p.What
	}
	want := map[string]string{
		"users.alice.profilStatus":        `unknown key "profilStatus"`,
		"users.bob.profileStatus":         "is missing",
		"users.bob.sessions[0].errorCode": `is "DOC_EXPIRED" on a PASS`,
		"users.carol.sessions":            "is missing",
		"rules[0].faults[0].type":         "is missing",
	}
	for path, what := range want {
		if got[path] != what {
			t.Errorf("%s: %q, want %q", path, got[path], what)
		}
	}
	if _, dup := got["users.alice.profileStatus"]; dup || len(problems) != len(want) {
		t.Errorf("%d problems, want %d (the typo's consequence left out):\n%v", len(problems), len(want), err)
	}
}
