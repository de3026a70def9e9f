package contract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/idvmock/idvmock"
)

// schemaViolations validates the answer as kin-openapi's ValidateResponse does: the status
// (undeclared statuses refused) and the headers, then the body, already decoded by Check,
// visited with the schema ValidateResponse would pick (decoding it once instead of twice
// halves the checker's cost). Each error becomes a violation at its JSON pointer.
func (c *Checker) schemaViolations(ex Exchange, route *routers.Route, params map[string]string, body map[string]any, statusReported bool) []Violation {
	err := validateStatus(ex, route, params)
	if err == nil {
		err = c.visitBody(ex, route, body)
	}
	if err == nil {
		return nil
	}
	var out []Violation
	seen := map[string]bool{}
	seen[RuleHTTPStatus] = statusReported
	for _, v := range readable(err) {
		if v.Rule == RuleHTTPStatus && seen[RuleHTTPStatus] {
			continue
		}
		key := v.Rule + v.Pointer + v.Expected
		if !seen[key] {
			seen[key] = true
			out = append(out, v)
		}
	}
	return out
}

// validateStatus is openapi3filter.ValidateResponse without the body (ExcludeResponseBody),
// with undeclared statuses refused (IncludeResponseStatus). Its steps up to the headers are
// followed here, without the input and options it builds for each call; an answer whose
// declared headers are to be checked is given to it.
func validateStatus(ex Exchange, route *routers.Route, params map[string]string) error {
	if ex.Request.Method == http.MethodHead {
		return nil
	}
	switch ex.Status {
	case http.StatusNotModified, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusMovedPermanently:
		return nil // never validated
	}
	responses := route.Operation.Responses
	if responses.Len() == 0 {
		return nil
	}
	resp := responseOf(responses, ex.Status)
	if resp == nil {
		return &openapi3filter.ResponseError{Reason: "status is not supported"}
	}
	if resp.Value == nil {
		return &openapi3filter.ResponseError{Reason: "response has not been resolved"}
	}
	for name := range resp.Value.Headers {
		if name != "Content-Type" {
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: ex.Request, PathParams: params, Route: route},
				Status:                 ex.Status,
				Header:                 ex.Header,
				Body:                   io.NopCloser(bytes.NewReader(ex.Body)),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: true},
			}
			return openapi3filter.ValidateResponse(context.Background(), in)
		}
	}
	return nil
}

// visitBody validates the decoded body against the schema of the answer's status and
// content type, as ValidateResponse does after decoding it. (A body its prepared matcher
// finds conforming does not come here: quickPass passes it.)
func (c *Checker) visitBody(ex Exchange, route *routers.Route, body map[string]any) error {
	mt, err := responseMediaType(ex, route)
	if err != nil || mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return err
	}
	// Without details: kin-openapi formats the message of a failed oneOf eagerly, and its
	// details encode the whole value (a body at the proxy's cap, many times over).
	if err := mt.Schema.Value.VisitJSON(map[string]any(body), openapi3.MultiErrors(), openapi3.VisitAsResponse(), openapi3.DisableSchemaErrorDetails()); err != nil {
		return &openapi3filter.ResponseError{Reason: "response body doesn't match schema", Err: err}
	}
	return nil
}

// responseMediaType is the media type ValidateResponse picks for the answer's body: of the
// response of its status, for its content type. It is nil when there is no body to check,
// and an error when the content type is not among the response's.
func responseMediaType(ex Exchange, route *routers.Route) (*openapi3.MediaType, error) {
	resp := responseOf(route.Operation.Responses, ex.Status)
	if resp == nil || resp.Value == nil || len(resp.Value.Content) == 0 {
		return nil, nil
	}
	ct := ex.Header.Get("Content-Type")
	mt := resp.Value.Content.Get(ct)
	if mt == nil {
		return nil, &openapi3filter.ResponseError{Reason: fmt.Sprintf("response header Content-Type has unexpected value: %q", ct)}
	}
	return mt, nil
}

// responseOf is the response declared for status: responses.Status(status), or else
// responses.Default(). For a status from 100 to 599 it looks up the keys Status would, made
// once instead of at each lookup.
func responseOf(responses *openapi3.Responses, status int) *openapi3.ResponseRef {
	if status < 100 || status >= 600 {
		if resp := responses.Status(status); resp != nil {
			return resp
		}
		return responses.Default()
	}
	if resp := responses.Value(statusKeys[status]); resp != nil {
		return resp
	}
	if resp := responses.Value(statusKeys[status/100]); resp != nil { // "2XX"
		return resp
	}
	return responses.Default()
}

// statusKeys are "100" to "599" at their codes, and "1XX" to "5XX" at 1 to 5.
var statusKeys = func() (keys [600]string) {
	for code := 100; code < 600; code++ {
		keys[code] = strconv.Itoa(code)
	}
	for class := 1; class <= 5; class++ {
		keys[class] = strconv.Itoa(class) + "XX"
	}
	return keys
}()

// readable flattens kin-openapi's nested errors into one violation per failing value.
func readable(err error) []Violation {
	var out []Violation
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case openapi3.MultiError:
			for _, x := range e {
				walk(x)
			}
		case *openapi3filter.ResponseError:
			if e.Err == nil {
				out = append(out, responseViolation(e.Reason))
				return
			}
			if _, isSchema := e.Err.(*openapi3.SchemaError); !isSchema && !isMulti(e.Err) {
				out = append(out, responseViolation(e.Reason+": "+e.Err.Error()))
				return
			}
			walk(e.Err)
		case *openapi3.SchemaError:
			if e.Origin != nil {
				before := len(out)
				walk(e.Origin)
				if len(out) > before {
					return
				}
			}
			out = append(out, schemaViolation(e))
		default:
			if inner := errors.Unwrap(err); inner != nil {
				walk(inner)
				return
			}
			out = append(out, Violation{Rule: RuleSchema, Where: "body", Expected: "an answer openapi.yaml describes", Got: err.Error(), Hint: ruleHint(RuleSchema)})
		}
	}
	walk(err)
	return out
}

func isMulti(err error) bool {
	var m openapi3.MultiError
	return errors.As(err, &m)
}

// responseViolation maps a ResponseError that is not about the body's schema: an undeclared
// status, a content type openapi.yaml does not describe.
func responseViolation(reason string) Violation {
	switch {
	case strings.Contains(reason, "status"):
		return Violation{Rule: RuleHTTPStatus, Where: "status", Expected: "a status openapi.yaml declares for the operation", Got: reason, Hint: ruleHint(RuleHTTPStatus)}
	case strings.Contains(strings.ToLower(reason), "content-type") || strings.Contains(reason, "content type"):
		return Violation{Rule: RuleContentType, Where: "header Content-Type", Expected: "a content type openapi.yaml declares", Got: reason, Hint: ruleHint(RuleContentType)}
	}
	return Violation{Rule: RuleSchema, Where: "answer", Expected: "an answer openapi.yaml describes", Got: reason, Hint: ruleHint(RuleSchema)}
}

// schemaViolation says what one schema keyword wanted and what came.
func schemaViolation(e *openapi3.SchemaError) Violation {
	f := idvmock.ExplainSchemaError(e)
	got := jsonText(f.Value)
	switch f.Keyword {
	case "required":
		got = "nothing (the field is absent)"
	case "additionalProperties":
		got = "a property"
	}
	return Violation{Rule: RuleSchema, Pointer: pointerOf(f.Pointer...), Where: "body", Expected: f.Expected, Got: got, Hint: ruleHint(RuleSchema)}
}
