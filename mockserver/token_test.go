package mockserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// The vendor's published test vector.
const (
	vectorTimestamp = "1665993522952"
	vectorSignature = "02209bbeaf0d0a3dd587f6a1ba22f84c98d142e3b545e77db7e4906ca56349f5"
)

var vectorTime = time.UnixMilli(1665993522952)

func TestSignMatchesThePublishedTestVector(t *testing.T) {
	if got := idvmock.Sign("sampleaccesskey", "samplesecretkey", vectorTimestamp); got != vectorSignature {
		t.Fatalf("Sign = %s, want %s", got, vectorSignature)
	}
}

func tokenCall(body string, header ...string) call {
	h := map[string]string{"Content-Type": "application/json"}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	return call{method: http.MethodPost, target: idvmock.PathToken, header: h, body: body}
}

type tokenAnswer struct {
	envelope
	Token       string
	ExpiredTime int64
}

func requestToken(t *testing.T, s *Server, c call) tokenAnswer {
	t.Helper()
	rec := serve(t, s, c)
	newSpecChecker(t).check(t, c, rec)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	a := tokenAnswer{envelope: decode(t, rec)}
	if a.Code == "SUCCESS" {
		var d struct {
			Token       string `json:"token"`
			ExpiredTime int64  `json:"expiredTime"`
		}
		if err := json.Unmarshal(a.Data, &d); err != nil {
			t.Fatal(err)
		}
		a.Token, a.ExpiredTime = d.Token, d.ExpiredTime
	}
	return a
}

// With the clock at the vector's timestamp, the vendor's published request earns a token.
func TestTokenAPIAcceptsThePublishedTestVector(t *testing.T) {
	clock := &fixedClock{now: vectorTime}
	s := newTestServer(t, Config{Engine: engineAt(t, clock.Now)})
	for name, body := range map[string]string{
		"timestamp as a string": `{"accessKey":"sampleaccesskey","timestamp":"1665993522952","signature":"` + vectorSignature + `"}`,
		"timestamp as a number": `{"accessKey":"sampleaccesskey","timestamp":1665993522952,"signature":"` + vectorSignature + `"}`,
	} {
		a := requestToken(t, s, tokenCall(body))
		if a.Code != "SUCCESS" || a.Token == "" {
			t.Fatalf("%s: %s %q", name, a.Code, a.Message)
		}
		if want := vectorTime.Add(time.Hour).UnixMilli(); a.ExpiredTime != want {
			t.Errorf("%s: expiredTime = %d, want %d (default period 3600 s)", name, a.ExpiredTime, want)
		}
	}
}

func TestTokenAPIErrors(t *testing.T) {
	clock := &fixedClock{now: vectorTime}
	s := newTestServer(t, Config{Engine: engineAt(t, clock.Now)})
	body := func(accessKey, ts, sig string) string {
		return fmt.Sprintf(`{"accessKey":%q,"timestamp":%q,"signature":%q}`, accessKey, ts, sig)
	}
	signed := func(offset time.Duration) string {
		ts := fmt.Sprint(vectorTime.Add(offset).UnixMilli())
		return body(testAccessKey, ts, idvmock.Sign(testAccessKey, testSecretKey, ts))
	}
	table := []struct {
		name, body, code, message string
		header                    []string
	}{
		{"300 s early is on time", signed(-300 * time.Second), "SUCCESS", "OK", nil},
		{"300 s late is on time", signed(300 * time.Second), "SUCCESS", "OK", nil},
		{"301 s early", signed(-301 * time.Second), "PARAMETER_ERROR", "Timestamp error", nil},
		{"301 s late", signed(301 * time.Second), "PARAMETER_ERROR", "Timestamp error", nil},
		{"seconds, not milliseconds", body(testAccessKey, "1665993522", idvmock.Sign(testAccessKey, testSecretKey, "1665993522")), "PARAMETER_ERROR", "Timestamp error", nil},
		{"timestamp not digits", body(testAccessKey, "16659935229x2", vectorSignature), "PARAMETER_ERROR", "Timestamp error", nil},
		{"wrong signature", body(testAccessKey, vectorTimestamp, vectorSignature[:63]+"0"), "PARAMETER_ERROR", "Signature error", nil},
		{"uppercase signature", body(testAccessKey, vectorTimestamp, "02209BBEAF0D0A3DD587F6A1BA22F84C98D142E3B545E77DB7E4906CA56349F5"), "PARAMETER_ERROR", "Signature error", nil},
		{"unknown accessKey", body("otherkey", vectorTimestamp, idvmock.Sign("otherkey", testSecretKey, vectorTimestamp)), "PARAMETER_ERROR", "Signature error", nil},
		{"account disabled", body(testAccessKey, vectorTimestamp, vectorSignature), "ACCOUNT_DISABLED", "Account Disabled", []string{engine.ScenarioHeader, "account_disabled"}},
	}
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			a := requestToken(t, s, tokenCall(tc.body, tc.header...))
			if a.Code != tc.code || a.Message != tc.message {
				t.Errorf("got %s %q, want %s %q", a.Code, a.Message, tc.code, tc.message)
			}
		})
	}
}

func TestTokenPeriodSetsExpiry(t *testing.T) {
	clock := &fixedClock{now: vectorTime}
	s := newTestServer(t, Config{Engine: engineAt(t, clock.Now)})
	for _, period := range []int{60, 600, 86400} {
		a := requestToken(t, s, tokenCall(fmt.Sprintf(`{"accessKey":"sampleaccesskey","timestamp":"%s","signature":"%s","periodSecond":%d}`,
			vectorTimestamp, vectorSignature, period)))
		if want := vectorTime.Add(time.Duration(period) * time.Second).UnixMilli(); a.ExpiredTime != want {
			t.Errorf("periodSecond %d: expiredTime = %d, want %d", period, a.ExpiredTime, want)
		}
	}
}

// Strict mode accepts only unexpired tokens this process issued; present mode any non-blank
// token.
func TestAuthModes(t *testing.T) {
	clock := &fixedClock{now: vectorTime}
	strict := newTestServer(t, Config{Engine: engineAt(t, clock.Now), Auth: AuthStrict})
	present := newTestServer(t, Config{Engine: engineAt(t, clock.Now)})
	issued := requestToken(t, strict, tokenCall(`{"accessKey":"sampleaccesskey","timestamp":"`+vectorTimestamp+`","signature":"`+vectorSignature+`","periodSecond":60}`)).Token
	fromOther := requestToken(t, present, tokenCall(`{"accessKey":"sampleaccesskey","timestamp":"`+vectorTimestamp+`","signature":"`+vectorSignature+`"}`)).Token
	ask := func(s *Server, token string) string {
		c := latestCall("userId=user_active", "")
		c.header[idvmock.TokenHeader] = token
		return decode(t, serve(t, s, c)).Code
	}
	for _, tc := range []struct {
		name  string
		s     *Server
		token string
		want  string
	}{
		{"strict: issued token", strict, issued, "SUCCESS"},
		{"strict: issued token with spaces around", strict, " " + issued + " ", "SUCCESS"},
		{"strict: forged token", strict, "0123456789abcdef0123456789abcdef", "IAM_FAILED"},
		{"strict: token of another process", strict, fromOther, "IAM_FAILED"},
		{"strict: token changed by one character", strict, issued[:31] + string("0123456789abcdef"[(1+int(issued[31]))%16]), "IAM_FAILED"},
		{"present: any token", present, "anything", "SUCCESS"},
	} {
		if got := ask(tc.s, tc.token); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	clock.now = clock.now.Add(59 * time.Second)
	if got := ask(strict, issued); got != "SUCCESS" {
		t.Errorf("strict: token 1 s before expiry: %s, want SUCCESS", got)
	}
	clock.now = clock.now.Add(time.Second)
	if got := ask(strict, issued); got != "IAM_FAILED" {
		t.Errorf("strict: expired token: %s, want IAM_FAILED", got)
	}
}
