package mockserver

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios/files"
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
	for _, s := range []string{"", "OK", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x1f ctl", "backspace\b formfeed\f \x7f", "line\u2028sep\u2029",
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

// manyUsers is a scenario file of n users, each with a session of its own.
func manyUsers(n int) string {
	var b strings.Builder
	b.WriteString("users:\n")
	for i := range n {
		fmt.Fprintf(&b, "  qa-user-%04d:\n    profileStatus: ACTIVE\n    sessions: [{overallResult: PASS, bizId: order-%d}]\n", i, i)
	}
	return b.String()
}

func serverWithUsers(b *testing.B, n int) *Server {
	b.Helper()
	builtin, err := files.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	f, err := files.Parse("many.yaml", strings.NewReader(manyUsers(n)))
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.NewEngine(0, append(builtin, f), nil)
	if err != nil {
		b.Fatal(err)
	}
	return newTestServer(b, Config{Engine: e, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// latencies answers user_active n times and returns each answer's latency, sorted.
func latencies(b *testing.B, s *Server, n int) []time.Duration {
	req := latestCall("userId=user_active", "sg-api.advance.ai").request()
	out := make([]time.Duration, n)
	for i := range out {
		start := time.Now()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		out[i] = time.Since(start)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
	slices.Sort(out)
	return out
}

func p99(sorted []time.Duration) time.Duration { return sorted[len(sorted)*99/100] }

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// Normal Get Latest traffic while a client streams unmatched 255-character userIds at a mock
// of 1,000 declared users: no request waits on another's near-miss search (target: p99
// within 2x its idle value). Reports the idle and loaded p99 and their ratio; b.N requests
// are timed in each phase.
func BenchmarkLatestP99UnderUnmatchedStream(b *testing.B) {
	s := serverWithUsers(b, 1000)
	n := max(b.N, 2000)
	latencies(b, s, 500) // warm the caches
	idle := latencies(b, s, n)
	stop := make(chan struct{})
	var streamed atomic.Int64
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			req := latestCall(fmt.Sprintf("userId=%0255d", i), "sg-api.advance.ai").request()
			s.ServeHTTP(httptest.NewRecorder(), req)
			streamed.Add(1)
		}
	}()
	loaded := latencies(b, s, n)
	close(stop)
	b.ReportMetric(float64(p99(idle).Microseconds()), "idle-p99-us")
	b.ReportMetric(float64(p99(loaded).Microseconds()), "loaded-p99-us")
	b.ReportMetric(float64(p99(loaded))/float64(p99(idle)), "p99-ratio")
	b.ReportMetric(float64(mean(loaded))/float64(mean(idle)), "mean-ratio")
	b.ReportMetric(float64(streamed.Load()), "unmatched")
}

// PUT /__admin/users at 1,000 declared users compiles and checks one user, not all
// (target: under 5 ms).
func BenchmarkAdminPutUserAt1000Users(b *testing.B) {
	s := serverWithUsers(b, 1000)
	bodies := []string{"profileStatus: ACTIVE\nsessions: [{overallResult: PASS}]\n", "scenario: failed\n"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, call{method: http.MethodPut, target: adminPrefix + "/users/qa-user-0500", body: bodies[i%2]}.request())
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		i++
	}
}

// What track adds to each request for the metrics: the labels, bounded, their cached counter
// and histogram, and one observation each.
func BenchmarkMetricsRequest(b *testing.B) {
	s := benchServer(b)
	x := &exchange{Operation: "getLatestSessionResult", Code: "SUCCESS"}
	x.Region, _ = s.regions.ByName("sg")
	b.ReportAllocs()
	for b.Loop() {
		s.metrics.request(x, http.StatusOK, 15*time.Microsecond, nil)
	}
}
