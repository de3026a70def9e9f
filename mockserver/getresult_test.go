package mockserver

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/idvmock/idvmock"
)

// vendorHosts are the six hosts the vendor documents for its IDV API.
var vendorHosts = []string{"api.advance.ai", "sg-api.advance.ai", "ph-api.advance.ai", "th-api.advance.ai", "my-api.advance.ai", "vn-api.advance.ai"}

// getResultCall asks Get Result with body on host.
func getResultCall(host, body string) call {
	return call{method: http.MethodPost, target: idvmock.PathGetResult, host: host,
		header: map[string]string{idvmock.TokenHeader: "t", "Content-Type": "application/json"}, body: body}
}

// An unknown signatureId is the vendor's SIGNATURE_NOT_EXIST, word for word, and a
// returnImageType other than URL or BASE64 a PARAMETER_ERROR naming it and the values it may
// take: HTTP 200 on every host, in the spec's envelope.
func TestGetResultRefusals(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	if got := s.regions.Hosts(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(vendorHosts))) {
		t.Errorf("openapi.yaml has the hosts %v, the test %v", got, vendorHosts)
	}
	for _, host := range vendorHosts {
		for _, tc := range []struct {
			name, body    string
			code, message string
		}{
			{"unknown signatureId", `{"signatureId":"0123456789ab"}`, "SIGNATURE_NOT_EXIST", "This signatureId is not exist."},
			{"unknown signatureId in BASE64", `{"signatureId":"nope","returnImageType":"BASE64"}`, "SIGNATURE_NOT_EXIST", "This signatureId is not exist."},
			{"lower case", `{"signatureId":"f6e5d4c3b2a1","returnImageType":"base64"}`, "PARAMETER_ERROR", `returnImageType must be "URL" or "BASE64", not "base64".`},
			{"another format", `{"signatureId":"f6e5d4c3b2a1","returnImageType":"PNG"}`, "PARAMETER_ERROR", `returnImageType must be "URL" or "BASE64", not "PNG".`},
			{"empty", `{"signatureId":"f6e5d4c3b2a1","returnImageType":""}`, "PARAMETER_ERROR", `returnImageType must be "URL" or "BASE64", not "".`},
			{"a number", `{"signatureId":"f6e5d4c3b2a1","returnImageType":1}`, "PARAMETER_ERROR", `returnImageType must be "URL" or "BASE64", not 1.`},
			{"long", `{"signatureId":"f6e5d4c3b2a1","returnImageType":"` + strings.Repeat("X", 500) + `"}`, "PARAMETER_ERROR",
				`returnImageType must be "URL" or "BASE64", not "` + strings.Repeat("X", 39) + `….`},
		} {
			t.Run(host+"/"+tc.name, func(t *testing.T) {
				c := getResultCall(host, tc.body)
				rec := serve(t, s, c)
				sc.check(t, c, rec)
				env := decode(t, rec)
				if rec.Code != http.StatusOK || env.Code != tc.code || env.Message != tc.message || string(env.Data) != "null" {
					t.Errorf("HTTP %d %s %q data %s, want HTTP 200 %s %q data null", rec.Code, env.Code, env.Message, env.Data, tc.code, tc.message)
				}
			})
		}
	}
}
