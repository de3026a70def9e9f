package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// startServeLogged runs serve with a JSON log and returns the address to dial (loopback, on
// the port it listens on, whatever interface it listens on), the log, and a stop function.
func startServeLogged(t *testing.T, args ...string) (string, *lockedBuffer, func()) {
	t.Helper()
	log := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	cmd := &serveCmd{stdout: io.Discard, stderr: log, onListen: func(a net.Addr) { ready <- a.String() }}
	// A free port unless args name one: a server started right after another on a fixed port
	// would get requests on the keep-alive connections the client kept to the one before.
	go func() {
		done <- cmd.Run(ctx, append([]string{"--log-format", "json", "--addr", "127.0.0.1:0"}, args...))
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, log)
	}
	_, port, _ := net.SplitHostPort(addr)
	return "127.0.0.1:" + port, log, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

// adminStatus is the HTTP status of GET /__admin/users with the bearer token (none: "").
func adminStatus(t *testing.T, addr, path, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// logged returns the value of key in the first JSON log line whose msg starts with prefix.
func logged(t *testing.T, log, prefix, key string) (any, bool) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasPrefix(line["msg"].(string), prefix) {
			v, ok := line[key]
			return v, ok
		}
	}
	return nil, false
}

// The admin API is open when serve listens on loopback only, and needs a token beyond it:
// one idvmock generates and logs once, or one given in a file; --admin-token off opens it
// with a warning. Health never needs one. (It was open to the network by default.)
func TestAdminTokenFollowsTheListenAddress(t *testing.T) {
	fs, _ := (&serveCmd{stdout: io.Discard}).flags()
	if def := fs.Lookup("addr").DefValue; def != "127.0.0.1:8080" {
		t.Errorf("serve listens on %s by default; want loopback", def)
	}

	t.Run("loopback", func(t *testing.T) {
		addr, log, stop := startServeLogged(t, "--addr", "127.0.0.1:0")
		defer stop()
		if got := adminStatus(t, addr, "/__admin/users", ""); got != http.StatusOK {
			t.Errorf("admin API on loopback without a token: %d", got)
		}
		if strings.Contains(log.String(), "needs a token") {
			t.Error("a token was generated for a loopback mock")
		}
	})

	t.Run("every interface", func(t *testing.T) {
		addr, log, stop := startServeLogged(t, "--addr", ":0")
		defer stop()
		token, ok := logged(t, log.String(), "the admin API needs a token", "adminToken")
		if !ok || len(token.(string)) != 32 {
			t.Fatalf("no generated token in the log:\n%s", log)
		}
		for _, tc := range []struct {
			path, token string
			want        int
		}{
			{"/__admin/users", "", http.StatusUnauthorized},
			{"/__admin/users", "wrong", http.StatusUnauthorized},
			{"/__admin/requests", "", http.StatusUnauthorized},
			{"/__admin/users", token.(string), http.StatusOK},
			{"/__admin/health", "", http.StatusOK},
		} {
			if got := adminStatus(t, addr, tc.path, tc.token); got != tc.want {
				t.Errorf("%s with token %q: %d, want %d", tc.path, tc.token, got, tc.want)
			}
		}
		if n := strings.Count(log.String(), token.(string)); n != 1 {
			t.Errorf("the token appears %d times in the log; want once", n)
		}
	})

	t.Run("off", func(t *testing.T) {
		addr, log, stop := startServeLogged(t, "--addr", ":0", "--admin-token", "off")
		defer stop()
		if got := adminStatus(t, addr, "/__admin/users", ""); got != http.StatusOK {
			t.Errorf("--admin-token off: %d", got)
		}
		if _, ok := logged(t, log.String(), "the admin API is open to anyone", "fix"); !ok {
			t.Errorf("no warning for an open admin API:\n%s", log)
		}
	})

	t.Run("file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(file, []byte("from-a-file-0123456789\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		addr, log, stop := startServeLogged(t, "--addr", ":0", "--admin-token-file", file)
		defer stop()
		if adminStatus(t, addr, "/__admin/users", "from-a-file-0123456789") != http.StatusOK || adminStatus(t, addr, "/__admin/users", "") != http.StatusUnauthorized {
			t.Error("the file's token is not the one required")
		}
		if strings.Contains(log.String(), "from-a-file") {
			t.Errorf("the token from the file reached the log:\n%s", log)
		}
	})

	for _, args := range [][]string{
		{"--admin-token", "a", "--admin-token-file", "b"},
		{"--admin-token-file", filepath.Join(t.TempDir(), "missing")},
	} {
		if code, _, errOut := runCLI(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...); code == 0 || !strings.Contains(errOut, "admin-token") {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
	}
}
