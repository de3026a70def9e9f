package mockserver

import (
	"errors"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
)

// handlerTable is the mock's answers by operationId of openapi.yaml. The spec's router
// decides which operation a request is (one router: echo's is never asked, see newEcho), and
// New checks that every operation has a handler and every handler an operation.
func (s *Server) handlerTable() map[string]echo.HandlerFunc {
	return map[string]echo.HandlerFunc{
		idvmock.OpGetLatest:          s.vendor(latestRequest),
		idvmock.OpToken:              s.vendor(tokenRequest),
		idvmock.OpGenerateURL:        s.vendor(s.generateURLRequest),
		idvmock.OpGetResult:          s.vendor(getResultRequest),
		idvmock.OpGetProfile:         s.vendor(profileRequest),
		idvmock.OpGetProfileCamel:    s.vendor(profileRequest),
		idvmock.OpUpdateStatus:       s.vendor(updateStatusRequest),
		"h5Page":                     s.h5Page,
		"h5Finish":                   s.h5Finish,
		"adminHealth":                s.health,
		"adminScenarios":             s.adminScenarios,
		"adminListUsers":             s.adminUsers,
		"adminGetUser":               s.adminUser,
		"adminPutUser":               s.adminPutUser,
		"adminDeleteUser":            s.adminDeleteUser,
		"adminAdvanceUser":           s.adminAdvance,
		"adminSetUserState":          s.adminSetState,
		"adminReset":                 s.adminReset,
		"adminGetState":              s.adminGetState,
		"adminPutState":              s.adminPutState,
		"adminListRequests":          s.adminRequests,
		"adminClearRequests":         s.adminClearRequests,
		"adminCountRequests":         s.adminRequestCount,
		"adminUnmatchedRequests":     s.adminUnmatched,
		"adminCompleteSession":       s.adminComplete,
		"adminMetrics":               s.adminMetrics,
		"adminDashboard":             s.dashboardIndex,
		"adminDashboardAsset":        s.dashboardAsset,
		"adminDashboardRedirect":     s.dashboardRedirect,
		"adminDashboardRedirectBare": s.dashboardRedirect,
		"adminOverview":              s.adminOverview,
		"adminEvents":                s.adminEvents,
		"adminGetRequest":            s.adminGetRequest,
		"adminListSessions":          s.adminSessions,
		"adminDeactivateUser":        s.adminDeactivate,
	}
}

// checkHandlers reports an operation of doc without a handler, or a handler of no operation.
func checkHandlers(doc *openapi3.T, handlers map[string]echo.HandlerFunc) error {
	declared := map[string]bool{}
	var problems []string
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			declared[op.OperationID] = true
			if handlers[op.OperationID] == nil {
				problems = append(problems, fmt.Sprintf("openapi.yaml: %s %s (operationId %q) has no handler in the mock", method, path, op.OperationID))
			}
		}
	}
	for id := range handlers {
		if !declared[id] {
			problems = append(problems, fmt.Sprintf("the mock has a handler for operationId %q, which openapi.yaml does not declare", id))
		}
	}
	slices.Sort(problems)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// setPathParams makes the path parameters the spec's router found (escaped, as in the URL)
// echo's, unescaped.
func setPathParams(c echo.Context, params map[string]string) {
	if len(params) == 0 {
		return
	}
	names := make([]string, 0, len(params))
	values := make([]string, 0, len(params))
	for _, name := range slices.Sorted(maps.Keys(params)) {
		v, err := url.PathUnescape(params[name])
		if err != nil {
			v = params[name]
		}
		names, values = append(names, name), append(values, v)
	}
	c.SetParamNames(names...)
	c.SetParamValues(values...)
}

// dispatch routes every request with openapi.yaml's router (on the path alone, since the mock
// answers for every host), checks it against the spec (the token, the query and the body) and
// hands it to its operation's handler. Every failure is answered with the vendor's envelope.
func (s *Server) dispatch(c echo.Context) error {
	req := c.Request()
	route, pathParams, err := s.findRoute(req)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		c.Response().Header().Set(echo.HeaderAllow, strings.Join(s.allowedMethods(req), ", "))
		return sendClientError(c, http.StatusMethodNotAllowed, "")
	case err != nil:
		return sendClientError(c, http.StatusNotFound, "")
	}
	exchangeOf(c).Operation = route.Operation.OperationID
	admin := slices.Contains(route.Operation.Tags, idvmock.AdminTag)
	if slices.Contains(route.Operation.Tags, idvmock.H5Tag) {
		if err := openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: pathParams, Route: route, Options: s.filterOptions}); err != nil {
			_, _, msg := describeRequestError(err)
			return c.HTML(http.StatusBadRequest, "<!doctype html><title>Bad request</title><p>"+html.EscapeString(msg)+"</p>\n")
		}
		return s.serve(c, route.Operation.OperationID, pathParams)
	}
	options := s.filterOptions
	if admin {
		options = s.adminOptions
	}
	limit, ok := s.bodyLimits[route.Operation.OperationID]
	if !ok {
		limit = maxBodyBytes
	}
	if req.ContentLength > limit {
		return s.refuse(c, admin, "", &http.MaxBytesError{Limit: limit})
	}
	if err := s.readBody(c, limit); err != nil {
		return s.refuse(c, admin, "", err)
	}
	queryProblem, err := s.checkRequest(req.Context(), &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: pathParams,
		Route:      route,
		Options:    options,
	})
	if err == nil && queryProblem == "" {
		if admin {
			if refused, err := s.crossOrigin(c); refused {
				return err
			}
			if sec := route.Operation.Security; sec == nil || len(*sec) > 0 { // health and the page's files hold no data
				if refused, err := s.foreignHost(c); refused {
					return err
				}
			}
		}
		return s.serve(c, route.Operation.OperationID, pathParams)
	}
	return s.refuse(c, admin, queryProblem, err)
}

// serve hands a validated request to the handler of its operation, with the path
// parameters the spec's router found.
func (s *Server) serve(c echo.Context, operationID string, pathParams map[string]string) error {
	setPathParams(c, pathParams)
	return s.handlers[operationID](c)
}

// allowedMethods lists the methods openapi.yaml declares for the request's path.
func (s *Server) allowedMethods(req *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := *req
		probe.Method = m
		if _, _, err := s.router.FindRoute(&probe); err == nil {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// maxCachedRoutes bounds the route cache; paths that carry ids (/h5/{signatureId}, admin
// users) make new keys, so a full cache starts over.
const maxCachedRoutes = 4096

// routeKey is a method and an escaped path.
type routeKey struct{ method, path string }

// routeHit is a route found for a method and path.
type routeHit struct {
	route  *routers.Route
	params map[string]string // shared: read only
}

// findRoute is the router's FindRoute, cached by method and path: routing is by path alone,
// and gorilla/mux's matching is a good share of a request's cost.
func (s *Server) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	key := routeKey{req.Method, req.URL.EscapedPath()} // as the router matches: %2F is not /
	s.routesMu.RLock()
	hit, ok := s.routes[key]
	s.routesMu.RUnlock()
	if ok {
		return hit.route, hit.params, nil
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		return nil, nil, err // not cached: any client can invent paths
	}
	s.routesMu.Lock()
	if len(s.routes) >= maxCachedRoutes {
		s.routes = map[routeKey]routeHit{}
	}
	s.routes[key] = routeHit{route, params}
	s.routesMu.Unlock()
	return route, params, nil
}
