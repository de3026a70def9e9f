// Package idvmocktest runs idvmock inside a Go test: no Docker, no port to pick, no process
// to manage.
//
//	func TestOnboarding(t *testing.T) {
//		srv := idvmocktest.New(t, idvmocktest.WithTLS())
//		app := myapp.NewClient(srv.Client) // the app's own code, unchanged
//		...
//		srv.AssertCalls(t, idvmocktest.Filter{UserID: "user_active"}, 1)
//	}
//
// srv.Client reaches the mock for every vendor hostname (https://sg-api.advance.ai/...), so
// an app that takes an *http.Client needs no other change; one that takes a base URL gets
// srv.URL or srv.VendorURL("sg"). The admin API is there as typed methods: define a user,
// advance it, read and count the journal. The mock listens on 127.0.0.1 only, so its admin
// API needs no token.
package idvmocktest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/mockserver"
	"github.com/idvmock/idvmock/scenarios/files"
)

// Server is a running mock.
type Server struct {
	URL    string       // base URL: http://127.0.0.1:PORT, or https://localhost:PORT with TLS
	Client *http.Client // reaches the mock for every vendor hostname and for URL
	CACert []byte       // with TLS: the CA certificate (PEM) the mock's certificate chains to (the same for every mock of the process)

	addr   string
	tls    bool
	cancel context.CancelFunc
	done   chan error

	closeOnce sync.Once
	closeErr  error
}

// New starts a mock for the test and stops it when the test ends. It fails the test if the
// mock cannot start (a broken scenario file, say).
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	srv, err := Start(opts...)
	if err != nil {
		t.Fatalf("idvmocktest: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("idvmocktest: %v", err)
		}
	})
	return srv
}

// Start starts a mock outside a test (examples, TestMain); Close stops it.
func Start(opts ...Option) (*Server, error) {
	cfg := &config{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	builtin, err := files.Builtin()
	if err != nil {
		return nil, err
	}
	e, err := engine.NewEngine(cfg.seed, append(builtin, cfg.files...), nil)
	if err != nil {
		return nil, fmt.Errorf("scenario files refused:\n%w", err)
	}
	mcfg := mockserver.Config{Engine: e, ParseUser: files.ParseUser, Logger: cfg.logger, AccessKey: SampleAccessKey, SecretKey: SampleSecretKey}
	if cfg.strict {
		mcfg.Auth = mockserver.AuthStrict
	}
	mock, err := mockserver.New(mcfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{addr: ln.Addr().String(), tls: cfg.tls, done: make(chan error, 1)}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, s.addr)
		},
		MaxIdleConnsPerHost: 16,
	}
	s.URL = "http://" + s.addr
	if cfg.tls {
		if ln, err = s.listenTLS(ln, transport); err != nil {
			return nil, err
		}
		s.URL = "https://localhost:" + portOf(s.addr)
	}
	s.Client = &http.Client{Transport: transport, Timeout: 30 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- mock.Serve(ctx, ln) }()
	return s, nil
}

// listenTLS serves HTTPS on ln with the process's certificate and has transport trust its
// CA.
func (s *Server) listenTLS(ln net.Listener, transport *http.Transport) (net.Listener, error) {
	m, err := tlsMaterial()
	if err != nil {
		ln.Close()
		return nil, err
	}
	transport.TLSClientConfig = &tls.Config{RootCAs: m.roots, MinVersion: tls.VersionTLS12}
	s.CACert = m.caPEM
	return tls.NewListener(ln, mockserver.TLSConfig(m.cert)), nil
}

// sharedTLS is the CA and the certificate it signs for the vendor's hostnames, localhost
// and 127.0.0.1, which every mock with TLS of the process serves.
type sharedTLS struct {
	cert  tls.Certificate
	roots *x509.CertPool // the CA
	caPEM []byte
}

// tlsMaterial makes sharedTLS once per process: a CA (in a folder of its own, removed at
// once: the CA is kept in memory) and its certificate (2 keys, files, signatures: ~10 ms
// that each mock with TLS paid).
var tlsMaterial = sync.OnceValues(func() (*sharedTLS, error) {
	dir, err := os.MkdirTemp("", "idvmocktest-ca-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ca, _, err := mockserver.LoadOrCreateCA(dir)
	if err != nil {
		return nil, err
	}
	hosts, err := mockserver.CertificateHosts()
	if err != nil {
		return nil, err
	}
	cert, err := ca.ServerCertificate(hosts)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &sharedTLS{cert: cert, roots: roots, caPEM: ca.PEM}, nil
})

// portOf is the port of a host:port address.
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// Close stops the mock, letting requests in flight finish. Closing again (a deferred Close of
// a server New also closes when the test ends) returns what the first Close did.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.closeErr = <-s.done
		s.Client.CloseIdleConnections()
	})
	return s.closeErr
}

// VendorURL is the base URL of a region's vendor host as the app would use it:
// https://sg-api.advance.ai for "sg" (http:// without TLS), "" or "global" for
// api.advance.ai. Client sends it to the mock.
func (s *Server) VendorURL(region string) string {
	host := "api.advance.ai"
	if region != "" && region != "global" && region != "api" {
		host = region + "-api.advance.ai"
	}
	if s.tls {
		return "https://" + host
	}
	return "http://" + host
}

// The vendor's published test keys, which the mock's token API accepts.
const (
	SampleAccessKey = idvmock.SampleAccessKey
	SampleSecretKey = idvmock.SampleSecretKey
)

// Paths of the vendor's endpoints.
const (
	PathLatest = idvmock.PathLatest
	PathToken  = idvmock.PathToken
)
