package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
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
	// AllowWrites lets the cases that change the target's data run whatever the target:
	// Update Status, and Generate URL for users the users file does not name. Without it
	// they run only against an idvmock, which the run detects (GET /__admin/health).
	AllowWrites bool
	Client      *http.Client                               // nil: a client with a 15 s timeout
	Progress    func(done, total int, region, name string) // called before each case, when set
	Now         func() time.Time                           // nil: time.Now
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
	mock        bool // the target answered idvmock's /__admin/health: write cases run
	builtin     bool // the users are idvmock's demo users, not a users file the caller gave
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
	ru.mock = ru.detectMock(ctx)
	report := &Report{Target: opts.Target, Vendor: ru.vendor, Mock: ru.mock, Started: ru.now()}
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
		ru.opts.Users, ru.builtin = BuiltinUsers(), true
	}
	for _, c := range ru.opts.Cases {
		if problems := c.problems(); len(problems) > 0 {
			return nil, nil, UsageError{Field: "Cases", Value: c.Name, Err: errors.New(strings.Join(problems, "; "))}
		}
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
	started  map[string]string // users key -> the signatureId this region's Generate URL started
	skipped  map[string]string // users key -> why a write case on it did not run here
}

// runRegion runs every case on one region, adding their results to report. Its error stops
// the run: the context's, or an *UnreachableError.
func (ru *runner) runRegion(ctx context.Context, report *Report, region idvmock.Region) error {
	at := regionRun{region: region, started: map[string]string{}, skipped: map[string]string{}}
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
		if res.Skipped != "" && isWrite(c.operation()) && c.User != "" && at.skipped[c.User] == "" {
			at.skipped[c.User] = fmt.Sprintf("the case %q on the same user did not run: %s", c.Name, res.Skipped)
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
	case ru.writeSkip(c) != "":
		res.Skipped = ru.writeSkip(c)
	case c.User != "" && at.skipped[c.User] != "":
		res.Skipped = at.skipped[c.User] // it reads what that case would have written
	case c.operation() != OpToken && c.Token != TokenNone && at.tokenErr != nil:
		res.Error = at.tokenErr.Error()
	default:
		return res, ru.runCase(ctx, &res, c, at)
	}
	return res, nil
}

// writeSkip says why case c, which would change the target's data, may not run; "" when it
// may. Against an idvmock, or with Options.AllowWrites, every case runs. Otherwise (the
// vendor, or a target that is not an idvmock) Update Status never runs, and Generate URL only
// for a user of the caller's users file: it starts a real session.
func (ru *runner) writeSkip(c Case) string {
	if !isWrite(c.operation()) || ru.opts.AllowWrites || ru.mock {
		return ""
	}
	switch {
	case c.operation() == OpUpdateStatus && ru.vendor:
		return "Update Status changes the vendor's data: it runs against the vendor only with --allow-writes"
	case c.operation() == OpUpdateStatus:
		return "Update Status changes the target's data: it runs against an idvmock (detected through GET /__admin/health; this target did not answer as one), or with --allow-writes"
	case ru.builtin || c.User == "":
		return "Generate URL starts a real verification session: against a target that is not an idvmock it runs only for a user your users file (--users) names under " + userKeyOr(c.User, "start") + ", or with --allow-writes"
	}
	return ""
}

func userKeyOr(key, or string) string {
	if key == "" {
		return or + ":"
	}
	return key + ":"
}

// detectMock reports whether the target is an idvmock: its GET /__admin/health answers
// idvmock's JSON (status ok, version, auth, users and scenarios). The vendor's hosts are never
// asked, nor any target when no case would change data.
func (ru *runner) detectMock(ctx context.Context) bool {
	if ru.vendor || !slices.ContainsFunc(ru.opts.Cases, func(c Case) bool { return isWrite(c.operation()) }) {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ru.base.String()+"/__admin/health", nil)
	if err != nil {
		return false
	}
	resp, err := ru.opts.Client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	ru.reached[req.URL.Host] = true // it answered: a later failure to connect is a case's error
	var health map[string]json.RawMessage
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&health) != nil {
		return false
	}
	var status string
	var users, scenarios int
	return json.Unmarshal(health["status"], &status) == nil && status == "ok" && health["version"] != nil && health["auth"] != nil &&
		json.Unmarshal(health["users"], &users) == nil && json.Unmarshal(health["scenarios"], &scenarios) == nil
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
