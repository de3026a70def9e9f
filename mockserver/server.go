// Package mockserver is idvmock's HTTP side: it routes and validates every request against
// openapi.yaml, picks the region from the Host header, authenticates tokens, asks the
// scenarios what to answer, and wraps the answer in the vendor's envelope.
package mockserver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
)

// AuthMode says which X-ACCESS-TOKEN values the mock accepts.
type AuthMode string

// Auth modes.
const (
	AuthPresent AuthMode = "present" // any non-blank token
	AuthStrict  AuthMode = "strict"  // only unexpired tokens this process issued
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
	Auth      AuthMode         // default AuthPresent
	AccessKey string           // the accessKey the token API accepts
	SecretKey string           // the secretKey it signs with
	Scenarios *scenarios.Set   // default: the built-in set with seed 0
	Logger    *slog.Logger     // default: discard
	Now       func() time.Time // default: time.Now
	Version   string           // reported by the health endpoint; default "dev"
}

// Server is the mock. It is an http.Handler.
type Server struct {
	cfg           Config
	echo          *echo.Echo
	router        routers.Router
	regions       *idvmock.Regions
	filterOptions *openapi3filter.Options
	tokens        *tokenStore
	log           *slog.Logger
}

// New builds a Server from openapi.yaml and cfg.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	doc, err := idvmock.LoadSpec()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, tokens: newTokenStore()}
	if s.regions, err = idvmock.RegionsFromSpec(doc); err != nil {
		return nil, err
	}
	if s.router, err = pathRouter(doc); err != nil {
		return nil, err
	}
	s.filterOptions = &openapi3filter.Options{AuthenticationFunc: s.authenticate}
	s.echo = s.newEcho()
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
	if c.Scenarios == nil {
		set, err := scenarios.Builtin(0)
		if err != nil {
			return err
		}
		c.Scenarios = set
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// pathRouter routes on the path alone: the spec's servers are the vendor's hosts, but the mock
// answers for any host, so they are cleared before the router is built.
func pathRouter(doc *openapi3.T) (routers.Router, error) {
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
		for _, op := range item.Operations() {
			op.Servers = nil
		}
	}
	return gorillamux.NewRouter(doc)
}

func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.track, s.recoverPanics, s.validateRequests)
	e.GET(pathLatest, s.getLatest)
	e.POST(pathToken, s.generateToken)
	e.GET(pathHealth, s.health)
	return e
}

// Paths of the operations in openapi.yaml.
const (
	pathLatest = "/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result"
	pathToken  = "/openapi/auth/ticket/v1/generate-token"
	pathHealth = "/__admin/health"
)

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

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
	s.log.Error("answering failed", slog.String("path", c.Request().URL.Path), slog.Any("error", err))
	_ = sendError(c, http.StatusInternalServerError, scenarios.CodeError, scenarios.MessageServerError)
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

// health reports that the mock serves.
func (s *Server) health(c echo.Context) error {
	exchangeOf(c).Code = "ok"
	return c.JSON(http.StatusOK, healthBody{
		Status:    "ok",
		Version:   s.cfg.Version,
		Auth:      string(s.cfg.Auth),
		Users:     len(s.cfg.Scenarios.UserIDs()),
		Scenarios: len(s.cfg.Scenarios.ScenarioNames()),
	})
}

type healthBody struct {
	Status    string `json:"status"`
	Version   string `json:"version"`
	Auth      string `json:"auth"`
	Users     int    `json:"users"`
	Scenarios int    `json:"scenarios"`
}
