package main

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The webhook flags work from their environment twins and from a secret file: a completion
// without callbackUrl reaches the receiver signed with the decoded secret (HMAC-SHA512 here,
// checked with the standard library alone); the log notes that http:// is for local
// receivers only and never shows the secret; a failing receiver is retried on the scaled
// schedule.
func TestServeDeliversSignedWebhooks(t *testing.T) {
	secret := []byte("a secret of the account, 32 byte")
	encoded := base64.StdEncoding.EncodeToString(secret)
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got, bodies = append(got, r), append(bodies, string(b))
		if len(got) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // the first try fails: a retry follows
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer receiver.Close()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"environment", map[string]string{"IDVMOCK_WEBHOOK_URL": receiver.URL + "/hook?tenant=qa", "IDVMOCK_WEBHOOK_SECRET": encoded,
			"IDVMOCK_WEBHOOK_ALGORITHM": "HMAC-SHA512", "IDVMOCK_WEBHOOK_RETRY_SCALE": "0.01"}, nil},
		{"secret file", nil, []string{"--webhook-url", receiver.URL + "/hook?tenant=qa", "--webhook-secret-file", secretFile(t, encoded+"\n"),
			"--webhook-algorithm", "sha512", "--webhook-retry-scale", "0.01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got, bodies = nil, nil
			mu.Unlock()
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			addr, log, stop := startServeLogged(t, tc.args...)
			defer stop()
			base := "http://" + addr
			started := do(t, http.MethodPost, base+"/intl/openapi/identity-risk/idvs-h5/ekyc/v1/generate-ekyc-verification-url", "", nil,
				`{"userId":"hooked","bizId":"order-1","region":"PHL","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko"}`)
			if done := do(t, http.MethodPost, base+"/__admin/sessions/"+started.Data.SignatureID+"/complete", "", nil, `{"overallResult":"PASS"}`); done.status != 200 {
				t.Fatalf("complete: %d", done.status)
			}
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n == 2 {
					break
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 2 {
				t.Fatalf("%d deliveries, want 2 (a 503, then its retry)", len(got))
			}
			for i, r := range got {
				m := hmac.New(sha512.New, secret)
				m.Write([]byte(r.Header.Get("aai-timestamp") + r.Header.Get("aai-nonce") + bodies[i]))
				if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); r.Header.Get("aai-signature") != want || r.URL.RawQuery != "tenant=qa" {
					t.Errorf("delivery %d to %s: aai-signature %q, want %q", i+1, r.URL, r.Header.Get("aai-signature"), want)
				}
			}
			if bodies[1] != `{"signatureId":"`+started.Data.SignatureID+`","type":"COMPLETED"}` {
				t.Errorf("body %s", bodies[1])
			}
			text := log.String()
			if !strings.Contains(text, "the vendor delivers to HTTPS endpoints only") || !strings.Contains(text, `"algorithm":"HMAC-SHA512"`) {
				t.Errorf("the log does not announce the webhook and its http note:\n%s", text)
			}
			for _, leak := range []string{encoded, string(secret), "tenant=qa"} {
				if strings.Contains(text, leak) {
					t.Errorf("the log shows %q:\n%s", leak, text)
				}
			}
		})
	}
}

func secretFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "webhook-secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
