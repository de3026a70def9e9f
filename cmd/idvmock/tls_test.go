package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTLSServe runs `idvmock serve` with HTTPS on a free port and returns its address.
func startTLSServe(t *testing.T, args ...string) (tlsAddr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	cmd := &serveCmd{stdout: io.Discard, stderr: io.Discard, onListenTLS: func(a net.Addr) { ready <- a.String() }}
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
	for file, mode := range map[string]os.FileMode{".": 0o700, "ca-key.pem": 0o600} {
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
