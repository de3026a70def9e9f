package contract

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
)

// ViolationsHeader lists, on a proxied answer, the ids of the rules it breaks.
const ViolationsHeader = "X-Contract-Violations"

// maxProxiedBody bounds what the proxy reads of one answer to check it (images may come as
// base64); a longer answer is passed on unchecked.
const maxProxiedBody = 32 << 20

// ProxyOptions configure a validating proxy.
type ProxyOptions struct {
	Upstream  string            // base URL answers come from: https://sg-api.advance.ai, or a mock
	Checker   *Checker          // nil: NewChecker()
	Recorder  *Recorder         // nil: nothing is recorded
	Logger    *slog.Logger      // nil: slog.Default()
	Transport http.RoundTripper // nil: http.DefaultTransport
}

// NewProxy returns a reverse proxy to the upstream that checks every exchange of the
// vendor's API, marks the answers that break the contract with X-Contract-Violations, logs
// each violation and, with a Recorder, records the answers as scenario files. Answers pass
// through unchanged otherwise.
func NewProxy(opts ProxyOptions) (http.Handler, error) {
	up, err := url.Parse(strings.TrimRight(opts.Upstream, "/"))
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return nil, UsageError{fmt.Errorf("--upstream %q: give a base URL such as https://sg-api.advance.ai", opts.Upstream)}
	}
	if opts.Checker == nil {
		if opts.Checker, err = NewChecker(); err != nil {
			return nil, err
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &proxy{opts: opts, upstream: up}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.SetXForwarded()
			// Answers are read to be checked: let the transport ask for and undo compression.
			pr.Out.Header.Del("Accept-Encoding")
		},
		Transport:      opts.Transport,
		ModifyResponse: p.check,
		ErrorHandler:   p.upstreamFailed,
	}, nil
}

type proxy struct {
	opts     ProxyOptions
	upstream *url.URL
}

func (p *proxy) check(resp *http.Response) error {
	op := p.opts.Checker.Operation(resp.Request)
	if op == "" {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProxiedBody+1))
	if err != nil && len(body) == 0 {
		return err
	}
	if len(body) > maxProxiedBody {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		p.opts.Logger.Warn("answer too large to check; passed on unchecked", slog.String("path", resp.Request.URL.Path), slog.Int("limitBytes", maxProxiedBody))
		return nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))

	ex := Exchange{Request: resp.Request, Status: resp.StatusCode, Header: resp.Header, Body: body}
	vs := p.opts.Checker.Check(ex)
	if len(vs) > 0 {
		resp.Header.Set(ViolationsHeader, strings.Join(RuleIDs(vs), ", "))
	}
	for _, v := range vs {
		p.opts.Logger.Warn("contract violation", slog.String("rule", v.Rule), slog.String("where", whereOf(v)),
			slog.String("expected", v.Expected), slog.String("got", v.Got), slog.String("hint", v.Hint),
			slog.String("method", resp.Request.Method), slog.String("path", resp.Request.URL.Path),
			slog.String("query", resp.Request.URL.RawQuery), slog.Int("status", resp.StatusCode))
	}
	if p.opts.Recorder != nil {
		file, err := p.opts.Recorder.Record(op, ex)
		switch {
		case err != nil:
			p.opts.Logger.Warn("not recorded", slog.String("error", err.Error()))
		case file != "":
			p.opts.Logger.Info("recorded", slog.String("file", file))
		}
	}
	p.opts.Logger.Info("proxied", slog.String("method", resp.Request.Method), slog.String("path", resp.Request.URL.Path),
		slog.Int("status", resp.StatusCode), slog.Int("violations", len(vs)))
	return nil
}

func whereOf(v Violation) string {
	if v.Pointer != "" {
		return "body " + v.Pointer
	}
	return v.Where
}

// upstreamFailed answers in the vendor's envelope when the upstream gave no answer, so that
// the app sees an error it can parse; the status (502) says the proxy could not get one.
func (p *proxy) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	p.opts.Logger.Error("no answer from the upstream", slog.String("upstream", p.upstream.String()), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	body, _ := json.Marshal(map[string]any{
		"code":          "ERROR",
		"message":       fmt.Sprintf("idvmock proxy: no answer from the upstream %s: %v", p.upstream.Host, err),
		"data":          nil,
		"extra":         nil,
		"transactionId": hex.EncodeToString(id),
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write(body)
}
