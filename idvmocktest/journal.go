package idvmocktest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idvmock/idvmock/mockserver"
)

// Request is one entry of the mock's journal: a request it answered, or a callback attempt.
type Request = mockserver.Entry

// Filter selects journal entries; empty fields select everything.
type Filter struct {
	UserID string
	Region string // global, sg, ph, th, my, vn
	Code   string // SUCCESS, PARAMETER_ERROR, ... or a gateway fault's HTTP status
	Kind   string // request or callback
	Fault  string // a fault type that fired
	Since  time.Time
}

// query is the query string that selects what f selects, "?" included, or "" for everything.
func (f Filter) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"userId": f.UserID, "region": f.Region, "code": f.Code, "kind": f.Kind, "fault": f.Fault} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Requests lists the journal entries f selects, newest first.
func (s *Server) Requests(f Filter) ([]Request, error) {
	var out struct{ Requests []Request }
	err := s.admin(http.MethodGet, "/requests"+f.query(), nil, http.StatusOK, &out)
	return out.Requests, err
}

// Count counts the journal entries f selects.
func (s *Server) Count(f Filter) (int, error) {
	var out struct{ Count int }
	err := s.admin(http.MethodGet, "/requests/count"+f.query(), nil, http.StatusOK, &out)
	return out.Count, err
}

// ClearRequests empties the journal.
func (s *Server) ClearRequests() error {
	return s.admin(http.MethodDelete, "/requests", nil, http.StatusOK, nil)
}

// AssertCalls fails t unless the journal holds exactly n entries that f selects; the message
// lists what the journal holds for the userId asked.
func (s *Server) AssertCalls(t testing.TB, f Filter, n int) {
	t.Helper()
	got, err := s.Requests(f)
	if err != nil {
		t.Fatalf("idvmocktest: reading the journal: %v", err)
	}
	if len(got) == n {
		return
	}
	var lines []string
	all, _ := s.Requests(Filter{UserID: f.UserID})
	for _, r := range all {
		lines = append(lines, fmt.Sprintf("  %s %s %s?%s (%s): HTTP %d %s", r.Time.Format("15:04:05.000"), r.Method, r.Path, r.Query, r.Region, r.Status, r.Code))
	}
	t.Errorf("idvmocktest: %d requests match %+v, want %d; the journal holds for userId %q:\n%s", len(got), f, n, f.UserID, strings.Join(lines, "\n"))
}
