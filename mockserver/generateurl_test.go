package mockserver

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/idvmock/idvmock"
)

// minimalGenerate is a Generate URL body of the required fields only.
func minimalGenerate(userID string) map[string]any {
	return map[string]any{"userId": userID, "bizId": "order-1", "region": "PHL",
		"returnUrl": "https://app.example/ok", "failReturnUrl": "https://app.example/ko"}
}

// signatureCall asks Get Result for sig on ph-api.
func signatureCall(sig string) call {
	return getResultCall("ph-api.advance.ai", `{"signatureId":"`+sig+`"}`)
}

// echoedInput is the inputParameters of sig's session, through Get Result and through Get
// Latest Session Result for userID (both must show the same), each checked against
// openapi.yaml.
func echoedInput(t *testing.T, s *Server, sc *specChecker, sig, userID string) map[string]any {
	t.Helper()
	var inputs []map[string]any
	for _, c := range []call{signatureCall(sig), latestCall("userId="+url.QueryEscape(userID), "ph-api.advance.ai")} {
		rec := serve(t, s, c)
		sc.check(t, c, rec)
		var body struct {
			Code string
			Data struct {
				SignatureID     string         `json:"signatureId"`
				InputParameters map[string]any `json:"inputParameters"`
				Result          *struct {
					SignatureID     string         `json:"signatureId"`
					InputParameters map[string]any `json:"inputParameters"`
				}
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != "SUCCESS" {
			t.Fatalf("%s: %v %s", c.target, err, rec.Body)
		}
		got, gotSig := body.Data.InputParameters, body.Data.SignatureID
		if r := body.Data.Result; r != nil {
			got, gotSig = r.InputParameters, r.SignatureID
		}
		if gotSig != sig {
			t.Fatalf("%s answers session %q, want %q", c.target, gotSig, sig)
		}
		inputs = append(inputs, got)
	}
	if !reflect.DeepEqual(inputs[0], inputs[1]) {
		t.Errorf("Get Result and Get Latest echo different inputParameters:\n%v\n%v", inputs[0], inputs[1])
	}
	return inputs[0]
}

// Each declared field of Generate URL with a wrong type, a value outside its enum or pattern,
// or over its length gets the answer every body validation failure gets: HTTP 200
// PARAMETER_ERROR, data null, and a message that names the field. No session starts.
func TestGenerateURLInvalidFieldsAreNamed(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	long := func(prefix string, n int) string { return prefix + strings.Repeat("x", n-len(prefix)) }
	table := []struct {
		field string
		value any
		want  string // the whole message
	}{
		{"returnUrl", 42, "returnUrl must be a string."},
		{"returnUrl", long("myapp://", 2049), "returnUrl is longer than 2048 characters."},
		{"returnUrl", "", "Parameter should not be empty: returnUrl"},
		{"failReturnUrl", false, "failReturnUrl must be a string."},
		{"failReturnUrl", long("https://app.example/", 2049), "failReturnUrl is longer than 2048 characters."},
		{"callbackUrl", []any{"https://a"}, "callbackUrl must be a string."},
		{"callbackUrl", long("https://app.example/cb?", 2049), "callbackUrl is longer than 2048 characters."},
		{"userId", 7, "userId must be a string."},
		{"bizId", map[string]any{}, "bizId must be a string."},
		{"region", "PH", "region must be an ISO 3166 alpha-3 country code in capitals, such as PHL."},
		{"region", "phl", "region must be an ISO 3166 alpha-3 country code in capitals, such as PHL."},
		{"region", 608, "region must be an ISO 3166 alpha-3 country code in capitals, such as PHL."},
		{"language", "english", "language must be an ISO 639-1 code such as en, or a tag such as en-US, at most 16 characters."},
		{"language", "en-US-x-very-long", "language must be an ISO 639-1 code such as en, or a tag such as en-US, at most 16 characters."},
		{"language", true, "language must be an ISO 639-1 code such as en, or a tag such as en-US, at most 16 characters."},
		{"docType", 3, "docType must be a string."},
		{"docType", long("PH-ID-", 65), "docType is longer than 64 characters."},
		{"prefersColorScheme", "blue", `prefersColorScheme must be "light" or "dark", not "blue".`},
		{"prefersColorScheme", "Dark", `prefersColorScheme must be "light" or "dark", not "Dark".`},
		{"prefersColorScheme", true, `prefersColorScheme must be "light" or "dark", not true.`},
		{"ignoreFailWhenJump", "true", "ignoreFailWhenJump must be a boolean."},
		{"ignoreFailWhenJump", 1, "ignoreFailWhenJump must be a boolean."},
		{"bizCode", "loan-2024", "bizCode must be at most 32 characters, letters a-z, A-Z and digits 0-9 only."},
		{"bizCode", strings.Repeat("a", 33), "bizCode must be at most 32 characters, letters a-z, A-Z and digits 0-9 only."},
		{"bizCode", 2024, "bizCode must be at most 32 characters, letters a-z, A-Z and digits 0-9 only."},
		{"iframeEnabled", "yes", "iframeEnabled must be a boolean."},
		{"iframeEnabled", 0, "iframeEnabled must be a boolean."},
		{"productLevel", "BASIC", `productLevel must be "STANDARD", "ADVANCED" or "PRO", not "BASIC".`},
		{"productLevel", "standard", `productLevel must be "STANDARD", "ADVANCED" or "PRO", not "standard".`},
		{"productLevel", 1, `productLevel must be "STANDARD", "ADVANCED" or "PRO", not 1.`},
		{"solutionCode", 101, "solutionCode must be a string."},
		{"extraObject", map[string]any{"a": 1}, "extraObject is not a field this endpoint declares, so it must be a string of at most 2048 characters, a number or a boolean."},
		{"extraArray", []any{}, "extraArray is not a field this endpoint declares, so it must be a string of at most 2048 characters, a number or a boolean."},
	}
	for i, tc := range table {
		t.Run(fmt.Sprintf("%s=%.20v", tc.field, tc.value), func(t *testing.T) {
			userID := fmt.Sprintf("refused_%d", i)
			body := minimalGenerate(userID)
			body[tc.field] = tc.value
			raw, _ := json.Marshal(body)
			c := generateCall(string(raw))
			rec := serve(t, s, c)
			sc.check(t, c, rec)
			env := decode(t, rec)
			if rec.Code != http.StatusOK || env.Code != "PARAMETER_ERROR" || env.Message != tc.want || string(env.Data) != "null" {
				t.Errorf("got HTTP %d %s %q data %s; want HTTP 200 PARAMETER_ERROR %q", rec.Code, env.Code, env.Message, env.Data, tc.want)
			}
			if !strings.Contains(env.Message, tc.field) {
				t.Errorf("the message %q does not name %s", env.Message, tc.field)
			}
			if env := decode(t, serve(t, s, latestCall("userId="+userID, "ph-api.advance.ai"))); env.Code != "PARAMETER_ERROR" {
				t.Errorf("a refused request started a session: Get Latest answers %s", env.Code)
			}
		})
	}
}

// More than 64 fields are refused the same way, with a message that says how many.
func TestGenerateURLTooManyFieldsAreNamed(t *testing.T) {
	s := newTestServer(t, Config{})
	body := minimalGenerate("crowded")
	for i := range 60 {
		body[fmt.Sprintf("f%02d", i)] = i
	}
	raw, _ := json.Marshal(body) // 65 fields
	rec := serve(t, s, generateCall(string(raw)))
	want := "The body has 65 fields; at most 64 are accepted: leave out fields this endpoint does not declare."
	if env := decode(t, rec); rec.Code != http.StatusOK || env.Code != "PARAMETER_ERROR" || env.Message != want {
		t.Errorf("got HTTP %d %s %q, want HTTP 200 PARAMETER_ERROR %q", rec.Code, env.Code, env.Message, want)
	}
	delete(body, "f00")
	raw, _ = json.Marshal(body) // 64 fields
	if sig, rec := generate(t, s, string(raw)); sig == "" {
		t.Errorf("64 fields were refused: %s", rec.Body)
	}
}

// returnUrl takes up to 2,048 characters (not bytes), custom schemes included: the session
// echoes it as sent, and the H5 page sends the browser to it. 2,049 are refused naming it.
func TestGenerateURLReturnURLUpTo2048Characters(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	for name, returnURL := range map[string]string{
		"ASCII":      "myapp://verify/done?state=" + strings.Repeat("a", 2048-len("myapp://verify/done?state=")),
		"multi-byte": "myapp://verify/done?name=" + strings.Repeat("é", 2048-len("myapp://verify/done?name=")),
	} {
		t.Run(name, func(t *testing.T) {
			if n := len([]rune(returnURL)); n != 2048 {
				t.Fatalf("the test's URL has %d characters", n)
			}
			userID := "long_return_" + strings.ReplaceAll(name, "-", "_")
			body := minimalGenerate(userID)
			body["returnUrl"] = returnURL
			raw, _ := json.Marshal(body)
			c := generateCall(string(raw))
			sig, rec := generate(t, s, string(raw))
			sc.check(t, c, rec)
			if sig == "" {
				t.Fatalf("a returnUrl of 2048 characters was refused: %s", rec.Body)
			}
			if got := echoedInput(t, s, sc, sig, userID)["returnUrl"]; got != returnURL {
				t.Errorf("inputParameters.returnUrl = %.60q..., want the URL as sent", got)
			}
			finish := call{method: http.MethodPost, target: "/h5/" + sig, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
				body: url.Values{"outcome": {"PASS"}}.Encode()}
			if done := serve(t, s, finish); done.Code != http.StatusSeeOther || done.Header().Get("Location") != returnURL {
				t.Errorf("H5 finish: HTTP %d, Location %.60q..., want 303 to the returnUrl", done.Code, done.Header().Get("Location"))
			}

			body["returnUrl"] = returnURL + "x"
			body["userId"] = userID + "_over"
			raw, _ = json.Marshal(body)
			rec = serve(t, s, generateCall(string(raw)))
			if env := decode(t, rec); rec.Code != http.StatusOK || env.Code != "PARAMETER_ERROR" || env.Message != "returnUrl is longer than 2048 characters." {
				t.Errorf("2049 characters: HTTP %d %s %q", rec.Code, env.Code, env.Message)
			}
		})
	}
}

// GenerateUrlRequest declares every documented field, and the request examples of openapi.yaml
// are what the mock takes: "full" carries every field of GenerateUrlRequest (a field added to the schema must be added to it), answers SUCCESS,
// and comes back field for field as inputParameters; so does "minimal", with nothing added.
func TestGenerateURLExamplesAreAcceptedAndEchoed(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	media := sc.doc.Paths.Value(idvmock.PathGenerateURL).Post.RequestBody.Value.Content.Get("application/json")
	declared := slices.Sorted(maps.Keys(media.Schema.Value.Properties))
	// The fields of the vendor's Generate URL page, and idvmock's solutionCode.
	for _, field := range []string{"returnUrl", "failReturnUrl", "callbackUrl", "bizId", "userId", "region", "language", "docType",
		"prefersColorScheme", "ignoreFailWhenJump", "bizCode", "iframeEnabled", "productLevel", "solutionCode"} {
		if !slices.Contains(declared, field) {
			t.Errorf("GenerateUrlRequest does not declare %s (it declares %v)", field, declared)
		}
	}
	for i, name := range []string{"minimal", "full"} {
		ex := media.Examples[name]
		if ex == nil {
			t.Fatalf("openapi.yaml has no Generate URL request example %q", name)
		}
		raw, err := json.Marshal(ex.Value.Value)
		if err != nil {
			t.Fatal(err)
		}
		var sent map[string]any
		if err := json.Unmarshal(raw, &sent); err != nil {
			t.Fatal(err)
		}
		if name == "full" {
			for _, field := range declared {
				if _, ok := sent[field]; !ok {
					t.Errorf("the full example lacks %s, which GenerateUrlRequest declares", field)
				}
			}
			if u, _ := sent["returnUrl"].(string); strings.HasPrefix(u, "http") {
				t.Errorf("the full example's returnUrl %q is not a custom scheme", u)
			}
		}
		userID := fmt.Sprintf("example_user_%d", i)
		sent["userId"] = userID // each example its own user
		raw, _ = json.Marshal(sent)
		c := generateCall(string(raw))
		sig, rec := generate(t, s, string(raw))
		sc.check(t, c, rec)
		if sig == "" {
			t.Fatalf("example %s was refused: %s", name, rec.Body)
		}
		if got := echoedInput(t, s, sc, sig, userID); !reflect.DeepEqual(got, sent) {
			t.Errorf("example %s: inputParameters differ from the request:\n got %v\nwant %v", name, got, sent)
		}
	}
}
