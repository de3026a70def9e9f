package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/contract"
	"github.com/idvmock/idvmock/scenarios/recording"
)

const proxyExamples = `  idvmock proxy --upstream https://sg-api.advance.ai --addr :8081
  idvmock proxy --upstream https://sg-api.advance.ai --record qa/recorded
  idvmock proxy --upstream http://localhost:8080 --addr :8081 --log-format json
`

const proxySynopsis = `Run a validating reverse proxy: point the app at it instead of the vendor (or a mock). It
forwards every request to --upstream, checks every answer of the vendor's API against
openapi.yaml and the vendor's rules, adds an X-Contract-Violations header naming the rules an
answer breaks, and logs each violation. Answers are passed on unchanged otherwise.

With --record DIR, each Get Latest Session Result answer is written as a scenario file
(one per userId, personal data masked; tokens are never written) that
'idvmock serve --scenarios DIR' replays. One proxy serves one upstream host: run one per region.`

type proxyCmd struct {
	stdout, stderr io.Writer
	onListen       func(net.Addr) // tests: called once listening
}

// Run checks the flags, builds the proxy and serves it until ctx ends.
func (c *proxyCmd) Run(ctx context.Context, args []string) error {
	fs := newFlags("proxy", proxySynopsis, proxyExamples, c.stdout)
	upstream := fs.String("upstream", "", "base `URL` to forward to: https://sg-api.advance.ai, http://localhost:8080, ... (required)")
	addr := fs.String("addr", ":8081", "`address` to listen on")
	record := fs.String("record", "", "write the answers as scenario files into this `folder`")
	logFormat := fs.choiceFlag("log-format", "log `format`: text or json", "text", "json")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *upstream == "" {
		return usagef("--upstream is required: the base URL of the vendor's regional host or of a mock")
	}
	if _, err := contract.ParseUpstream(*upstream); err != nil { // before --record creates its folder
		return proxyError(err)
	}
	logger, lw := newLogger(logFormat.value, c.stderr)
	defer lw.Close()
	opts := contract.ProxyOptions{Upstream: *upstream, Logger: logger}
	if *record != "" {
		rec, err := newRecorder(*record, *upstream)
		if err != nil {
			return err
		}
		opts.Recorder = rec
	}
	handler, err := contract.NewProxy(opts)
	if err != nil {
		return proxyError(err)
	}
	return c.serve(ctx, handler, *addr, logger, *upstream, *record)
}

// proxyError words the proxy's usage errors with the flags.
func proxyError(err error) error {
	var usage contract.UsageError
	if errors.As(err, &usage) {
		return flagWording(usage)
	}
	return err
}

// newRecorder is the recorder of --record: it writes into dir the answers of upstream, as
// scenario files for the upstream's region when it is one of the vendor's hosts.
func newRecorder(dir, upstream string) (*recording.Recorder, error) {
	region := ""
	if u, err := url.Parse(upstream); err == nil && contract.IsVendorHost(u.Host) {
		regions, err := idvmock.LoadRegions()
		if err != nil {
			return nil, err
		}
		region = regions.ForHost(u.Host).Name
	}
	rec, err := recording.NewRecorder(dir, region, upstream)
	var dirErr *recording.DirError
	if errors.As(err, &dirErr) {
		return nil, fmt.Errorf("--record %s: %w", dirErr.Dir, dirErr.Err)
	}
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// serve listens on addr and serves the proxy until ctx ends, then lets the requests under
// way finish (10 s at most).
func (c *proxyCmd) serve(ctx context.Context, handler http.Handler, addr string, logger *slog.Logger, upstream, record string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (use --addr to pick another address)", addr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("idvmock proxy serving", slog.String("addr", ln.Addr().String()), slog.String("upstream", upstream), slog.String("record", record))
	if c.onListen != nil {
		c.onListen(ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
