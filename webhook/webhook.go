// Package webhook signs and verifies ADVANCE.AI's signed webhooks, the account-wide
// alternative to a per-request callbackUrl: a POST of {"signatureId", "type"} with three
// headers, aai-timestamp (Unix seconds), aai-nonce and aai-signature (the standard Base64 of
// an HMAC-SHA256 or HMAC-SHA512 of a signed string, keyed with the shared secret).
//
// The vendor's console shows the shared secret Base64-encoded: DecodeSecret turns it into the
// key. The vendor's documentation is cut before it says what the signed string is.
//
// Decision (idvmock's, not the vendor's): the signed string is
//
//	aai-timestamp + aai-nonce + raw body
//
// concatenated without separators (DefaultFormat, "{timestamp}{nonce}{body}"). When the
// vendor turns out to sign something else, override it with a format of your own
// (ParseFormat; idvmock serve --webhook-format): the placeholders {timestamp}, {nonce} and
// {body} stand for the header values and the raw body, and everything else is literal text.
// The format is data, never a template: the values are put in as they are and nothing in
// them or in the format is evaluated.
//
// The mock signs with Signer.Sign and Signer.Headers; a receiver checks a delivery with
// Signer.Verify, which compares in constant time and can refuse deliveries older than a
// maximum age.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a signed delivery.
const (
	HeaderTimestamp = "aai-timestamp" // Unix seconds, decimal
	HeaderNonce     = "aai-nonce"     // a value used once
	HeaderSignature = "aai-signature" // standard Base64 of the HMAC of the signed string
)

// Algorithm is the HMAC's hash.
type Algorithm string

// The algorithms the vendor offers.
const (
	SHA256 Algorithm = "sha256" // HMAC-SHA256, the default
	SHA512 Algorithm = "sha512" // HMAC-SHA512
)

// ParseAlgorithm reads an algorithm: sha256 or sha512, also written HMAC-SHA256 or
// HMAC-SHA512 (any case).
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "hmac-") {
	case "sha256":
		return SHA256, nil
	case "sha512":
		return SHA512, nil
	}
	return "", fmt.Errorf("unknown algorithm %q: use sha256 (HMAC-SHA256) or sha512 (HMAC-SHA512), as chosen in the vendor's console", s)
}

// String is the algorithm's name as the vendor writes it: HMAC-SHA256 or HMAC-SHA512.
func (a Algorithm) String() string {
	switch a {
	case SHA256, "":
		return "HMAC-SHA256"
	case SHA512:
		return "HMAC-SHA512"
	}
	return "unknown algorithm " + strconv.Quote(string(a))
}

func (a Algorithm) hash() (func() hash.Hash, error) {
	switch a {
	case SHA256, "":
		return sha256.New, nil
	case SHA512:
		return sha512.New, nil
	}
	_, err := ParseAlgorithm(string(a))
	return nil, err
}

// MaxSecretBytes bounds a decoded secret; HMAC keys longer than a hash block are hashed
// anyway, and a secret of kilobytes is a file pasted by mistake.
const MaxSecretBytes = 1024

// DecodeSecret decodes the shared secret as the vendor's console shows it: standard Base64
// (padded or not; spaces around it are ignored). Its error says what is wrong and what to do,
// and where, but never shows the value or any part of it.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the secret is empty: give the Base64 value the vendor's console shows")
	}
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		return nil, fmt.Errorf("the secret is not standard Base64: it has a character of URL-safe Base64 (- or _) at offset %d; give the value exactly as the vendor's console shows it (with + and /)", i)
	}
	if len(strings.TrimRight(s, "="))%4 == 1 {
		return nil, fmt.Errorf("the secret is not Base64: its length (%d characters) is one too many or too few; give the value exactly as the vendor's console shows it", len(s))
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(s, "=") && len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	key, err := enc.DecodeString(s)
	if err != nil {
		var corrupt base64.CorruptInputError
		if errors.As(err, &corrupt) && int(corrupt) < len(s) {
			return nil, fmt.Errorf("the secret is not Base64: the character at offset %d cannot be decoded; give the value exactly as the vendor's console shows it, Base64-encoded, not decoded", int(corrupt))
		}
		return nil, fmt.Errorf("the secret is not Base64 (%v): its length or padding is wrong; give the value exactly as the vendor's console shows it", err)
	}
	switch {
	case len(key) == 0:
		return nil, errors.New("the secret decodes to nothing: give the Base64 value the vendor's console shows")
	case len(key) > MaxSecretBytes:
		return nil, fmt.Errorf("the secret decodes to %d bytes, more than %d: is it the right value?", len(key), MaxSecretBytes)
	}
	return key, nil
}

// DefaultFormat is the signed string unless told otherwise: idvmock's Decision, since the
// vendor's page is cut before it says what it signs.
const DefaultFormat = "{timestamp}{nonce}{body}"

// MaxFormatBytes bounds a format's text.
const MaxFormatBytes = 1024

// The placeholders of a format.
const (
	placeholderTimestamp = "timestamp"
	placeholderNonce     = "nonce"
	placeholderBody      = "body"
)

// Format is how the signed string is made of the timestamp, the nonce and the body. The zero
// Format is DefaultFormat.
type Format struct {
	text  string
	parts []part
}

// part is literal text, or a placeholder (name set).
type part struct{ literal, name string }

// ParseFormat reads a format: text with the placeholders {timestamp}, {nonce} and {body},
// each standing for the header's value or the raw body. Everything else is literal, put in
// the signed string as it is (a separator such as "." or a newline). {body} is required: a
// signature that does not cover the body does not protect it. A "{" must open one of the
// three placeholders; any other is refused, so that a typo cannot sign something unintended.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return Format{}, fmt.Errorf("the format is empty: the default is %s", DefaultFormat)
	}
	if len(s) > MaxFormatBytes {
		return Format{}, fmt.Errorf("the format is %d bytes, more than %d", len(s), MaxFormatBytes)
	}
	f := Format{text: s}
	hasBody := false
	rest := s
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			f.parts = append(f.parts, part{literal: rest})
			break
		}
		if open > 0 {
			f.parts = append(f.parts, part{literal: rest[:open]})
		}
		at := len(s) - len(rest) + open
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return Format{}, fmt.Errorf("the format %q has a { at offset %d that is not closed: use {timestamp}, {nonce} and {body}", s, at)
		}
		name := rest[open+1 : open+end]
		switch name {
		case placeholderTimestamp, placeholderNonce, placeholderBody:
		default:
			return Format{}, fmt.Errorf("the format %q has an unknown placeholder {%s} at offset %d: use {timestamp}, {nonce} and {body}; any other text is signed as it is", s, name, at)
		}
		hasBody = hasBody || name == placeholderBody
		f.parts = append(f.parts, part{name: name})
		rest = rest[open+end+1:]
	}
	if !hasBody {
		return Format{}, fmt.Errorf("the format %q has no {body}: a signature that does not cover the body does not protect it", s)
	}
	return f, nil
}

// String is the format's text.
func (f Format) String() string {
	if f.parts == nil {
		return DefaultFormat
	}
	return f.text
}

// Message is the signed string of a delivery: the format with its placeholders replaced by
// the values, literally.
func (f Format) Message(timestamp, nonce string, body []byte) []byte {
	if f.parts == nil {
		return append([]byte(timestamp+nonce), body...)
	}
	var out []byte
	for _, p := range f.parts {
		switch p.name {
		case "":
			out = append(out, p.literal...)
		case placeholderTimestamp:
			out = append(out, timestamp...)
		case placeholderNonce:
			out = append(out, nonce...)
		case placeholderBody:
			out = append(out, body...)
		}
	}
	return out
}

// Signer signs deliveries with a shared secret, and verifies them.
type Signer struct {
	Secret    []byte    // the key, decoded (DecodeSecret)
	Algorithm Algorithm // SHA256 when empty
	Format    Format    // DefaultFormat when zero
}

// mac is the HMAC of the signed string of timestamp, nonce and body.
func (s Signer) mac(timestamp, nonce string, body []byte) ([]byte, error) {
	if len(s.Secret) == 0 {
		return nil, errors.New("webhook: the signer has no secret (decode the console's value with DecodeSecret)")
	}
	h, err := s.Algorithm.hash()
	if err != nil {
		return nil, err
	}
	m := hmac.New(h, s.Secret)
	m.Write(s.Format.Message(timestamp, nonce, body))
	return m.Sum(nil), nil
}

// Sign returns the aai-signature of a delivery: the standard Base64 of the HMAC of the signed
// string. It fails only without a secret or with an unknown algorithm.
func (s Signer) Sign(timestamp, nonce string, body []byte) (string, error) {
	sum, err := s.mac(timestamp, nonce, body)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sum), nil
}

// Headers are the three headers of a signed delivery.
type Headers struct {
	Timestamp, Nonce, Signature string
}

// Set puts the headers on h.
func (hs Headers) Set(h http.Header) {
	h.Set(HeaderTimestamp, hs.Timestamp)
	h.Set(HeaderNonce, hs.Nonce)
	h.Set(HeaderSignature, hs.Signature)
}

// Headers signs body for a delivery sent at now, with a new nonce (NewNonce).
func (s Signer) Headers(now time.Time, body []byte) (Headers, error) {
	hs := Headers{Timestamp: strconv.FormatInt(now.Unix(), 10), Nonce: NewNonce()}
	var err error
	hs.Signature, err = s.Sign(hs.Timestamp, hs.Nonce, body)
	return hs, err
}

// NewNonce returns 16 random bytes from crypto/rand, as 32 hexadecimal digits.
func NewNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// Errors of Verify, to branch on with errors.Is; their messages say which header and why.
var (
	ErrMissingHeader     = errors.New("webhook: a signature header is missing")
	ErrMalformedHeader   = errors.New("webhook: a signature header is malformed")
	ErrSignatureMismatch = errors.New("webhook: the signature does not match")
	ErrTooOld            = errors.New("webhook: the delivery is outside the maximum age")
)

// verifyError is a Verify failure: the kind (one of the Err* above) and what was found.
type verifyError struct {
	kind error
	msg  string
}

func (e *verifyError) Error() string { return e.msg }
func (e *verifyError) Unwrap() error { return e.kind }

// VerifyOptions are the optional checks of Verify.
type VerifyOptions struct {
	// MaxAge, when above 0, refuses a delivery whose aai-timestamp is further than MaxAge
	// from Now, in the past or the future (clock skew counts both ways).
	MaxAge time.Duration
	// Now is the time MaxAge is measured from; time.Now when zero.
	Now time.Time
}

// Verify checks a delivery's headers against its raw body: all three headers present and
// well formed, and aai-signature equal (in constant time) to the HMAC of the signed string.
// The error wraps ErrMissingHeader, ErrMalformedHeader, ErrTooOld or ErrSignatureMismatch and
// says which header, or which algorithm did not match.
func (s Signer) Verify(h http.Header, body []byte, opt VerifyOptions) error {
	get := func(name string) (string, error) {
		v := h.Get(name)
		if v == "" {
			return "", &verifyError{ErrMissingHeader, fmt.Sprintf("webhook: the %s header is missing: a signed delivery carries %s, %s and %s", name, HeaderTimestamp, HeaderNonce, HeaderSignature)}
		}
		return v, nil
	}
	ts, err := get(HeaderTimestamp)
	if err != nil {
		return err
	}
	nonce, err := get(HeaderNonce)
	if err != nil {
		return err
	}
	sig, err := get(HeaderSignature)
	if err != nil {
		return err
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || strings.TrimLeft(ts, "0123456789") != "" {
		return &verifyError{ErrMalformedHeader, fmt.Sprintf("webhook: the %s header %q is not Unix seconds (decimal digits)", HeaderTimestamp, clip(ts))}
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return &verifyError{ErrMalformedHeader, fmt.Sprintf("webhook: the %s header %q is not standard Base64: %v", HeaderSignature, clip(sig), err)}
	}
	if opt.MaxAge > 0 {
		now := opt.Now
		if now.IsZero() {
			now = time.Now()
		}
		// Sub saturates at the bounds of a Duration, which -age would overflow back into
		// range: compare both ways without negating it.
		age := now.Sub(time.Unix(secs, 0))
		if age > opt.MaxAge || age < -opt.MaxAge {
			return &verifyError{ErrTooOld, fmt.Sprintf("webhook: %s %s is %v from now, beyond the maximum age %v (a replay, or a clock that is off)", HeaderTimestamp, ts, age.Round(time.Second), opt.MaxAge)}
		}
	}
	want, err := s.mac(ts, nonce, body)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, want) {
		msg := fmt.Sprintf("webhook: the %s header does not match the %s of the signed string %s with this secret", HeaderSignature, s.Algorithm, s.Format)
		if len(got) != len(want) {
			msg += fmt.Sprintf(" (it is %d bytes, %s gives %d: check the algorithm)", len(got), s.Algorithm, len(want))
		} else {
			msg += " (check the secret, decoded from Base64, and the format)"
		}
		return &verifyError{ErrSignatureMismatch, msg}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
