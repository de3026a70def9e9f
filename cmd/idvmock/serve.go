package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/idvmock/idvmock/mockserver"
	"github.com/idvmock/idvmock/scenarios"
)

// Defaults of serve. The keys are the vendor's published sample keys, so that its documented
// test vector signs requests the mock accepts.
const (
	defaultAddr      = ":8080"
	defaultAccessKey = "sampleaccesskey"
	defaultSecretKey = "samplesecretkey"
)

const serveExamples = `  idvmock serve
  idvmock serve --addr 127.0.0.1:9090 --log-format json
  idvmock serve --auth strict --access-key my-key --secret-key my-secret
  curl -s -H 'X-ACCESS-TOKEN: any' -H 'Host: sg-api.advance.ai' \
    'http://localhost:8080/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result?userId=user_active'
`

type serveCmd struct {
	stdout, stderr io.Writer
	onListen       func(net.Addr) // tests learn the port from it
	onListenTLS    func(net.Addr)
}

func (c *serveCmd) Run(ctx context.Context, args []string) error {
	fs := newFlags("serve", "Run the mock of ADVANCE.AI's Get Latest Session Result and Token APIs.", serveExamples, c.stdout)
	addr := fs.String("addr", defaultAddr, "`address` to listen on for plain HTTP (\"\" for none, with --tls-addr)")
	tlsAddr := fs.String("tls-addr", "", "`address` to serve HTTPS on too (:443, :8443), with a certificate for the vendor's hostnames and localhost")
	caDir := fs.String("ca-dir", "", "`folder` of the local CA that signs the HTTPS certificate; created on first use (default: idvmock/ca under the user's config folder)")
	tlsCert := fs.String("tls-cert", "", "`file` of your own HTTPS certificate (PEM, with its chain) instead of the local CA's")
	tlsKey := fs.String("tls-key", "", "`file` of the key of --tls-cert")
	auth := fs.choiceFlag("auth", "token check: present (any non-blank X-ACCESS-TOKEN) or strict (only unexpired tokens this process issued)",
		string(mockserver.AuthPresent), string(mockserver.AuthStrict))
	accessKey := fs.String("access-key", defaultAccessKey, "accessKey the token API accepts")
	secretKey := fs.String("secret-key", defaultSecretKey, "secretKey the token API signs with")
	seed := fs.Int64("seed", 0, "seed of the fake data and of fault draws; the same seed gives the same bodies")
	logFormat := fs.choiceFlag("log-format", "log format: text or json", "text", "json")
	var paths stringList
	fs.Var(&paths, "scenarios", "scenario file or folder to load on top of the built-in set (repeatable; comma-separated in IDVMOCK_SCENARIOS)")
	watch := fs.Bool("watch", false, "reload the scenario files when they change; a broken change is refused and the previous set keeps answering")
	watchInterval := fs.Duration("watch-interval", time.Second, "how often --watch looks at the files")
	adminToken := fs.String("admin-token", "", "require Authorization: Bearer <token> on /__admin/ (set it whenever others can reach the mock)")
	journalSize := fs.Int("journal-size", mockserver.DefaultJournalSize, "requests the journal keeps (a ring: the oldest go first)")
	publicURL := fs.String("public-url", "", "base URL of the H5 pages Generate URL hands out (default: http://<Host of the request>)")
	if err := fs.parse(args); err != nil {
		return err
	}
	mode := mockserver.AuthMode(auth.value)
	logger := newLogger(logFormat.value, c.stderr)
	builtin, err := scenarios.BuiltinFiles()
	if err != nil {
		return err
	}
	files, err := scenarios.ReadPaths(paths)
	if err != nil {
		return fmt.Errorf("scenario files refused:\n%w", err)
	}
	engine, err := scenarios.NewEngine(*seed, append(builtin, files...), nil)
	if err != nil {
		return fmt.Errorf("scenario files refused:\n%w", err)
	}
	cfg := mockserver.Config{
		Auth: mode, AccessKey: *accessKey, SecretKey: *secretKey, Engine: engine, AdminToken: *adminToken,
		JournalSize: *journalSize, PublicURL: *publicURL, Logger: logger, Version: currentVersion(),
	}
	if *watch {
		if len(paths) == 0 {
			return usagef("--watch needs --scenarios: there is nothing to watch")
		}
		w := scenarios.NewWatcher(paths, builtin, engine, logger)
		cfg.Reload = w.Status
		go w.Run(ctx, *watchInterval)
	}
	srv, err := mockserver.New(cfg)
	if err != nil {
		return err
	}
	if *addr == "" && *tlsAddr == "" {
		return usagef("--addr is empty and there is no --tls-addr: nothing to serve on")
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usagef("give --tls-cert and --tls-key together")
	}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	var plainAddr, httpsAddr string
	if *addr != "" {
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return fmt.Errorf("cannot listen on %s: %w (use --addr to pick another address)", *addr, err)
		}
		listeners, plainAddr = append(listeners, ln), ln.Addr().String()
	}
	if *tlsAddr != "" {
		cfg, err := c.tlsConfig(*caDir, *tlsCert, *tlsKey, logger)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", *tlsAddr)
		if err != nil {
			return fmt.Errorf("cannot listen on %s: %w (use --tls-addr to pick another address)", *tlsAddr, err)
		}
		httpsAddr = ln.Addr().String()
		listeners = append(listeners, tls.NewListener(ln, cfg))
	}
	set := engine.Set()
	logger.Info("idvmock serving", slog.String("addr", plainAddr), slog.String("tlsAddr", httpsAddr), slog.String("auth", string(mode)),
		slog.Int64("seed", *seed), slog.Int("users", len(set.UserIDs())), slog.Int("rules", len(set.Rules())),
		slog.Any("scenarioFiles", set.Files()), slog.Bool("adminToken", *adminToken != ""), slog.String("version", currentVersion()))
	if c.onListen != nil && plainAddr != "" {
		c.onListen(listeners[0].Addr())
	}
	if c.onListenTLS != nil && httpsAddr != "" {
		c.onListenTLS(listeners[len(listeners)-1].Addr())
	}
	serving := listeners
	listeners = nil // Serve closes them
	return srv.Serve(ctx, serving[0], serving[1:]...)
}

// tlsConfig is the HTTPS configuration: the user's certificate, or one the local CA in caDir
// (created on first use) issues for the vendor's hostnames and localhost.
func (c *serveCmd) tlsConfig(caDir, certFile, keyFile string, logger *slog.Logger) (*tls.Config, error) {
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		return mockserver.TLSConfig(cert), nil
	}
	ca, created, err := loadCA(caDir)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Info("created a local CA for HTTPS; trust its certificate in your clients", slog.String("caCert", filepath.Join(ca.Dir, mockserver.CACertFile)))
	}
	for _, note := range ca.Notes { // renewed, expiring soon, or without name constraints
		logger.Warn(note, slog.String("caDir", ca.Dir))
	}
	hosts, err := mockserver.CertificateHosts()
	if err != nil {
		return nil, err
	}
	cert, err := ca.ServerCertificate(hosts)
	if err != nil {
		return nil, err
	}
	return mockserver.TLSConfig(cert), nil
}

// loadCA loads or creates the CA in dir, or in the default folder when dir is empty.
func loadCA(dir string) (*mockserver.CA, bool, error) {
	if dir == "" {
		var err error
		if dir, err = mockserver.DefaultCADir(); err != nil {
			return nil, false, err
		}
	}
	return mockserver.LoadOrCreateCA(dir)
}

// stringList is a repeatable flag; each value may hold several comma-separated items.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
