package idvmocktest_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/idvmock/idvmock/idvmocktest"
)

// latest asks for a user's latest session the way an app does, through the client the mock
// gives; it returns code, profileStatus and overallResult.
func latest(client *http.Client, baseURL, userID string) (code, status string, result any) {
	req, _ := http.NewRequest(http.MethodGet, baseURL+idvmocktest.PathLatest+"?userId="+userID, nil)
	req.Header.Set("X-ACCESS-TOKEN", "test-token")
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var env struct {
		Code string
		Data *struct {
			ProfileStatus string
			Result        struct{ OverallResult any }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		panic(err)
	}
	if env.Data == nil {
		return env.Code, "", nil
	}
	return env.Code, env.Data.ProfileStatus, env.Data.Result.OverallResult
}

// The app's code calls https://sg-api.advance.ai as in production; the client the mock gives
// sends it to the mock and trusts its certificate.
func Example() {
	srv, err := idvmocktest.Start(idvmocktest.WithTLS())
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	fmt.Println(latest(srv.Client, srv.VendorURL("sg"), "user_active"))
	fmt.Println(latest(srv.Client, srv.VendorURL("sg"), "nobody"))
	// Output:
	// SUCCESS ACTIVE PASS
	// PARAMETER_ERROR  <nil>
}

// A test defines the user it needs, moves it through its states, and counts the calls.
func ExampleServer_PutUser() {
	srv, err := idvmocktest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	err = srv.PutUser("alice", `
states:
  - {name: started, profileStatus: INIT, sessions: [{}], after: 2 calls}
  - {name: passed, profileStatus: ACTIVE, sessions: [{overallResult: PASS}]}
`)
	if err != nil {
		panic(err)
	}
	for range 3 {
		fmt.Println(latest(srv.Client, srv.URL, "alice"))
	}
	n, _ := srv.Count(idvmocktest.Filter{UserID: "alice", Code: "SUCCESS"})
	fmt.Println(n, "calls")

	err = srv.PutUser("bob", "profileStatus: INIT\nsessions: [{overallResult: PASS}]")
	fmt.Println(idvmocktest.IsRefused(err))
	// Output:
	// SUCCESS INIT <nil>
	// SUCCESS INIT <nil>
	// SUCCESS ACTIVE PASS
	// 3 calls
	// true
}

// Advance and SetState move a scripted user without polling.
func ExampleServer_Advance() {
	srv, err := idvmocktest.Start(idvmocktest.WithScenarioFiles("../examples/scenarios/progression.yaml"))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	st, _ := srv.Advance("user_progress")
	fmt.Println(st.State)
	st, _ = srv.SetState("user_progress", "passed")
	fmt.Println(st.State)
	fmt.Println(latest(srv.Client, srv.URL, "user_progress"))
	// Output:
	// submitted
	// passed
	// SUCCESS ACTIVE PASS
}
