package mockserver

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func benchServer(b *testing.B) *Server {
	b.Helper()
	return newTestServer(b, Config{Engine: newEngine(b, 0), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// One full request through the server: routing, validation against openapi.yaml, token,
// scenario lookup, body, envelope, journal, log line.
func BenchmarkLatestActive(b *testing.B) {
	s := benchServer(b)
	req := latestCall("userId=user_active", "sg-api.advance.ai").request()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// The same on an unknown userId (near misses are computed).
func BenchmarkLatestUnknownUser(b *testing.B) {
	s := benchServer(b)
	req := latestCall("userId=user_actve", "sg-api.advance.ai").request()
	b.ReportAllocs()
	for b.Loop() {
		s.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// A request refused by validation (a parameter the operation does not declare).
func BenchmarkLatestRefused(b *testing.B) {
	s := benchServer(b)
	req := latestCall("userId=user_active&solutioncode=101", "").request()
	b.ReportAllocs()
	for b.Loop() {
		s.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// The direct envelope writer escapes strings exactly as encoding/json does.
func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "OK", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x1f ctl", "line\u2028sep\u2029",
		"日本語 ünï", "bad \xff utf8", "literal \uFFFD replacement", "<&>"} {
		want, err := marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}

// The route cache answers the same routes as the router and stays bounded however many
// paths with ids come.
func TestRouteCacheIsBoundedAndExact(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0)})
	for i := range maxCachedRoutes + 100 {
		req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/__admin/users/u%d", i), nil)
		_, params, err := s.findRoute(req)
		if err != nil || params["userId"] != fmt.Sprintf("u%d", i) {
			t.Fatalf("u%d: params %v, %v", i, params, err)
		}
	}
	if len(s.routes) > maxCachedRoutes {
		t.Errorf("the route cache holds %d routes, more than %d", len(s.routes), maxCachedRoutes)
	}
	if _, _, err := s.findRoute(httptest.NewRequest(http.MethodGet, "/nowhere", nil)); err == nil || len(s.routes) > maxCachedRoutes {
		t.Error("an unknown path was routed")
	}
}
