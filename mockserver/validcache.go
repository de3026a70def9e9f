package mockserver

import (
	"context"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// Bounds of the cache of valid requests: past maxValidRequests distinct requests it starts
// over, and a request whose key is longer than maxValidKey is checked every time.
const (
	maxValidRequests = 1024
	maxValidKey      = 2048
)

// validRequests remembers requests found valid against openapi.yaml, by everything the
// validation reads of them but the token: the method, the path, the query string and the
// values of the headers and cookies the operation declares as parameters. Only operations
// without a request body are kept. An identical request is then known to pass the query
// and parameter checks without running them again; its token is checked every time (it may
// have expired, or the token API may have issued it since). Invalid requests are never kept:
// they are checked every time, so a client inventing them costs only itself.
type validRequests struct {
	mu   sync.RWMutex
	keys map[string]struct{}
}

var keyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// checkRequest checks a request against its operation in openapi.yaml: the token, the
// query string (checkQuery) and kin-openapi's validation of the parameters and the body.
// queryProblem is checkQuery's message, err kin-openapi's error.
func (s *Server) checkRequest(ctx context.Context, input *openapi3filter.RequestValidationInput) (queryProblem string, err error) {
	op := input.Route.Operation
	buf := keyBuffers.Get().(*[]byte)
	defer keyBuffers.Put(buf)
	key, cacheable := validKey((*buf)[:0], input)
	*buf = key[:0]
	if cacheable && s.valid.has(key) {
		security := op.Security
		if security == nil {
			security = &input.Route.Spec.Security
		}
		return "", s.checkSecurity(ctx, input, *security)
	}
	queryProblem = checkQuery(input.Request.URL.RawQuery, op)
	err = openapi3filter.ValidateRequest(ctx, input)
	if cacheable && err == nil && queryProblem == "" {
		s.valid.add(string(key))
	}
	return queryProblem, err
}

// validKey appends to b the key of the request in the cache, and reports whether it may be
// cached at all.
func validKey(b []byte, input *openapi3filter.RequestValidationInput) ([]byte, bool) {
	route, req := input.Route, input.Request
	if route.Operation.RequestBody != nil {
		return b, false
	}
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, req.URL.EscapedPath()...)
	b = append(b, '?')
	b = append(b, req.URL.RawQuery...)
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value == nil {
				return b, false
			}
			var name string
			switch p.Value.In {
			case openapi3.ParameterInHeader:
				name = p.Value.Name
			case openapi3.ParameterInCookie:
				name = "Cookie"
			default:
				continue
			}
			b = append(b, '\n')
			b = append(b, name...)
			b = append(b, ':')
			for _, v := range req.Header[canonicalName(name)] {
				b = append(b, v...)
				b = append(b, 0)
			}
		}
	}
	return b, len(b) <= maxValidKey
}

func (v *validRequests) has(key []byte) bool {
	v.mu.RLock()
	_, ok := v.keys[string(key)]
	v.mu.RUnlock()
	return ok
}

func (v *validRequests) add(key string) {
	v.mu.Lock()
	if v.keys == nil || len(v.keys) >= maxValidRequests {
		v.keys = make(map[string]struct{}, 64)
	}
	v.keys[key] = struct{}{}
	v.mu.Unlock()
}

var canonicalNames sync.Map // openapi.yaml's header names → their canonical form

// canonicalName is http.CanonicalHeaderKey of a header name of openapi.yaml, made once.
func canonicalName(name string) string {
	if c, ok := canonicalNames.Load(name); ok {
		return c.(string)
	}
	c := http.CanonicalHeaderKey(name)
	canonicalNames.Store(name, c)
	return c
}

// checkSecurity is openapi3filter.ValidateSecurityRequirements for a request without a body:
// the token is checked against the operation's requirements in openapi.yaml, alternative by
// alternative, with the same error when none is met. An alternative made of one scheme is
// checked without kin-openapi's set-up for several (sorting their names, reading the body);
// any other goes to kin-openapi.
func (s *Server) checkSecurity(ctx context.Context, input *openapi3filter.RequestValidationInput, srs openapi3.SecurityRequirements) error {
	if len(srs) == 0 {
		return nil
	}
	var errs []error
	for _, sr := range srs {
		err := s.meets(ctx, input, sr)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return &openapi3filter.SecurityRequirementsError{SecurityRequirements: srs, Errors: errs}
}

// meets checks one alternative of an operation's security requirements.
func (s *Server) meets(ctx context.Context, input *openapi3filter.RequestValidationInput, sr openapi3.SecurityRequirement) error {
	if len(sr) == 1 && input.Route.Spec.Components != nil {
		for name, scopes := range sr {
			if ref := input.Route.Spec.Components.SecuritySchemes[name]; ref != nil && ref.Value != nil {
				return input.Options.AuthenticationFunc(ctx, &openapi3filter.AuthenticationInput{
					RequestValidationInput: input, SecuritySchemeName: name, SecurityScheme: ref.Value, Scopes: scopes})
			}
		}
	}
	err := openapi3filter.ValidateSecurityRequirements(ctx, input, openapi3.SecurityRequirements{sr})
	if one, ok := err.(*openapi3filter.SecurityRequirementsError); ok && len(one.Errors) == 1 {
		return one.Errors[0]
	}
	return err
}
