package contract

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
)

// Paths of the operations the suite calls.
const (
	PathLatest          = idvmock.PathLatest
	PathToken           = idvmock.PathToken
	PathGetResult       = idvmock.PathGetResult
	PathGetProfile      = idvmock.PathGetProfile
	PathGetProfileCamel = idvmock.PathGetProfileCamel
	PathUpdateStatus    = idvmock.PathUpdateStatus
	PathGenerateURL     = idvmock.PathGenerateURL
)

// The vendor's published test keys, which idvmock accepts by default.
const (
	SampleAccessKey = idvmock.SampleAccessKey
	SampleSecretKey = idvmock.SampleSecretKey
)

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

// IsVendorHost reports whether host is one of ADVANCE.AI's API hosts.
func IsVendorHost(host string) bool {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return h == "api.advance.ai" || strings.HasSuffix(h, "-api.advance.ai")
}

// runner is one run of the suite: the options, their defaults filled in, and what the run
// has learnt so far.
type runner struct {
	opts        Options
	checker     *Checker
	base        *url.URL
	vendor      bool
	now         func() time.Time
	reached     map[string]bool // hosts that answered once: a later failure there is a case's error
	done, total int             // cases started so far, and in all, for Options.Progress
}

// Run runs the cases on every region asked for. Its error is a UsageError (bad options), an
// *UnreachableError (no connection could be made to a target that never answered: the run
// stops there), or the context's; what the target answers, failures of a target that
// answered before included, is in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	ru, regions, err := newRunner(opts)
	if err != nil {
		return nil, err
	}
	report := &Report{Target: opts.Target, Vendor: ru.vendor, Started: ru.now()}
	ru.total = len(regions) * len(ru.opts.Cases)
	for _, region := range regions {
		if err := ru.runRegion(ctx, report, region); err != nil {
			return report, err
		}
	}
	report.Duration = ru.now().Sub(report.Started)
	return report, nil
}

// newRunner checks the options and fills in their defaults. It returns the runner and the
// regions to run on, in order; its error is a UsageError, or the failure to read the
// regions or openapi.yaml.
func newRunner(opts Options) (*runner, []idvmock.Region, error) {
	base, err := url.Parse(strings.TrimRight(opts.Target, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, nil, UsageError{Field: "Target", Value: opts.Target, Err: errors.New("give a base URL such as http://localhost:8080 or https://sg-api.advance.ai")}
	}
	regions, err := selectRegions(opts.Regions)
	if err != nil {
		return nil, nil, err
	}
	checker, err := NewChecker()
	if err != nil {
		return nil, nil, err
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
			return nil, nil, UsageError{Field: "Token", Err: errors.New("against the vendor, give a Token, or an AccessKey and a SecretKey to obtain one")}
		}
		ru.opts.AccessKey, ru.opts.SecretKey = SampleAccessKey, SampleSecretKey
	}
	return ru, regions, nil
}

// selectRegions looks up the regions named, in their order; none named is every region.
func selectRegions(names []string) ([]idvmock.Region, error) {
	regions, err := idvmock.LoadRegions()
	if err != nil {
		return nil, err
	}
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
	return rs, nil
}

// regionRun is a region as its cases run on it: where the requests go, with which Host
// header, and the region's token or why there is none.
type regionRun struct {
	region   idvmock.Region
	target   *url.URL
	host     string // the Host header; "" when target is the region's own host
	token    string
	tokenErr error
}

// runRegion runs every case on one region, adding their results to report. Its error stops
// the run: the context's, or an *UnreachableError.
func (ru *runner) runRegion(ctx context.Context, report *Report, region idvmock.Region) error {
	at := regionRun{region: region}
	at.target, at.host = ru.regionTarget(region)
	at.token, at.tokenErr = ru.token(ctx, at.target, at.host)
	var unreachable *UnreachableError
	if errors.As(at.tokenErr, &unreachable) {
		return unreachable
	}
	for _, c := range ru.opts.Cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ru.opts.Progress != nil {
			ru.opts.Progress(ru.done, ru.total, region.Name, c.Name)
		}
		ru.done++
		res, err := ru.runCaseOn(ctx, c, at)
		if errors.As(err, &unreachable) {
			return unreachable
		}
		report.Results = append(report.Results, res)
	}
	return nil
}

// runCaseOn runs case c on a region, or says in the result why it cannot run there (no
// userId for its state, no secret key, no token). Its error is the request's, already in
// the result.
func (ru *runner) runCaseOn(ctx context.Context, c Case, at regionRun) (CaseResult, error) {
	res := CaseResult{Region: at.region.Name, Host: at.host, Case: c.Name, Operation: c.operation()}
	if res.Host == "" {
		res.Host = at.target.Host
	}
	switch {
	case c.User != "" && ru.opts.Users[c.User] == "":
		res.Skipped = fmt.Sprintf("the users file maps no userId to %q", c.User)
	case c.operation() == OpToken && ru.opts.SecretKey == "":
		res.Skipped = "the token API needs the access and secret keys (IDVMOCK_ACCESS_KEY, IDVMOCK_SECRET_KEY)"
	case c.operation() == OpGetLatest && c.Token != TokenNone && at.tokenErr != nil:
		res.Error = at.tokenErr.Error()
	default:
		return res, ru.runCase(ctx, &res, c, at.target, at.host, at.token)
	}
	return res, nil
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
