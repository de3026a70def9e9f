package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/idvmock/idvmock/webhook"
)

// A receiver verifies each delivery before it trusts the body: the secret as the vendor's
// console shows it (Base64) is decoded once, at start.
func Example_receiver() {
	secret, err := webhook.DecodeSecret("c2hhcmVkLXNlY3JldC1vZi10aGUtYWNjb3VudA==")
	if err != nil {
		panic(err)
	}
	signer := webhook.Signer{Secret: secret, Algorithm: webhook.SHA256}

	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		if err := signer.Verify(r.Header, body, webhook.VerifyOptions{MaxAge: 5 * time.Minute}); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized) // not 2xx: the sender retries
			return
		}
		fmt.Printf("verified: %s\n", body)
		w.WriteHeader(http.StatusNoContent) // any 2xx takes the delivery
	})

	// What the mock (or the vendor) sends.
	body := []byte(`{"signatureId":"6c2f0a9e41b7","type":"COMPLETED"}`)
	send := func(tamper bool) int {
		req := httptest.NewRequest(http.MethodPost, "/idv-webhook", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		headers, err := signer.Headers(time.Now(), body)
		if err != nil {
			panic(err)
		}
		if tamper {
			first := "A"
			if headers.Signature[:1] == first {
				first = "B"
			}
			headers.Signature = first + headers.Signature[1:] // still Base64, another HMAC
		}
		headers.Set(req.Header)
		rec := httptest.NewRecorder()
		receiver.ServeHTTP(rec, req)
		return rec.Code
	}
	fmt.Println("genuine:", send(false))
	fmt.Println("tampered:", send(true))
	// Output:
	// verified: {"signatureId":"6c2f0a9e41b7","type":"COMPLETED"}
	// genuine: 204
	// tampered: 401
}
