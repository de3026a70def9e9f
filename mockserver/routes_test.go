package mockserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
)

// Every operation of openapi.yaml has a handler and every handler an operation: a spec that
// gains an operation, or a handler left for one the spec dropped, stops New.
func TestEveryOperationHasItsHandler(t *testing.T) {
	s := newTestServer(t, Config{})
	doc, err := idvmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkHandlers(doc, s.handlerTable()); err != nil {
		t.Fatalf("the shipped spec and handlers disagree: %v", err)
	}
	fewer := s.handlerTable()
	delete(fewer, "adminReset")
	if err := checkHandlers(doc, fewer); err == nil || !strings.Contains(err.Error(), `POST /__admin/reset (operationId "adminReset") has no handler`) {
		t.Errorf("a missing handler: %v", err)
	}
	more := s.handlerTable()
	more["adminFly"] = func(echo.Context) error { return nil }
	if err := checkHandlers(doc, more); err == nil || !strings.Contains(err.Error(), `operationId "adminFly", which openapi.yaml does not declare`) {
		t.Errorf("a handler of no operation: %v", err)
	}
}

// Path parameters reach the handlers unescaped, whatever the URL escapes.
func TestPathParametersAreUnescaped(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	for _, id := range []string{"qa user", "qa/slash", "qa%percent"} {
		escaped := strings.NewReplacer("%", "%25", " ", "%20", "/", "%2F").Replace(id)
		admin(t, s, sc, adminCall(http.MethodPut, adminPrefix+"/users/"+escaped, `{"scenario": "active"}`), http.StatusOK)
		got := admin(t, s, sc, adminCall(http.MethodGet, adminPrefix+"/users/"+escaped, ""), http.StatusOK)
		if user, _ := got["user"].(map[string]any); user["userId"] != id {
			t.Errorf("%q: the mock read the userId as %v", id, user["userId"])
		}
	}
}

// The route cache is keyed on the path as the router matches it: a userId holding an
// escaped slash never sends a later request to another operation.
func TestEscapedSlashesDoNotMisrouteLaterRequests(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	stepper := `{"states": [{"name": "s0", "profileStatus": "INIT", "sessions": [{}], "after": "5 calls"}, {"name": "s1", "profileStatus": "ACTIVE", "sessions": [{"overallResult": "PASS"}]}]}`
	admin(t, s, sc, adminCall(http.MethodPut, adminPrefix+"/users/loopy", stepper), http.StatusOK)
	admin(t, s, sc, adminCall(http.MethodPut, adminPrefix+"/users/loopy%2Fstate", `{"scenario": "active"}`), http.StatusOK)
	got := admin(t, s, sc, adminCall(http.MethodPut, adminPrefix+"/users/loopy/state", `{"state": "s1"}`), http.StatusOK)
	if user, _ := got["user"].(map[string]any); user["userId"] != "loopy" || user["state"] != "s1" {
		t.Errorf("PUT /users/loopy/state after /users/loopy%%2Fstate: %v", got)
	}
	if rec := serve(t, s, adminCall(http.MethodGet, adminPrefix+"/users/loopy/x", "")); rec.Code != http.StatusNotFound {
		t.Errorf("GET /users/loopy/x: %d %s", rec.Code, rec.Body)
	}
}

// Methods echo does not know are answered as openapi.yaml says: 405 with the path's methods,
// or 404 for a path it does not declare.
func TestUnknownMethodsFollowTheSpec(t *testing.T) {
	s := newTestServer(t, Config{})
	for _, tc := range []struct {
		method, target string
		status         int
		allow          string
	}{
		{"FOO", idvmock.PathLatest, http.StatusMethodNotAllowed, "GET"},
		{"get", idvmock.PathToken, http.StatusMethodNotAllowed, "POST"},
		{"FOO", "/nope", http.StatusNotFound, ""},
		{"FOO", "/", http.StatusNotFound, ""},
	} {
		rec := serve(t, s, call{method: tc.method, target: tc.target})
		env := decode(t, rec)
		if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow || env.Code != idvmock.CodeClientError {
			t.Errorf("%s %s: %d Allow %q %s, want %d Allow %q", tc.method, tc.target, rec.Code, rec.Header().Get("Allow"), env.Code, tc.status, tc.allow)
		}
	}
}
