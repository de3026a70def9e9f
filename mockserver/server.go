// Package mockserver is idvmock's HTTP side: it routes and validates every request against
// openapi.yaml, picks the region from the Host header, authenticates tokens, asks the
// scenarios what to answer, and wraps the answer in the vendor's envelope.
package mockserver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// AuthMode says which X-ACCESS-TOKEN values the mock accepts.
type AuthMode string

// Auth modes.
const (
	AuthPresent AuthMode = "present" // any non-blank token
	AuthStrict  AuthMode = "strict"  // only unexpired tokens the token API issued
)

// ParseAuthMode checks a --auth value.
func ParseAuthMode(s string) (AuthMode, error) {
	switch m := AuthMode(s); m {
	case AuthPresent, AuthStrict:
		return m, nil
	}
	return "", fmt.Errorf("auth mode %q: use present or strict", s)
}

// Config configures a Server. Zero values take the defaults noted.
type Config struct {
	Auth       AuthMode                                              // default AuthPresent
	AccessKey  string                                                // the accessKey the token API accepts
	SecretKey  string                                                // the secretKey it signs with
	Engine     *engine.Engine                                        // answers; required
	ParseUser  func(id string, data []byte) (*scenarios.File, error) // reads PUT /__admin/users bodies; required (files.ParseUser)
	AdminToken string                                                // when set, /__admin/ needs Authorization: Bearer <token>
	// AdminAnyHost, with no AdminToken, lets browsers reach the admin API by any host name.
	// Without it a browser's admin call (one with Origin or Sec-Fetch-Site) is taken only
	// for localhost names and loopback addresses, so that a site that points its own name at
	// 127.0.0.1 (DNS rebinding) cannot read the journal or drive the mock through a
	// developer's browser. Scripts and curl are not concerned.
	AdminAnyHost bool
	JournalSize  int // requests the journal keeps; default 1000
	// SharedJournal, when set, is where the journal is kept, shared by every replica (see
	// SharedJournal); JournalSize is then its implementation's to keep.
	SharedJournal SharedJournal
	PublicURL     string                     // base of the H5 URLs; default http://<Host of the request>
	Callbacks     CallbackPolicy             // how completed sessions are reported to callbackUrl, and the bounds webhooks share
	Webhook       Webhook                    // the account's signed webhook, for sessions without callbackUrl; none when its URL is empty
	Logger        *slog.Logger               // default: discard
	Version       string                     // reported by the health endpoint; default "dev"
	Reload        func() engine.ReloadStatus // how the last reload of the scenario files went; nil: no reloading
	Timeouts      Timeouts                   // against slow and idle clients; zero fields: the defaults
	// DashboardViewers bounds the live journal streams open at once (the dashboard's pages);
	// default DefaultDashboardViewers.
	DashboardViewers int
}

// Timeouts bound how long a client may hold a connection without sending: a request's
// headers (default 10 s), its body (default 30 s) and the wait for the next request on a
// kept-alive connection (default 2 min).
type Timeouts struct {
	ReadHeader time.Duration
	Body       time.Duration
	Idle       time.Duration
}

// Defaults of Timeouts and Config.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
)

func (t *Timeouts) setDefaults() {
	if t.ReadHeader <= 0 {
		t.ReadHeader = DefaultReadHeaderTimeout
	}
	if t.Body <= 0 {
		t.Body = DefaultBodyTimeout
	}
	if t.Idle <= 0 {
		t.Idle = DefaultIdleTimeout
	}
}

// DefaultJournalSize is how many requests the journal keeps unless told otherwise.
const DefaultJournalSize = 1000

// Server is the mock. It is an http.Handler.
type Server struct {
	cfg              Config
	echo             *echo.Echo
	chain            echo.HandlerFunc // every request's: track, recoverPanics, dispatch
	router           routers.Router
	routesMu         sync.RWMutex
	routes           map[routeKey]routeHit // findRoute's cache
	valid            validRequests         // requests found valid, but for their token
	bodyLimits       map[string]int64      // by operationId, where openapi.yaml raises maxBodyBytes
	regions          *idvmock.Regions
	filterOptions    *openapi3filter.Options
	adminOptions     *openapi3filter.Options
	timeouts         Timeouts
	handlers         map[string]echo.HandlerFunc // by operationId
	journal          *journal
	metrics          *metrics
	deliveries       *deliveries
	callbackSchedule *schedule // of the plain callbacks
	webhookSchedule  *schedule // of the webhook, when there is one
	log              *slog.Logger
	traffic          *traffic      // the dashboard's chart
	viewers          chan struct{} // a slot for each live journal stream
	csrf             http.CrossOriginProtection
	started          time.Time
	stop             chan struct{} // closed when the server shuts down: hanging faults let go
	stopOnce         sync.Once
}

// New builds a Server from openapi.yaml and cfg. It gives cfg.Engine the token API's keys and
// mode.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	spec, err := specTables()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, timeouts: cfg.Timeouts, journal: newJournal(cfg.JournalSize), stop: make(chan struct{})}
	if cfg.SharedJournal != nil {
		s.journal.shared = newSharedWriter(cfg.SharedJournal, cfg.JournalSize, cfg.Logger)
	}
	cfg.Engine.SetAuth(engine.Auth{AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Strict: cfg.Auth == AuthStrict})
	s.handlers = s.handlerTable()
	s.regions, s.bodyLimits, s.router = spec.regions, spec.bodyLimits, spec.router
	s.metrics = newMetrics(spec.labels, s.journal, cfg.Version)
	s.started = time.Now()
	s.traffic = newTraffic(s.started, s.metrics.trafficTotals())
	s.viewers = make(chan struct{}, cfg.DashboardViewers)
	s.routes = map[routeKey]routeHit{}
	s.filterOptions = &openapi3filter.Options{AuthenticationFunc: s.authenticate}
	// Admin bodies are scenario declarations: the scenario linter checks them and says where
	// a problem is, better than a schema error would.
	s.adminOptions = &openapi3filter.Options{AuthenticationFunc: s.authenticate, ExcludeRequestBody: true}
	s.deliveries = newDeliveries(cfg.Callbacks, s.journal, s.metrics, s.log, s.stop)
	s.callbackSchedule = callbackSchedule(cfg.Callbacks)
	if cfg.Webhook.URL != "" {
		s.webhookSchedule = cfg.Webhook.schedule()
	}
	s.echo = s.newEcho()
	go s.sampleTraffic()
	return s, nil
}

func (c *Config) setDefaults() error {
	if c.Auth == "" {
		c.Auth = AuthPresent
	}
	if _, err := ParseAuthMode(string(c.Auth)); err != nil {
		return err
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return errors.New("the access key and the secret key must not be empty")
	}
	if c.Engine == nil || c.ParseUser == nil {
		return errors.New("Config.Engine and Config.ParseUser are required: the engine answers, ParseUser reads the admin API's declarations (scenarios/files.ParseUser)")
	}
	if c.JournalSize <= 0 {
		c.JournalSize = DefaultJournalSize
	}
	if c.DashboardViewers <= 0 {
		c.DashboardViewers = DefaultDashboardViewers
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	c.Timeouts.setDefaults()
	c.Callbacks.setDefaults()
	if err := c.Webhook.check(); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}

// fromSpec is what a Server derives from openapi.yaml alone. It is built once per process
// (specTables) and shared, read-only, by every Server of the process: idvmocktest starts one
// per test.
type fromSpec struct {
	doc        *openapi3.T      // idvmock.Spec, which nobody changes
	router     routers.Router   // pathRouter's; gorillamux's router is only read once built
	bodyLimits map[string]int64 // by operationId, where openapi.yaml raises maxBodyBytes
	regions    *idvmock.Regions
	labels     *metricLabels // the bounded values of the metrics' labels
}

// Prepare builds now what every Server of the process shares (openapi.yaml's document, its
// router, the metrics' runtime collectors), which New builds otherwise: serve calls it in the
// background at start, so that this work overlaps the loading of the scenario files. Its
// errors are New's to report.
func Prepare() {
	_, _ = specTables()
	runtimeCollectors()
}

// specTables builds fromSpec on the first call and returns the same on every other. It
// checks once that every operation has its handler: the handler table is the same code for
// every server.
var specTables = sync.OnceValues(func() (*fromSpec, error) {
	doc, err := idvmock.Spec()
	if err != nil {
		return nil, err
	}
	if err := checkHandlers(doc, (&Server{}).handlerTable()); err != nil {
		return nil, err
	}
	t := &fromSpec{doc: doc}
	if t.regions, err = idvmock.RegionsFromSpec(doc); err != nil {
		return nil, err
	}
	t.labels = newMetricLabels(doc, t.regions)
	if t.bodyLimits, err = bodyLimits(doc); err != nil {
		return nil, err
	}
	if t.router, err = pathRouter(doc); err != nil {
		return nil, err
	}
	return t, nil
})

// pathRouter routes on the path alone: the spec's servers are the vendor's hosts, but the mock
// answers for any host, so the router is built on a copy of doc without servers, at the top,
// on its paths and on its operations. doc itself is not changed: what the copies do not
// replace (schemas, parameters, components) they share with it.
func pathRouter(doc *openapi3.T) (routers.Router, error) {
	bare := *doc
	bare.Servers = nil
	bare.Paths = openapi3.NewPaths()
	bare.Paths.Extensions = doc.Paths.Extensions
	for _, path := range doc.Paths.InMatchingOrder() {
		item := *doc.Paths.Value(path)
		item.Servers = nil
		item.AdditionalOperations = maps.Clone(item.AdditionalOperations)
		for method, op := range item.Operations() {
			if op.Servers != nil {
				o := *op
				o.Servers = nil
				item.SetOperation(method, &o)
			}
		}
		bare.Paths.Set(path, &item)
	}
	return gorillamux.NewRouter(&bare)
}

func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	// echo's router is never asked: openapi.yaml's router decides the operation (dispatch),
	// whatever the method, known to echo or not. The chain is made once (echo's ServeHTTP
	// would apply its middleware to every request, a closure each).
	s.chain = s.track(s.recoverPanics(s.dispatch))
	return e
}

// Paths of idvmock's own pages and API (the vendor's are idvmock.Path*).
const (
	h5Prefix    = "/h5/"
	adminPrefix = "/__admin"
	pathHealth  = adminPrefix + "/health"
)

// Close stops what the server runs in the background: callbacks and webhooks waiting to be
// retried and hanging faults. Serve calls it when it shuts down.
func (s *Server) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	s.deliveries.wait()
	if s.journal.shared != nil {
		s.journal.shared.close()
	}
}

// ServeHTTP answers one request: track, recoverPanics and dispatch, on one of echo's
// pooled contexts.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := s.echo.AcquireContext()
	c.Reset(r, w)
	if err := s.chain(c); err != nil {
		s.handleError(err, c)
	}
	s.echo.ReleaseContext(c)
}

// handleError renders any error that reaches echo as the vendor's envelope, never echo's
// default body. Validation has answered bad input already, so what arrives here is an
// HTTP-level error (an *echo.HTTPError) or a fault of the mock itself.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code < http.StatusInternalServerError {
		_ = sendClientError(c, he.Code, "")
		return
	}
	if errors.Is(err, engine.ErrStore) {
		s.storeUnavailable(c, err)
		return
	}
	s.log.Error("answering failed", slog.String("path", c.Request().URL.Path), slog.Any("error", err))
	_ = sendError(c, http.StatusInternalServerError, idvmock.CodeError, idvmock.MessageServerError)
}

// storeUnavailable answers a request the state store could not serve: HTTP 503 with
// Retry-After, naming the store, never a business answer. A load balancer sees the same in
// /__admin/health; the mock answers again by itself once the store is back.
func (s *Server) storeUnavailable(c echo.Context, err error) {
	name := s.cfg.Engine.StoreName()
	s.log.Warn("the state store failed", slog.String("store", name), slog.String("path", c.Request().URL.Path), slog.Any("error", err))
	c.Response().Header().Set("Retry-After", "1")
	if exchangeOf(c).Admin {
		_ = sendAdminError(c, http.StatusServiceUnavailable, fmt.Sprintf("the state store %s did not answer: %v", name, err),
			"nothing changed; retry once the store is back (GET /__admin/health says when)")
		return
	}
	_ = sendError(c, http.StatusServiceUnavailable, idvmock.CodeError, fmt.Sprintf(
		"%s: idvmock's state store %s did not answer; retry in a moment", idvmock.MessageServerError, name))
}

// recoverPanics turns a panic in a handler into an ERROR envelope instead of a dropped
// connection.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}
