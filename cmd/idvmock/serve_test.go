package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serve checks every flag before it reads the scenario files, creates the local CA, listens
// or starts the scenario watcher: a mistake on the command line is reported alone, and
// nothing has started. Each case gives, beside its mistake, flags that make every later step
// fail or show on its own: scenario files that do not exist (the engine, and the watcher that
// reloads it, are built from them), an --addr already taken, a --ca-dir that serve --tls-addr
// would create, and a log that gets a line once serve has begun. A check moved after any of
// these steps reports that step's error, or leaves a trace, instead of its own.
func TestServeChecksEveryFlagBeforeStartingAnything(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	missing := filepath.Join(dir, "missing.yaml")
	scenarios := []string{"--scenarios", missing, "--watch"}
	listen := []string{"--addr", taken.Addr().String(), "--tls-addr", "127.0.0.1:0", "--ca-dir", caDir}
	both := append(append([]string{}, scenarios...), listen...)
	for _, tc := range []struct {
		args []string
		want string // the message, or its beginning
	}{
		{append([]string{"--auth", "lax"}, both...), `invalid value "lax" for flag -auth: "lax" is not one of present, strict`},
		{append([]string{"--max-started-bytes", "lots"}, both...), `invalid value "lots" for flag -max-started-bytes: "lots" is not a size: write bytes, or a number with KiB, MiB or GiB (32MiB)`},
		{append([]string{"--addr", ""}, scenarios...), "--addr is empty and there is no --tls-addr: nothing to serve on"},
		{append([]string{"--tls-cert", filepath.Join(dir, "cert.pem")}, both...), "give --tls-cert and --tls-key together"},
		{append([]string{"--watch"}, listen...), "--watch needs --scenarios: there is nothing to watch"},
		{append([]string{"--callback-allow", "10.0.0.0/99"}, both...), "--callback-allow: "},
		{append([]string{"--admin-token", "a", "--admin-token-file", "b"}, both...), "give --admin-token or --admin-token-file, not both"},
		{append([]string{"--access-key", ""}, both...), "the access key and the secret key must not be empty"},
		{append([]string{"--secret-key", ""}, both...), "the access key and the secret key must not be empty"},
		{append([]string{"--webhook-algorithm", "md5"}, both...), `invalid value "md5" for flag -webhook-algorithm: unknown algorithm "md5": use sha256 (HMAC-SHA256) or sha512`},
		{append([]string{"--webhook-url", "ftp://app.example/hook", "--webhook-secret", "c2VjcmV0"}, both...), `--webhook-url: "ftp://app.example/hook" is not an http(s) URL`},
		{append([]string{"--webhook-url", "app.example/hook", "--webhook-secret", "c2VjcmV0"}, both...), `--webhook-url: "app.example/hook" is not an http(s) URL`},
		{append([]string{"--webhook-url", "https://app.example/hook", "--webhook-secret", "not*base64"}, both...), `--webhook-secret: the secret is not Base64: the character at offset 3 cannot be decoded`},
		{append([]string{"--webhook-url", "https://app.example/hook"}, both...), "--webhook-url needs the secret the vendor's console shows (Base64)"},
		{append([]string{"--webhook-secret", "c2VjcmV0"}, both...), "a webhook secret is given but --webhook-url is not"},
		{append([]string{"--webhook-url", "https://app.example/hook", "--webhook-secret", "c2VjcmV0", "--webhook-secret-file", "f"}, both...), "give --webhook-secret or --webhook-secret-file, not both"},
		{append([]string{"--webhook-url", "https://app.example/hook", "--webhook-secret-file", filepath.Join(dir, "nope")}, both...), "--webhook-secret-file: open "},
		{append([]string{"--webhook-url", "https://app.example/hook", "--webhook-secret", "c2VjcmV0", "--webhook-format", "{timestamp}{nonce}{payload}"}, both...), `--webhook-format: the format "{timestamp}{nonce}{payload}" has an unknown placeholder {payload}`},
		{append([]string{"--webhook-url", "https://app.example/hook", "--webhook-secret", "c2VjcmV0", "--webhook-retry-scale", "0"}, both...), "--webhook-retry-scale 0: use a number from 0.001 to 1"},
		{append([]string{"--store", "mysql://db.example:3306"}, both...), `--store "mysql://db.example:3306": use memory, or redis://[user:pass@]host:port/db (rediss:// for TLS)`},
		{append([]string{"--store", "redis://:not*base64@"}, both...), `--store "redis://:xxxxx@": use memory`},
	} {
		err, log, listened := serveOutcome(t, tc.args...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("serve %q: %v; want %s", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "not*base64") {
			t.Errorf("serve %q: the refusal shows the secret: %v", tc.args, err)
		}
		if log != "" || listened {
			t.Errorf("serve %q: started before refusing its flags (listened: %v), log:\n%s", tc.args, listened, log)
		}
		if _, err := os.Stat(caDir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("serve %q: created the CA folder before refusing its flags (%v)", tc.args, err)
		}
	}
}

// serveOutcome runs serve with args and returns its error, its log, and whether it listened
// (it is then stopped).
func serveOutcome(t *testing.T, args ...string) (err error, log string, listened bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderr lockedBuffer
	stop := func(net.Addr) { listened = true; cancel() }
	cmd := &serveCmd{stdout: &bytes.Buffer{}, stderr: &stderr, onListen: stop, onListenTLS: stop}
	err = cmd.Run(ctx, args)
	return err, stderr.String(), listened
}
