package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test start this binary as idvmock itself: with IDVMOCK_TEST_RUN_MAIN=1 the
// test binary runs main with the arguments after "--".
func TestMain(m *testing.M) {
	if os.Getenv("IDVMOCK_TEST_RUN_MAIN") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"idvmock"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		return
	}
	os.Exit(m.Run())
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitCodesAndHelp(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		code    int
		inOut   string
		inError string
	}{
		{[]string{"--help"}, 0, "Examples:", ""},
		{[]string{}, 2, "Commands:", ""},
		{[]string{"serve", "--help"}, 0, "IDVMOCK_<FLAG>", ""},
		{[]string{"health", "-h"}, 0, "--url", ""},
		{[]string{"version"}, 0, "idvmock ", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"serve", "--port", "1"}, 2, "", "flag provided but not defined: -port"},
		{[]string{"serve", "--auth", "lax"}, 2, "", `invalid value "lax" for flag -auth: "lax" is not one of present, strict`},
		{[]string{"serve", "--log-format", "xml"}, 2, "", `"xml" is not one of text, json`},
		{[]string{"serve", "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"serve", "--addr", "256.0.0.1:99999"}, 1, "", "cannot listen on 256.0.0.1:99999"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.inOut) || !strings.Contains(errOut, tc.inError) {
			t.Errorf("idvmock %v: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				tc.args, code, out, errOut, tc.code, tc.inOut, tc.inError)
		}
	}
}

// Every flag reads IDVMOCK_<FLAG>; a flag on the command line wins.
func TestEnvironmentOverridesAndFlagsWin(t *testing.T) {
	t.Setenv("IDVMOCK_AUTH", "lax")
	if code, _, errOut := runCLI(t, "serve"); code != 2 || !strings.Contains(errOut, "IDVMOCK_AUTH") {
		t.Errorf("a bad IDVMOCK_AUTH: exit %d, stderr %q; want 2 naming the variable", code, errOut)
	}
	t.Setenv("IDVMOCK_AUTH", "strict")
	t.Setenv("IDVMOCK_LOG_FORMAT", "json")
	addr, stop := startServe(t, "--auth", "present")
	defer stop()
	var health struct{ Auth string }
	getJSON(t, "http://"+addr+"/__admin/health", "", &health)
	if health.Auth != "present" {
		t.Errorf("auth = %s: the --auth flag must win over IDVMOCK_AUTH", health.Auth)
	}
}

// startServe runs `idvmock serve` in this process on a free port.
func startServe(t *testing.T, args ...string) (addr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	cmd := &serveCmd{stdout: io.Discard, stderr: io.Discard, onListen: func(a net.Addr) { ready <- a.String() }}
	go func() { done <- cmd.Run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...)) }()
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}
	return addr, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

func getJSON(t *testing.T, url, host string, v any) []byte {
	t.Helper()
	return getJSONHeaders(t, url, host, v, nil)
}

func getJSONHeaders(t *testing.T, url, host string, v any, headers map[string]string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-ACCESS-TOKEN", "t")
	for k, val := range headers {
		req.Header.Set(k, val)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s: %v: %s", url, err, body)
		}
	}
	return body
}

func TestHealthProbesARunningMock(t *testing.T) {
	addr, stop := startServe(t)
	if code, out, errOut := runCLI(t, "health", "--addr", addr); code != 0 || !strings.HasPrefix(out, "ok http://"+addr) {
		t.Errorf("health of a running mock: exit %d %q %q", code, out, errOut)
	}
	_, port, _ := net.SplitHostPort(addr)
	if code, _, _ := runCLI(t, "health", "--addr", ":"+port); code != 0 {
		t.Errorf("health --addr :%s (as serve takes it): exit %d", port, code)
	}
	stop()
	if code, _, errOut := runCLI(t, "health", "--addr", addr, "--timeout", "1s"); code != 1 || !strings.Contains(errOut, "no answer from") {
		t.Errorf("health of a stopped mock: exit %d %q, want 1", code, errOut)
	}
}

const latestPath = "/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result"

var transactionID = regexp.MustCompile(`"transactionId":"[0-9a-f]{16}"`)

// Two separate processes give the same bodies, apart from transactionId, for every demo user
// on every host: the fake data depends on the seed and the userId only, not on process state
// such as gofakeit's global source or map order. Another seed gives other data.
func TestTwoProcessesGiveTheSameBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	a := startProcess(t)
	b := startProcess(t)
	c := startProcess(t, "--seed", "99")
	hosts := []string{"api.advance.ai", "sg-api.advance.ai", "ph-api.advance.ai", "th-api.advance.ai", "my-api.advance.ai", "vn-api.advance.ai"}
	users := []string{"user_002", "user_init", "user_active", "user_failed", "user_incomplete", "user_reverify", "user_inactive", "user_multi", "user_error", "anyone"}
	same := 0
	for _, host := range hosts {
		for _, user := range users {
			path := latestPath + "?userId=" + user
			rawA := getJSON(t, "http://"+a.addr+path, host, nil)
			if !transactionID.Match(rawA) {
				t.Fatalf("no transactionId in %s", rawA)
			}
			bodyA := transactionID.ReplaceAll(rawA, nil)
			bodyB := transactionID.ReplaceAll(getJSON(t, "http://"+b.addr+path, host, nil), nil)
			if !bytes.Equal(bodyA, bodyB) {
				t.Errorf("%s on %s differs between processes:\n%s\n%s", user, host, bodyA, bodyB)
			}
			if bodyC := transactionID.ReplaceAll(getJSON(t, "http://"+c.addr+path, host, nil), nil); bytes.Equal(bodyA, bodyC) {
				same++
			}
		}
	}
	// Only user_002 (the vendor's literal example), user_error and the unknown user carry no
	// generated value.
	if same != 3*len(hosts) {
		t.Errorf("seed 99 left %d answers unchanged, want %d", same, 3*len(hosts))
	}
}

// SIGTERM stops the process cleanly: exit 0 after the shutdown is logged.
func TestSIGTERMShutsDownGracefully(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	p := startProcess(t)
	getJSON(t, "http://"+p.addr+latestPath+"?userId=user_active", "", nil)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.log.String())
	}
	if !strings.Contains(p.log.String(), "idvmock shutting down") {
		t.Errorf("no shutdown line in the log:\n%s", p.log.String())
	}
}

type process struct {
	cmd  *exec.Cmd
	addr string
	log  *bytes.Buffer
	done chan error
}

func (p *process) wait() error {
	select {
	case err := <-p.done:
		return err
	case <-time.After(15 * time.Second):
		return fmt.Errorf("still running 15 s after the signal")
	}
}

// startProcess starts this test binary as `idvmock serve` and waits for its address.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--", "serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "IDVMOCK_TEST_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, log: &bytes.Buffer{}, done: make(chan error, 1)}
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		p.log.WriteString(lines.Text() + "\n")
		var entry struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &entry) == nil && entry.Msg == "idvmock serving" {
			p.addr = entry.Addr
			break
		}
	}
	if p.addr == "" {
		_ = cmd.Process.Kill()
		t.Fatalf("the process did not start serving:\n%s", p.log.String())
	}
	go func() {
		for lines.Scan() {
			p.log.WriteString(lines.Text() + "\n")
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return p
}

func sleepMillis(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }

// SIGTERM under load: the requests in flight finish with their answers, new connections are
// refused, and the process exits 0.
func TestSIGTERMUnderLoadLetsRequestsFinish(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	p := startProcess(t, "--scenarios", filepath.Join("testdata", "slow.yaml"))
	const clients = 40
	type result struct {
		status int
		code   string
		err    error
	}
	results := make(chan result, clients)
	for range clients {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s%s?userId=user_active&solutionCode=101", p.addr, latestPath), nil)
			req.Header.Set("X-ACCESS-TOKEN", "t")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer resp.Body.Close()
			var env struct{ Code string }
			err = json.NewDecoder(resp.Body).Decode(&env)
			results <- result{status: resp.StatusCode, code: env.Code, err: err}
		}()
	}
	time.Sleep(150 * time.Millisecond) // every request is now waiting out its latency
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range clients {
		r := <-results
		if r.err != nil || r.status != http.StatusOK || r.code != "SUCCESS" {
			t.Errorf("a request in flight at SIGTERM: HTTP %d %s, %v", r.status, r.code, r.err)
		}
	}
	if err := p.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.log.String())
	}
	if _, err := http.Get("http://" + p.addr + "/__admin/health"); err == nil {
		t.Error("the mock still answers after it exited")
	}
}
