package mockserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// hosts are the six regional hosts and the country each gives sessions that declare none.
var hosts = []struct{ host, region, country string }{
	{"api.advance.ai", "global", "IDN"},
	{"sg-api.advance.ai", "sg", "SGP"},
	{"ph-api.advance.ai", "ph", "PHL"},
	{"th-api.advance.ai", "th", "THA"},
	{"my-api.advance.ai", "my", "MYS"},
	{"vn-api.advance.ai", "vn", "VNM"},
}

var demoUsers = []string{
	"user_002", "user_init", "user_active", "user_failed", "user_incomplete",
	"user_reverify", "user_inactive", "user_multi", "user_error", "someone_else",
}

// latestData is the data of a SUCCESS answer, decoded for assertions.
type latestData struct {
	ProfileStatus string `json:"profileStatus"`
	Result        struct {
		SignatureID   string   `json:"signatureId"`
		OverallResult *string  `json:"overallResult"`
		IDVResult     *string  `json:"idvResult"`
		ErrorCode     *string  `json:"errorCode"`
		ErrorCodes    []string `json:"errorCodes"`
		FaceDetail    *struct {
			FaceResult          *string  `json:"faceResult"`
			FaceLivenessScore   *float64 `json:"faceLivenessScore"`
			FaceSimilarityScore *float64 `json:"faceSimilarityScore"`
			LivenessAttackType  *int     `json:"livenessAttackType"`
		} `json:"faceDetail"`
		DocDetail       map[string]any `json:"docDetail"`
		CountryCodeIso3 string         `json:"countryCodeIso3"`
		InputParameters struct {
			BizID  string `json:"bizId"`
			UserID string `json:"userId"`
			Region string `json:"region"`
		} `json:"inputParameters"`
	} `json:"result"`
}

func dataOf(t *testing.T, env envelope) latestData {
	t.Helper()
	if env.Code != idvmock.CodeSuccess {
		t.Fatalf("code = %s (%s), want SUCCESS", env.Code, env.Message)
	}
	var d latestData
	if err := json.Unmarshal(env.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// expectation checks one demo user's answer on a host whose default country is country.
type expectation func(t *testing.T, env envelope, country string)

func inProgress(profile string) expectation {
	return func(t *testing.T, env envelope, country string) {
		d := dataOf(t, env)
		r := d.Result
		if d.ProfileStatus != profile {
			t.Errorf("profileStatus = %s, want %s", d.ProfileStatus, profile)
		}
		if r.OverallResult != nil || r.IDVResult != nil || r.ErrorCode != nil || r.FaceDetail == nil || r.FaceDetail.FaceResult != nil || r.DocDetail != nil {
			t.Errorf("a session in progress must have every outcome null: %s", env.Data)
		}
		if r.CountryCodeIso3 != country || r.InputParameters.Region != country {
			t.Errorf("country = %s/%s, want %s", r.CountryCodeIso3, r.InputParameters.Region, country)
		}
	}
}

func passed(profile string) expectation {
	return func(t *testing.T, env envelope, country string) {
		d := dataOf(t, env)
		r := d.Result
		if d.ProfileStatus != profile {
			t.Errorf("profileStatus = %s, want %s", d.ProfileStatus, profile)
		}
		if str(r.OverallResult) != "PASS" || str(r.IDVResult) != "PASS" || str(r.ErrorCode) != "SUCCESS" {
			t.Errorf("overallResult/idvResult/errorCode = %s/%s/%s, want PASS/PASS/SUCCESS", str(r.OverallResult), str(r.IDVResult), str(r.ErrorCode))
		}
		f := r.FaceDetail
		if f == nil || str(f.FaceResult) != "PASS" || f.FaceLivenessScore == nil || *f.FaceLivenessScore < 50 ||
			f.FaceSimilarityScore == nil || *f.FaceSimilarityScore < 70 || f.LivenessAttackType != nil {
			t.Errorf("a PASS needs faceResult PASS, liveness >= 50, similarity >= 70, no attack: %s", env.Data)
		}
		if r.DocDetail == nil || r.DocDetail["nationality"] != country {
			t.Errorf("docDetail = %v, want a document of %s", r.DocDetail, country)
		}
		if r.CountryCodeIso3 != country {
			t.Errorf("countryCodeIso3 = %s, want %s", r.CountryCodeIso3, country)
		}
	}
}

func failedOnLiveness(t *testing.T, env envelope, country string) {
	r := dataOf(t, env).Result
	if p := dataOf(t, env).ProfileStatus; p != "INIT" {
		t.Errorf("profileStatus = %s, want INIT", p)
	}
	if str(r.OverallResult) != "FAIL" || str(r.IDVResult) != "FAIL" || str(r.ErrorCode) != "LIVENESS_ATTACK" {
		t.Errorf("overallResult/idvResult/errorCode = %s/%s/%s, want FAIL/FAIL/LIVENESS_ATTACK", str(r.OverallResult), str(r.IDVResult), str(r.ErrorCode))
	}
	f := r.FaceDetail
	if f == nil || str(f.FaceResult) != "FAIL" || f.FaceLivenessScore == nil || *f.FaceLivenessScore >= 50 || f.LivenessAttackType == nil {
		t.Errorf("a liveness attack needs faceResult FAIL, liveness < 50 and an attack type: %s", env.Data)
	}
	if len(r.ErrorCodes) != 1 || r.ErrorCodes[0] != "LIVENESS_ATTACK" {
		t.Errorf("errorCodes = %v", r.ErrorCodes)
	}
	if r.CountryCodeIso3 != country {
		t.Errorf("countryCodeIso3 = %s, want %s", r.CountryCodeIso3, country)
	}
}

func incomplete(t *testing.T, env envelope, country string) {
	d := dataOf(t, env)
	r := d.Result
	if d.ProfileStatus != "INIT" || str(r.OverallResult) != "INCOMPLETE" || str(r.IDVResult) != "INCOMPLETE" {
		t.Errorf("profile/overallResult/idvResult = %s/%s/%s, want INIT/INCOMPLETE/INCOMPLETE", d.ProfileStatus, str(r.OverallResult), str(r.IDVResult))
	}
	if r.ErrorCode == nil || *r.ErrorCode == "SUCCESS" {
		t.Errorf("INCOMPLETE needs a failure errorCode, got %s", str(r.ErrorCode))
	}
	if r.CountryCodeIso3 != country {
		t.Errorf("countryCodeIso3 = %s, want %s", r.CountryCodeIso3, country)
	}
}

func parameterError(message string) expectation {
	return func(t *testing.T, env envelope, _ string) {
		if env.Code != "PARAMETER_ERROR" || env.Message != message || string(env.Data) != "null" {
			t.Errorf("got %s %q data %s, want PARAMETER_ERROR %q data null", env.Code, env.Message, env.Data, message)
		}
	}
}

func serverError(t *testing.T, env envelope, _ string) {
	if env.Code != "ERROR" || env.Message != "Server error" || string(env.Data) != "null" {
		t.Errorf("got %s %q data %s, want ERROR \"Server error\" data null", env.Code, env.Message, env.Data)
	}
}

func seedExample(t *testing.T, env envelope, _ string) {
	inProgress("INIT")(t, env, "SGP")
	r := dataOf(t, env).Result
	if r.SignatureID != "f6e5d4c3b2a1" || r.InputParameters.BizID != "biz456" || r.InputParameters.UserID != "user_002" {
		t.Errorf("user_002 must be the vendor's INIT example: %s", env.Data)
	}
}

// The table of demo users, on every regional host.
func TestDemoUsersAnswerAsDocumentedOnEveryHost(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	table := []struct {
		query string
		want  expectation
	}{
		{"userId=user_002", seedExample},
		{"userId=user_init", inProgress("INIT")},
		{"userId=user_active", passed("ACTIVE")},
		{"userId=user_failed", failedOnLiveness},
		{"userId=user_incomplete", incomplete},
		{"userId=user_reverify", inProgress("ACTIVE")},
		{"userId=user_inactive", passed("INACTIVE")},
		{"userId=user_multi", inProgress("ACTIVE")},
		{"userId=user_multi&solutionCode=101", passed("ACTIVE")},
		{"userId=user_multi&solutionCode=102", inProgress("ACTIVE")},
		{"userId=user_error", serverError},
		{"userId=nobody", parameterError("externalUserId does not exist.")},
		{"userId=user_active&solutionCode=999", parameterError("solutionCode is wrong.")},
		{"userId=user_active&solutionCode=102", parameterError("externalUserId does not exist.")},
	}
	for _, h := range hosts {
		for _, tc := range table {
			t.Run(h.region+"/"+tc.query, func(t *testing.T) {
				c := latestCall(tc.query, h.host)
				rec := serve(t, s, c)
				if rec.Code != http.StatusOK {
					t.Fatalf("HTTP %d, want 200: every business outcome is HTTP 200", rec.Code)
				}
				tc.want(t, decode(t, rec), h.country)
				sc.check(t, c, rec)
			})
		}
	}
}

// Every demo user on every host under every scenario header answers a body that conforms to
// openapi.yaml, and a forced scenario answers for the requested userId.
func TestEveryUserRegionAndScenarioConformsToTheSpec(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	names := append([]string{""}, s.cfg.Engine.Set().ScenarioNames()...)
	for _, h := range hosts {
		for _, user := range demoUsers {
			for _, name := range names {
				c := latestCall("userId="+user, h.host)
				if name != "" {
					c.header[engine.ScenarioHeader] = name
				}
				rec := serve(t, s, c)
				sc.check(t, c, rec)
				env := decode(t, rec)
				if name != "" && env.Code == idvmock.CodeSuccess {
					if u := dataOf(t, env).Result.InputParameters.UserID; u != user {
						t.Errorf("%s with %s=%s answers for userId %q", user, engine.ScenarioHeader, name, u)
					}
				}
			}
		}
	}
}

func TestScenarioHeaderForcesTheOutcomeForAnyUser(t *testing.T) {
	s := newTestServer(t, Config{})
	table := map[string]expectation{
		"init":              inProgress("INIT"),
		"active":            passed("ACTIVE"),
		"inactive":          passed("INACTIVE"),
		"failed":            failedOnLiveness,
		"incomplete":        incomplete,
		"reverify":          inProgress("ACTIVE"),
		"multi":             inProgress("ACTIVE"),
		"user_not_found":    parameterError("externalUserId does not exist."),
		"bad_solution_code": parameterError("solutionCode is wrong."),
		"server_error":      serverError,
	}
	for name, want := range table {
		t.Run(name, func(t *testing.T) {
			c := latestCall("userId=alice", "ph-api.advance.ai")
			c.header[engine.ScenarioHeader] = name
			rec := serve(t, s, c)
			if rec.Code != http.StatusOK {
				t.Fatalf("HTTP %d", rec.Code)
			}
			want(t, decode(t, rec), "PHL")
		})
	}
}

func TestUnknownScenarioIsA400ListingTheValidNames(t *testing.T) {
	s := newTestServer(t, Config{})
	c := latestCall("userId=user_active", "")
	c.header[engine.ScenarioHeader] = "sucess"
	rec := serve(t, s, c)
	newSpecChecker(t).check(t, c, rec)
	env := decode(t, rec)
	if rec.Code != http.StatusBadRequest || env.Code != "CLIENT_ERROR" {
		t.Fatalf("HTTP %d %s, want 400 CLIENT_ERROR", rec.Code, env.Code)
	}
	for _, name := range []string{`"sucess"`, "active", "failed", "user_not_found", "bad_solution_code", "server_error"} {
		if !strings.Contains(env.Message, name) {
			t.Errorf("message %q does not mention %s", env.Message, name)
		}
	}
}

// user_002 is the vendor's documented INIT example byte for byte, apart from transactionId,
// on any host.
func TestUser002IsTheVendorExampleByteForByte(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "testdata", "vendor", "init.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, Config{})
	for _, h := range hosts {
		rec := serve(t, s, latestCall("userId=user_002", h.host))
		got := withTransactionID(rec.Body.Bytes(), "9cc3gef5253ceg4")
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", h.host, got, want)
		}
	}
}

// The documented error bodies are reproduced byte for byte apart from transactionId.
func TestErrorAnswersAreTheVendorExamplesByteForByte(t *testing.T) {
	s := newTestServer(t, Config{})
	for query, file := range map[string]string{
		"userId=nobody":                         "user_not_found.json",
		"userId=user_active&solutionCode=12345": "bad_solution_code.json",
		"userId=user_error":                     "server_error.json",
	} {
		want, err := os.ReadFile(filepath.Join("..", "testdata", "vendor", file))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			TransactionID string `json:"transactionId"`
		}
		_ = json.Unmarshal(want, &doc)
		rec := serve(t, s, latestCall(query, ""))
		if got := withTransactionID(rec.Body.Bytes(), doc.TransactionID); string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", query, got, want)
		}
	}
}

var transactionIDField = regexp.MustCompile(`"transactionId":"[^"]*"`)

func withTransactionID(body []byte, id string) []byte {
	return transactionIDField.ReplaceAll(body, []byte(fmt.Sprintf(`"transactionId":%q`, id)))
}

func TestTransactionIDIsFreshLowercaseHexOnEveryAnswer(t *testing.T) {
	s := newTestServer(t, Config{})
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	seen := map[string]bool{}
	calls := []call{
		latestCall("userId=user_active", ""),
		latestCall("userId=nobody", ""),
		{target: idvmock.PathLatest + "?userId=x"},
		{target: "/nowhere"},
		{method: http.MethodPost, target: idvmock.PathToken, body: "{", header: map[string]string{"Content-Type": "application/json"}},
	}
	for i := 0; i < 50; i++ {
		env := decode(t, serve(t, s, calls[i%len(calls)]))
		if !hex16.MatchString(env.TransactionID) {
			t.Fatalf("transactionId %q is not 16 lowercase hex characters", env.TransactionID)
		}
		if seen[env.TransactionID] {
			t.Fatalf("transactionId %q answered twice", env.TransactionID)
		}
		seen[env.TransactionID] = true
	}
}

// The same request gives the same body, apart from transactionId, call after call; another
// seed gives other fake data.
func TestBodiesAreDeterministicPerSeed(t *testing.T) {
	a := newTestServer(t, Config{})
	b := newTestServer(t, Config{})
	c := latestCall("userId=user_active", "th-api.advance.ai")
	first := withTransactionID(serve(t, a, c).Body.Bytes(), "x")
	for i := 0; i < 3; i++ {
		if again := withTransactionID(serve(t, b, c).Body.Bytes(), "x"); string(again) != string(first) {
			t.Fatalf("same seed, different bodies:\n%s\n%s", first, again)
		}
	}
	reseeded := newTestServer(t, Config{Engine: newEngine(t, 42)})
	if body := withTransactionID(serve(t, reseeded, c).Body.Bytes(), "x"); string(body) == string(first) {
		t.Error("seed 42 gives the same body as seed 0")
	}
}
