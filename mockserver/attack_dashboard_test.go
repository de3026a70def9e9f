package mockserver

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
)

// The dashboard's attack pass: each test failed on the code it was written against.

// The token API's signature is masked in the journal however the client spells the member
// name: JSON lets a name be written with \u escapes ("\u0073ignature" is "signature"), and
// kin-openapi and the token API read it as signature, so the token is issued; the journal
// must not keep the signature as sent (with its timestamp it mints tokens until it expires).
func TestAttackJournalMasksAnEscapedSignature(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sum := sha256.Sum256([]byte(testAccessKey + testSecretKey + ts))
	sig := hex.EncodeToString(sum[:])
	c := call{method: http.MethodPost, target: idvmock.PathToken, header: map[string]string{"Content-Type": "application/json"},
		body: `{"accessKey":"` + testAccessKey + `","timestamp":"` + ts + `","\u0073ignature":"` + sig + `","periodSecond":3600}`}
	if env := decode(t, serve(t, s, c)); env.Code != "SUCCESS" {
		t.Fatalf("the token API refused the escaped member name (%s %s): this attack needs it accepted", env.Code, env.Message)
	}
	list := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests?operation="+idvmock.OpToken, ""), 200)["requests"].([]any)
	body := list[0].(map[string]any)["requestBody"].(string)
	if strings.Contains(body, sig[8:]) {
		t.Errorf("the journal keeps the token API's signature unmasked: %s", body)
	}
}

// A page that follows the stream after the last id it saw (the dashboard does so when it
// reconnects) is told to read the journal again when the mock restarted and numbers from 1
// again, instead of a silent stream until the new numbers pass the old ones.
func TestAttackEventsAfterAnIDFromBeforeARestart(t *testing.T) {
	s := newTestServer(t, Config{})
	hs := httptest.NewServer(s)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// The page saw entry 500 from the mock before it restarted.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+"/__admin/events?after=500", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	serve(t, s, latestCall("userId=user_active", ""))
	got := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "event: ") {
				got <- lines.Text()
				return
			}
		}
		got <- ""
	}()
	select {
	case ev := <-got:
		if ev == "" {
			t.Error("the stream ended without an event")
		}
	case <-time.After(2 * time.Second):
		t.Error("after an id the journal has not reached (a restarted mock), the stream sends nothing: the page would stay \"Live\" and show no new request")
	}
}

// Without an admin token (the default on loopback), a browser page of another site that
// DNS-rebinds its own name to 127.0.0.1 is same-origin for the browser: Sec-Fetch-Site says
// same-origin and Origin matches Host, which http.CrossOriginProtection lets through. A
// browser's admin call without a token is taken only for a loopback Host (localhost,
// 127.0.0.1, [::1]) or the vendor's hostnames the mock answers for.
func TestAttackOpenAdminRefusesARebindingHost(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	serve(t, s, latestCall("userId=user_active", ""))
	c := call{method: http.MethodPost, target: "/__admin/reset", host: "rebind.attacker.example:8080",
		header: map[string]string{"Origin": "http://rebind.attacker.example:8080", "Sec-Fetch-Site": "same-origin"}}
	rec := serve(t, s, c)
	sc.check(t, c, rec)
	if rec.Code == http.StatusOK {
		t.Errorf("a same-origin write on a foreign Host (DNS rebinding) changed the mock: HTTP %d %s", rec.Code, rec.Body)
	}
	// Reads too: the journal (headers, bodies) must not be readable that way.
	r := call{target: "/__admin/requests", host: "rebind.attacker.example:8080", header: map[string]string{"Sec-Fetch-Site": "same-origin"}}
	if rec := serve(t, s, r); rec.Code == http.StatusOK {
		t.Errorf("the journal is readable on a foreign Host without a token: HTTP %d", rec.Code)
	}
}

// Every answer conforms to openapi.yaml: the new admin reads refuse bad input with a 400
// that their operations do not declare.
func TestAttackNewAdminRefusalsAreDeclared(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	for _, target := range []string{
		"/__admin/sessions?limit=0", "/__admin/sessions?limit=abc",
		"/__admin/requests/0", "/__admin/requests/abc",
		"/__admin/overview?x=1",
	} {
		c := adminCall(http.MethodGet, target, "")
		rec := serve(t, s, c)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("GET %s: HTTP %d, want 400", target, rec.Code)
		}
		sc.check(t, c, rec)
	}
}

// A refusal says what range is accepted: a parameter with a minimum and no maximum is not
// "from 1 to 0".
func TestAttackMinimumOnlyMessage(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	for _, target := range []string{"/__admin/requests?limit=0", "/__admin/sessions?limit=-1", "/__admin/requests/0"} {
		rec := serve(t, s, adminCall(http.MethodGet, target, ""))
		var e adminError
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if strings.Contains(e.Error, "to 0.") {
			t.Errorf("GET %s: %q", target, e.Error)
		}
	}
}

// A userId of dots cannot be declared: a URL path reads "." and ".." as folders, so the
// admin API's /__admin/users/{userId} (and the dashboard's buttons) could not reach it.
func TestDotUserIDsAreRefused(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	for _, escaped := range []string{"%2E", "%2E%2E", "..."} {
		c := adminCall(http.MethodPut, "/__admin/users/"+escaped, `{"scenario": "active"}`)
		out := admin(t, s, sc, c, http.StatusBadRequest)
		if !strings.Contains(fmt.Sprint(out["problems"]), "only dots") {
			t.Errorf("PUT %s: %v", escaped, out)
		}
	}
}
