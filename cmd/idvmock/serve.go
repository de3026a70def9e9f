package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
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
}

func (c *serveCmd) Run(ctx context.Context, args []string) error {
	fs := newFlags("serve", "Run the mock of ADVANCE.AI's Get Latest Session Result and Token APIs.", serveExamples, c.stdout)
	addr := fs.String("addr", defaultAddr, "`address` to listen on")
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
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (use --addr to pick another address)", *addr, err)
	}
	set := engine.Set()
	logger.Info("idvmock serving", slog.String("addr", ln.Addr().String()), slog.String("auth", string(mode)),
		slog.Int64("seed", *seed), slog.Int("users", len(set.UserIDs())), slog.Int("rules", len(set.Rules())),
		slog.Any("scenarioFiles", set.Files()), slog.Bool("adminToken", *adminToken != ""), slog.String("version", currentVersion()))
	if c.onListen != nil {
		c.onListen(ln.Addr())
	}
	return srv.Serve(ctx, ln)
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
