package mockserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
)

// firstQueryValue finds what url.Values.Get finds, for every shape of query string.
func TestFirstQueryValueMatchesParseQuery(t *testing.T) {
	queries := []string{
		"", "userId=a", "userId=a&userId=b", "x=1&userId=", "userId", "userId=a%20b", "userId=a+b",
		"user%49d=c", "userId=%zz&userId=ok", "userId=a;b&userId=c", "a=1;userId=2", "&&userId=x&&",
		"userId=%E6%97%A5", "userid=lower", "userId==eq", "=v&userId=w", "userId=%", "%=1&userId=2",
		"solutionCode=101&userId=u", "user+Id=sp", "userId=a%26b",
	}
	for _, q := range queries {
		values, _ := url.ParseQuery(q)
		for _, name := range []string{"userId", "solutionCode", "user Id", "a", ""} {
			if got, want := firstQueryValue(q, name), values.Get(name); got != want {
				t.Errorf("firstQueryValue(%q, %q) = %q, url.Values.Get says %q", q, name, got, want)
			}
		}
	}
}

// A request found valid before is still refused when its token is not accepted: the cache
// of valid requests leaves the token out and checks it every time.
func TestValidRequestStillChecksItsToken(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0)})
	good := latestCall("userId=user_active", "")
	if env := decode(t, serve(t, s, good)); env.Code != idvmock.CodeSuccess {
		t.Fatalf("first call: %s", env.Code)
	}
	if _, ok := s.valid.keys[validKeyOf(t, s, good)]; !ok {
		t.Fatal("a valid request was not remembered")
	}
	for _, token := range []string{"", "   "} {
		c := good
		c.header = map[string]string{idvmock.TokenHeader: token}
		if env := decode(t, serve(t, s, c)); env.Code != idvmock.CodeIAMFailed {
			t.Errorf("token %q on a request valid before: %s %s, want %s", token, env.Code, env.Message, idvmock.CodeIAMFailed)
		}
	}
}

// validKeyOf is the cache's key for c.
func validKeyOf(t *testing.T, s *Server, c call) string {
	t.Helper()
	req := c.request()
	route, params, err := s.findRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := validKey(nil, inputOf(s, req, route, params))
	if !ok {
		t.Fatalf("%s %s is not cacheable", req.Method, req.URL)
	}
	return string(key)
}

// Asked twice, every request gets the same answer: whether the first was checked in full
// or the second found in the cache, the code, the message and the status agree, and only
// the valid ones are remembered.
func TestSecondCheckAnswersLikeTheFirst(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0)})
	queries := []string{
		"userId=user_active", "userId=", "userId=user_active&userId=x", "userId=user_active&extra=1",
		"userId=%zz", "userId=a;b", "userId=" + strings.Repeat("u", 300), "solutionCode=1&userId=u",
		"userId=user_active&solutionCode=101", "userId=tab%09",
	}
	for _, q := range queries {
		c := latestCall(q, "")
		first, second := serve(t, s, c), serve(t, s, c)
		a, b := decode(t, first), decode(t, second)
		if first.Code != second.Code || a.Code != b.Code || a.Message != b.Message {
			t.Errorf("%q: first %d %s %q, then %d %s %q", q, first.Code, a.Code, a.Message, second.Code, b.Code, b.Message)
		}
		req := c.request()
		route, params, err := s.findRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		valid := checkQuery(req.URL.RawQuery, route.Operation) == "" &&
			openapi3filter.ValidateRequest(context.Background(), inputOf(s, req, route, params)) == nil
		if _, remembered := s.valid.keys[validKeyOf(t, s, c)]; remembered != valid {
			t.Errorf("%q (valid: %v) answered %s: remembered %v", q, valid, a.Code, remembered)
		}
	}
	// A header parameter the operation declares is part of what is remembered.
	c := latestCall("userId=user_active", "")
	c.header["X-Mock-Scenario"] = "no_such_scenario"
	if validKeyOf(t, s, c) == validKeyOf(t, s, latestCall("userId=user_active", "")) {
		t.Error("X-Mock-Scenario is not part of the key")
	}
}

// However many distinct valid requests come, the cache keeps at most maxValidRequests, and
// a key past maxValidKey bytes is not kept.
func TestValidRequestsAreBounded(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0)})
	for i := range maxValidRequests + 50 {
		rec := serve(t, s, latestCall(fmt.Sprintf("userId=u%d", i), ""))
		if rec.Code != http.StatusOK {
			t.Fatal(rec.Code)
		}
		if n := len(s.valid.keys); n > maxValidRequests {
			t.Fatalf("%d requests remembered, bound %d", n, maxValidRequests)
		}
	}
	s.valid.keys = nil
	long := latestCall("userId=u", "")
	long.header["X-Mock-Scenario"] = strings.Repeat("a", maxValidKey) // valid: any string
	serve(t, s, long)
	if len(s.valid.keys) != 0 {
		t.Error("a key longer than maxValidKey was kept")
	}
}

// inputOf is what dispatch gives kin-openapi for req.
func inputOf(s *Server, req *http.Request, route *routers.Route, params map[string]string) *openapi3filter.RequestValidationInput {
	return &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: s.filterOptions}
}

// The security check of a request found valid before agrees with kin-openapi's for every
// bodiless operation of openapi.yaml, with and without each kind of token.
func TestCheckSecurityAgreesWithKinOpenAPI(t *testing.T) {
	for _, adminToken := range []string{"", "s3cret-admin"} {
		s := newTestServer(t, Config{Engine: newEngine(t, 0), AdminToken: adminToken})
		doc, err := idvmock.LoadSpec()
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if op.RequestBody != nil {
					continue
				}
				target := strings.NewReplacer("{userId}", "u1", "{signatureId}", "sig1", "{id}", "1", "{name}", "n").Replace(path)
				for _, headers := range []map[string]string{
					{}, {idvmock.TokenHeader: "t0k3n"}, {idvmock.TokenHeader: " "},
					{"Authorization": "Bearer s3cret-admin"}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-admin"},
				} {
					req := call{method: method, target: target, header: headers}.request()
					route, params, err := s.findRoute(req)
					if err != nil {
						t.Fatalf("%s %s: %v", method, target, err)
					}
					security := route.Operation.Security
					if security == nil {
						security = &route.Spec.Security
					}
					input := inputOf(s, req, route, params)
					got, want := s.checkSecurity(context.Background(), input, *security),
						openapi3filter.ValidateSecurityRequirements(context.Background(), input, *security)
					if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
						t.Errorf("%s %s %v: %T %v, kin-openapi says %T %v", method, path, headers, got, got, want, want)
					}
					checked++
				}
			}
		}
		if checked < 30 {
			t.Fatalf("only %d requests checked", checked)
		}
	}
}

// Two JSON answers written one after the other (none does so today) are journaled as the
// client got them: the first is kept without a copy, the second is copied after it.
func TestJournalKeepsTwoWholeAnswers(t *testing.T) {
	rec := httptest.NewRecorder()
	e := echo.New()
	c := &tracked{Context: e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)}
	c.x.answer.ResponseWriter = c.Response().Writer
	c.Response().Writer = &c.x.answer
	first, second := []byte(`{"first":1}`), []byte(`{"second":2}`)
	if err := sendJSON(c, http.StatusOK, first); err != nil {
		t.Fatal(err)
	}
	if err := sendJSON(c, http.StatusOK, second); err != nil {
		t.Fatal(err)
	}
	if got, want := c.x.answer.answer(), rec.Body.String(); got != want {
		t.Fatalf("journal keeps %q, the client got %q", got, want)
	}
}

// A journal entry's headers read and write as a JSON object, as when they were a map: the
// shared journal, the admin API and the dashboard see no difference.
func TestHeadersAreAnObjectInJSON(t *testing.T) {
	h := journalHeaders(http.Header{"X-Trace": {"a", "b"}, "Accept": {"*/*"}, "X-Access-Token": {"tok-0123456789-abcdef"}})
	raw, err := json.Marshal(Entry{RequestHeaders: h})
	if err != nil {
		t.Fatal(err)
	}
	want := `"requestHeaders":{"Accept":"*/*","X-Access-Token":"tok-****(21 chars)","X-Trace":"a, b"}`
	if !strings.Contains(string(raw), want) {
		t.Fatalf("%s\nwant %s", raw, want)
	}
	var back Entry
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.RequestHeaders.Get("X-Trace") != "a, b" || len(back.RequestHeaders) != 3 || back.RequestHeaders[0].Name != "Accept" {
		t.Errorf("read back as %v", back.RequestHeaders)
	}
	if raw, _ := json.Marshal(Entry{}); strings.Contains(string(raw), "requestHeaders") {
		t.Errorf("an entry without headers: %s", raw)
	}
}
