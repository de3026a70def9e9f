package mockserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios/files"
)

const (
	testAccessKey = "sampleaccesskey"
	testSecretKey = "samplesecretkey"
)

func newTestServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.AccessKey == "" {
		cfg.AccessKey, cfg.SecretKey = testAccessKey, testSecretKey
	}
	if cfg.Engine == nil {
		cfg.Engine = newEngine(t, 0)
	}
	cfg.ParseUser = files.ParseUser
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// call is one request to the mock.
type call struct {
	method string
	target string // path and query
	host   string
	header map[string]string
	body   string
}

// latestCall asks for userId's latest session with a token, on host.
func latestCall(query, host string) call {
	return call{target: idvmock.PathLatest + "?" + query, host: host, header: map[string]string{idvmock.TokenHeader: "test-token"}}
}

func (c call) request() *http.Request {
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(method, "http://api.advance.ai"+c.target, body)
	if c.target != "" && !strings.HasPrefix(c.target, "/") {
		req = httptest.NewRequest(method, c.target, body)
	}
	if c.host != "" {
		req.Host = c.host
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	return req
}

// serve runs c through s and returns the recorded response.
func serve(t *testing.T, s *Server, c call) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, c.request())
	return rec
}

// envelope is the part of any answer every test looks at.
type envelope struct {
	Code          string          `json:"code"`
	Message       string          `json:"message"`
	TransactionID string          `json:"transactionId"`
	Data          json.RawMessage `json:"data"`
}

// decode checks that rec holds a JSON envelope and returns it.
func decode(t *testing.T, rec *httptest.ResponseRecorder) envelope {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json; body %s", ct, rec.Body)
	}
	var env envelope
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	if env.Code == "" || env.TransactionID == "" {
		t.Fatalf("envelope without code or transactionId: %s", rec.Body)
	}
	return env
}

var htmlDecoder sync.Once

// specChecker validates responses against openapi.yaml the way the contract suite does:
// kin-openapi's ValidateResponse with undeclared statuses refused. Answers to requests that
// match no operation (404, 405) are checked against the ErrorEnvelope schema.
type specChecker struct {
	doc    *openapi3.T
	router routers.Router
}

func newSpecChecker(t *testing.T) *specChecker {
	t.Helper()
	htmlDecoder.Do(func() { // the H5 pages answer HTML; the checker reads it as text
		openapi3filter.RegisterBodyDecoder("text/html", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(r)
			return string(b), err
		})
	})
	doc, err := idvmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	router, err := pathRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &specChecker{doc: doc, router: router}
}

func (sc *specChecker) check(t *testing.T, c call, rec *httptest.ResponseRecorder) {
	t.Helper()
	if err := sc.conform(c, rec); err != nil {
		t.Errorf("%s %s (Host %s): %v\n%s", c.method, c.target, c.host, err, rec.Body)
	}
}

// conform reports how the answer rec to c breaks openapi.yaml, or nil.
func (sc *specChecker) conform(c call, rec *httptest.ResponseRecorder) error {
	req := c.request()
	route, params, err := sc.router.FindRoute(req)
	if err != nil {
		var body any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			return fmt.Errorf("body is not JSON: %w", err)
		}
		if err := sc.doc.Components.Schemas["ErrorEnvelope"].Value.VisitJSON(body); err != nil {
			return fmt.Errorf("body does not match ErrorEnvelope: %w", err)
		}
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("response does not conform to openapi.yaml: %w", err)
	}
	return nil
}

// fixedClock is a settable clock for token tests.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

// The checker the conformance tests rely on must itself catch a body that breaks the spec.
func TestSpecCheckerCatchesNonConformingBodies(t *testing.T) {
	sc := newSpecChecker(t)
	c := latestCall("userId=user_active", "")
	for name, body := range map[string]string{
		"data on an error":       `{"code":"PARAMETER_ERROR","message":"x","transactionId":"a","data":{"profileStatus":"INIT"}}`,
		"unknown code":           `{"code":"SUCESS","message":"OK","transactionId":"a","data":null}`,
		"bad profileStatus":      `{"code":"SUCCESS","message":"OK","transactionId":"a","data":{"profileStatus":"DONE","result":{}}}`,
		"transactionId too long": `{"code":"ERROR","message":"x","transactionId":"` + strings.Repeat("a", 65) + `"}`,
	} {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteString(body)
		if sc.conform(c, rec) == nil {
			t.Errorf("%s: the checker accepted %s", name, body)
		}
	}
}

// newEngine returns an engine of the built-in scenarios and the files of testdata/scenarios
// named, seeded with seed.
func newEngine(t testing.TB, seed int64, names ...string) *engine.Engine {
	t.Helper()
	all, err := files.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 0 {
		var paths []string
		for _, f := range names {
			paths = append(paths, filepath.Join("testdata", "scenarios", f))
		}
		more, err := files.ReadPaths(paths)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, more...)
	}
	e, err := engine.NewEngine(seed, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// engineAt is the built-in scenarios' engine on a clock of the test's.
func engineAt(t testing.TB, now func() time.Time) *engine.Engine {
	t.Helper()
	all, err := files.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.NewEngine(0, all, now)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
