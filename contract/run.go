package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
)

// Paths of the operations the suite calls.
const (
	PathLatest = idvmock.PathLatest
	PathToken  = idvmock.PathToken
)

// The vendor's published test keys, which idvmock accepts by default.
const (
	SampleAccessKey = idvmock.SampleAccessKey
	SampleSecretKey = idvmock.SampleSecretKey
)

// maxBody bounds what the suite reads of one answer.
const maxBody = 1 << 20

// Options configure a run of the suite.
type Options struct {
	Target    string            // base URL: a mock (http://localhost:8080) or a vendor host (https://api.advance.ai)
	Regions   []string          // region names (global, sg, ...); empty: every region
	Users     map[string]string // state -> userId; nil: idvmock's demo users
	Cases     []Case            // nil: the built-in cases
	Token     string            // X-ACCESS-TOKEN for every region; "": obtained through the token API
	AccessKey string            // for the token API; "": the vendor's published test key
	SecretKey string
	Client    *http.Client                               // nil: a client with a 15 s timeout
	Progress  func(done, total int, region, name string) // called before each case, when set
	Now       func() time.Time                           // nil: time.Now
}

// Report is the outcome of a run.
type Report struct {
	Target   string        `json:"target"`
	Vendor   bool          `json:"vendor"` // regions reached through their own hosts, not the Host header
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"durationNanos"`
	Results  []CaseResult  `json:"results"`
}

// CaseResult is one case on one region.
type CaseResult struct {
	Region     string        `json:"region"`
	Host       string        `json:"host"`
	Case       string        `json:"case"`
	Operation  string        `json:"operation"`
	Method     string        `json:"method,omitempty"`
	URL        string        `json:"url,omitempty"`
	Status     int           `json:"status,omitempty"`
	Code       string        `json:"code,omitempty"`
	Duration   time.Duration `json:"durationNanos"`
	Skipped    string        `json:"skipped,omitempty"` // why the case did not run
	Error      string        `json:"error,omitempty"`   // the request could not be made or answered
	Violations []Violation   `json:"violations,omitempty"`
}

// Passed reports whether the case ran and broke no rule.
func (r CaseResult) Passed() bool { return r.Skipped == "" && r.Error == "" && len(r.Violations) == 0 }

// Counts are a report's totals.
type Counts struct{ Cases, Passed, Failed, Errors, Skipped int }

// Counts totals the results.
func (r *Report) Counts() Counts {
	var c Counts
	for _, res := range r.Results {
		c.Cases++
		switch {
		case res.Skipped != "":
			c.Skipped++
		case res.Error != "":
			c.Errors++
		case len(res.Violations) > 0:
			c.Failed++
		default:
			c.Passed++
		}
	}
	return c
}

// ExitCode is 0 when every case that ran passed, 1 when a case broke a rule, 2 when a request
// could not be made or answered.
func (r *Report) ExitCode() int {
	c := r.Counts()
	switch {
	case c.Errors > 0:
		return 2
	case c.Failed > 0:
		return 1
	}
	return 0
}

// UsageError is an error in the options, found before any request: Field names the field at
// fault (Target, Regions or Token of Options; Upstream of ProxyOptions), Value the value at
// fault ("" when it is missing) and Err what is wrong with it, so that the message reads
// `Target "localhost:8080": give a base URL such as ...`. A command line words it with its
// own flags from Field and Value.
type UsageError struct {
	Field string
	Value string
	Err   error
}

func (e UsageError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("%s %q: %v", e.Field, e.Value, e.Err)
}

func (e UsageError) Unwrap() error { return e.Err }

// UnreachableError is a target no connection could be made to (refused, no such host, timed
// out): nothing answers there, so the run stops instead of reporting every case as an error.
type UnreachableError struct {
	Target string // the base URL, or a region's host
	Vendor bool   // the target is one of the vendor's hosts
	Err    error  // why the connection failed
}

func (e *UnreachableError) Error() string {
	if e.Vendor {
		return fmt.Sprintf("cannot connect to %s (%v): check the network and proxy settings, or leave that region out of Regions", e.Target, e.Err)
	}
	return fmt.Sprintf("cannot connect to %s (%v): is the mock running there? Start it with idvmock serve, or correct Target", e.Target, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// connectFailed reports whether err is a failure to connect at all, as opposed to a
// connection that broke or a protocol error.
func connectFailed(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial")
}

// IsVendorHost reports whether host is one of ADVANCE.AI's API hosts.
func IsVendorHost(host string) bool {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return h == "api.advance.ai" || strings.HasSuffix(h, "-api.advance.ai")
}

type runner struct {
	opts    Options
	checker *Checker
	base    *url.URL
	vendor  bool
	now     func() time.Time
	reached map[string]bool // hosts that answered once: a later failure there is a case's error
}

// Run runs the cases on every region asked for. Its error is a UsageError (bad options), an
// *UnreachableError (no connection could be made to a target that never answered: the run
// stops there), or the context's; what the target answers, failures of a target that
// answered before included, is in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	base, err := url.Parse(strings.TrimRight(opts.Target, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, UsageError{Field: "Target", Value: opts.Target, Err: errors.New("give a base URL such as http://localhost:8080 or https://sg-api.advance.ai")}
	}
	regions, err := idvmock.LoadRegions()
	if err != nil {
		return nil, err
	}
	names := opts.Regions
	if len(names) == 0 {
		names = regions.Names()
	}
	var rs []idvmock.Region
	for _, n := range names {
		r, ok := regions.ByName(n)
		if !ok {
			return nil, UsageError{Field: "Regions", Value: n, Err: fmt.Errorf("not a region: use one of %s, or none for every region", strings.Join(regions.Names(), ", "))}
		}
		rs = append(rs, r)
	}
	checker, err := NewChecker()
	if err != nil {
		return nil, err
	}
	ru := &runner{opts: opts, checker: checker, base: base, vendor: IsVendorHost(base.Host), now: opts.Now, reached: map[string]bool{}}
	if ru.now == nil {
		ru.now = time.Now
	}
	if ru.opts.Client == nil {
		ru.opts.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if ru.opts.Cases == nil {
		ru.opts.Cases = BuiltinCases()
	}
	if ru.opts.Users == nil {
		ru.opts.Users = BuiltinUsers()
	}
	if ru.opts.Token == "" && ru.opts.AccessKey == "" {
		if ru.vendor {
			return nil, UsageError{Field: "Token", Err: errors.New("against the vendor, give a Token, or an AccessKey and a SecretKey to obtain one")}
		}
		ru.opts.AccessKey, ru.opts.SecretKey = SampleAccessKey, SampleSecretKey
	}

	report := &Report{Target: opts.Target, Vendor: ru.vendor, Started: ru.now()}
	total, done := len(rs)*len(ru.opts.Cases), 0
	for _, region := range rs {
		target, host := ru.regionTarget(region)
		token, tokenErr := ru.token(ctx, target, host)
		var unreachable *UnreachableError
		if errors.As(tokenErr, &unreachable) {
			return report, unreachable
		}
		for _, c := range ru.opts.Cases {
			if err := ctx.Err(); err != nil {
				return report, err
			}
			if opts.Progress != nil {
				opts.Progress(done, total, region.Name, c.Name)
			}
			done++
			res := CaseResult{Region: region.Name, Host: host, Case: c.Name, Operation: c.operation()}
			if res.Host == "" {
				res.Host = target.Host
			}
			switch {
			case c.User != "" && ru.opts.Users[c.User] == "":
				res.Skipped = fmt.Sprintf("the users file maps no userId to %q", c.User)
			case c.operation() == OpToken && ru.opts.SecretKey == "":
				res.Skipped = "the token API needs the access and secret keys (IDVMOCK_ACCESS_KEY, IDVMOCK_SECRET_KEY)"
			case c.operation() == OpGetLatest && c.Token != TokenNone && tokenErr != nil:
				res.Error = tokenErr.Error()
			default:
				if err := ru.runCase(ctx, &res, c, target, host, token); errors.As(err, &unreachable) {
					return report, unreachable
				}
			}
			report.Results = append(report.Results, res)
		}
	}
	report.Duration = ru.now().Sub(report.Started)
	return report, nil
}

func (c Case) operation() string {
	if c.Operation == "" {
		return OpGetLatest
	}
	return c.Operation
}

// regionTarget is where a region's requests go: the vendor's regional host, or the mock's
// base URL with the regional host in the Host header.
func (ru *runner) regionTarget(r idvmock.Region) (target *url.URL, hostHeader string) {
	u := *ru.base
	if ru.vendor {
		u.Host = r.Host
		if port := ru.base.Port(); port != "" {
			u.Host = net.JoinHostPort(r.Host, port) // a mock on the vendor's hostnames, off port 443
		}
		return &u, ""
	}
	return &u, r.Label + ".advance.ai"
}

// token is the X-ACCESS-TOKEN of a region: the one given, or one from its token API.
func (ru *runner) token(ctx context.Context, target *url.URL, host string) (string, error) {
	if ru.opts.Token != "" {
		return ru.opts.Token, nil
	}
	body := ru.tokenBody(ru.opts.SecretKey)
	status, _, raw, err := ru.do(ctx, http.MethodPost, target.String()+PathToken, host, "", body)
	if err != nil {
		return "", fmt.Errorf("no token: the token API could not be reached: %w", err)
	}
	var env struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return "", fmt.Errorf("no token: the token API answered HTTP %d with a body that is not JSON: %s", status, clip(string(raw), 80))
	}
	if env.Data.Token == "" {
		return "", fmt.Errorf("no token: the token API answered HTTP %d %s %q: check the access and secret keys", status, env.Code, env.Message)
	}
	return env.Data.Token, nil
}

func (ru *runner) tokenBody(secret string) []byte {
	ts := strconv.FormatInt(ru.now().UnixMilli(), 10)
	b, _ := json.Marshal(map[string]string{"accessKey": ru.opts.AccessKey, "timestamp": ts, "signature": idvmock.Sign(ru.opts.AccessKey, secret, ts)})
	return b
}

// runCase runs one case into res; its error is the request's, already in res.
func (ru *runner) runCase(ctx context.Context, res *CaseResult, c Case, target *url.URL, host, token string) error {
	var method, rawURL, tok string
	var body []byte
	switch c.operation() {
	case OpToken:
		method, rawURL = http.MethodPost, target.String()+PathToken
		secret := ru.opts.SecretKey
		if c.Body == BodyWrongSignature {
			secret += "-wrong"
		}
		body = ru.tokenBody(secret)
	default:
		q := url.Values{}
		if c.User != "" {
			q.Set("userId", ru.opts.Users[c.User])
		}
		for _, k := range sortedKeys(c.Query) {
			q.Set(k, c.Query[k])
		}
		method, rawURL = http.MethodGet, target.String()+PathLatest
		if len(q) > 0 {
			rawURL += "?" + q.Encode()
		}
		switch c.Token {
		case "":
			tok = token
		case TokenNone:
		default:
			tok = c.Token
		}
	}
	res.Method, res.URL = method, rawURL
	start := ru.now()
	status, header, raw, err := ru.do(ctx, method, rawURL, host, tok, body)
	res.Duration = ru.now().Sub(start)
	if err != nil {
		res.Error = err.Error()
		return err
	}
	res.Status = status
	req, _ := http.NewRequest(method, rawURL, nil)
	res.Violations = ru.checker.Check(Exchange{Request: req, RequestBody: body, Status: status, Header: header, Body: raw})
	var env map[string]any
	if obj, err := decodeObject(raw); err == nil {
		env = obj
		res.Code, _ = env["code"].(string)
	}
	if env != nil {
		res.Violations = append(res.Violations, expectations(c, env)...)
	}
	return nil
}

// expectations compares the answer with what the case expects, pointer by pointer.
func expectations(c Case, env map[string]any) []Violation {
	ptrs := sortedKeys(c.Expect)
	if want, ok := c.Expect["/code"]; ok && jsonText(want) != jsonText(env["code"]) {
		ptrs = []string{"/code"} // another outcome: the rest of the body cannot match either
	}
	var out []Violation
	for _, p := range ptrs {
		want := jsonText(c.Expect[p])
		got, ok := resolve(env, p)
		gotText := "nothing (the field is absent)"
		if ok {
			gotText = jsonText(got)
		}
		if !ok || gotText != want {
			v := violation(RuleExpectation, p, want, gotText)
			v.Hint = fmt.Sprintf("case at %s; %s", c.source, v.Hint)
			out = append(out, v)
		}
	}
	return out
}

// resolve finds the value at a JSON pointer.
func resolve(v any, pointer string) (any, bool) {
	if pointer == "" {
		return v, true
	}
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// do sends one request and reads the answer.
func (ru *runner) do(ctx context.Context, method, rawURL, host, token string, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("Content-Type", "application/json") // as the vendor's curl examples send it, GET included
	if token != "" {
		req.Header.Set("X-ACCESS-TOKEN", token)
	}
	resp, err := ru.opts.Client.Do(req)
	if err != nil {
		if ctx.Err() == nil && !ru.reached[req.URL.Host] && connectFailed(err) {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URL is in the message already
			}
			where := ru.base.String()
			if ru.vendor {
				where = req.URL.Host
			}
			return 0, nil, nil, &UnreachableError{Target: where, Vendor: ru.vendor, Err: err}
		}
		return 0, nil, nil, err
	}
	ru.reached[req.URL.Host] = true
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil && len(raw) == 0 {
		return resp.StatusCode, resp.Header, raw, fmt.Errorf("reading the answer: %w", err)
	}
	// An answer cut short is checked as it came: its body breaks the json-body rule.
	return resp.StatusCode, resp.Header, raw, nil
}
