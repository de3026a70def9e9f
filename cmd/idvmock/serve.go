package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

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
	seed := fs.Int64("seed", 0, "seed of the fake data; the same seed gives the same bodies")
	logFormat := fs.choiceFlag("log-format", "log format: text or json", "text", "json")
	if err := fs.parse(args); err != nil {
		return err
	}
	mode := mockserver.AuthMode(auth.value)
	logger := newLogger(logFormat.value, c.stderr)
	set, err := scenarios.Builtin(*seed)
	if err != nil {
		return err
	}
	srv, err := mockserver.New(mockserver.Config{
		Auth: mode, AccessKey: *accessKey, SecretKey: *secretKey,
		Scenarios: set, Logger: logger, Version: currentVersion(),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (use --addr to pick another address)", *addr, err)
	}
	logger.Info("idvmock serving", slog.String("addr", ln.Addr().String()), slog.String("auth", string(mode)),
		slog.Int64("seed", *seed), slog.Int("users", len(set.UserIDs())), slog.String("version", currentVersion()))
	if c.onListen != nil {
		c.onListen(ln.Addr())
	}
	return srv.Serve(ctx, ln)
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
