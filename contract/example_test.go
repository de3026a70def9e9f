package contract_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/idvmock/idvmock/contract"
)

// An app team checks, in its own tests, the answers its client code receives.
func ExampleChecker_CheckResponse() {
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"code":"SUCCESS","message":"OK","transactionId":"9cc3aef5253ceb41","data":{"profileStatus":"ACTIVE",`+
			`"result":{"signatureId":"f6e5d4c3b2a1","overallResult":"PASS","idvResult":"PASS","errorCode":"LIVENESS_ATTACK",`+
			`"inputParameters":{"userId":"user_1"},"countryCodeIso3":"SGP"}}}`)
	}))
	defer vendor.Close()

	checker, err := contract.NewChecker()
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest(http.MethodGet, vendor.URL+contract.PathLatest+"?userId=user_1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	violations, err := checker.CheckResponse(req, resp)
	if err != nil {
		panic(err)
	}
	for _, v := range violations {
		fmt.Println(v.Rule, v.Pointer)
	}
	// Output:
	// pass-error-code-success /data/result/errorCode
}
