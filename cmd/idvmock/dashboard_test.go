package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/browsertest"
)

// The dashboard (/__admin/ui/) in a real Chromium, against the real serve command. Each
// test starts its own mock and browser; they skip without Chromium unless CI is set.

var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite docs/dashboard.png from TestDashboardScreenshot")

// js is v as a JavaScript literal, for building expressions from Go values.
func js(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}

// openDashboard opens the dashboard of the mock at addr on the view of hash ("" for the
// journal) and waits until its journal follows the live stream.
func openDashboard(t *testing.T, addr, hash string) *browsertest.Browser {
	t.Helper()
	b := browsertest.Start(t)
	b.Do("opening the dashboard", chromedp.Navigate("http://"+addr+"/__admin/ui/"+hash))
	waitLive(t, b)
	return b
}

func waitLive(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	b.WaitFor("the journal's live stream", `document.getElementById('journal-list').dataset.live === 'true'`, 15*time.Second)
}

// rowOf is a JavaScript expression: the newest journal row of userId.
func rowOf(userID string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#journal-list > li')].find((li) => li.dataset.userId === %s)`, js(userID))
}

// rowOfOp is the newest journal row of userId and operation.
func rowOfOp(userID, operation string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#journal-list > li')].find((li) => li.dataset.userId === %s && li.dataset.operation === %s)`, js(userID), js(operation))
}

// uq is the query of Get Latest for userID.
func uq(userID string) string { return "userId=" + url.QueryEscape(userID) }

// adminCall sends an admin API call with the bearer token (none: "") and decodes the answer
// into v (nil: ignored); it returns the HTTP status.
func adminCall(t *testing.T, method, url, token, contentType, body string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, data)
		}
	}
	return resp.StatusCode
}

// userState is where a declared user stands, as the admin API says.
func userState(t *testing.T, addr, userID, token string) (index int, state string) {
	t.Helper()
	var got struct {
		User struct {
			State      string `json:"state"`
			StateIndex int    `json:"stateIndex"`
		} `json:"user"`
	}
	if status := adminCall(t, http.MethodGet, "http://"+addr+"/__admin/users/"+url.PathEscape(userID), token, "", "", &got); status != http.StatusOK {
		t.Fatalf("GET /__admin/users/%s: HTTP %d", userID, status)
	}
	return got.User.StateIndex, got.User.State
}

// threeStates declares a user that starts in progress, then fails, then passes, moving only
// after many calls: only the dashboard moves it within a test.
const threeStates = `states:
  - name: started
    profileStatus: INIT
    sessions: [{bizId: order-1}]
    after: 50 calls
  - name: failed
    profileStatus: INIT
    sessions: [{bizId: order-1, overallResult: FAIL}]
    after: 50 calls
  - name: passed
    profileStatus: ACTIVE
    sessions: [{bizId: order-1, overallResult: PASS}]
`

// A request made with Go's HTTP client is in the open page within a second, with its code;
// the misspelled userId opens (by keyboard) to the near miss and a curl that repeats it.
func TestDashboardJournalShowsRequestsLive(t *testing.T) {
	addr, stop := startServe(t)
	t.Cleanup(stop) // after the browser's cleanup: Chromium's open connections would hold the shutdown
	b := openDashboard(t, addr, "")

	if a := latest(t, addr, uq("user_active"), "", nil); a.Code != "SUCCESS" {
		t.Fatalf("user_active: %s", a.Code)
	}
	const accessToken = "live-access-token-0123456789"
	if a := latest(t, addr, uq("user_activ"), "sg-api.advance.ai", map[string]string{"X-ACCESS-TOKEN": accessToken}); a.Code != "PARAMETER_ERROR" {
		t.Fatalf("user_activ: %s", a.Code)
	}
	answered := time.Now()
	b.WaitFor("both requests in the journal", rowOf("user_active")+` && `+rowOf("user_activ"), time.Second)
	t.Logf("the requests were in the page %v after they were answered", time.Since(answered).Round(time.Millisecond))

	for user, want := range map[string]string{"user_active": "SUCCESS", "user_activ": "PARAMETER_ERROR"} {
		if got := browsertest.Eval[string](b, rowOf(user)+`.querySelector('.code-badge').textContent`); got != want {
			t.Errorf("the row of %s shows the code %q, want %q", user, got, want)
		}
	}
	if first := browsertest.Eval[string](b, `document.querySelector('#journal-list > li').dataset.userId`); first != "user_activ" {
		t.Errorf("the first row is %q; want the newest request (user_activ) first", first)
	}

	// Open the misspelled one with the keyboard: its near miss names user_active.
	b.Do("opening the entry by keyboard",
		chromedp.Focus(chromedp.CSS(`#journal-list > li[data-user-id="user_activ"] summary`)),
		chromedp.KeyEvent(kb.Enter))
	b.WaitFor("the near miss", rowOf("user_activ")+`.querySelector('.near-misses')?.textContent.includes('user_active')`, 5*time.Second)
	why := browsertest.Eval[string](b, rowOf("user_activ")+`.querySelector('.entry-detail').textContent`)
	for _, want := range []string{"No user or rule knows this userId", "GET sg-api.advance.ai" + idvmock.PathLatest + "?userId=user_activ", "PARAMETER_ERROR"} {
		if !strings.Contains(why, want) {
			t.Errorf("the opened entry does not say %q:\n%s", want, why)
		}
	}
	curl := browsertest.Eval[string](b, rowOf("user_activ")+`.querySelector('textarea.curl').value`)
	for _, want := range []string{
		"curl -sS -X 'GET' 'http://" + addr + idvmock.PathLatest + "?userId=user_activ'",
		"-H 'Host: sg-api.advance.ai'",
		"-H 'X-Access-Token: live****",
	} {
		if !strings.Contains(curl, want) {
			t.Errorf("the curl command lacks %q:\n%s", want, curl)
		}
	}
	// The access token is shown masked, never as sent.
	if page := browsertest.Eval[string](b, `document.body.innerText + document.querySelector('textarea.curl').value`); strings.Contains(page, accessToken) {
		t.Errorf("the page shows the access token unmasked:\n%s", page)
	}

	// A filter reads the journal again with it: only sg's request stays.
	b.Do("filtering on sg", chromedp.SetValue(chromedp.ID("filter-region"), "sg"))
	b.WaitFor("only sg's request", `!`+rowOf("user_active")+` && `+rowOf("user_activ"), 5*time.Second)
	waitLive(t, b)

	// The page read the journal once a filter and otherwise followed the stream: no polling,
	// and no view but the journal was read in the background.
	reads := browsertest.Eval[[]string](b, `performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.startsWith('/__admin/') && !p.startsWith('/__admin/ui/'))`)
	count := map[string]int{}
	for _, p := range reads {
		count[p]++
	}
	if count["/__admin/requests"] != 2 || count["/__admin/users"]+count["/__admin/sessions"]+count["/__admin/scenarios"] != 0 {
		t.Errorf("the journal view read %v; want /__admin/requests twice (opening, filtering) and no other view's data", count)
	}
	b.Screenshot("journal")
}

// The page keeps the latest 500 rows, newest first, however many requests come: bursts of 95
// (under the stream's 100 entries a batch, so none is skipped) until 570 were made.
func TestDashboardJournalKeepsTheLatestRows(t *testing.T) {
	addr, stop := startServe(t)
	t.Cleanup(stop) // after the browser's cleanup: Chromium's open connections would hold the shutdown
	b := openDashboard(t, addr, "")
	const burst, bursts = 95, 6
	for i := range bursts {
		var wg sync.WaitGroup
		failed := make(chan error, burst)
		for j := range burst {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+latestPath+"?"+uq(fmt.Sprintf("burst-%d-%d", i, j)), nil)
				req.Header.Set("X-ACCESS-TOKEN", "t")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					failed <- err
					return
				}
				resp.Body.Close()
			})
		}
		wg.Wait()
		close(failed)
		for err := range failed {
			t.Fatal(err)
		}
		want := min((i+1)*burst, 500)
		// A burst may come in two batches (it can straddle the stream's tick): wait for its
		// last entry, the journal's newest.
		b.WaitFor(fmt.Sprintf("%d rows up to id %d", want, (i+1)*burst), fmt.Sprintf(`document.querySelectorAll('#journal-list > li').length === %d && Number(document.querySelector('#journal-list > li').dataset.id) === %d`, want, (i+1)*burst), 10*time.Second)
	}
	var rows struct {
		IDs     []int `json:"ids"`
		Skipped bool  `json:"skipped"`
	}
	if err := json.Unmarshal(browsertest.Eval[[]byte](b, `({ids: [...document.querySelectorAll('#journal-list > li')].map((li) => Number(li.dataset.id)),
		skipped: !document.getElementById('journal-skipped').hidden})`), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows.IDs) != 500 || rows.IDs[0] != burst*bursts || rows.IDs[499] != burst*bursts-499 {
		t.Errorf("the rows are %d, from id %d to %d; want the latest 500, %d to %d", len(rows.IDs), rows.IDs[0], rows.IDs[len(rows.IDs)-1], burst*bursts, burst*bursts-499)
	}
	for i := 1; i < len(rows.IDs); i++ {
		if rows.IDs[i] >= rows.IDs[i-1] {
			t.Fatalf("row %d (id %d) is not older than the row above it (id %d)", i, rows.IDs[i], rows.IDs[i-1])
		}
	}
	if rows.Skipped {
		t.Error("the page says entries were skipped, though no batch held more than 100")
	}
}

// When the mock restarts on its port, the open page follows the new one: the stream says the
// journal starts again, and the rows of the old journal give way to the new one's.
func TestDashboardFollowsARestartedMock(t *testing.T) {
	addr, stopFirst := startServe(t)
	b := openDashboard(t, addr, "")
	latest(t, addr, uq("before-the-restart"), "", nil)
	latest(t, addr, uq("user_active"), "", nil)
	b.WaitFor("the first mock's requests", rowOf("before-the-restart"), 5*time.Second)
	stopFirst()

	again, stop := startServe(t, "--addr", addr)
	t.Cleanup(stop)
	if again != addr {
		t.Fatalf("the mock restarted on %s, not %s", again, addr)
	}
	latest(t, addr, uq("after-the-restart"), "", nil)
	b.WaitFor("the new mock's journal", rowOf("after-the-restart")+` && !`+rowOf("before-the-restart"), 15*time.Second)
	waitLive(t, b)
	latest(t, addr, uq("user_init"), "", nil)
	b.WaitFor("a request to the new mock, live", rowOf("user_init"), 5*time.Second)
}

// The curl command quotes every value for the shell: a quote in a header or a body cannot
// end it early, and $(...) stays text.
func TestDashboardCurlQuotesForTheShell(t *testing.T) {
	addr, stop := startServe(t)
	t.Cleanup(stop) // after the browser's cleanup: Chromium's open connections would hold the shutdown
	b := openDashboard(t, addr, "")
	body := `{"userId":"o'brien $(touch /tmp/pwned)","bizId":"b-1","region":"PHL","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko"}`
	do(t, http.MethodPost, "http://"+addr+idvmock.PathGenerateURL, "", map[string]string{"X-Trace": `it's "quoted"`}, body)
	row := `document.querySelector('#journal-list > li[data-kind="request"]')`
	b.WaitFor("the request in the journal", row, 5*time.Second)
	b.Do("opening it", chromedp.Click(chromedp.CSS(`#journal-list > li[data-kind="request"] summary`)))
	b.WaitFor("its curl command", row+`?.querySelector('textarea.curl')`, 5*time.Second)
	curl := browsertest.Eval[string](b, row+`.querySelector('textarea.curl').value`)
	for _, want := range []string{
		`-H 'X-Trace: it'\''s "quoted"'`,
		`--data-raw '{"userId":"o'\''brien $(touch /tmp/pwned)"`,
	} {
		if !strings.Contains(curl, want) {
			t.Errorf("the curl command lacks %s:\n%s", want, curl)
		}
	}
}

// Advance, jump, reset and deactivate on the users view change what Get Latest answers next;
// a declaration with a mistake is refused with the line and column of each problem.
func TestDashboardDrivesAUser(t *testing.T) {
	addr, stop := startServe(t)
	t.Cleanup(stop) // after the browser's cleanup: Chromium's open connections would hold the shutdown
	b := openDashboard(t, addr, "#users")
	b.WaitFor("the users", `document.querySelector('#users-list article[data-user-id="user_active"]')`, 5*time.Second)

	// A mistake on line 3 of the YAML: shown inline, where it is.
	b.Do("declaring a broken user",
		chromedp.SendKeys(chromedp.ID("declare-id"), "stepper"),
		chromedp.SetValue(chromedp.ID("declare-yaml"), strings.Replace(threeStates, "profileStatus: INIT", "profileStatus: STARTED", 1)),
		chromedp.Click(chromedp.CSS(`#declare-form button[type=submit]`)))
	b.WaitFor("the problem shown inline", `/line 3, column \d+: /.test(document.getElementById('declare-problems').textContent)`, 5*time.Second)
	if status := adminCall(t, http.MethodGet, "http://"+addr+"/__admin/users/stepper", "", "", "", nil); status != http.StatusNotFound {
		t.Fatalf("a refused declaration was kept: HTTP %d", status)
	}

	b.Do("declaring the user", chromedp.SetValue(chromedp.ID("declare-yaml"), threeStates),
		chromedp.Click(chromedp.CSS(`#declare-form button[type=submit]`)))
	card := `#users-list article[data-user-id="stepper"]`
	b.WaitFor("the declared user", `document.querySelector('`+card+`')`, 5*time.Second)
	b.WaitFor("the problems gone", `document.getElementById('declare-problems').hidden`, 5*time.Second)

	answer := func() (string, any) {
		a := latest(t, addr, uq("stepper"), "", nil)
		return a.Data.ProfileStatus, a.Data.Result["overallResult"]
	}
	current := func() string {
		return browsertest.Eval[string](b, `document.querySelector('`+card+` [aria-current="step"]').textContent`)
	}
	if status, result := answer(); status != "INIT" || result != nil {
		t.Fatalf("before any action: %s, %v; want INIT in progress", status, result)
	}

	b.Do("advancing", chromedp.Click(chromedp.CSS(card+` button.act-advance`)))
	b.WaitFor("the strip on the second state", `document.querySelector('`+card+` [aria-current="step"]')?.textContent.includes('failed')`, 5*time.Second)
	if status, result := answer(); status != "INIT" || result != "FAIL" {
		t.Errorf("after Advance: %s, %v; want INIT, FAIL", status, result)
	}

	b.Do("jumping to the last state",
		chromedp.SetValue(chromedp.CSS(card+` select.jump-state`), "2"),
		chromedp.Click(chromedp.CSS(card+` button.act-jump`)))
	b.WaitFor("the strip on the third state", `document.querySelector('`+card+` [aria-current="step"]')?.textContent.includes('passed')`, 5*time.Second)
	if status, result := answer(); status != "ACTIVE" || result != "PASS" {
		t.Errorf("after the jump to passed: %s, %v; want ACTIVE, PASS", status, result)
	}

	b.Do("resetting", chromedp.Click(chromedp.CSS(card+` button.act-reset`)))
	b.WaitFor("the strip back on the first state", `document.querySelector('`+card+` [aria-current="step"]')?.textContent.includes('started')`, 5*time.Second)
	if status, result := answer(); status != "INIT" || result != nil {
		t.Errorf("after Reset: %s, %v; want INIT in progress", status, result)
	}
	if s := current(); !strings.Contains(s, "started") {
		t.Errorf("the current step is %q after the reset", s)
	}

	b.Do("deactivating user_active", chromedp.Click(chromedp.CSS(`#users-list article[data-user-id="user_active"] button.act-deactivate`)))
	b.WaitFor("user_active shown INACTIVE", `document.querySelector('#users-list article[data-user-id="user_active"] .badge')?.textContent === 'INACTIVE'`, 5*time.Second)
	if a := latest(t, addr, uq("user_active"), "", nil); a.Data.ProfileStatus != "INACTIVE" {
		t.Errorf("after Deactivate, user_active answers %s; want INACTIVE", a.Data.ProfileStatus)
	}
	b.WaitFor("the result announced", `document.getElementById('announce').textContent.includes('INACTIVE')`, 5*time.Second)
	b.Screenshot("users")
}

// Complete PASS on a session started through Generate URL calls its callbackUrl, and the
// delivery shows on the session.
func TestDashboardCompletesASession(t *testing.T) {
	callbacks := make(chan string, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		callbacks <- string(body)
	}))
	defer receiver.Close()
	addr, stop := startServe(t)
	t.Cleanup(stop) // after the browser's cleanup: Chromium's open connections would hold the shutdown

	started := do(t, http.MethodPost, "http://"+addr+idvmock.PathGenerateURL, "", nil,
		`{"userId":"walk-in","bizId":"order-7","region":"PHL","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko","callbackUrl":"`+receiver.URL+`/idv?tenant=qa"}`)
	sig := started.Data.SignatureID
	if sig == "" {
		t.Fatalf("Generate URL: %+v", started)
	}
	b := openDashboard(t, addr, "#sessions")
	card := `#sessions-list article[data-signature-id=` + js(sig) + `]`
	b.WaitFor("the started session", `document.querySelector('`+card+`')`, 5*time.Second)
	b.Do("completing it", chromedp.Click(chromedp.CSS(card+` button.act-pass`)))
	select {
	case body := <-callbacks:
		if !strings.Contains(body, sig) {
			t.Errorf("the callback does not name the session: %s", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no callback reached the receiver")
	}
	b.WaitFor("the delivery on the session", `document.querySelector('`+card+` .deliveries li.entry[data-kind="callback"]')`, 10*time.Second)
	b.WaitFor("the session finished", `document.querySelector('`+card+` .badge-pass') && !document.querySelector('`+card+` button.act-pass')`, 5*time.Second)
	delivery := browsertest.Eval[string](b, `document.querySelector('`+card+` .deliveries li.entry').textContent`)
	if !strings.Contains(delivery, "200") || !strings.Contains(delivery, receiver.URL) {
		t.Errorf("the delivery does not show the receiver's 200 and its URL: %q", delivery)
	}
	b.Do("opening the delivery", chromedp.Click(chromedp.CSS(card+` .deliveries li.entry summary`)))
	b.WaitFor("the body it POSTed", `document.querySelector('`+card+` .deliveries pre.code')?.textContent.includes(`+js(sig)+`)`, 5*time.Second)
	b.Screenshot("sessions")
}

// A broken change of a watched scenario file shows its refusal with file:line, while Get
// Latest keeps answering from the set loaded before.
func TestDashboardShowsARefusedReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "qa.yaml")
	writeFile := func(content string) {
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile("users:\n  reloaded:\n    scenario: active\n")
	addr, stop := startServe(t, "--scenarios", file, "--watch", "--watch-interval", "50ms", "--watch-settle", "50ms")
	t.Cleanup(stop) // after the browser's cleanup: Chromium's open connections would hold the shutdown
	b := openDashboard(t, addr, "#scenarios")
	b.WaitFor("the file listed", `document.getElementById('scenarios-body').textContent.includes(`+js(file)+`)`, 5*time.Second)

	writeFile("users:\n  reloaded:\n    scenario: actve\n")
	refusal := `document.getElementById('reload-refusal')`
	b.WaitFor("the refusal", refusal+`?.textContent.includes('qa.yaml:3')`, 10*time.Second)
	shown := browsertest.Eval[string](b, refusal+`.textContent`)
	if !regexp.MustCompile(`qa\.yaml:3(:\d+)?:`).MatchString(shown) {
		t.Errorf("the refusal does not give file:line: %q", shown)
	}
	if a := latest(t, addr, uq("reloaded"), "", nil); a.Code != "SUCCESS" || a.Data.ProfileStatus != "ACTIVE" {
		t.Errorf("after the refused change: %s %s; want the previous set's ACTIVE", a.Code, a.Data.ProfileStatus)
	}
	b.Screenshot("scenarios")
}

// With --admin-token the page shows nothing but the prompt until the token is given; a
// wrong one is refused there; forgetting it brings the prompt back.
func TestDashboardAsksForTheAdminToken(t *testing.T) {
	const token = "dashboard-token-0123456789"
	addr, stop := startServe(t, "--admin-token", token)
	t.Cleanup(stop) // after the browser's cleanup: Chromium's open connections would hold the shutdown
	latest(t, addr, uq("user_active"), "", nil)

	b := browsertest.Start(t)
	b.Do("opening the dashboard", chromedp.Navigate("http://"+addr+"/__admin/ui/"), chromedp.WaitVisible(chromedp.ID("login-token")))
	onlyThePrompt := func(when string) {
		t.Helper()
		var seen struct {
			Text      string `json:"text"`
			AppHidden bool   `json:"appHidden"`
			Rows      int    `json:"rows"`
			Users     int    `json:"users"`
			Facts     int    `json:"facts"`
		}
		raw := browsertest.Eval[[]byte](b, `({text: document.body.innerText, appHidden: document.getElementById('app').hidden,
			rows: document.getElementById('journal-list').childElementCount, users: document.getElementById('users-list').childElementCount,
			facts: document.getElementById('facts').childElementCount})`)
		if err := json.Unmarshal(raw, &seen); err != nil {
			t.Fatal(err)
		}
		if !seen.AppHidden || seen.Rows != 0 || seen.Users != 0 || seen.Facts != 0 {
			t.Errorf("%s: more than the prompt: %+v", when, seen)
		}
		for _, secret := range []string{"user_active", "Journal", "present", "memory", "SUCCESS"} {
			if strings.Contains(seen.Text, secret) {
				t.Errorf("%s: the page shows %q without the token:\n%s", when, secret, seen.Text)
			}
		}
		if !strings.Contains(seen.Text, "Admin token") {
			t.Errorf("%s: no prompt:\n%s", when, seen.Text)
		}
	}
	onlyThePrompt("without a token")

	b.Do("giving a wrong token", chromedp.SendKeys(chromedp.ID("login-token"), "not-the-token"), chromedp.KeyEvent(kb.Enter))
	b.WaitFor("the refusal", `!document.getElementById('login-error').hidden && document.getElementById('login-error').textContent.includes('refused')`, 5*time.Second)
	onlyThePrompt("with a wrong token")
	if stored := browsertest.Eval[string](b, `sessionStorage.getItem('idvmock-admin-token') || ''`); stored != "" {
		t.Errorf("a refused token stays in sessionStorage: %q", stored)
	}
	b.Screenshot("token-prompt")

	b.Do("giving the token", chromedp.SendKeys(chromedp.ID("login-token"), token), chromedp.KeyEvent(kb.Enter))
	waitLive(t, b)
	b.WaitFor("the journal", rowOf("user_active"), 5*time.Second)
	if stored := browsertest.Eval[string](b, `sessionStorage.getItem('idvmock-admin-token') || ''`); stored != token {
		t.Errorf("sessionStorage holds %q", stored)
	}

	// A reload keeps the token for the tab.
	b.Do("reloading", chromedp.Reload())
	waitLive(t, b)

	b.Do("forgetting the token", chromedp.Click(chromedp.ID("forget-token")), chromedp.WaitVisible(chromedp.ID("login-token")))
	onlyThePrompt("after Forget token")
	if stored := browsertest.Eval[string](b, `sessionStorage.getItem('idvmock-admin-token') || ''`); stored != "" {
		t.Errorf("the token was not forgotten: %q", stored)
	}
}

// A page of another site that posts a form to the admin API (a forged cross-site request)
// changes nothing, with or without an admin token; the same call from a script works.
func TestDashboardRefusesCrossSiteForms(t *testing.T) {
	for _, tc := range []struct{ name, token string }{{"open admin API", ""}, {"admin token", "csrf-token-0123456789"}} {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if tc.token != "" {
				args = []string{"--admin-token", tc.token}
			}
			addr, stop := startServe(t, args...)
			t.Cleanup(stop) // after the browser's cleanup: Chromium's open connections would hold the shutdown
			base := "http://" + addr
			if status := adminCall(t, http.MethodPut, base+"/__admin/users/forged", tc.token, "application/yaml", threeStates, nil); status != http.StatusOK {
				t.Fatalf("declaring: HTTP %d", status)
			}
			target := base + "/__admin/users/forged/advance"
			attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(w, `<!doctype html><title>win a prize</title>
<form method="post" action="%s"><input name="state" value="2"></form>
<script>document.forms[0].submit()</script>`, target)
			}))
			defer attacker.Close()
			// localhost and 127.0.0.1 are different sites: the form is cross-site.
			page := strings.Replace(attacker.URL, "127.0.0.1", "localhost", 1)

			b := browsertest.Start(t)
			b.Do("loading the attacker's page", chromedp.Navigate(page))
			b.WaitFor("the forged form posted", `location.href === `+js(target), 10*time.Second)
			answer := browsertest.Eval[string](b, `document.body.innerText`)
			if i, state := userState(t, addr, "forged", tc.token); i != 0 {
				t.Errorf("the forged form advanced the user to %s; the mock answered it:\n%s", state, answer)
			}
			t.Logf("the mock answered the forged form: %s", answer)

			if status := adminCall(t, http.MethodPost, target, tc.token, "", "", nil); status != http.StatusOK {
				t.Fatalf("the same call from a script: HTTP %d", status)
			}
			if i, _ := userState(t, addr, "forged", tc.token); i != 1 {
				t.Errorf("the call from a script did not advance the user (state %d)", i)
			}
		})
	}
}

// What clients send is shown as text: a userId, a header and a body made of HTML never
// become elements of the page, in the journal, an opened entry, the users and the sessions.
func TestDashboardShowsHostileDataAsText(t *testing.T) {
	const hostile = `<img src=x onerror=alert(1)>`
	addr, stop := startServe(t)
	t.Cleanup(stop) // after the browser's cleanup: Chromium's open connections would hold the shutdown
	latest(t, addr, uq(hostile), "", map[string]string{"X-Note": `<script>alert(2)</script>`})
	do(t, http.MethodPost, "http://"+addr+idvmock.PathGenerateURL, "", nil,
		`{"userId":"`+strings.ReplaceAll(hostile, `"`, `\"`)+`","bizId":"</pre><b id=injected>x</b>","region":"PHL","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko"}`)

	b := openDashboard(t, addr, "")
	get, post := rowOfOp(hostile, "getLatestSessionResult"), rowOfOp(hostile, "generateVerificationUrl")
	b.WaitFor("the hostile requests", get+" && "+post, 5*time.Second)
	b.Do("opening them",
		chromedp.Click(chromedp.JSPath(get+`.querySelector('summary')`)),
		chromedp.Click(chromedp.JSPath(post+`.querySelector('summary')`)))
	b.WaitFor("the header", get+`.querySelector('table.kv')?.textContent.includes('<script>alert(2)</script>')`, 5*time.Second)
	b.WaitFor("the body", post+`.querySelector('pre.code')?.textContent.includes('</pre><b id=injected>x</b>')`, 5*time.Second)
	for _, row := range []string{get, post} {
		if got := browsertest.Eval[string](b, row+`.querySelector('.user-id').textContent`); got != hostile {
			t.Errorf("the userId shows as %q", got)
		}
	}
	noElements := `document.querySelectorAll('img, #injected, [onerror]').length === 0 && document.querySelectorAll('script').length === 1`
	if !browsertest.Eval[bool](b, noElements) {
		t.Errorf("client data became elements of the page: %s", browsertest.Eval[string](b, `document.body.innerHTML`))
	}

	// A user declared with that userId: its card and its actions.
	if status := adminCall(t, http.MethodPut, "http://"+addr+"/__admin/users/"+url.PathEscape(hostile), "", "application/yaml", threeStates, nil); status != http.StatusOK {
		t.Fatalf("declaring the hostile user: HTTP %d", status)
	}
	b.Do("showing the users", chromedp.Navigate("http://"+addr+"/__admin/ui/#users"))
	card := `[...document.querySelectorAll('#users-list article')].find((a) => a.dataset.userId === ` + js(hostile) + `)`
	b.WaitFor("the hostile user's card", card, 5*time.Second)
	if got := browsertest.Eval[string](b, card+`.querySelector('h3').textContent`); got != hostile {
		t.Errorf("the user's card is titled %q", got)
	}
	b.Do("advancing the hostile user", chromedp.Click(chromedp.JSPath(card+`.querySelector('button.act-advance')`)))
	b.WaitFor("the advance announced", `document.getElementById('announce').textContent.includes(`+js(hostile+` is now in state “failed”`)+`)`, 5*time.Second)
	if i, _ := userState(t, addr, hostile, ""); i != 1 {
		t.Errorf("the hostile user is in state %d after Advance; want 1", i)
	}
	if !browsertest.Eval[bool](b, noElements) {
		t.Errorf("client data became elements of the users view: %s", browsertest.Eval[string](b, `document.getElementById('users-list').innerHTML`))
	}

	b.Do("showing the sessions", chromedp.Navigate("http://"+addr+"/__admin/ui/#sessions"))
	b.WaitFor("the session of the hostile user", `[...document.querySelectorAll('#sessions-list .user-id')].some((e) => e.textContent === `+js(hostile)+`)`, 5*time.Second)
	if !strings.Contains(browsertest.Eval[string](b, `document.getElementById('sessions-list').textContent`), "</pre><b id=injected>x</b>") {
		t.Error("the hostile bizId is not shown as text")
	}
	if !browsertest.Eval[bool](b, noElements) {
		t.Errorf("client data became elements of the sessions view: %s", browsertest.Eval[string](b, `document.getElementById('sessions-list').innerHTML`))
	}
}

// dashboardTraffic gives the mock a little of everything to show: users in several states,
// requests on several regions with several codes, a miss, a fault, a completed session.
func dashboardTraffic(t *testing.T, addr, callbackURL string) {
	t.Helper()
	base := "http://" + addr
	if status := adminCall(t, http.MethodPut, base+"/__admin/users/stepper", "", "application/yaml", threeStates, nil); status != http.StatusOK {
		t.Fatalf("declaring stepper: HTTP %d", status)
	}
	hosts := []string{"api.advance.ai", "sg-api.advance.ai", "ph-api.advance.ai", "th-api.advance.ai", "my-api.advance.ai", "vn-api.advance.ai"}
	users := []string{"user_active", "user_init", "user_failed", "user_002", "user_reverify", "stepper", "user_error"}
	for i := range 36 {
		latest(t, addr, uq(users[i%len(users)]), hosts[i%len(hosts)], nil)
	}
	latest(t, addr, uq("user_actve"), "sg-api.advance.ai", nil)
	latest(t, addr, uq("alice"), "ph-api.advance.ai", map[string]string{"X-Mock-Scenario": "server_error"})
	latest(t, addr, uq("user_multi")+"&solutionCode=999", "", nil)
	started := do(t, http.MethodPost, base+idvmock.PathGenerateURL, "", nil,
		`{"userId":"walk-in","bizId":"order-7","region":"PHL","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko","callbackUrl":"`+callbackURL+`"}`)
	if status := adminCall(t, http.MethodPost, base+"/__admin/sessions/"+started.Data.SignatureID+"/complete", "", "application/json", `{"overallResult":"PASS"}`, nil); status != http.StatusOK {
		t.Fatalf("completing: HTTP %d", status)
	}
	do(t, http.MethodPost, base+idvmock.PathGenerateURL, "", nil,
		`{"userId":"user_init","bizId":"order-8","region":"SGP","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko"}`)
	adminCall(t, http.MethodPost, base+"/__admin/users/stepper/advance", "", "", "", nil)
	latest(t, addr, uq("user_actve"), "sg-api.advance.ai", nil)
}

// Every view at 1280x800 and 400 px wide, light and dark: no page scrolls sideways, and a
// screenshot of each goes to the screenshot folder. With -update-screenshot, the journal
// with the near miss opened becomes docs/dashboard.png:
//
//	go test ./cmd/idvmock -run TestDashboardScreenshot -update-screenshot
func TestDashboardScreenshot(t *testing.T) {
	scenarios := filepath.Join("testdata", "dashboard", "qa.yaml")
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer receiver.Close()
	addr, stop := startServe(t, "--seed", "7", "--scenarios", scenarios)
	t.Cleanup(stop) // after the browser's cleanup: Chromium's open connections would hold the shutdown
	dashboardTraffic(t, addr, receiver.URL+"/idv-callback")
	b := browsertest.Start(t, browsertest.WithTimeout(120*time.Second))
	b.Do("opening the dashboard", chromedp.Navigate("http://"+addr+"/__admin/ui/"))
	waitLive(t, b)

	ready := map[string]string{
		"journal":   rowOf("user_actve"),
		"users":     `document.querySelector('#users-list article[data-user-id="stepper"]')`,
		"sessions":  `document.querySelector('#sessions-list .deliveries li.entry')`,
		"scenarios": `document.getElementById('scenarios-body').textContent.includes('qa.yaml')`,
		"overview":  `document.querySelectorAll('#overview-body svg.chart rect').length > 0`,
	}
	for _, variant := range []struct {
		name          string
		width, height int64
		dark          bool
	}{{"1280-light", 1280, 800, false}, {"1280-dark", 1280, 800, true}, {"400-light", 400, 800, false}, {"400-dark", 400, 800, true}} {
		b.Emulate(variant.width, variant.height, variant.dark)
		for _, view := range []string{"journal", "users", "sessions", "scenarios", "overview"} {
			b.Do("showing "+view, chromedp.Evaluate[chromedp.Void](`location.hash = `+js("#"+view)))
			b.WaitFor(view+" shown", `!document.getElementById('view-`+view+`').hidden && (`+ready[view]+`)`, 10*time.Second)
			if view == "journal" {
				openNearMiss(t, b)
			}
			if wide := browsertest.Eval[int](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); wide > 0 {
				t.Errorf("%s at %s: the page scrolls %d px sideways", view, variant.name, wide)
			}
			if unlabelled := browsertest.Eval[[]string](b, unlabelledControls); len(unlabelled) > 0 {
				t.Errorf("%s at %s: controls without a label: %v", view, variant.name, unlabelled)
			}
			b.Screenshot(view + "-" + variant.name)
		}
	}

	if *updateScreenshot {
		b.Emulate(browsertest.WindowWidth, browsertest.WindowHeight, false)
		b.Do("showing the journal", chromedp.Evaluate[chromedp.Void](`location.hash = '#journal'; window.scrollTo(0, 0)`))
		b.WaitFor("the journal shown", `!document.getElementById('view-journal').hidden`, 5*time.Second)
		openNearMiss(t, b)
		png := b.ViewportPNG()
		if len(png) > 300<<10 {
			t.Errorf("docs/dashboard.png would be %d KiB; keep it under 300", len(png)>>10)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "dashboard.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote docs/dashboard.png (%d KiB)", len(png)>>10)
	}
}

// unlabelledControls lists the shown controls that have no accessible name.
const unlabelledControls = `[...document.querySelectorAll('input, select, textarea, button, summary, a')]
	.filter((el) => el.getClientRects().length > 0 && el.type !== 'hidden')
	.filter((el) => !((el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.textContent.trim()))
	.map((el) => el.outerHTML.slice(0, 120))`

// openNearMiss opens the newest misspelled request in the journal and waits for its near miss.
func openNearMiss(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	row := rowOf("user_actve")
	if !browsertest.Eval[bool](b, row+`.querySelector('details').open`) {
		b.Do("opening the misspelled request", chromedp.Click(chromedp.CSS(`#journal-list > li[data-user-id="user_actve"] summary`)))
	}
	b.WaitFor("the near miss", row+`.querySelector('.near-misses')`, 5*time.Second)
}
