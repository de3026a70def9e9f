package mockserver

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// Bad input always gets a well-formed envelope with the right HTTP status and code, never a
// panic, a 500 or a non-JSON body, and the answer conforms to openapi.yaml.
func TestBadInputGetsTheVendorEnvelope(t *testing.T) {
	withToken := map[string]string{idvmock.TokenHeader: "t"}
	long := strings.Repeat("u", 256)
	jsonCT := map[string]string{"Content-Type": "application/json"}
	table := []struct {
		name    string
		call    call
		status  int
		code    string
		message string // a substring of the expected message
	}{
		{"missing userId", call{target: idvmock.PathLatest, header: withToken}, 200, "PARAMETER_ERROR", "userId should not be empty."},
		{"empty userId", call{target: idvmock.PathLatest + "?userId=", header: withToken}, 200, "PARAMETER_ERROR", "userId should not be empty."},
		{"userId without =", call{target: idvmock.PathLatest + "?userId", header: withToken}, 200, "PARAMETER_ERROR", "userId should not be empty."},
		{"only solutionCode", call{target: idvmock.PathLatest + "?solutionCode=101", header: withToken}, 200, "PARAMETER_ERROR", "userId should not be empty."},
		{"duplicate userId", call{target: idvmock.PathLatest + "?userId=a&userId=b", header: withToken}, 200, "PARAMETER_ERROR", "userId is given more than once"},
		{"duplicate solutionCode", call{target: idvmock.PathLatest + "?userId=a&solutionCode=101&solutionCode=101", header: withToken}, 200, "PARAMETER_ERROR", "solutionCode is given more than once"},
		{"unknown parameter", call{target: idvmock.PathLatest + "?userId=user_active&foo=1", header: withToken}, 200, "PARAMETER_ERROR", `Unknown query parameter "foo"`},
		{"misspelt parameter", call{target: idvmock.PathLatest + "?userId=user_active&solutioncode=101", header: withToken}, 200, "PARAMETER_ERROR", `"solutioncode"`},
		{"invalid escape in value", call{target: idvmock.PathLatest + "?userId=%ZZ", header: withToken}, 200, "PARAMETER_ERROR", "userId is not valid percent-encoding"},
		{"truncated escape", call{target: idvmock.PathLatest + "?userId=abc%2", header: withToken}, 200, "PARAMETER_ERROR", "userId is not valid percent-encoding"},
		{"invalid escape in name", call{target: idvmock.PathLatest + "?user%G1=a", header: withToken}, 200, "PARAMETER_ERROR", "not valid percent-encoding"},
		{"semicolon", call{target: idvmock.PathLatest + "?userId=a;b", header: withToken}, 200, "PARAMETER_ERROR", "%3B"},
		{"userId too long", call{target: idvmock.PathLatest + "?userId=" + long, header: withToken}, 200, "PARAMETER_ERROR", "userId is longer than 255 characters."},
		{"userId very long", call{target: idvmock.PathLatest + "?userId=" + strings.Repeat("x", 300), header: withToken}, 200, "PARAMETER_ERROR", "userId is longer than 255 characters."},
		{"query over 4 KiB", call{target: idvmock.PathLatest + "?userId=" + strings.Repeat("x", 20000), header: withToken}, 200, "PARAMETER_ERROR", "at most 4096 are accepted"},
		{"solutionCode too long", call{target: idvmock.PathLatest + "?userId=a&solutionCode=" + strings.Repeat("1", 65), header: withToken}, 200, "PARAMETER_ERROR", "solutionCode is wrong."},
		{"empty solutionCode", call{target: idvmock.PathLatest + "?userId=user_active&solutionCode=", header: withToken}, 200, "PARAMETER_ERROR", "solutionCode is wrong."},
		{"non-UTF-8 userId", call{target: idvmock.PathLatest + "?userId=%FF%FE", header: withToken}, 200, "PARAMETER_ERROR", "userId is not valid UTF-8"},
		{"overlong UTF-8", call{target: idvmock.PathLatest + "?userId=%C0%AF", header: withToken}, 200, "PARAMETER_ERROR", "userId is not valid UTF-8"},
		{"NUL in userId", call{target: idvmock.PathLatest + "?userId=a%00b", header: withToken}, 200, "PARAMETER_ERROR", "userId contains control characters."},
		{"newline in userId", call{target: idvmock.PathLatest + "?userId=a%0Ab", header: withToken}, 200, "PARAMETER_ERROR", "userId contains control characters."},
		{"userId of spaces", call{target: idvmock.PathLatest + "?userId=%20%20", header: withToken}, 200, "PARAMETER_ERROR", "externalUserId does not exist."},
		{"missing token", call{target: idvmock.PathLatest + "?userId=user_active"}, 200, "IAM_FAILED", "Token not found or expired"},
		{"blank token", call{target: idvmock.PathLatest + "?userId=user_active", header: map[string]string{idvmock.TokenHeader: "   "}}, 200, "IAM_FAILED", "Token not found or expired"},
		{"token checked before parameters", call{target: idvmock.PathLatest + "?foo=%ZZ"}, 200, "IAM_FAILED", "Token not found or expired"},
		{"POST on get-latest", call{method: http.MethodPost, target: idvmock.PathLatest + "?userId=a", header: withToken}, 405, "CLIENT_ERROR", "HTTP 405 - Method Not Allowed"},
		{"DELETE on get-latest", call{method: http.MethodDelete, target: idvmock.PathLatest + "?userId=a", header: withToken}, 405, "CLIENT_ERROR", "HTTP 405 - Method Not Allowed"},
		{"GET on token API", call{target: idvmock.PathToken}, 405, "CLIENT_ERROR", "HTTP 405 - Method Not Allowed"},
		{"unknown path", call{target: "/intl/openapi/nothing"}, 404, "CLIENT_ERROR", "HTTP 404 - Not Found"},
		{"root path", call{target: "/"}, 404, "CLIENT_ERROR", "HTTP 404 - Not Found"},
		{"trailing slash", call{target: idvmock.PathLatest + "/?userId=a", header: withToken}, 404, "CLIENT_ERROR", "HTTP 404 - Not Found"},
		{"unknown admin path", call{target: "/__admin/nothing"}, 404, "CLIENT_ERROR", "HTTP 404 - Not Found"},
		{"token API: broken JSON", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT, body: `{"accessKey":`}, 400, "CLIENT_ERROR", "the body is not valid JSON"},
		{"token API: not an object", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT, body: `[1,2]`}, 400, "CLIENT_ERROR", "the body must be a JSON object"},
		{"token API: no body", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT}, 400, "CLIENT_ERROR", "the body is empty"},
		{"token API: form body", call{method: http.MethodPost, target: idvmock.PathToken, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "accessKey=a"}, 400, "CLIENT_ERROR", "application/json"},
		{"token API: missing accessKey", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT, body: `{"timestamp":"1665993522952","signature":"x"}`}, 200, "PARAMETER_ERROR", "Parameter should not be empty: accessKey"},
		{"token API: empty signature", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT, body: `{"accessKey":"a","timestamp":"1665993522952","signature":""}`}, 200, "PARAMETER_ERROR", "Parameter should not be empty: signature"},
		{"token API: null timestamp", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT, body: `{"accessKey":"a","timestamp":null,"signature":"x"}`}, 200, "PARAMETER_ERROR", "Parameter should not be empty: timestamp"},
		{"token API: boolean timestamp", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT, body: `{"accessKey":"a","timestamp":true,"signature":"x"}`}, 200, "PARAMETER_ERROR", "Timestamp error"},
		{"token API: accessKey a number", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT, body: `{"accessKey":7,"timestamp":"1665993522952","signature":"x"}`}, 200, "PARAMETER_ERROR", "accessKey must be a string."},
		{"token API: periodSecond too short", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT, body: `{"accessKey":"a","timestamp":"1665993522952","signature":"x","periodSecond":59}`}, 200, "PARAMETER_ERROR", "periodSecond must be an integer from 60 to 86400."},
		{"token API: periodSecond too long", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT, body: `{"accessKey":"a","timestamp":"1665993522952","signature":"x","periodSecond":86401}`}, 200, "PARAMETER_ERROR", "periodSecond must be an integer from 60 to 86400."},
		{"token API: periodSecond a string", call{method: http.MethodPost, target: idvmock.PathToken, header: jsonCT, body: `{"accessKey":"a","timestamp":"1665993522952","signature":"x","periodSecond":"600"}`}, 200, "PARAMETER_ERROR", "periodSecond must be an integer from 60 to 86400."},
		{"token API: unknown scenario", call{method: http.MethodPost, target: idvmock.PathToken, header: map[string]string{"Content-Type": "application/json", engine.ScenarioHeader: "nope"}, body: `{"accessKey":"a","timestamp":"1665993522952","signature":"x"}`}, 400, "CLIENT_ERROR", "account_disabled"},
	}
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, s, tc.call)
			env := decode(t, rec)
			if rec.Code != tc.status || env.Code != tc.code || !strings.Contains(env.Message, tc.message) {
				t.Errorf("got HTTP %d %s %q, want HTTP %d %s with %q", rec.Code, env.Code, env.Message, tc.status, tc.code, tc.message)
			}
			if string(env.Data) != "null" {
				t.Errorf("data = %s, want null on %s", env.Data, env.Code)
			}
			sc.check(t, tc.call, rec)
		})
	}
}

func TestMethodNotAllowedNamesTheAllowedMethod(t *testing.T) {
	s := newTestServer(t, Config{})
	for target, allow := range map[string]string{idvmock.PathLatest: "GET", idvmock.PathToken: "POST", pathHealth: "GET"} {
		rec := serve(t, s, call{method: http.MethodPut, target: target})
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != allow {
			t.Errorf("PUT %s: HTTP %d Allow %q, want 405 Allow %q", target, rec.Code, rec.Header().Get("Allow"), allow)
		}
	}
}

// Arbitrary bytes in the query never produce a 500, a non-JSON body or an undocumented code.
func TestRandomQueriesAlwaysGetADocumentedEnvelope(t *testing.T) {
	s := newTestServer(t, Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	documented := map[string]bool{"SUCCESS": true, "PARAMETER_ERROR": true, "ERROR": true}
	alphabet := []string{"userId", "solutionCode", "=", "&", "%", "%ZZ", "%FF", "%00", "+", ";", "user_active", "101", "é", "\xff", "a", "%25", "%3D", "%26"}
	for i := 0; i < 3000; i++ {
		var q strings.Builder
		for n := rng.IntN(8); n >= 0; n-- {
			q.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		c := call{target: idvmock.PathLatest + "?" + q.String(), header: map[string]string{idvmock.TokenHeader: "t"}}
		if _, err := url.ParseRequestURI(c.target); err != nil {
			continue // not a request net/http would hand to a handler
		}
		rec := serve(t, s, c)
		env := decode(t, rec)
		if rec.Code != http.StatusOK || !documented[env.Code] {
			t.Fatalf("?%s: HTTP %d %s %q", q.String(), rec.Code, env.Code, env.Message)
		}
	}
}

// Bodies are bounded: a body over the limit gets 413 whether or not it announces its length.
func TestOversizedBodiesAreRefused(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	big := `{"accessKey":"` + strings.Repeat("k", maxBodyBytes) + `"}`
	for name, c := range map[string]call{
		"token API":       tokenCall(big),
		"GET with a body": {target: idvmock.PathLatest + "?userId=user_active", header: map[string]string{idvmock.TokenHeader: "t"}, body: big},
		"unknown length":  tokenCall(big),
	} {
		req := c.request()
		if name == "unknown length" {
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		env := decode(t, rec)
		if rec.Code != http.StatusRequestEntityTooLarge || env.Code != "CLIENT_ERROR" {
			t.Errorf("%s: HTTP %d %s %q, want 413 CLIENT_ERROR", name, rec.Code, env.Code, env.Message)
		}
		sc.check(t, c, rec)
	}
}

// The vendor's curl example sends Content-Type: application/json on the GET; it is accepted.
func TestContentTypeOnTheGetIsAccepted(t *testing.T) {
	s := newTestServer(t, Config{})
	c := latestCall("userId=user_active", "")
	c.header["Content-Type"] = "application/json"
	if env := decode(t, serve(t, s, c)); env.Code != "SUCCESS" {
		t.Fatalf("%s %q", env.Code, env.Message)
	}
}
