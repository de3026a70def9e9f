package contract

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/idvmock/idvmock"
)

// Operation ids of the vendor's operations in openapi.yaml.
const (
	OpGetLatest   = idvmock.OpGetLatest
	OpGetResult   = idvmock.OpGetResult
	OpGenerateURL = idvmock.OpGenerateURL
	OpToken       = idvmock.OpToken
	// OpGetProfile and OpGetProfileCamel are Get Profile's two paths.
	OpGetProfile      = idvmock.OpGetProfile
	OpGetProfileCamel = idvmock.OpGetProfileCamel
	OpUpdateStatus    = idvmock.OpUpdateStatus
)

// maxTransactionIDs bounds the memory of the uniqueness rule in a long-running proxy (about
// 20 MB at most): past it, the ids seen so far are forgotten.
const maxTransactionIDs = 100_000

// Checker checks exchanges against openapi.yaml and the vendor's rules. It remembers the
// transactionIds it has seen, for the uniqueness rule; it is safe for concurrent use.
type Checker struct {
	doc      *openapi3.T
	router   routers.Router
	codes    map[string][]string           // operationId -> documented codes
	statuses []string                      // the ProfileStatus enum
	routes   *routeCache                   // what the router found for a method and path
	matchers map[*openapi3.Schema]*matcher // of the vendor's answers' schemas

	mu  sync.Mutex
	ids map[string]string // transactionId -> the request that first had it

	slowOnly bool // every exchange is checked by checkRouted (tests compare the two ways)
}

// NewChecker returns a Checker for the openapi.yaml shipped with idvmock.
func NewChecker() (*Checker, error) {
	doc, err := idvmock.LoadSpec()
	if err != nil {
		return nil, err
	}
	return NewCheckerFor(doc)
}

// NewCheckerFor returns a Checker for doc, an idvmock openapi.yaml. It changes doc: routing
// is by path, whatever the host, so the servers are cleared. What the Checker checks is
// prepared from doc once, here (its routes, statuses and schemas): doc must not be changed
// after, or the Checker would go on checking by what doc said when it was made.
func NewCheckerFor(doc *openapi3.T) (*Checker, error) {
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
		for _, op := range item.Operations() {
			op.Servers = nil
		}
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	c := &Checker{doc: doc, router: router, codes: map[string][]string{}, ids: map[string]string{}, routes: &routeCache{}}
	ms := newMatcherSet()
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if idvmock.IsVendorOperation(op) {
				c.codes[op.OperationID] = documentedCodes(op)
				for _, resp := range op.Responses.Map() {
					if resp == nil || resp.Value == nil {
						continue
					}
					for _, mt := range resp.Value.Content {
						if mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
							ms.prepare(mt.Schema)
						}
					}
				}
			}
		}
	}
	ms.distrustCycles()
	c.matchers = ms.bySchema
	if s := doc.Components.Schemas["ProfileStatus"]; s != nil && s.Value != nil {
		for _, v := range s.Value.Enum {
			if str, ok := v.(string); ok {
				c.statuses = append(c.statuses, str)
			}
		}
	}
	if len(c.statuses) == 0 {
		return nil, fmt.Errorf("openapi.yaml: components.schemas.ProfileStatus has no enum")
	}
	return c, nil
}

// NewRun returns a checker for the same document with nothing remembered: a new run, in
// which transactionIds seen by c do not count.
func (c *Checker) NewRun() *Checker {
	return &Checker{doc: c.doc, router: c.router, codes: c.codes, statuses: c.statuses, routes: c.routes, matchers: c.matchers, ids: map[string]string{}}
}

// documentedCodes are the codes of the operation's HTTP 200 answer: the discriminator's
// mapping of its schema, or the enum of its code property.
func documentedCodes(op *openapi3.Operation) []string {
	resp := op.Responses.Status(http.StatusOK)
	if resp == nil || resp.Value == nil {
		return nil
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	s := mt.Schema.Value
	set := map[string]bool{}
	if s.Discriminator != nil && len(s.Discriminator.Mapping) > 0 {
		for code := range s.Discriminator.Mapping {
			set[code] = true
		}
		return sortedKeys(set)
	}
	for _, sub := range append(append(openapi3.SchemaRefs{}, s.OneOf...), mt.Schema) {
		if p := sub.Value.Properties["code"]; p != nil && p.Value != nil {
			for _, v := range p.Value.Enum {
				if str, ok := v.(string); ok {
					set[str] = true
				}
			}
		}
	}
	return sortedKeys(set)
}

// sortedKeys lists the keys of m in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Operation names the vendor operation req is for, or "" when it is none of them (idvmock's
// admin API, an unknown path).
func (c *Checker) Operation(req *http.Request) string {
	return c.findRoute(req).op
}

// Check checks one exchange. An exchange that is not for one of the vendor's operations has
// no violations: use Operation to tell.
func (c *Checker) Check(ex Exchange) []Violation {
	vs, _ := c.checkDecoded(ex, nil, nil, false)
	return vs
}

// foundRoute is what the router finds for a request: op is "" when it is none of the
// vendor's operations (or no operation at all).
type foundRoute struct {
	route  *routers.Route
	params map[string]string
	op     string
}

// routeCache remembers what the router found for a method and an escaped path, which is
// all it looks at (NewCheckerFor clears the servers, so no host or scheme is matched):
// finding a route runs a regular expression per path of openapi.yaml. Its size is bounded,
// as a proxy may see any number of unknown paths; past the bound, routes are found again
// each time.
type routeCache struct {
	found sync.Map // routeKey -> *foundRoute
	size  atomic.Int64
}

type routeKey struct{ method, path string }

const maxCachedRoutes = 4096

// findRoute finds the route of req. The route and its parameters are shared by every
// request with the same method and path: they are read, never changed.
func (c *Checker) findRoute(req *http.Request) *foundRoute {
	key := routeKey{req.Method, req.URL.EscapedPath()}
	if f, ok := c.routes.found.Load(key); ok {
		return f.(*foundRoute)
	}
	f := &foundRoute{}
	route, params, err := c.router.FindRoute(req)
	if err == nil && idvmock.IsVendorOperation(route.Operation) {
		f = &foundRoute{route: route, params: params, op: route.Operation.OperationID}
	}
	if c.routes.size.Load() < maxCachedRoutes {
		if _, loaded := c.routes.found.LoadOrStore(key, f); !loaded {
			c.routes.size.Add(1)
		}
	}
	return f
}

// CheckResponse checks an answer as an HTTP client got it: it reads the body (and puts it
// back, so the caller can still read it) and checks the exchange with req.
func (c *Checker) CheckResponse(req *http.Request, resp *http.Response) ([]Violation, error) {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	return c.Check(Exchange{Request: req, Status: resp.StatusCode, Header: resp.Header, Body: body}), nil
}
