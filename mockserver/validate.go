package mockserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// messageExtension on a parameter or a body property of openapi.yaml gives the message sent
// when its value is invalid, where the vendor documents one ("solutionCode is wrong.").
const messageExtension = "x-idvmock-invalid-message"

// refuse answers a request that failed validation: a vendor operation with the vendor's
// envelope, an admin call with the admin API's error.
func (s *Server) refuse(c echo.Context, admin bool, queryProblem string, err error) error {
	var security *openapi3filter.SecurityRequirementsError
	var tooLarge *http.MaxBytesError
	var bad *bodyError
	switch {
	case errors.Is(err, engine.ErrStore):
		return err // the token could not be checked: the mock's own failure, not the client's
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
		msg := "the admin API needs Authorization: Bearer <admin token>"
		if c.Request().Header.Get(echo.HeaderAuthorization) != "" {
			msg = "the admin token sent is not this mock's: the admin API needs Authorization: Bearer <admin token>"
		}
		return sendAdminError(c, http.StatusUnauthorized, msg,
			"send the token given to idvmock serve --admin-token (or the one it logged at start)")
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
		switch {
		case s.Max == nil:
			return fmt.Sprintf("%s must be at least %v.", name, deref(s.Min))
		case s.Min == nil:
			return fmt.Sprintf("%s must be at most %v.", name, deref(s.Max))
		}
		return fmt.Sprintf("%s must be from %v to %v.", name, deref(s.Min), deref(s.Max))
	case "type":
		return fmt.Sprintf("%s must be a%s %s.", name, article(s.Type.Slice()[0]), s.Type.Slice()[0])
	case "enum":
		return fmt.Sprintf("%s must be %s, not %s.", name, enumText(s.Enum), clipTo(jsonText(f.Value), 40))
	case "pattern":
		return fmt.Sprintf("%s must match the pattern %s.", name, s.Pattern)
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
	fields, isObject := se.Value.(map[string]any)
	switch {
	case len(pointer) == 0 && se.SchemaField == "maxProperties" && isObject && se.Schema.MaxProps != nil:
		return http.StatusOK, idvmock.CodeParameterError, fmt.Sprintf(
			"The body has %d fields; at most %d are accepted: leave out fields this endpoint does not declare.", len(fields), *se.Schema.MaxProps)
	case len(pointer) == 0:
		return badRequest("the body must be a JSON object")
	}
	field := pointer[0]
	var body, prop *openapi3.SchemaRef
	if media := re.RequestBody.Content.Get(re.Input.Request.Header.Get(echo.HeaderContentType)); media != nil && media.Schema != nil {
		body = media.Schema
		prop = body.Value.Properties[field]
	}
	switch {
	case se.SchemaField == "required", se.SchemaField == "minLength", se.Value == nil:
		return http.StatusOK, idvmock.CodeParameterError, idvmock.MessageEmptyParameter + ": " + field
	case prop != nil && prop.Value.Extensions[messageExtension] != nil:
		msg, _ := prop.Value.Extensions[messageExtension].(string)
		return http.StatusOK, idvmock.CodeParameterError, msg
	case prop == nil && body != nil && len(pointer) == 1 && body.Value.AdditionalProperties.Schema != nil:
		return http.StatusOK, idvmock.CodeParameterError, fmt.Sprintf("%s is not a field this endpoint declares, so it must be %s.",
			field, alternatives(body.Value.AdditionalProperties.Schema.Value))
	}
	return http.StatusOK, idvmock.CodeParameterError, schemaMessage(field, se)
}

// alternatives says in words what values a schema allows: "a string of at most 2048
// characters, a number or a boolean" for an anyOf of three types.
func alternatives(s *openapi3.Schema) string {
	one := func(s *openapi3.Schema) string {
		t := idvmock.TypeText(s)
		text := "a" + article(t) + " " + t
		if s.MaxLength != nil {
			text += fmt.Sprintf(" of at most %d characters", *s.MaxLength)
		}
		return text
	}
	var alts []string
	for _, x := range append(s.AnyOf, s.OneOf...) {
		alts = append(alts, one(x.Value))
	}
	switch len(alts) {
	case 0:
		return one(s)
	case 1:
		return alts[0]
	}
	return strings.Join(alts[:len(alts)-1], ", ") + " or " + alts[len(alts)-1]
}

// enumText lists an enum's values as JSON, the last after "or": "URL" or "BASE64".
func enumText(values []any) string {
	texts := make([]string, len(values))
	for i, v := range values {
		texts[i] = jsonText(v)
	}
	if len(texts) < 2 {
		return strings.Join(texts, "")
	}
	return strings.Join(texts[:len(texts)-1], ", ") + " or " + texts[len(texts)-1]
}

// jsonText is v as JSON, or as Go prints it if it is not JSON.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
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

// firstQueryValue is the first value of the query parameter name in raw, as
// url.Values.Get would find it, without building the map of every parameter: pairs that
// hold a ';' or are not valid percent-encoding are skipped, as url.ParseQuery skips them.
func firstQueryValue(raw, name string) string {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key := rawKey
		if strings.ContainsAny(rawKey, "%+") {
			var err error
			if key, err = url.QueryUnescape(rawKey); err != nil {
				continue
			}
		}
		if key != name {
			continue
		}
		if !strings.ContainsAny(rawValue, "%+") {
			return rawValue
		}
		if value, err := url.QueryUnescape(rawValue); err == nil {
			return value
		}
	}
	return ""
}
