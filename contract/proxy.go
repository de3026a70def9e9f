package contract

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// UncheckedHeader is set on a proxied answer that was too large to check; it says why.
const UncheckedHeader = "X-Contract-Unchecked"

// maxProxiedBody bounds what the proxy reads of one answer to check it. An answer of the
// vendor's API is a few KiB, a few MiB when its images come as base64 (Get Result with
// returnImageType BASE64: four face images of a few hundred KiB each); 16 MiB leaves room
// for several times that. Checking an answer holds it twice (the bytes, passed on
// unchanged, and their decoded form), so one answer at the cap costs about 32 MiB.
const maxProxiedBody = 16 << 20

// maxProxiedValues bounds the JSON values of an answer the proxy decodes to check it. Decoded
// and checked, a value costs about a hundred bytes, so that an answer of small values (a long
// array of zeros) would cost several times its size; a Get Result answer has a few dozen.
const maxProxiedValues = 10_000

// Recorder records the answers a proxy checked; package scenarios/recording's Recorder writes
// them as scenario files a mock replays. The proxy calls Record for each answer of the
// vendor's API whose body is one JSON object, from the handler of the request (concurrently):
// op is the operation's id (OpGetLatest, ...), query the request's query, status the answer's
// HTTP status and envelope its body decoded, numbers as json.Number, which Record must not
// change. file is the file written ("" when the answer was not recorded); err says why an
// answer was not recorded or, with a file, what the recording left out; the proxy logs both.
type Recorder interface {
	Record(op string, query url.Values, status int, envelope map[string]any) (file string, err error)
}

// ProxyOptions configure a validating proxy.
type ProxyOptions struct {
	Upstream  string            // base URL answers come from: https://sg-api.advance.ai, or a mock
	Checker   *Checker          // nil: NewChecker()
	Recorder  Recorder          // nil: nothing is recorded
	Logger    *slog.Logger      // nil: slog.Default()
	Transport http.RoundTripper // nil: http.DefaultTransport
}

// NewProxy returns a reverse proxy to the upstream that checks every exchange of the
// vendor's API, marks the answers that break the contract with X-Contract-Violations, logs
// each violation and, with a Recorder, has the answers recorded (as scenario files, with
// package scenarios/recording). Answers pass through unchanged otherwise. A bad Upstream is a
// UsageError.
//
// An answer over 16 MiB (maxProxiedBody), or with over 10,000 JSON values
// (maxProxiedValues), is passed on unchecked and unrecorded, as it comes, with an
// X-Contract-Unchecked header saying why (e.g. "the answer is over 16777216 bytes; it was
// not checked") and a warning in the log. An answer up to the cap is read whole (exactly
// Content-Length bytes when the upstream sends one), decoded once, and checked and recorded
// from that one decoded form, so the proxy's memory grows by about twice the answer's size
// while it handles it.
func NewProxy(opts ProxyOptions) (http.Handler, error) {
	up, err := ParseUpstream(opts.Upstream)
	if err != nil {
		return nil, err
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

// ParseUpstream reads ProxyOptions.Upstream: an http or https base URL. A wrong one is a
// UsageError.
func ParseUpstream(upstream string) (*url.URL, error) {
	up, err := url.Parse(strings.TrimRight(upstream, "/"))
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return nil, UsageError{Field: "Upstream", Value: upstream, Err: errors.New("give a base URL such as https://sg-api.advance.ai")}
	}
	return up, nil
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
	tooLarge := fmt.Sprintf("the answer is over %d bytes; it was not checked", maxProxiedBody)
	if resp.ContentLength > maxProxiedBody {
		p.unchecked(resp, tooLarge)
		return nil
	}
	body, over, err := readAnswer(resp.Body, resp.ContentLength)
	if over != nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(over, resp.Body), resp.Body}
		p.unchecked(resp, tooLarge)
		return nil
	}
	if err != nil && len(body) == 0 {
		return err
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	if tooManyValues(body, maxProxiedValues) {
		p.unchecked(resp, fmt.Sprintf("the answer has over %d JSON values; it was not checked", maxProxiedValues))
		return nil
	}

	ex := Exchange{Request: resp.Request, Status: resp.StatusCode, Header: resp.Header, Body: body}
	t, decodeErr := parseObject(body) // once, for the checker and the recorder
	vs, env := p.opts.Checker.checkDecoded(ex, t, decodeErr, p.opts.Recorder != nil)
	if len(vs) > 0 {
		resp.Header.Set(ViolationsHeader, strings.Join(RuleIDs(vs), ", "))
	}
	for _, v := range vs {
		p.opts.Logger.Warn("contract violation", slog.String("rule", v.Rule), slog.String("where", whereOf(v)),
			slog.String("expected", v.Expected), slog.String("got", v.Got), slog.String("hint", v.Hint),
			slog.String("method", resp.Request.Method), slog.String("path", resp.Request.URL.Path),
			slog.String("query", resp.Request.URL.RawQuery), slog.Int("status", resp.StatusCode))
	}
	if p.opts.Recorder != nil && decodeErr == nil {
		file, err := p.opts.Recorder.Record(op, resp.Request.URL.Query(), resp.StatusCode, env)
		switch {
		case file != "" && err != nil:
			p.opts.Logger.Warn("recorded", slog.String("file", file), slog.String("note", err.Error()))
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

// unchecked marks and logs an answer too large to check, passed on as it comes.
func (p *proxy) unchecked(resp *http.Response, why string) {
	resp.Header.Set(UncheckedHeader, why)
	p.opts.Logger.Warn("answer too large to check; passed on unchecked and not recorded", slog.String("why", why),
		slog.String("method", resp.Request.Method), slog.String("path", resp.Request.URL.Path),
		slog.Int64("contentLength", resp.ContentLength))
}

// tooManyValues tells whether a JSON text has more than limit values, counting the commas
// and opening brackets outside strings, without decoding it.
func tooManyValues(body []byte, limit int) bool {
	n := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"': // skip the string
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
				}
			}
		case ',', '[', '{':
			if n++; n > limit {
				return true
			}
		}
	}
	return false
}

// readAnswer reads an answer of length bytes (-1: unknown) up to maxProxiedBody, each byte
// once into the buffer it stays in, as far as it can: exactly length bytes into one buffer
// when the length is known (io.ReadAll would grow its buffer by copying, leaving up to twice
// the answer behind). When it is not (a chunked answer, or one the transport decompressed),
// the first 2 MiB are read in blocks of growing size, joined at the end; an answer that goes
// on is read into one buffer of the cap, so that a large answer costs the cap once, not its
// blocks and their copy. When the answer is longer than the cap, over gives back what was
// read, to be passed on before the rest.
func readAnswer(r io.Reader, length int64) (body []byte, over io.Reader, err error) {
	if length >= 0 {
		body = make([]byte, length)
		n, err := io.ReadFull(r, body)
		return body[:n], nil, err
	}
	var blocks [][]byte
	total := 0
	for size := 16 << 10; total < 1<<20; size *= 2 {
		block := make([]byte, size)
		n, err := io.ReadFull(r, block)
		blocks = append(blocks, block[:n])
		total += n
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return join(blocks, total), nil, nil
		}
		if err != nil {
			return join(blocks, total), nil, err
		}
	}
	buf := make([]byte, maxProxiedBody+1)
	n := 0
	for _, b := range blocks {
		n += copy(buf[n:], b)
	}
	m, err := io.ReadFull(r, buf[n:])
	n += m
	switch err {
	case nil: // the buffer is full: over the cap
		return nil, bytes.NewReader(buf), nil
	case io.EOF, io.ErrUnexpectedEOF:
		err = nil
	}
	return buf[:n], nil, err
}

// join puts blocks of total bytes together.
func join(blocks [][]byte, total int) []byte {
	if len(blocks) == 1 {
		return blocks[0]
	}
	body := make([]byte, 0, total)
	for _, b := range blocks {
		body = append(body, b...)
	}
	return body
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
