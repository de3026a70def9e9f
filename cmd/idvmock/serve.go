package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/mockserver"
	"github.com/idvmock/idvmock/scenarios"
	"github.com/idvmock/idvmock/scenarios/files"
)

// Defaults of serve. The keys are the vendor's published sample keys, so that its documented
// test vector signs requests the mock accepts. The mock listens on loopback unless told
// otherwise: its admin API is then open to this machine only.
const (
	defaultAddr      = "127.0.0.1:8080"
	defaultAccessKey = idvmock.SampleAccessKey
	defaultSecretKey = idvmock.SampleSecretKey
)

// adminTokenOff, given to --admin-token, leaves the admin API open beyond loopback.
const adminTokenOff = "off"

const serveExamples = `  idvmock serve                                   # on 127.0.0.1:8080; the admin API is open to this machine
  idvmock serve --addr :8080                      # on every interface; the admin API needs a token, logged at start
  idvmock serve --addr :8080 --admin-token-file /run/secrets/idvmock-admin --callback-allow '*.qa.example.com'
  idvmock serve --auth strict --access-key my-key --secret-key my-secret
  curl -s -H 'X-ACCESS-TOKEN: any' -H 'Host: sg-api.advance.ai' \
    'http://localhost:8080/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result?userId=user_active'
`

type serveCmd struct {
	stdout, stderr io.Writer
	onListen       func(net.Addr) // tests learn the port from it
	onListenTLS    func(net.Addr)
}

// serveFlags are serve's settings.
type serveFlags struct {
	addr, tlsAddr, caDir, tlsCert, tlsKey *string
	auth, logFormat                       *choice
	accessKey, secretKey                  *string
	seed                                  *int64
	paths                                 stringList
	watch                                 *bool
	watchInterval, watchSettle            *time.Duration
	adminToken, adminTokenFile            *string
	journalSize                           *int
	publicURL                             *string
	callbackAllow                         *string
	callbackMaxPending                    *int
	bodyTimeout                           *time.Duration
	limits                                engine.Limits
	maxTokens                             *int
}

func (c *serveCmd) flags() (*flags, *serveFlags) {
	fs := newFlags("serve", "Run the mock of ADVANCE.AI's identity-verification API.", serveExamples, c.stdout)
	f := &serveFlags{}
	f.addr = fs.String("addr", defaultAddr, "`address` to listen on for plain HTTP (\"\" for none, with --tls-addr); beyond loopback (:8080), the admin API needs a token")
	f.tlsAddr = fs.String("tls-addr", "", "`address` to serve HTTPS on too (:443, :8443), with a certificate for the vendor's hostnames and localhost")
	f.caDir = fs.String("ca-dir", "", "`folder` of the local CA that signs the HTTPS certificate; created on first use (default: idvmock/ca under the user's config folder)")
	f.tlsCert = fs.String("tls-cert", "", "`file` of your own HTTPS certificate (PEM, with its chain) instead of the local CA's")
	f.tlsKey = fs.String("tls-key", "", "`file` of the key of --tls-cert")
	f.auth = fs.choiceFlag("auth", "token check: present (any non-blank X-ACCESS-TOKEN) or strict (only unexpired tokens this process issued)",
		string(mockserver.AuthPresent), string(mockserver.AuthStrict))
	f.accessKey = fs.String("access-key", defaultAccessKey, "accessKey the token API accepts")
	f.secretKey = fs.String("secret-key", defaultSecretKey, "secretKey the token API signs with")
	f.seed = fs.Int64("seed", 0, "seed of the fake data and of fault draws; the same seed gives the same bodies")
	f.logFormat = fs.choiceFlag("log-format", "log format: text or json", "text", "json")
	fs.Var(&f.paths, "scenarios", "scenario file or folder to load on top of the built-in set (repeatable; comma-separated in IDVMOCK_SCENARIOS)")
	f.watch = fs.Bool("watch", false, "reload the scenario files when they change; a broken change is refused and the previous set keeps answering")
	f.watchInterval = fs.Duration("watch-interval", time.Second, "how often --watch polls the files (it also listens to file-system notifications where it can)")
	f.watchSettle = fs.Duration("watch-settle", 300*time.Millisecond, "how long the files must stay unchanged before --watch applies a change (a file is never read half-written)")
	f.adminToken = fs.String("admin-token", "", "require Authorization: Bearer <token> on /__admin/ (health excepted); beyond loopback one is generated and logged unless given; \"off\": no token at all")
	f.adminTokenFile = fs.String("admin-token-file", "", "`file` holding the admin token, to keep it off the command line")
	f.journalSize = fs.Int("journal-size", mockserver.DefaultJournalSize, "requests the journal keeps (a ring: the oldest go first)")
	f.publicURL = fs.String("public-url", "", "base URL of the H5 pages Generate URL hands out (default: the request's scheme and Host)")
	f.callbackAllow = fs.String("callback-allow", "", "hosts and networks callbacks may go to (app.internal,*.example.com,10.0.0.0/8); empty: anywhere. Set it on a shared instance")
	f.callbackMaxPending = fs.Int("callback-max-pending", mockserver.DefaultCallbackMaxPending, "callbacks pending at once (queued, sent or waiting to retry); more are dropped and journaled")
	f.bodyTimeout = fs.Duration("body-timeout", mockserver.DefaultBodyTimeout, "time a client has to send a request's body")
	f.limits.MaxStartedBytes, f.limits.MaxAdminBytes = engine.DefaultMaxStartedBytes, engine.DefaultMaxAdminBytes
	fs.IntVar(&f.limits.MaxStartedSessions, "max-started-sessions", engine.DefaultMaxStartedSessions, "sessions started through Generate URL kept in all; the oldest go first")
	fs.IntVar(&f.limits.MaxSessionsPerUser, "max-sessions-per-user", engine.DefaultMaxSessionsPerUser, "started sessions kept per userId; its oldest go first")
	fs.Var(byteSize{&f.limits.MaxStartedBytes}, "max-started-bytes", "`size` of the Generate URL requests started sessions keep (32MiB); the oldest sessions go first")
	fs.IntVar(&f.limits.MaxAdminUsers, "max-admin-users", engine.DefaultMaxAdminUsers, "users the admin API may declare; past it a declaration is refused (507)")
	fs.Var(byteSize{&f.limits.MaxAdminBytes}, "max-admin-bytes", "`size` of the declarations the admin API keeps (32MiB); past it a declaration is refused (507)")
	fs.IntVar(&f.limits.MaxProgress, "max-progress", engine.DefaultMaxProgress, "progress entries kept for userIds that rules and X-Mock-Scenario answer; the oldest go first")
	f.maxTokens = fs.Int("max-tokens", mockserver.DefaultMaxTokens, "strict mode: issued tokens kept (about 100 bytes each); the oldest go first")
	return fs, f
}

// serveSettings are serve's flags once checked, with what the checks read from them.
type serveSettings struct {
	*serveFlags
	allow      mockserver.CallbackAllow // --callback-allow, parsed
	adminToken string                   // --admin-token, or what --admin-token-file holds
}

// settings parses serve's command line and checks every flag. It reads --admin-token-file
// but opens, creates and starts nothing: a mistake is reported before serve has begun.
func (c *serveCmd) settings(args []string) (*serveSettings, error) {
	fs, f := c.flags()
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	if *f.addr == "" && *f.tlsAddr == "" {
		return nil, usagef("--addr is empty and there is no --tls-addr: nothing to serve on")
	}
	if (*f.tlsCert == "") != (*f.tlsKey == "") {
		return nil, usagef("give --tls-cert and --tls-key together")
	}
	if *f.watch && len(f.paths) == 0 {
		return nil, usagef("--watch needs --scenarios: there is nothing to watch")
	}
	allow, err := mockserver.ParseCallbackAllow(*f.callbackAllow)
	if err != nil {
		return nil, usagef("--callback-allow: %v", err)
	}
	adminToken, err := readAdminToken(*f.adminToken, *f.adminTokenFile)
	if err != nil {
		return nil, err
	}
	if *f.accessKey == "" || *f.secretKey == "" {
		// mockserver.New refuses them in the same words, but only once serve listens.
		return nil, errors.New("the access key and the secret key must not be empty")
	}
	return &serveSettings{serveFlags: f, allow: allow, adminToken: adminToken}, nil
}

func (c *serveCmd) Run(ctx context.Context, args []string) error {
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	f, allow, adminToken := s.serveFlags, s.allow, s.adminToken
	logger := newLogger(f.logFormat.value, c.stderr)
	eng, builtin, err := loadEngine(f, logger)
	if err != nil {
		return err
	}
	listeners, plain, secure, err := c.listen(f, logger)
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	adminToken = guardAdmin(adminToken, listeners, logger)
	cfg := mockserver.Config{
		Auth: mockserver.AuthMode(f.auth.value), AccessKey: *f.accessKey, SecretKey: *f.secretKey,
		Engine: eng, ParseUser: files.ParseUser, AdminToken: adminToken,
		JournalSize: *f.journalSize, PublicURL: *f.publicURL, Logger: logger, Version: currentVersion(),
		Callbacks: mockserver.CallbackPolicy{Allow: allow, MaxPending: *f.callbackMaxPending},
		Timeouts:  mockserver.Timeouts{Body: *f.bodyTimeout}, MaxTokens: *f.maxTokens,
	}
	var watcher *files.Watcher
	if *f.watch {
		watcher = files.NewWatcher(f.paths, builtin, eng, logger)
		cfg.Reload = watcher.Status
	}
	srv, err := mockserver.New(cfg)
	if err != nil {
		return err
	}
	if watcher != nil {
		go watcher.Run(ctx, files.WatchOptions{Interval: *f.watchInterval, Settle: *f.watchSettle})
	}
	set := eng.Set()
	logger.Info("idvmock serving", slog.String("addr", addrOf(plain)), slog.String("tlsAddr", addrOf(secure)), slog.String("auth", f.auth.value),
		slog.Int64("seed", *f.seed), slog.Int("users", len(set.UserIDs())), slog.Int("rules", len(set.Rules())),
		slog.Any("scenarioFiles", set.Files()), slog.Bool("adminToken", adminToken != ""), slog.String("version", currentVersion()))
	if c.onListen != nil && plain != nil {
		c.onListen(plain.Addr())
	}
	if c.onListenTLS != nil && secure != nil {
		c.onListenTLS(secure.Addr())
	}
	serving := listeners
	listeners = nil // Serve closes them
	return srv.Serve(ctx, serving[0], serving[1:]...)
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

// readAdminToken is the admin token given by --admin-token or --admin-token-file (not both).
func readAdminToken(flag, file string) (string, error) {
	switch {
	case flag != "" && file != "":
		return "", usagef("give --admin-token or --admin-token-file, not both")
	case file == "":
		return flag, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--admin-token-file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	switch {
	case token == "":
		return "", usagef("--admin-token-file %s is empty: write the token in it", file)
	case strings.ContainsAny(token, " \t\r\n"):
		return "", usagef("--admin-token-file %s holds more than one line or word: write the token alone", file)
	}
	return token, nil
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
	token = mockserver.NewToken()
	logger.Warn("the admin API needs a token: idvmock listens beyond loopback on "+beyond,
		slog.String("adminToken", token),
		slog.String("use", "Authorization: Bearer <adminToken> on /__admin/ (health needs none)"),
		slog.String("fix", "choose your own with --admin-token-file or IDVMOCK_ADMIN_TOKEN; --admin-token off opens the API (not recommended)"))
	return token
}

// byteSize is a flag of a number of bytes, written as 1048576, 64KiB, 32MiB or 1GiB.
type byteSize struct{ n *int }

func (b byteSize) String() string {
	if b.n == nil {
		return ""
	}
	switch n := *b.n; {
	case n > 0 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n > 0 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	default:
		return strconv.Itoa(n)
	}
}

func (b byteSize) Set(v string) error {
	units := []struct {
		suffix string
		scale  int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}, {"", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			n, err := strconv.Atoi(strings.TrimSpace(num))
			if err != nil || n <= 0 {
				break
			}
			*b.n = n * u.scale
			return nil
		}
	}
	return fmt.Errorf("%q is not a size: write bytes, or a number with KiB, MiB or GiB (32MiB)", v)
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
