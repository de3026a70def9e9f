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
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/mockserver"
	"github.com/idvmock/idvmock/scenarios"
	"github.com/idvmock/idvmock/scenarios/files"
)

// Option configures a mock.
type Option func(*config) error

type config struct {
	files  []*scenarios.File
	tls    bool
	seed   int64
	strict bool
	logger *slog.Logger
}

// WithScenarioFiles loads scenario files or folders, as serve --scenarios does.
func WithScenarioFiles(paths ...string) Option {
	return func(c *config) error {
		files, err := files.ReadPaths(paths)
		c.files = append(c.files, files...)
		return err
	}
}

// WithScenarioYAML loads a scenario file given as text (see docs/scenarios.md).
func WithScenarioYAML(yaml string) Option {
	return func(c *config) error {
		f, err := files.Parse("WithScenarioYAML", strings.NewReader(yaml))
		c.files = append(c.files, f)
		return err
	}
}

// WithTLS serves HTTPS: the certificate covers the vendor's hostnames, localhost and
// 127.0.0.1, signed by a CA made for this mock alone, which Client trusts.
func WithTLS() Option { return func(c *config) error { c.tls = true; return nil } }

// WithSeed sets the seed of the fake data and fault draws (serve --seed).
func WithSeed(seed int64) Option { return func(c *config) error { c.seed = seed; return nil } }

// WithStrictAuth accepts only unexpired tokens the token API issued (serve --auth strict).
func WithStrictAuth() Option { return func(c *config) error { c.strict = true; return nil } }

// WithLogger logs the mock's requests (default: not logged).
func WithLogger(l *slog.Logger) Option { return func(c *config) error { c.logger = l; return nil } }

// Server is a running mock.
type Server struct {
	URL    string       // base URL: http://127.0.0.1:PORT, or https://localhost:PORT with TLS
	Client *http.Client // reaches the mock for every vendor hostname and for URL
	CACert []byte       // with TLS: the CA certificate (PEM) the mock's certificate chains to

	addr   string
	tls    bool
	cancel context.CancelFunc
	done   chan error
	caDir  string
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

// listenTLS makes a CA for this mock, serves HTTPS on ln, and has transport trust the CA.
func (s *Server) listenTLS(ln net.Listener, transport *http.Transport) (net.Listener, error) {
	dir, err := os.MkdirTemp("", "idvmocktest-ca-")
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.caDir = dir
	ca, _, err := mockserver.LoadOrCreateCA(dir)
	if err != nil {
		ln.Close()
		return nil, err
	}
	hosts, err := mockserver.CertificateHosts()
	if err != nil {
		ln.Close()
		return nil, err
	}
	cert, err := ca.ServerCertificate(hosts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	s.CACert = ca.PEM
	return tls.NewListener(ln, mockserver.TLSConfig(cert)), nil
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// Close stops the mock, letting requests in flight finish.
func (s *Server) Close() error {
	s.cancel()
	err := <-s.done
	s.Client.CloseIdleConnections()
	if s.caDir != "" {
		os.RemoveAll(s.caDir)
	}
	return err
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

// admin calls the admin API and decodes its JSON answer into out (when not nil).
func (s *Server) admin(method, path string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+"/__admin"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		ct := "application/yaml"
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return adminError(method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// AdminError is a refusal of the admin API: a declaration with problems, an unknown user.
type AdminError struct {
	Method, Path string
	Status       int
	Message      string   // what the mock said
	Problems     []string // each problem of a refused declaration, with line and column
}

func (e *AdminError) Error() string {
	msg := fmt.Sprintf("%s /__admin%s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Message)
	if len(e.Problems) > 0 {
		msg += "\n  " + strings.Join(e.Problems, "\n  ")
	}
	return msg
}

func adminError(method, path string, status int, data []byte) error {
	var body struct {
		Error    string `json:"error"`
		Problems []struct {
			Line, Column  int
			Path, Message string
			Hint          string
		} `json:"problems"`
	}
	e := &AdminError{Method: method, Path: path, Status: status, Message: strings.TrimSpace(string(data))}
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		e.Message = body.Error
		for _, p := range body.Problems {
			e.Problems = append(e.Problems, fmt.Sprintf("%d:%d: %s: %s (%s)", p.Line, p.Column, p.Path, p.Message, p.Hint))
		}
	}
	return e
}

// UserState is where a user stands: its states and the current one.
type UserState = engine.UserProgress

// PutUser declares (or replaces) a user, in the scenario files' format (YAML or JSON):
//
//	srv.PutUser("alice", "profileStatus: ACTIVE\nsessions: [{overallResult: PASS}]")
//
// A declaration with problems is refused with an *AdminError listing them.
func (s *Server) PutUser(userID, declaration string) error {
	return s.admin(http.MethodPut, "/users/"+url.PathEscape(userID), []byte(declaration), http.StatusOK, nil)
}

// DeleteUser removes a user: it then answers externalUserId does not exist.
func (s *Server) DeleteUser(userID string) error {
	return s.admin(http.MethodDelete, "/users/"+url.PathEscape(userID), nil, http.StatusOK, nil)
}

// User reports where a user stands.
func (s *Server) User(userID string) (UserState, error) {
	var out struct{ User UserState }
	err := s.admin(http.MethodGet, "/users/"+url.PathEscape(userID), nil, http.StatusOK, &out)
	return out.User, err
}

// Advance moves a user to its next state.
func (s *Server) Advance(userID string) (UserState, error) {
	var out struct{ User UserState }
	err := s.admin(http.MethodPost, "/users/"+url.PathEscape(userID)+"/advance", nil, http.StatusOK, &out)
	return out.User, err
}

// SetState moves a user to a state, by name or by number from 0.
func (s *Server) SetState(userID, state string) (UserState, error) {
	body, _ := json.Marshal(map[string]string{"state": state})
	var out struct{ User UserState }
	err := s.admin(http.MethodPut, "/users/"+url.PathEscape(userID)+"/state", body, http.StatusOK, &out)
	return out.User, err
}

// Reset forgets the progress and started sessions of one userId, or of all ("").
func (s *Server) Reset(userID string) error {
	path := "/reset"
	if userID != "" {
		path += "?userId=" + url.QueryEscape(userID)
	}
	return s.admin(http.MethodPost, path, nil, http.StatusOK, nil)
}

// Request is one entry of the mock's journal: a request it answered, or a callback attempt.
type Request = mockserver.Entry

// Filter selects journal entries; empty fields select everything.
type Filter struct {
	UserID string
	Region string // global, sg, ph, th, my, vn
	Code   string // SUCCESS, PARAMETER_ERROR, ... or a gateway fault's HTTP status
	Kind   string // request or callback
	Fault  string // a fault type that fired
	Since  time.Time
}

func (f Filter) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"userId": f.UserID, "region": f.Region, "code": f.Code, "kind": f.Kind, "fault": f.Fault} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Requests lists the journal entries f selects, newest first.
func (s *Server) Requests(f Filter) ([]Request, error) {
	var out struct{ Requests []Request }
	err := s.admin(http.MethodGet, "/requests"+f.query(), nil, http.StatusOK, &out)
	return out.Requests, err
}

// Count counts the journal entries f selects.
func (s *Server) Count(f Filter) (int, error) {
	var out struct{ Count int }
	err := s.admin(http.MethodGet, "/requests/count"+f.query(), nil, http.StatusOK, &out)
	return out.Count, err
}

// ClearRequests empties the journal.
func (s *Server) ClearRequests() error {
	return s.admin(http.MethodDelete, "/requests", nil, http.StatusOK, nil)
}

// AssertCalls fails t unless the journal holds exactly n entries that f selects; the message
// lists what the journal holds for the userId asked.
func (s *Server) AssertCalls(t testing.TB, f Filter, n int) {
	t.Helper()
	got, err := s.Requests(f)
	if err != nil {
		t.Fatalf("idvmocktest: reading the journal: %v", err)
	}
	if len(got) == n {
		return
	}
	var lines []string
	all, _ := s.Requests(Filter{UserID: f.UserID})
	for _, r := range all {
		lines = append(lines, fmt.Sprintf("  %s %s %s?%s (%s): HTTP %d %s", r.Time.Format("15:04:05.000"), r.Method, r.Path, r.Query, r.Region, r.Status, r.Code))
	}
	t.Errorf("idvmocktest: %d requests match %+v, want %d; the journal holds for userId %q:\n%s", len(got), f, n, f.UserID, strings.Join(lines, "\n"))
}

// IsRefused reports whether err is the admin API refusing a call (for example a user
// declaration with problems), rather than the mock being unreachable.
func IsRefused(err error) bool {
	var ae *AdminError
	return errors.As(err, &ae)
}
