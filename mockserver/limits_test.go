package mockserver

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A query string over the limit is refused with the vendor's envelope, naming the limit,
// before it is parsed; admin calls get the admin API's error.
func TestQueryStringLimit(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0)})
	long := "userId=" + strings.Repeat("a", maxQueryBytes)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, latestCall(long, "").request())
	env := decode(t, rec)
	if rec.Code != http.StatusOK || env.Code != "PARAMETER_ERROR" || !strings.Contains(env.Message, "at most 4096") {
		t.Errorf("HTTP %d %s %q", rec.Code, env.Code, env.Message)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/__admin/requests?"+long, nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "at most 4096") {
		t.Errorf("admin: HTTP %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, latestCall("userId="+strings.Repeat("a", 255), "").request())
	if env := decode(t, rec); env.Message != "externalUserId does not exist." {
		t.Errorf("the longest valid userId: %s %q", env.Code, env.Message)
	}
}

// No secret reaches a log line or the journal: the secret key, the signature, a token the
// token API issued, the admin token, and a wrong admin token someone tried.
func TestNoSecretInLogsOrJournal(t *testing.T) {
	var logs bytes.Buffer
	const adminToken, wrongAdmin = "adm-0123456789-secret", "wrong-admin-9876543210"
	s := newTestServer(t, Config{Engine: newEngine(t, 0), Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Auth: AuthStrict,
		AccessKey: "ak-public-id", SecretKey: "sk-0123456789-secret", AdminToken: adminToken})
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	signature := Sign("ak-public-id", "sk-0123456789-secret", ts)
	rec := serve(t, s, tokenCall(`{"accessKey":"ak-public-id","timestamp":"`+ts+`","signature":"`+signature+`"}`))
	var issued struct {
		Data struct{ Token string } `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &issued); err != nil || len(issued.Data.Token) < 16 {
		t.Fatalf("no token: %s", rec.Body)
	}
	c := latestCall("userId=user_active", "")
	c.header[tokenHeader] = issued.Data.Token
	if rec := serve(t, s, c); decode(t, rec).Code != "SUCCESS" {
		t.Fatalf("the issued token is refused: %s", rec.Body)
	}
	serve(t, s, call{target: "/__admin/users", header: map[string]string{"Authorization": "Bearer " + wrongAdmin}})
	journal := serve(t, s, call{target: "/__admin/requests", header: map[string]string{"Authorization": "Bearer " + adminToken}})
	if journal.Code != http.StatusOK {
		t.Fatalf("journal: HTTP %d", journal.Code)
	}
	for _, secret := range []string{"sk-0123456789-secret", signature, issued.Data.Token, issued.Data.Token[4:], adminToken, wrongAdmin} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows %q", secret)
		}
		if strings.Contains(journal.Body.String(), secret) {
			t.Errorf("the journal shows %q", secret)
		}
	}
	if !strings.Contains(logs.String(), `"status":401`) {
		t.Error("the refused admin call is not logged")
	}
}
