package mockserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
)

// messageExtension on a parameter or a body property of openapi.yaml gives the message sent
// when its value is invalid, where the vendor documents one ("solutionCode is wrong.").
const messageExtension = "x-idvmock-invalid-message"

// Limits of a request, each answered with the vendor's envelope when passed: bodies (the
// token API's is under 300 bytes), query strings (a valid one is under 400 bytes), and header
// bytes (net/http answers 431, turned into the envelope by WrapListener).
const (
	maxBodyBytes   = 64 << 10
	maxQueryBytes  = 4 << 10
	maxHeaderBytes = 64 << 10
)

// maxBodyExtension on an operation of openapi.yaml sets its own body limit: higher for PUT
// /__admin/state (a saved state with many userIds' progress), lower for Generate URL (each
// started session keeps its request).
const maxBodyExtension = "x-idvmock-max-body-bytes"

// bodyLimits reads the operations' body limits from openapi.yaml, by operationId.
func bodyLimits(doc *openapi3.T) (map[string]int64, error) {
	limits := map[string]int64{}
	for path, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			v, ok := op.Extensions[maxBodyExtension]
			if !ok {
				continue
			}
			n, ok := v.(float64)
			if !ok || n < 1 || n != float64(int64(n)) {
				return nil, fmt.Errorf("openapi.yaml: %s %s: %s is %v, want a whole number of bytes", path, op.OperationID, maxBodyExtension, v)
			}
			limits[op.OperationID] = int64(n)
		}
	}
	return limits, nil
}

// validateRequests checks every request against openapi.yaml before a handler sees it: the
// route (on the path alone, since the mock answers for every host), the token, the query and
// the body. Every failure is answered with the vendor's envelope.
func (s *Server) validateRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
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
			return next(c)
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
		queryProblem := checkQuery(req.URL.RawQuery, route.Operation)
		input := &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: pathParams,
			Route:      route,
			Options:    options,
		}
		err = openapi3filter.ValidateRequest(req.Context(), input)
		if err == nil && queryProblem == "" {
			return next(c)
		}
		return s.refuse(c, admin, queryProblem, err)
	}
}

// readBody reads the request's body, at most limit bytes, within the body timeout, and
// checks that a JSON body nests at most maxJSONDepth deep; the handlers then read it from
// memory. The read deadline is cleared once the body is in, so that a slow answer (a latency
// fault) is not mistaken for a client that went away.
func (s *Server) readBody(c echo.Context, limit int64) error {
	req := c.Request()
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	rc := http.NewResponseController(c.Response())
	_ = rc.SetReadDeadline(time.Now().Add(s.timeouts.Body)) // not supported by test recorders
	data, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, limit))
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		// The rest of the body is not worth waiting for: net/http would read it before
		// answering, unless the connection closes after the answer.
		c.Response().Header().Set(echo.HeaderConnection, "close")
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return &bodyError{fmt.Sprintf("the body could not be read within %v: %v", s.timeouts.Body, err)}
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	if isJSON(req.Header.Get(echo.HeaderContentType)) {
		if at, deep := jsonTooDeep(data, maxJSONDepth); deep {
			return &bodyError{fmt.Sprintf("the JSON body nests deeper than %d levels at %s", maxJSONDepth, at)}
		}
	}
	return nil
}

// bodyError is a request body refused before validation: too slow, or nested too deep.
type bodyError struct{ msg string }

func (e *bodyError) Error() string { return e.msg }

// maxJSONDepth bounds how deeply a JSON body may nest (a valid one nests 4 levels at most).
const maxJSONDepth = 64

func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// jsonTooDeep reports whether data nests arrays and objects more than limit deep, and then
// where (a JSON pointer). It scans bytes, without decoding.
func jsonTooDeep(data []byte, limit int) (string, bool) {
	depth, inString, escaped := 0, false, false
	for i, b := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			if depth++; depth > limit {
				return jsonPointerAt(data[:i], limit), true
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return "", false
}

// jsonPointerAt is the JSON pointer of the value that prefix (a JSON text cut short) was in
// when it was limit levels deep.
func jsonPointerAt(prefix []byte, limit int) string {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	type level struct {
		object bool
		key    string
		index  int
	}
	var stack []level
	expectKey := false
	for len(stack) < limit {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if n := len(stack); n > 0 && !stack[n-1].object {
					stack[n-1].index++
				}
				stack = append(stack, level{object: t == '{', index: -1})
				expectKey = t == '{'
			default:
				stack = stack[:len(stack)-1]
				expectKey = len(stack) > 0 && stack[len(stack)-1].object
			}
			continue
		case string:
			if expectKey {
				stack[len(stack)-1].key = t
				expectKey = false
				continue
			}
		}
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				expectKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	var b strings.Builder
	for _, l := range stack[:max(0, len(stack)-1)] {
		b.WriteByte('/')
		if l.object {
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(l.key))
		} else {
			fmt.Fprint(&b, max(l.index, 0))
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// refuse answers a request that failed validation: a vendor operation with the vendor's
// envelope, an admin call with the admin API's error.
func (s *Server) refuse(c echo.Context, admin bool, queryProblem string, err error) error {
	var security *openapi3filter.SecurityRequirementsError
	var tooLarge *http.MaxBytesError
	var bad *bodyError
	switch {
	case errors.As(err, &bad) && admin:
		return sendAdminError(c, http.StatusBadRequest, bad.msg, "send the body at once, nested a few levels at most")
	case errors.As(err, &bad):
		return sendClientError(c, http.StatusBadRequest, bad.msg)
	case errors.As(err, &tooLarge) && admin:
		return sendAdminError(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", tooLarge.Limit), "")
	case errors.As(err, &tooLarge):
		return sendClientError(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", tooLarge.Limit))
	case errors.As(err, &security) && admin:
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="idvmock admin"`)
		return sendAdminError(c, http.StatusUnauthorized, "the admin API needs Authorization: Bearer <admin token>",
			"send the token given to idvmock serve --admin-token")
	case errors.As(err, &security):
		return sendError(c, http.StatusOK, idvmock.CodeIAMFailed, idvmock.MessageTokenNotFound)
	case admin:
		msg := queryProblem
		if msg == "" {
			_, _, msg = describeRequestError(err)
		}
		return sendAdminError(c, http.StatusBadRequest, msg, "see the admin API in openapi.yaml")
	case queryProblem != "":
		return sendError(c, http.StatusOK, idvmock.CodeParameterError, queryProblem)
	}
	status, code, message := describeRequestError(err)
	return sendError(c, status, code, message)
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

// checkQuery finds what kin-openapi cannot see in a query string, because url.Query drops
// it silently: invalid percent-encoding, a parameter given twice, bytes that are not UTF-8
// or are control characters, and parameters the operation does not declare. It returns a
// message naming the parameter, or "".
func checkQuery(raw string, op *openapi3.Operation) string {
	if len(raw) > maxQueryBytes {
		return fmt.Sprintf("The query string is %d bytes; at most %d are accepted (userId is at most 255 characters).", len(raw), maxQueryBytes)
	}
	seen := map[string]int{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		if strings.Contains(pair, ";") {
			return fmt.Sprintf("The query holds a ';' in %q: percent-encode it as %%3B.", pair)
		}
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return fmt.Sprintf("The query is not valid percent-encoding near %q: encode %% as %%25.", rawKey)
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return fmt.Sprintf("%s is not valid percent-encoding: encode %% as %%25.", key)
		}
		if op.Parameters.GetByInAndName(openapi3.ParameterInQuery, key) == nil {
			return fmt.Sprintf("Unknown query parameter %q: this endpoint takes %s.", key, queryNames(op))
		}
		if seen[key]++; seen[key] == 2 {
			return fmt.Sprintf("%s is given more than once: send it once.", key)
		}
		if !utf8.ValidString(value) {
			return fmt.Sprintf("%s is not valid UTF-8: percent-encode the value's UTF-8 bytes.", key)
		}
		if strings.IndexFunc(value, unicode.IsControl) >= 0 {
			return fmt.Sprintf("%s contains control characters.", key)
		}
	}
	return ""
}

func queryNames(op *openapi3.Operation) string {
	var names []string
	for _, p := range op.Parameters {
		if p.Value.In == openapi3.ParameterInQuery {
			names = append(names, p.Value.Name)
		}
	}
	if len(names) == 0 {
		return "no query parameters"
	}
	return strings.Join(names, " and ")
}

// describeRequestError turns a kin-openapi validation error into the HTTP status, code and
// message the vendor would send.
func describeRequestError(err error) (status int, code, message string) {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return http.StatusBadRequest, idvmock.CodeClientError, "HTTP 400 - Bad Request: " + err.Error()
	}
	if p := re.Parameter; p != nil {
		return http.StatusOK, idvmock.CodeParameterError, parameterMessage(p, re)
	}
	return describeBodyError(re)
}

func parameterMessage(p *openapi3.Parameter, re *openapi3filter.RequestError) string {
	if msg, ok := p.Extensions[messageExtension].(string); ok {
		return msg
	}
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) || errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue) {
		return p.Name + " should not be empty."
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return schemaMessage(p.Name, se)
	}
	return fmt.Sprintf("%s is invalid: %s.", p.Name, re.Error())
}

// schemaMessage says in the vendor's manner of PARAMETER_ERROR messages what is wrong with
// the value called name.
func schemaMessage(name string, se *openapi3.SchemaError) string {
	f := idvmock.ExplainSchemaError(se)
	s := f.Schema
	switch f.Keyword {
	case "minLength":
		return name + " should not be empty."
	case "maxLength":
		return fmt.Sprintf("%s is longer than %d characters.", name, *s.MaxLength)
	case "minimum", "maximum":
		return fmt.Sprintf("%s must be from %v to %v.", name, deref(s.Min), deref(s.Max))
	case "type":
		return fmt.Sprintf("%s must be a%s %s.", name, article(s.Type.Slice()[0]), s.Type.Slice()[0])
	}
	return fmt.Sprintf("%s is invalid: %s.", name, strings.TrimSuffix(f.Reason, "."))
}

// describeBodyError describes a problem with the token API's JSON body. A body that cannot be
// read as a JSON object is an HTTP 400; a field that is missing, empty or wrong is a
// PARAMETER_ERROR naming it, with the vendor's message where the spec gives one.
func describeBodyError(re *openapi3filter.RequestError) (int, string, string) {
	badRequest := func(detail string) (int, string, string) {
		return http.StatusBadRequest, idvmock.CodeClientError, "HTTP 400 - Bad Request: " + detail
	}
	var se *openapi3.SchemaError
	var pe *openapi3filter.ParseError
	switch {
	case re.RequestBody == nil:
		return badRequest(re.Error())
	case errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		return badRequest("the body is empty: send a JSON object")
	case strings.HasPrefix(re.Reason, "header Content-Type"):
		return badRequest("send the body as Content-Type: application/json")
	case errors.As(re.Err, &pe):
		return badRequest("the body is not valid JSON")
	case !errors.As(re.Err, &se):
		return badRequest(re.Error())
	}
	pointer := se.JSONPointer()
	if len(pointer) == 0 {
		return badRequest("the body must be a JSON object")
	}
	field := pointer[0]
	var prop *openapi3.SchemaRef
	if media := re.RequestBody.Content.Get(re.Input.Request.Header.Get(echo.HeaderContentType)); media != nil && media.Schema != nil {
		prop = media.Schema.Value.Properties[field]
	}
	switch {
	case se.SchemaField == "required", se.SchemaField == "minLength", se.Value == nil:
		return http.StatusOK, idvmock.CodeParameterError, idvmock.MessageEmptyParameter + ": " + field
	case prop != nil && prop.Value.Extensions[messageExtension] != nil:
		msg, _ := prop.Value.Extensions[messageExtension].(string)
		return http.StatusOK, idvmock.CodeParameterError, msg
	}
	return http.StatusOK, idvmock.CodeParameterError, schemaMessage(field, se)
}

func article(word string) string {
	if strings.ContainsAny(word[:1], "aeiou") {
		return "n"
	}
	return ""
}

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

// maxCachedRoutes bounds the route cache; paths that carry ids (/h5/{signatureId}, admin
// users) make new keys, so a full cache starts over.
const maxCachedRoutes = 4096

// routeHit is a route found for a method and path.
type routeHit struct {
	route  *routers.Route
	params map[string]string // shared: read only
}

// findRoute is the router's FindRoute, cached by method and path: routing is by path alone,
// and gorilla/mux's matching is a good share of a request's cost.
func (s *Server) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	key := req.Method + " " + req.URL.Path
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
		s.routes = map[string]routeHit{}
	}
	s.routes[key] = routeHit{route, params}
	s.routesMu.Unlock()
	return route, params, nil
}
