package mockserver

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// documentedCodes are the codes the vendor's endpoints answer with (openapi.yaml's
// ErrorEnvelope, plus SUCCESS).
var documentedCodes = []string{"SUCCESS", "PARAMETER_ERROR", "ERROR", "IAM_FAILED", "CLIENT_ERROR", "ACCOUNT_DISABLED",
	"SERVICE_BUSY", "RETRY_LATER", "OVER_QUERY_LIMIT", "INSUFFICIENT_BALANCE", "EMPTY_PARAMETER_ERROR"}

// checkEnvelope fails unless rec is the vendor's JSON envelope with a documented code, and
// not a 500.
func checkEnvelope(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: HTTP %d\n%s", what, rec.Code, rec.Body)
	}
	var env struct {
		Code          string `json:"code"`
		Message       string `json:"message"`
		TransactionID string `json:"transactionId"`
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	if err := dec.Decode(&env); err != nil || dec.More() {
		t.Fatalf("%s: HTTP %d, not one JSON envelope (%v):\n%s", what, rec.Code, err, rec.Body)
	}
	if !slices.Contains(documentedCodes, env.Code) || env.Message == "" || env.TransactionID == "" {
		t.Fatalf("%s: HTTP %d, code %q message %q transactionId %q", what, rec.Code, env.Code, env.Message, env.TransactionID)
	}
	if rec.Code != http.StatusOK && env.Code != "CLIENT_ERROR" {
		t.Fatalf("%s: HTTP %d with code %s: business outcomes are HTTP 200", what, rec.Code, env.Code)
	}
}

func fuzzServer(t testing.TB) *Server {
	return newTestServer(t, Config{Engine: newEngine(t, 0, "qa.yaml"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// Any query, token and scenario header on Get Latest Session Result: never a panic or a 500,
// always the envelope with a documented code.
func FuzzLatestRequest(f *testing.F) {
	for _, seed := range []struct{ query, token, scenario, host string }{
		{"userId=user_active", "t", "", "sg-api.advance.ai"},
		{"userId=user_multi&solutionCode=101", "t", "", ""},
		{"userId=", "", "", ""},
		{"userId=a&userId=b", "t", "", ""},
		{"userId=%zz", "t", "", ""},
		{"userId=a&solutioncode=1", "t", "", "th-api.x"},
		{"userId=a", "t", "failed", ""},
		{"userId=a", "t", "nope", ""},
		{"userId=burst-1", "expired-token", "", ""},
		{"userId=%00%ff", "t\x7f", "", "my-api"},
	} {
		f.Add(seed.query, seed.token, seed.scenario, seed.host)
	}
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, query, token, scenario, host string) {
		req := httptest.NewRequest(http.MethodGet, idvmock.PathLatest, nil) // a Body, as the server gives
		req.URL.RawQuery = query
		if token != "" {
			req.Header.Set(idvmock.TokenHeader, token)
		}
		if scenario != "" {
			req.Header.Set(engine.ScenarioHeader, scenario)
		}
		if host != "" {
			req.Host = host
		}
		req.RequestURI = req.URL.RequestURI()
		if !validRequestURI(req.RequestURI) {
			return // net/http refuses such a request line before any handler (see listener.go)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkEnvelope(t, "GET ?"+query, rec)
	})
}

// Any body on the token API: never a panic or a 500, always the envelope.
func FuzzTokenBody(f *testing.F) {
	for _, seed := range []string{
		`{"accessKey":"sampleaccesskey","timestamp":"1665993522952","signature":"02209bbeaf0d0a3dd587f6a1ba22f84c98d142e3b545e77db7e4906ca56349f5"}`,
		`{"accessKey":"k","timestamp":1665993522952,"signature":"s","periodSecond":60}`,
		`{"accessKey":"","timestamp":"","signature":""}`,
		`{`, `[]`, `null`, `{"accessKey":1}`, `{"periodSecond":"x"}`, "",
	} {
		f.Add(seed, "application/json")
	}
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body, contentType string) {
		req := httptest.NewRequest(http.MethodPost, idvmock.PathToken, bytes.NewReader([]byte(body)))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkEnvelope(t, "POST "+idvmock.PathToken, rec)
	})
}

// validRequestURI: what net/http's server would pass to a handler.
func validRequestURI(uri string) bool {
	for i := 0; i < len(uri); i++ {
		if uri[i] <= ' ' || uri[i] == 0x7f {
			return false
		}
	}
	return true
}
