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
