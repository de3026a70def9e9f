package mockserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
)

func TestRegionFromTheHostsFirstLabel(t *testing.T) {
	s := newTestServer(t, Config{})
	for host, want := range map[string]string{
		"api.advance.ai":            "global",
		"sg-api.advance.ai":         "sg",
		"sg-api.localhost:8080":     "sg",
		"sg-api.mock.internal":      "sg",
		"SG-API.Advance.AI":         "sg",
		"sg-api":                    "sg",
		"ph-api.advance.ai:443":     "ph",
		"th-api.advance.ai":         "th",
		"my-api.advance.ai":         "my",
		"vn-api.advance.ai":         "vn",
		"localhost:8080":            "global",
		"127.0.0.1:8080":            "global",
		"[::1]:8080":                "global",
		"":                          "global",
		"api-sg.advance.ai":         "global",
		"mock.sg-api.advance.ai":    "global",
		"xx-api.advance.ai":         "global",
		"sg-api.advance.ai.evil.io": "sg",
	} {
		if got := s.regions.ForHost(host).Name; got != want {
			t.Errorf("Host %q: region %s, want %s", host, got, want)
		}
	}
}

// Each request is logged once with its region, userId, scenario, code and latency; the token
// is masked and no key reaches the log.
func TestRequestLogLine(t *testing.T) {
	var buf bytes.Buffer
	s := newTestServer(t, Config{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), AccessKey: "ak-visible-nowhere", SecretKey: "sk-visible-nowhere"})
	c := latestCall("userId=user_failed", "my-api.advance.ai")
	c.header[idvmock.TokenHeader] = "tok-0123456789-secret-part"
	serve(t, s, c)
	serve(t, s, tokenCall(`{"accessKey":"ak-visible-nowhere","timestamp":"1","signature":"sig-secret"}`))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines for 2 requests:\n%s", len(lines), buf.String())
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"region": "my", "userId": "user_failed", "scenario": "failed", "code": "SUCCESS", "status": float64(200)} {
		if entry[key] != want {
			t.Errorf("log %s = %v, want %v", key, entry[key], want)
		}
	}
	if ms, ok := entry["latencyMillis"].(float64); !ok || ms < 0 {
		t.Errorf("log line has no latencyMillis in milliseconds: %v", entry["latencyMillis"])
	}
	for _, secret := range []string{"0123456789-secret-part", "ak-visible-nowhere", "sk-visible-nowhere", "sig-secret"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the log shows %q:\n%s", secret, buf.String())
		}
	}
}

// Through a real listener, requests net/http refuses before any handler runs still get the
// vendor's JSON envelope.
func TestMalformedHTTPGetsAnEnvelope(t *testing.T) {
	addr := strings.TrimPrefix(liveServer(t, newTestServer(t, Config{})), "http://")
	for name, tc := range map[string]struct {
		request string
		status  int
	}{
		"space in the query":      {"GET " + idvmock.PathLatest + "?userId=a b HTTP/1.1\r\nHost: x\r\nX-ACCESS-TOKEN: t\r\n\r\n", 400},
		"control byte in the URL": {"GET " + idvmock.PathLatest + "?userId=a\x01b HTTP/1.1\r\nHost: x\r\nX-ACCESS-TOKEN: t\r\n\r\n", 400},
		"control byte in header":  {"GET " + idvmock.PathLatest + "?userId=a HTTP/1.1\r\nHost: x\r\nX-ACCESS-TOKEN: t\x01\r\n\r\n", 400},
		"no Host header":          {"GET " + idvmock.PathLatest + "?userId=a HTTP/1.1\r\nX-ACCESS-TOKEN: t\r\n\r\n", 400},
		"header too large":        {"GET " + idvmock.PathLatest + "?userId=a HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\n\r\n", 431},
		"headers under the limit": {"GET " + idvmock.PathLatest + "?userId=a HTTP/1.1\r\nHost: x\r\nX-ACCESS-TOKEN: t\r\nX-Big: " + strings.Repeat("b", 60<<10) + "\r\n\r\n", 200},
		"raw non-UTF-8 in query":  {"GET " + idvmock.PathLatest + "?userId=\xff\xfe HTTP/1.1\r\nHost: x\r\nX-ACCESS-TOKEN: t\r\n\r\n", 200},
	} {
		t.Run(name, func(t *testing.T) {
			resp := rawRequest(t, addr, tc.request)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var env envelope
			if err := json.Unmarshal(body, &env); err != nil || env.Code == "" || env.TransactionID == "" {
				t.Fatalf("HTTP %d, body is not an envelope: %q", resp.StatusCode, body)
			}
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("HTTP %d %s, want %d application/json: %s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, body)
			}
			if tc.status != 200 && env.Code != "CLIENT_ERROR" {
				t.Errorf("code %s, want CLIENT_ERROR", env.Code)
			}
		})
	}
}

func rawRequest(t *testing.T, addr, request string) *http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _, _ = io.WriteString(conn, request) }() // a large request may not be read in full
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
