package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestScenariosLint(t *testing.T) {
	if code, out, _ := runCLI(t, "scenarios", "lint", filepath.Join("..", "..", "examples", "scenarios")); code != 0 || !strings.HasPrefix(out, "ok:") {
		t.Errorf("the examples: exit %d %q", code, out)
	}
	broken := filepath.Join("..", "..", "scenarios", "files", "testdata", "invalid")
	code, out, errOut := runCLI(t, "scenarios", "lint", filepath.Join(broken, "rule-bad-regex.yaml"), filepath.Join(broken, "pass-with-failure-code.yaml"))
	if code != 1 || !strings.Contains(errOut, "2 problems") {
		t.Errorf("two broken files: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"rule-bad-regex.yaml:4:26: rules[0].match.userIdRegex: \"qa-([\" is not a regular expression",
		"pass-with-failure-code.yaml:7:20: users.alice.sessions[0].errorCode: is \"LIVENESS_ATTACK\" on a PASS (PASS goes with errorCode SUCCESS",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lint output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runCLI(t, "scenarios", "lint", "no/such/file.yaml"); code != 1 || !strings.Contains(errOut, "no/such/file.yaml") {
		t.Errorf("a missing file: exit %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "scenarios", "lint"); code != 2 {
		t.Errorf("lint without a path: exit %d, want 2", code)
	}
	code, out, _ = runCLI(t, "scenarios", "list", filepath.Join("..", "..", "examples", "scenarios", "progression.yaml"))
	if code != 0 || !strings.Contains(out, "user_progress") || !strings.Contains(out, "in-progress > submitted > passed") {
		t.Errorf("list: exit %d\n%s", code, out)
	}
}

// lint and list print their help on --help and exit 0; they take no flags.
func TestScenariosSubcommandHelp(t *testing.T) {
	for _, args := range [][]string{
		{"scenarios", "lint", "--help"},
		{"scenarios", "lint", "-h"},
		{"scenarios", "lint", "qa/scenarios", "--help"},
		{"scenarios", "list", "--help"},
	} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "idvmock scenarios lint PATH...") || errOut != "" {
			t.Errorf("idvmock %v: exit %d, stdout %q, stderr %q; want the help and exit 0", args, code, out, errOut)
		}
	}
	code, _, errOut := runCLI(t, "scenarios", "lint", "--strict", "qa/scenarios")
	if code != 2 || !strings.Contains(errOut, "scenarios lint takes no flag --strict") {
		t.Errorf("an unknown flag: exit %d, stderr %q; want 2 naming the flag", code, errOut)
	}
	code, _, errOut = runCLI(t, "scenarios", "lint", "--", "-no-such.yaml")
	if code != 1 || !strings.Contains(errOut, "-no-such.yaml") {
		t.Errorf("a path after --: exit %d, stderr %q; want it read as a path", code, errOut)
	}
}

// serve refuses to start on a broken scenario file and names the problem.
func TestServeRefusesABrokenFile(t *testing.T) {
	broken := filepath.Join("..", "..", "scenarios", "files", "testdata", "invalid", "states-unreachable.yaml")
	code, _, errOut := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--scenarios", broken)
	if code != 1 || !strings.Contains(errOut, "states-unreachable.yaml:5:9: users.bob.states[0]: has no after") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "serve", "--watch"); code != 2 || !strings.Contains(errOut, "--watch needs --scenarios") {
		t.Errorf("--watch alone: exit %d %q", code, errOut)
	}
}

// With --watch a valid change is applied, a broken one is refused while the previous set
// keeps answering and the admin API shows why, and a fix is applied again.
func TestServeWatchReloads(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "qa.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("users:\n  watched: {scenario: init}\n")
	addr, stop := startServe(t, "--scenarios", dir, "--watch", "--watch-interval", "20ms")
	defer stop()
	status := func() string {
		return latest(t, addr, "userId=watched", "", nil).Data.ProfileStatus
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("not so after 5 s: %s", what)
	}
	if s := status(); s != "INIT" {
		t.Fatalf("before: %s", s)
	}
	write("users:\n  watched: {scenario: active}\n")
	eventually("the valid change is applied", func() bool { return status() == "ACTIVE" })

	write("users:\n  watched: {scenario: activ}\n")
	eventually("the broken change is reported", func() bool {
		return strings.Contains(string(getJSON(t, "http://"+addr+"/__admin/scenarios", "", nil)), `names scenario \"activ\"`)
	})
	if s := status(); s != "ACTIVE" {
		t.Errorf("the previous set stopped answering: %s", s)
	}
	write("users:\n  watched: {scenario: inactive}\n")
	eventually("the fix is applied", func() bool { return status() == "INACTIVE" })
	if strings.Contains(string(getJSON(t, "http://"+addr+"/__admin/scenarios", "", nil)), `"error"`) {
		t.Error("the admin API still shows the old error")
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	metrics, err := parser.TextToMetricFamilies(bytes.NewReader(getJSON(t, "http://"+addr+"/__admin/metrics", "", nil)))
	if err != nil {
		t.Fatal(err)
	}
	reloads := map[string]float64{}
	for _, m := range metrics["idvmock_reloads_total"].GetMetric() {
		reloads[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	if reloads["applied"] != 2 || reloads["refused"] != 1 {
		t.Errorf("idvmock_reloads_total %v, want 2 applied and 1 refused", reloads)
	}
}

// A scenario folder that also holds contract files (users, cases, exchanges) lints and
// serves: those files are skipped with a note. Named on their own, they are refused with the
// fix.
func TestScenarioFolderWithContractFiles(t *testing.T) {
	dir := t.TempDir()
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(filepath.Join("..", "..", "contract", "users.yaml"), "contract-users.yaml")
	copyFile(filepath.Join("..", "..", "contract", "cases.yaml"), "cases.yaml")
	copyFile(filepath.Join("..", "..", "contract", "testdata", "bad", "code-documented-unknown.json"), "exchange.json")
	if err := os.WriteFile(filepath.Join(dir, "team.yaml"), []byte("users:\n  carol: {scenario: failed}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "scenarios", "lint", dir)
	if code != 0 || !strings.Contains(out, "skipped: "+filepath.Join(dir, "contract-users.yaml")+" is a contract users file") ||
		!strings.Contains(out, "cases.yaml is a contract cases file") || !strings.Contains(out, "exchange.json is an exchange file") {
		t.Errorf("lint: exit %d\n%s%s", code, out, errOut)
	}
	addr, stop := startServe(t, "--scenarios", dir)
	defer stop()
	if got := latest(t, addr, "userId=carol", "", nil); got.Code != "SUCCESS" {
		t.Errorf("carol: %+v", got)
	}
	code, out, _ = runCLI(t, "scenarios", "lint", filepath.Join(dir, "contract-users.yaml"))
	if code != 1 || !strings.Contains(out, "is a contract users file (idvmock contract --users), not a scenario file") || !strings.Contains(out, "folder of their own") {
		t.Errorf("the users file named alone: exit %d\n%s", code, out)
	}
}
