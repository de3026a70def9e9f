package mockserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
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
	signature := idvmock.Sign("ak-public-id", "sk-0123456789-secret", ts)
	rec := serve(t, s, tokenCall(`{"accessKey":"ak-public-id","timestamp":"`+ts+`","signature":"`+signature+`"}`))
	var issued struct {
		Data struct{ Token string } `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &issued); err != nil || len(issued.Data.Token) < 16 {
		t.Fatalf("no token: %s", rec.Body)
	}
	c := latestCall("userId=user_active", "")
	c.header[idvmock.TokenHeader] = issued.Data.Token
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

// A client that sends its headers too slowly, or keeps a connection idle too long, is cut
// off: it cannot hold the mock's connections.
func TestSlowAndIdleClientsAreCutOff(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0), Timeouts: Timeouts{ReadHeader: 200 * time.Millisecond, Idle: 300 * time.Millisecond}})
	addr := strings.TrimPrefix(liveServer(t, s), "http://")
	closedWithin := func(conn net.Conn, limit time.Duration) bool {
		conn.SetReadDeadline(time.Now().Add(limit))
		_, err := io.ReadAll(conn)
		return err == nil // EOF: the server closed it; a timeout error: it did not
	}

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "GET %s?userId=user_active HTTP/1.1\r\nHost: x\r\n", idvmock.PathLatest) // and never the blank line
	if !closedWithin(slow, 2*time.Second) {
		t.Error("a client that never finished its headers kept its connection for 2 s (limit 200 ms)")
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "GET /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	if !closedWithin(idle, 2*time.Second) {
		t.Error("an idle kept-alive connection stayed open for 2 s (limit 300 ms)")
	}
}
