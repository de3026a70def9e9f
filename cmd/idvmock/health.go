package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

const healthExamples = `  idvmock health
  idvmock health --addr :9090
  idvmock health --url http://mock.internal:8080
`

type healthCmd struct{ stdout io.Writer }

func (c *healthCmd) Run(ctx context.Context, args []string) error {
	fs := newFlags("health", "Probe a running idvmock: exit 0 when GET /__admin/health answers ok, 1 otherwise.", healthExamples, c.stdout)
	addr := fs.String("addr", defaultAddr, "`address` the mock listens on (as given to serve --addr)")
	base := fs.String("url", "", "base `URL` of the mock; overrides --addr")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.parse(args); err != nil {
		return err
	}
	url := *base
	if url == "" {
		url = "http://" + localAddr(*addr)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/__admin/health", nil)
	if err != nil {
		return usagef("--url %q: %v", *base, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("no answer from %s: %w", url, err)
	}
	defer resp.Body.Close()
	var status struct {
		Status  string `json:"status"`
		Version string `json:"version"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&status); err != nil || resp.StatusCode != http.StatusOK || status.Status != "ok" {
		return fmt.Errorf("%s is not healthy: HTTP %d, status %q", url, resp.StatusCode, status.Status)
	}
	fmt.Fprintf(c.stdout, "ok %s %s\n", url, status.Version)
	return nil
}

// localAddr turns a listen address into one to dial: an empty or unspecified host is this
// machine.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
