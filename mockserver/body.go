package mockserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

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
	exchangeOf(c).Body = data
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
