package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTLSServe runs `idvmock serve` with HTTPS on a free port and returns its address.
func startTLSServe(t *testing.T, args ...string) (tlsAddr string, stop func()) {
	t.Helper()
	return startTLSServeLog(t, io.Discard, args...)
}

// startTLSServeLog is startTLSServe with serve's log written to stderr.
func startTLSServeLog(t *testing.T, stderr io.Writer, args ...string) (tlsAddr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	cmd := &serveCmd{stdout: io.Discard, stderr: stderr, onListenTLS: func(a net.Addr) { ready <- a.String() }}
	go func() { done <- cmd.Run(ctx, append([]string{"--addr", "", "--tls-addr", "127.0.0.1:0"}, args...)) }()
	select {
	case tlsAddr = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return tlsAddr, stop
}

// clientTo returns a client that reaches every host at addr and trusts only caPEM.
func clientTo(t *testing.T, addr string, caPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("the CA file holds no certificate")
	}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
}

// HTTPS to https://sg-api.advance.ai, routed to the mock, verifies against the generated CA
// and answers user_active; a hostname the certificate does not cover fails verification.
func TestHTTPSOnTheVendorHostnames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	addr, stop := startTLSServe(t, "--ca-dir", dir)
	for file, mode := range map[string]os.FileMode{".": 0o700, "ca-key.pem": 0o600, "ca.pem": 0o644} {
		if fi, err := os.Stat(filepath.Join(dir, file)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %v", file, err, fi.Mode().Perm(), mode)
		}
	}
	code, caPEM, _ := runCLI(t, "ca", "print", "--ca-dir", dir)
	if code != 0 || !strings.HasPrefix(caPEM, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("ca print: exit %d %q", code, caPEM)
	}
	client := clientTo(t, addr, []byte(caPEM))
	req, _ := http.NewRequest(http.MethodGet, "https://sg-api.advance.ai"+latestPath+"?userId=user_active", nil)
	req.Header.Set("X-ACCESS-TOKEN", "t")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS to sg-api.advance.ai: %v", err)
	}
	defer resp.Body.Close()
	var env struct {
		Code string
		Data struct {
			ProfileStatus string
			Result        struct{ CountryCodeIso3 string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Code != "SUCCESS" || env.Data.ProfileStatus != "ACTIVE" || env.Data.Result.CountryCodeIso3 != "SGP" {
		t.Errorf("user_active over HTTPS: %+v, %v", env, err)
	}
	for _, host := range []string{"api.advance.ai", "vn-api.advance.ai", "localhost", "127.0.0.1"} {
		resp, err := client.Get("https://" + host + "/__admin/health")
		if err != nil {
			t.Errorf("%s: %v", host, err)
			continue
		}
		resp.Body.Close()
	}
	_, err = client.Get("https://api.example.com/__admin/health")
	var unknownName x509.HostnameError
	if err == nil || !strings.Contains(err.Error(), "certificate") || !errors.As(err, &unknownName) {
		t.Errorf("a hostname the certificate does not cover: %v, want a certificate error", err)
	}

	// The CA is kept: a second start uses the same one.
	stop()
	addr, _ = startTLSServe(t, "--ca-dir", dir)
	if _, again, _ := runCLI(t, "ca", "print", "--ca-dir", dir); again != caPEM {
		t.Error("a second start made another CA")
	}
	if resp, err := clientTo(t, addr, []byte(caPEM)).Get("https://ph-api.advance.ai/__admin/health"); err != nil {
		t.Errorf("after a restart: %v", err)
	} else {
		resp.Body.Close()
	}
}

// lockedBuffer collects a log written from serve's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveTLSOutcome runs `idvmock serve --tls-addr` and returns why it did not start, or nil
// once it listened (it is then stopped): a refusal that went missing fails, not hangs, a test.
func serveTLSOutcome(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listened := false
	cmd := &serveCmd{stdout: io.Discard, stderr: io.Discard, onListenTLS: func(net.Addr) { listened = true; cancel() }}
	err := cmd.Run(ctx, append([]string{"--addr", "", "--tls-addr", "127.0.0.1:0"}, args...))
	if listened {
		return nil
	}
	if err == nil {
		t.Fatal("serve stopped without an error and without listening")
	}
	return err
}

// writeOldCA writes to dir (0700) a CA as an older idvmock made it, without name constraints,
// valid from notBefore to notAfter. It returns its ca.pem.
func writeOldCA(t *testing.T, dir string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "idvmock local CA (old)"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

// serve refuses, with the fix in the message, a CA folder other users may write to and a CA
// key they may read; the Docker image's /ca (0755, ours) is fine.
func TestServeRefusesAnUnsafeCAFolder(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("file modes are checked on Unix only")
	}
	for _, tc := range []struct {
		file string
		mode os.FileMode
		want string // %s is the path; "" when serve starts
	}{
		{".", 0o777, "chmod 700 %s"},
		{".", 0o775, "chmod 700 %s"},
		{"ca-key.pem", 0o644, "chmod 600 %s"},
		{".", 0o755, ""},
	} {
		t.Run(tc.file+" "+tc.mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ca")
			if err := serveTLSOutcome(t, "--ca-dir", dir); err != nil {
				t.Fatalf("first start: %v", err)
			}
			path := filepath.Join(dir, tc.file)
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			err := serveTLSOutcome(t, "--ca-dir", dir)
			if tc.want == "" {
				if err != nil {
					t.Errorf("mode %v: %v, want serve to start", tc.mode, err)
				}
				return
			}
			if want := fmt.Sprintf(tc.want, filepath.Clean(path)); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("mode %v of %s: %v, want refused with %q", tc.mode, path, err, want)
			}
			if code, out, errOut := runCLI(t, "ca", "print", "--ca-dir", dir); code != 1 || out != "" || !strings.Contains(errOut, "refusing") {
				t.Errorf("ca print: exit %d, %d bytes on stdout, stderr %q; want refused", code, len(out), errOut)
			}
		})
	}
}

// The CA's warnings reach whoever runs the mock: serve logs them at WARN, ca print and ca path
// write them to stderr, keeping stdout for the PEM or the path. An expired CA is replaced, and
// clients trusting the new ca.pem reach the mock.
func TestCAWarningsReachTheOperator(t *testing.T) {
	now := time.Now()

	// An older idvmock's CA: no name constraints, 10 years.
	dir := filepath.Join(t.TempDir(), "ca")
	oldPEM := writeOldCA(t, dir, now.AddDate(-1, 0, 0), now.AddDate(9, 0, 0))
	var out, errOut bytes.Buffer
	if err := (&caCmd{stdout: &out, stderr: &errOut}).Run(context.Background(), []string{"print", "--ca-dir", dir}); err != nil {
		t.Fatal(err)
	}
	if out.String() != string(oldPEM) || !strings.Contains(errOut.String(), "warning: the CA in "+dir+" has no name constraints") {
		t.Errorf("ca print: stdout is the CA %v, stderr %q; want the old CA and a warning", out.String() == string(oldPEM), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if err := (&caCmd{stdout: &out, stderr: &errOut}).Run(context.Background(), []string{"path", "--ca-dir", dir}); err != nil {
		t.Fatal(err)
	}
	if out.String() != filepath.Join(dir, "ca.pem")+"\n" || !strings.Contains(errOut.String(), "no name constraints") {
		t.Errorf("ca path: stdout %q, stderr %q; want the path and a warning", out.String(), errOut.String())
	}
	var log lockedBuffer
	addr, stop := startTLSServeLog(t, &log, "--ca-dir", dir)
	if resp, err := clientTo(t, addr, oldPEM).Get("https://sg-api.advance.ai/__admin/health"); err != nil {
		t.Errorf("HTTPS with the old CA: %v", err)
	} else {
		resp.Body.Close()
	}
	stop()
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "has no name constraints") {
		t.Errorf("serve's log lacks the warning:\n%s", log.String())
	}

	// An expired CA: serve replaces it and says so.
	dir = filepath.Join(t.TempDir(), "ca")
	expiredPEM := writeOldCA(t, dir, now.AddDate(-10, 0, 0), now.AddDate(0, 0, -1))
	log = lockedBuffer{}
	addr, _ = startTLSServeLog(t, &log, "--ca-dir", dir)
	newPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil || bytes.Equal(newPEM, expiredPEM) {
		t.Fatalf("ca.pem after serve: %v, replaced %v", err, !bytes.Equal(newPEM, expiredPEM))
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "expired") || !strings.Contains(log.String(), "must now trust the new") {
		t.Errorf("serve's log lacks the renewal warning:\n%s", log.String())
	}
	if resp, err := clientTo(t, addr, newPEM).Get("https://localhost/__admin/health"); err != nil {
		t.Errorf("HTTPS with the new CA: %v", err)
	} else {
		resp.Body.Close()
	}
	if _, err := clientTo(t, addr, expiredPEM).Get("https://localhost/__admin/health"); err == nil {
		t.Error("a client trusting only the expired CA reached the mock")
	}
}
