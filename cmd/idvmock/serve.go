package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/internal/logline"
	"github.com/idvmock/idvmock/internal/logwriter"
	"github.com/idvmock/idvmock/mockserver"
	"github.com/idvmock/idvmock/scenarios"
	"github.com/idvmock/idvmock/scenarios/files"
)

// serveCmd is idvmock serve: the mock of the vendor's API.
type serveCmd struct {
	stdout, stderr io.Writer
	onListen       func(net.Addr) // tests learn the port from it
	onListenTLS    func(net.Addr)
}

// Run checks the flags, loads the scenario files, listens, and serves until ctx ends.
func (c *serveCmd) Run(ctx context.Context, args []string) error {
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	go mockserver.Prepare() // the spec, its router: meanwhile the scenario files load
	logger, lw := newLogger(s.logFormat.value, c.stderr)
	defer lw.Close()
	eng, builtin, err := loadEngine(s.serveFlags, logger)
	if err != nil {
		return err
	}
	shared, err := openStore(ctx, s.serveFlags, eng, logger)
	if err != nil {
		return err
	}
	var journal mockserver.SharedJournal
	if shared != nil {
		defer shared.store.Close()
		journal = shared.journal
	}
	listeners, plain, secure, err := c.listen(s.serveFlags, logger)
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	adminToken := guardAdmin(s.adminToken, listeners, logger)
	srv, watcher, err := newServer(s, adminToken, eng, builtin, journal, logger)
	if err != nil {
		return err
	}
	if watcher != nil {
		go watcher.Run(ctx, files.WatchOptions{Interval: *s.watchInterval, Settle: *s.watchSettle})
	}
	c.announce(s, eng, adminToken, plain, secure, logger, lw)
	serving := listeners
	listeners = nil // Serve closes them
	return srv.Serve(ctx, serving[0], serving[1:]...)
}

// newServer is the mock server of the settings on the engine, with the admin token decided
// for its listeners. With --watch it also returns the watcher that reloads the scenario
// files into the engine, not yet running (nil without --watch).
func newServer(s *serveSettings, adminToken string, eng *engine.Engine, builtin []*scenarios.File, journal mockserver.SharedJournal, logger *slog.Logger) (*mockserver.Server, *files.Watcher, error) {
	f, allow := s.serveFlags, s.allow
	cfg := mockserver.Config{
		Auth: mockserver.AuthMode(f.auth.value), AccessKey: *f.accessKey, SecretKey: *f.secretKey,
		Engine: eng, ParseUser: files.ParseUser, AdminToken: adminToken, AdminAnyHost: *f.adminToken == adminTokenOff,
		JournalSize: *f.journalSize, DashboardViewers: *f.dashboardViewers, PublicURL: *f.publicURL, Logger: logger, Version: currentVersion(),
		Callbacks: mockserver.CallbackPolicy{Allow: allow, MaxPending: *f.callbackMaxPending}, Webhook: s.webhook,
		Timeouts: mockserver.Timeouts{Body: *f.bodyTimeout}, SharedJournal: journal,
	}
	var watcher *files.Watcher
	if *f.watch {
		watcher = files.NewWatcher(f.paths, builtin, eng, logger)
		cfg.Reload = watcher.Status
	}
	srv, err := mockserver.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	if watcher != nil {
		watcher.OnReload(srv.ObserveReload) // idvmock_reloads_total
	}
	return srv, watcher, nil
}

// announce logs what serve serves and where, then tells whoever waits for the listeners
// (tests) their addresses.
func (c *serveCmd) announce(s *serveSettings, eng *engine.Engine, adminToken string, plain, secure net.Listener, logger *slog.Logger, lw *logwriter.Writer) {
	f := s.serveFlags
	set := eng.Set()
	logger.Info("idvmock serving", slog.String("addr", addrOf(plain)), slog.String("tlsAddr", addrOf(secure)), slog.String("auth", f.auth.value),
		slog.Int64("seed", *f.seed), slog.Int("users", len(set.UserIDs())), slog.Int("rules", len(set.Rules())),
		slog.Any("scenarioFiles", set.Files()), slog.Bool("adminToken", adminToken != ""), slog.String("store", eng.StoreName()),
		slog.String("version", currentVersion()))
	if hook := s.webhook; hook.URL != "" {
		u, _ := url.Parse(hook.URL) // checked with the flags
		logger.Info("signed webhook for sessions started without callbackUrl", slog.String("webhookUrl", mockserver.WebhookURLShown(hook.URL)),
			slog.String("algorithm", hook.Algorithm.String()), slog.String("signedString", hook.Format.String()),
			slog.Float64("retryScale", hook.RetryScale))
		if u.Scheme == "http" {
			logger.Warn("the webhook URL is http://: accepted for a local receiver, but the vendor delivers to HTTPS endpoints only (TLS 1.2+)")
		}
	}
	lw.Flush() // the lines of the start are out before anyone is told the mock listens
	if c.onListen != nil && plain != nil {
		c.onListen(plain.Addr())
	}
	if c.onListenTLS != nil && secure != nil {
		c.onListenTLS(secure.Addr())
	}
}

// loadEngine reads the built-in and the given scenario files into an engine with the
// flags' seed and limits; it also returns the built-in files, which a watcher reloads with
// the others.
func loadEngine(f *serveFlags, logger *slog.Logger) (*engine.Engine, []*scenarios.File, error) {
	builtin, err := files.Builtin()
	if err != nil {
		return nil, nil, err
	}
	declared, err := files.ReadPaths(f.paths)
	if err != nil {
		return nil, nil, fmt.Errorf("scenario files refused:\n%w", err)
	}
	for _, file := range declared {
		if why := file.Skipped(); why != "" {
			logger.Info("skipped a file of a scenario folder", slog.String("file", file.Name()), slog.String("why", why))
		}
	}
	eng, err := engine.NewEngine(*f.seed, append(builtin, declared...), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("scenario files refused:\n%w", err)
	}
	eng.SetLimits(f.limits)
	return eng, builtin, nil
}

// listen opens the plain HTTP listener (--addr) and the HTTPS one (--tls-addr): all of them,
// and each (nil when not asked for).
func (c *serveCmd) listen(f *serveFlags, logger *slog.Logger) (all []net.Listener, plain, secure net.Listener, err error) {
	defer func() {
		if err != nil {
			for _, l := range all {
				l.Close()
			}
			all = nil
		}
	}()
	if *f.addr != "" {
		if plain, err = net.Listen("tcp", *f.addr); err != nil {
			return all, nil, nil, fmt.Errorf("cannot listen on %s: %w (use --addr to pick another address)", *f.addr, err)
		}
		all = append(all, plain)
	}
	if *f.tlsAddr != "" {
		cfg, err := c.tlsConfig(*f.caDir, *f.tlsCert, *f.tlsKey, logger)
		if err != nil {
			return all, nil, nil, err
		}
		ln, err := net.Listen("tcp", *f.tlsAddr)
		if err != nil {
			return all, nil, nil, fmt.Errorf("cannot listen on %s: %w (use --tls-addr to pick another address)", *f.tlsAddr, err)
		}
		secure = tls.NewListener(ln, cfg)
		all = append(all, secure)
	}
	return all, plain, secure, nil
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// guardAdmin decides the admin token: the one given; none when every listener is on
// loopback (only this machine reaches the admin API); and, beyond loopback, a generated one,
// logged once, unless the admin API was opened on purpose with --admin-token off.
func guardAdmin(token string, listeners []net.Listener, logger *slog.Logger) string {
	beyond := ""
	for _, l := range listeners {
		if tcp, ok := l.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
			beyond = l.Addr().String()
			break
		}
	}
	switch {
	case token == adminTokenOff:
		if beyond != "" {
			logger.Warn("the admin API is open to anyone who reaches "+beyond+" (--admin-token off): they can redefine users, reset state and read the journal",
				slog.String("fix", "drop --admin-token off to get a generated token, or set your own with --admin-token-file"))
		}
		return ""
	case token != "" || beyond == "":
		return token
	}
	token = engine.NewToken()
	logger.Warn("the admin API needs a token: idvmock listens beyond loopback on "+beyond,
		slog.String("adminToken", token),
		slog.String("use", "Authorization: Bearer <adminToken> on /__admin/ (health needs none)"),
		slog.String("fix", "choose your own with --admin-token-file or IDVMOCK_ADMIN_TOKEN; --admin-token off opens the API (not recommended)"))
	return token
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

func newLogger(format string, w io.Writer) (*slog.Logger, *logwriter.Writer) {
	// A goroutine writes the lines: a request does not wait for a write system call, and
	// under load many lines go out in one. Close writes what is left.
	lw := logwriter.New(w)
	if format == "json" {
		return slog.New(logline.NewJSONHandler(lw, nil)), lw
	}
	return slog.New(slog.NewTextHandler(lw, nil)), lw
}
