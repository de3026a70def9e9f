package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"hash"
	"net/http"
	"strings"
	"testing"
	"time"
)

// independent computes the signature with the standard library alone, as a receiver in any
// language would: base64(HMAC(secret, timestamp + nonce + body)).
func independent(newHash func() hash.Hash, secret []byte, message string) string {
	m := hmac.New(newHash, secret)
	m.Write([]byte(message))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignAgreesWithAnIndependentHMAC(t *testing.T) {
	secret := []byte("the account's shared secret")
	body := []byte(`{"signatureId":"abc","type":"COMPLETED"}`)
	dotted, err := ParseFormat("{timestamp}.{nonce}.{body}")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		alg     Algorithm
		newHash func() hash.Hash
		format  Format
		message string
	}{
		{"sha256 default", SHA256, sha256.New, Format{}, "1700000000" + "n0nce" + string(body)},
		{"empty algorithm is sha256", "", sha256.New, Format{}, "1700000000" + "n0nce" + string(body)},
		{"sha512 default", SHA512, sha512.New, Format{}, "1700000000" + "n0nce" + string(body)},
		{"sha256 dotted", SHA256, sha256.New, dotted, "1700000000.n0nce." + string(body)},
		{"sha512 dotted", SHA512, sha512.New, dotted, "1700000000.n0nce." + string(body)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Signer{Secret: secret, Algorithm: tc.alg, Format: tc.format}
			got, err := s.Sign("1700000000", "n0nce", body)
			if err != nil {
				t.Fatal(err)
			}
			if want := independent(tc.newHash, secret, tc.message); got != want {
				t.Errorf("Sign = %s, want %s", got, want)
			}
			h := http.Header{}
			Headers{Timestamp: "1700000000", Nonce: "n0nce", Signature: got}.Set(h)
			if err := s.Verify(h, body, VerifyOptions{}); err != nil {
				t.Errorf("Verify of its own signature: %v", err)
			}
		})
	}
}

// The parsed default and the zero Format sign the same string.
func TestDefaultFormatIsTheZeroFormat(t *testing.T) {
	parsed, err := ParseFormat(DefaultFormat)
	if err != nil {
		t.Fatal(err)
	}
	a, b := parsed.Message("1", "n", []byte("body")), Format{}.Message("1", "n", []byte("body"))
	if string(a) != "1nbody" || string(b) != "1nbody" || parsed.String() != DefaultFormat || (Format{}).String() != DefaultFormat {
		t.Errorf("parsed %q (%s), zero %q (%s)", a, parsed, b, Format{})
	}
}

// The format is substituted literally: text that looks like a template, in the format or in
// the values, is signed as it is.
func TestFormatIsDataNotCode(t *testing.T) {
	f, err := ParseFormat("{{.Secret}} {timestamp}|{nonce}|{body}|%s")
	if err == nil {
		t.Fatalf("a format with {{.Secret}} was accepted: %v", f)
	}
	f, err = ParseFormat("v1:{timestamp}:{nonce}:{body}:%s $HOME }")
	if err != nil {
		t.Fatal(err)
	}
	got := f.Message("{nonce}", "{{.X}}", []byte("{timestamp}"))
	if want := "v1:{nonce}:{{.X}}:{timestamp}:%s $HOME }"; string(got) != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

func TestParseFormatRefusals(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "is empty",
		"{timestamp}{nonce}{bdy}":      "unknown placeholder {bdy} at offset 18",
		"{timestamp}{nonce}":           "has no {body}",
		"{timestamp}{nonce}{body":      "not closed",
		"{TIMESTAMP}{body}":            "unknown placeholder {TIMESTAMP}",
		strings.Repeat("x", 1025):      "more than 1024",
		"{timestamp}{secret}{body}":    "unknown placeholder {secret}",
		"{timestamp}{}{body}":          "unknown placeholder {}",
		"{timestamp}{nonce}{body}{{x}": "unknown placeholder {{x}",
	} {
		if _, err := ParseFormat(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFormat(%.40q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestDecodeSecret(t *testing.T) {
	for in, want := range map[string]string{
		"c2VjcmV0":        "secret",
		"  c2VjcmV0MQ== ": "secret1",
		"c2VjcmV0MQ":      "secret1", // unpadded
	} {
		got, err := DecodeSecret(in)
		if err != nil || string(got) != want {
			t.Errorf("DecodeSecret(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"":                          "is empty",
		"   ":                       "is empty",
		"c2Vj*mV0":                  "the character at offset 4 cannot be decoded",
		"c2Vj-mV0":                  "URL-safe Base64 (- or _) at offset 4",
		"c2VjcmV0M":                 "its length (9 characters)",
		"c2VjcmV0MQ=":               "length or padding",
		"====":                      "not Base64",
		strings.Repeat("QUFB", 400): "more than 1024",
	} {
		if _, err := DecodeSecret(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeSecret(%.20q) = %v, want an error with %q", in, err, want)
		}
	}
}

// A secret that does not decode is still the secret (or the key itself, pasted decoded): its
// errors say where the trouble is, never what is there.
func TestDecodeSecretErrorsDoNotShowIt(t *testing.T) {
	for _, in := range []string{"Kx9$vQ2!mZ", "Kx9-vQ2_mZ7=", "Kx9vQ2mZ7\u00e9==", "Kx9vQ2mZ7q#"} {
		_, err := DecodeSecret(in)
		if err == nil {
			t.Fatalf("DecodeSecret(%q) took it", in)
		}
		for _, c := range []string{"$", "!", "-", "_", "#", "\u00e9"} {
			if strings.Contains(in, c) && strings.Contains(err.Error(), `"`+c+`"`) {
				t.Errorf("DecodeSecret(%q): %q shows the secret's character %q", in, err, c)
			}
		}
	}
}

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]Algorithm{"sha256": SHA256, "HMAC-SHA512": SHA512, " Sha512 ": SHA512, "hmac-sha256": SHA256} {
		if got, err := ParseAlgorithm(in); err != nil || got != want {
			t.Errorf("ParseAlgorithm(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "md5", "sha1", "sha-256"} {
		if _, err := ParseAlgorithm(in); err == nil || !strings.Contains(err.Error(), "use sha256") {
			t.Errorf("ParseAlgorithm(%q) = %v", in, err)
		}
	}
	if _, err := (Signer{Secret: []byte("k"), Algorithm: "md5"}).Sign("1", "n", nil); err == nil {
		t.Error("Sign with md5 succeeded")
	}
	if _, err := (Signer{}).Sign("1", "n", nil); err == nil || !strings.Contains(err.Error(), "no secret") {
		t.Errorf("Sign without a secret: %v", err)
	}
}

func TestHeadersAreFreshAndVerify(t *testing.T) {
	s := Signer{Secret: []byte("k"), Algorithm: SHA512}
	now := time.Unix(1700000000, 0)
	body := []byte(`{"type":"COMPLETED"}`)
	a, err := s.Headers(now, body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Headers(now, body)
	if a.Timestamp != "1700000000" || len(a.Nonce) != 32 || strings.Trim(a.Nonce, "0123456789abcdef") != "" || a.Nonce == b.Nonce || a.Signature == b.Signature {
		t.Errorf("headers %+v and %+v: want the Unix time, 32 hex digits of nonce, a new nonce each time", a, b)
	}
	h := http.Header{}
	a.Set(h)
	if err := s.Verify(h, body, VerifyOptions{MaxAge: time.Minute, Now: now.Add(59 * time.Second)}); err != nil {
		t.Errorf("within max age: %v", err)
	}
}

// A genuinely signed delivery whose aai-timestamp lies beyond what a time.Duration holds
// (centuries away) is outside any maximum age: the comparison must not overflow into a pass.
func TestVerifyMaxAgeRefusesFarTimestamps(t *testing.T) {
	s := Signer{Secret: []byte("k")}
	body := []byte(`{"signatureId":"abc","type":"COMPLETED"}`)
	now := time.Unix(1700000000, 0)
	for _, ts := range []string{"9223372036854775807", "99999999999", "1700000301", "0", "1699999699"} {
		sig, err := s.Sign(ts, "n", body)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		Headers{Timestamp: ts, Nonce: "n", Signature: sig}.Set(h)
		if err := s.Verify(h, body, VerifyOptions{MaxAge: 5 * time.Minute, Now: now}); !errors.Is(err, ErrTooOld) {
			t.Errorf("aai-timestamp %s, 5m allowed: Verify = %v, want ErrTooOld", ts, err)
		}
		if err := s.Verify(h, body, VerifyOptions{}); err != nil {
			t.Errorf("aai-timestamp %s without MaxAge: %v", ts, err)
		}
	}
}

func TestVerifyRefusals(t *testing.T) {
	secret := []byte("k")
	s := Signer{Secret: secret}
	body := []byte(`{"signatureId":"abc","type":"COMPLETED"}`)
	good := independent(sha256.New, secret, "1700000000n"+string(body))
	now := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		name    string
		signer  Signer
		headers map[string]string
		body    []byte
		opt     VerifyOptions
		kind    error
		says    []string
	}{
		{"no timestamp", s, map[string]string{"aai-nonce": "n", "aai-signature": good}, body, VerifyOptions{}, ErrMissingHeader, []string{"aai-timestamp header is missing"}},
		{"no nonce", s, map[string]string{"aai-timestamp": "1700000000", "aai-signature": good}, body, VerifyOptions{}, ErrMissingHeader, []string{"aai-nonce header is missing"}},
		{"no signature", s, map[string]string{"aai-timestamp": "1700000000", "aai-nonce": "n"}, body, VerifyOptions{}, ErrMissingHeader, []string{"aai-signature header is missing"}},
		{"a signed number", s, map[string]string{"aai-timestamp": "+1700000000", "aai-nonce": "n", "aai-signature": good}, body, VerifyOptions{}, ErrMalformedHeader, []string{"aai-timestamp", "not Unix seconds"}},
		{"timestamp as a date", s, map[string]string{"aai-timestamp": "2023-11-14T22:13:20Z", "aai-nonce": "n", "aai-signature": good}, body, VerifyOptions{}, ErrMalformedHeader, []string{"aai-timestamp", "not Unix seconds"}},
		{"hex signature", s, map[string]string{"aai-timestamp": "1700000000", "aai-nonce": "n", "aai-signature": "zz" + good}, body, VerifyOptions{}, ErrMalformedHeader, []string{"aai-signature", "not standard Base64"}},
		{"body changed", s, map[string]string{"aai-timestamp": "1700000000", "aai-nonce": "n", "aai-signature": good}, []byte(`{"signatureId":"abc","type":"SUBMIT_COMPLETED"}`), VerifyOptions{}, ErrSignatureMismatch, []string{"does not match the HMAC-SHA256", "check the secret"}},
		{"other secret", Signer{Secret: []byte("other")}, map[string]string{"aai-timestamp": "1700000000", "aai-nonce": "n", "aai-signature": good}, body, VerifyOptions{}, ErrSignatureMismatch, []string{"HMAC-SHA256"}},
		{"other algorithm", Signer{Secret: secret, Algorithm: SHA512}, map[string]string{"aai-timestamp": "1700000000", "aai-nonce": "n", "aai-signature": good}, body, VerifyOptions{}, ErrSignatureMismatch, []string{"HMAC-SHA512", "32 bytes", "gives 64", "check the algorithm"}},
		{"too old", s, map[string]string{"aai-timestamp": "1700000000", "aai-nonce": "n", "aai-signature": good}, body, VerifyOptions{MaxAge: 5 * time.Minute, Now: now.Add(6 * time.Minute)}, ErrTooOld, []string{"6m0s from now", "maximum age 5m0s"}},
		{"from the future", s, map[string]string{"aai-timestamp": "1700000000", "aai-nonce": "n", "aai-signature": good}, body, VerifyOptions{MaxAge: 5 * time.Minute, Now: now.Add(-6 * time.Minute)}, ErrTooOld, []string{"-6m0s from now"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.headers {
				h.Set(k, v)
			}
			err := tc.signer.Verify(h, tc.body, tc.opt)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("Verify = %v, want %v", err, tc.kind)
			}
			for _, want := range tc.says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), string(tc.signer.Secret)+"\"") {
				t.Errorf("the error shows the secret: %q", err)
			}
		})
	}
	h := http.Header{}
	Headers{Timestamp: "1700000000", Nonce: "n", Signature: good}.Set(h)
	if err := s.Verify(h, body, VerifyOptions{}); err != nil {
		t.Errorf("the good signature: %v", err)
	}
}
