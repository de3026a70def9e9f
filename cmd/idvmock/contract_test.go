package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The suite against a mock in a separate process, on every region, writes a JUnit report
// with every case per region and exits 0.
func TestContractAgainstAMockProcess(t *testing.T) {
	p := startProcess(t)
	out := filepath.Join(t.TempDir(), "report.xml")
	code, stdout, stderr := runCLI(t, "contract", "--target", "http://"+p.addr, "--region", "all", "--report", "junit", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "SKIP") || strings.HasPrefix(line, "ERROR") {
			t.Errorf("against an idvmock every case runs: %s\n%s", line, stdout)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var junit struct {
		Tests  int `xml:"tests,attr"`
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &junit); err != nil {
		t.Fatalf("report.xml: %v", err)
	}
	if len(junit.Suites) != 6 {
		t.Fatalf("%d suites, want one per region", len(junit.Suites))
	}
	for _, s := range junit.Suites {
		if len(s.Cases) < 30 {
			t.Errorf("%s: %d cases", s.Name, len(s.Cases))
		}
	}
	if !strings.Contains(stdout, "junit report written to "+out) || strings.Contains(stderr, "\r") {
		t.Errorf("stdout %q, stderr %q (no progress line when stderr is not a terminal)", stdout, stderr)
	}
}

// Against a mock serving a deliberately broken scenario the suite exits 1 naming the rules;
// a target that does not answer, or bad flags, exit 2.
func TestContractExitCodes(t *testing.T) {
	addr, stop := startServe(t, "--scenarios", filepath.Join("..", "..", "contract", "testdata", "scenarios", "broken.yaml"))
	defer stop()
	code, stdout, _ := runCLI(t, "contract", "--target", "http://"+addr, "--region", "api,sg")
	if code != 1 || !strings.Contains(stdout, "[case-expectation]") || !strings.Contains(stdout, "[json-body]") {
		t.Errorf("broken mock: exit %d\n%s", code, stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"contract"}, "--target is required"},
		{[]string{"contract", "--target", "http://" + addr, "--region", "eu"}, `region "eu"`},
		{[]string{"contract", "--target", "http://" + addr, "--report", "html"}, `"html" is not one of text, json, junit`},
		{[]string{"contract", "--target", "https://api.advance.ai"}, "against the vendor, give --token"},
		{[]string{"contract", "--target", "http://" + addr, "--users", "nowhere.yaml"}, "--users"},
		{[]string{"contract", "--target", "http://127.0.0.1:1", "--region", "sg"}, "connection refused"},
		{[]string{"validate", "nowhere.json"}, "nowhere.json"},
		{[]string{"validate"}, "give at least one file"},
	} {
		code, stdout, stderr := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stdout+stderr, tc.want) {
			t.Errorf("idvmock %v: exit %d, want 2 with %q\n%s%s", tc.args, code, tc.want, stdout, stderr)
		}
	}
}

func TestValidate(t *testing.T) {
	vendor, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "vendor", "*.json"))
	code, stdout, _ := runCLI(t, append([]string{"validate"}, vendor...)...)
	if code != 0 || !strings.Contains(stdout, "4 exchanges checked: 4 passed") {
		t.Errorf("the vendor's examples: exit %d\n%s", code, stdout)
	}
	bad := filepath.Join("..", "..", "contract", "testdata", "bad", "pass-with-failure-code.json")
	code, stdout, _ = runCLI(t, "validate", bad)
	if code != 1 || !strings.Contains(stdout, "[pass-error-code-success] body /data/result/errorCode") {
		t.Errorf("a bad exchange: exit %d\n%s", code, stdout)
	}
	har := filepath.Join("testdata", "session.har")
	code, stdout, _ = runCLI(t, "validate", har)
	if code != 1 || !strings.Contains(stdout, "1 passed, 1 failed; 1 skipped") || !strings.Contains(stdout, "[content-type]") {
		t.Errorf("a HAR file: exit %d\n%s", code, stdout)
	}
	cmd := &validateCmd{stdout: new(strings.Builder), stdin: strings.NewReader(`{"code":"ERROR","message":"Server error","data":null,"transactionId":"1deae5a13ef2bd5e"}`)}
	if err := cmd.Run(t.Context(), []string{"-"}); err != nil {
		t.Errorf("a body on stdin: %v", err)
	}
}

// A transactionId must be unique within one recording: two files that each hold it once
// pass, one file that holds it twice fails.
func TestValidateTransactionIDsAreUniquePerFile(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("..", "..", "contract", "testdata", "bad", "transaction-id-repeated.json"))
	if err != nil {
		t.Fatal(err)
	}
	var twice struct {
		Exchanges []json.RawMessage `json:"exchanges"`
	}
	if err := json.Unmarshal(fixture, &twice); err != nil || len(twice.Exchanges) != 2 {
		t.Fatalf("the fixture: %v", err)
	}
	dir := t.TempDir()
	write := func(name string, exchanges ...json.RawMessage) string {
		data, _ := json.Marshal(map[string]any{"exchanges": exchanges})
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := write("a.json", twice.Exchanges[0])
	b := write("b.json", twice.Exchanges[0])
	if code, stdout, _ := runCLI(t, "validate", a, b); code != 0 || !strings.Contains(stdout, "2 exchanges checked: 2 passed") {
		t.Errorf("two files sharing a transactionId: exit %d\n%s", code, stdout)
	}
	both := write("both.json", twice.Exchanges[0], twice.Exchanges[0])
	code, stdout, _ := runCLI(t, "validate", a, both)
	if code != 1 || !strings.Contains(stdout, "3 exchanges checked: 2 passed, 1 failed") ||
		!strings.Contains(stdout, "FAIL "+both+": exchange 1:") || strings.Count(stdout, "[transaction-id-unique]") != 1 {
		t.Errorf("one file holding a transactionId twice: exit %d\n%s", code, stdout)
	}
}

// A target nothing answers at is one line on stderr, exit 2, instead of one error per case.
func TestContractUnreachableTargetIsOneLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, args := range [][]string{
		{"contract", "--target", "http://" + addr},
		{"contract", "--target", "http://" + addr, "--token", "t", "--region", "sg"},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 ||
			!strings.Contains(stderr, "cannot connect to http://"+addr) || !strings.Contains(stderr, "connection refused") ||
			!strings.Contains(stderr, "idvmock serve") {
			t.Errorf("idvmock %v: exit %d, stdout %q, stderr %q; want exit 2 and one line saying what to do", args, code, stdout, stderr)
		}
	}
}

// idvmock proxy forwards to a mock, and what it records lints and replays.
func TestProxyCommandRecordsReplayableFiles(t *testing.T) {
	upstream, stopUpstream := startServe(t)
	defer stopUpstream()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	cmd := &proxyCmd{stdout: io.Discard, stderr: io.Discard, onListen: func(a net.Addr) { ready <- a.String() }}
	go func() {
		done <- cmd.Run(ctx, []string{"--addr", "127.0.0.1:0", "--upstream", "http://" + upstream, "--record", dir})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("proxy stopped: %v", err)
	}
	var through map[string]any
	getJSONHeaders(t, "http://"+addr+"/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result?userId=user_failed", "", &through, map[string]string{"X-ACCESS-TOKEN": "t"})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("proxy: %v", err)
	}
	if through["code"] != "SUCCESS" {
		t.Fatalf("through the proxy: %v", through)
	}
	if code, out, errOut := runCLI(t, "scenarios", "lint", dir); code != 0 {
		t.Errorf("the recording does not lint: %s%s", out, errOut)
	}
	replay, stop := startServe(t, "--scenarios", dir)
	defer stop()
	var again map[string]any
	getJSONHeaders(t, "http://"+replay+"/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result?userId=user_failed", "", &again, map[string]string{"X-ACCESS-TOKEN": "t"})
	result := func(env map[string]any) map[string]any {
		return env["data"].(map[string]any)["result"].(map[string]any)
	}
	if result(again)["signatureId"] != result(through)["signatureId"] || result(again)["errorCode"] != "LIVENESS_ATTACK" {
		t.Errorf("replayed %v, recorded %v", result(again), result(through))
	}
	if doc := result(again)["docDetail"].(map[string]any); !strings.HasPrefix(doc["fullName"].(string), "masked-") {
		t.Errorf("personal data is not masked: %v", doc)
	}
	if code, _, errOut := runCLI(t, "proxy"); code != 2 || !strings.Contains(errOut, "--upstream is required") {
		t.Errorf("no upstream: exit %d %s", code, errOut)
	}
}

// A wrong --upstream is refused before --record creates its folder.
func TestProxyRefusesABadUpstreamBeforeRecording(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "recordings")
	code, _, errOut := runCLI(t, "proxy", "--upstream", "sg-api.advance.ai", "--record", dir)
	if code != 2 || !strings.Contains(errOut, "--upstream") {
		t.Errorf("exit %d, stderr %q; want 2 naming --upstream", code, errOut)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused command left %s behind (%v)", dir, err)
	}
}

// --allow-writes sets Options.AllowWrites; without it, writes are left to the detection of
// an idvmock.
func TestContractAllowWritesFlag(t *testing.T) {
	c := &contractCmd{stdout: io.Discard, stderr: io.Discard}
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--target", "https://api.advance.ai", "--token", "t"}, false},
		{[]string{"--target", "https://api.advance.ai", "--token", "t", "--allow-writes"}, true},
		{[]string{"--allow-writes=false", "--target", "http://localhost:8080"}, false},
		{[]string{"--allow-writes=true", "--target", "http://localhost:8080"}, true},
	} {
		opts, _, _, err := c.options(tc.args)
		if err != nil || opts.AllowWrites != tc.want {
			t.Errorf("%v: AllowWrites %v (%v), want %v", tc.args, opts.AllowWrites, err, tc.want)
		}
	}
	if _, _, _, err := c.options([]string{"--target", "http://localhost:8080", "--allow-writes=maybe"}); err == nil {
		t.Error("--allow-writes=maybe was accepted")
	}
}
