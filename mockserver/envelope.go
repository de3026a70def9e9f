package mockserver

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
)

// newTransactionID returns 16 lowercase hex characters, as in the vendor's examples.
func newTransactionID() string {
	var b [8]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}

// marshal encodes v as compact JSON without HTML escaping (the vendor sends URLs with & as
// they are) and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// appendLatest appends the envelope of a SUCCESS of Get Latest Session Result to b. It is
// written directly around the result, which is JSON already: this is the hot path, and it
// gives the bytes encoding/json would (the field order of idvmock.SuccessEnvelope, no HTML
// escaping).
func appendLatest(b []byte, code, message, txID string, data *idvmock.LatestData) []byte {
	if b == nil {
		b = make([]byte, 0, len(data.Result)+160)
	}
	b = appendLatestHead(b, code, message, txID, data.ProfileStatus)
	b = append(b, data.Result...)
	return append(b, latestTail...)
}

// latestTail ends a Get Latest envelope after its result.
const latestTail = "}}"

// appendLatestHead appends what comes before the result in a Get Latest envelope.
func appendLatestHead(b []byte, code, message, txID string, status idvmock.ProfileStatus) []byte {
	b = append(b, `{"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, message)
	b = append(b, `,"transactionId":`...)
	b = appendJSONString(b, txID)
	b = append(b, `,"data":{"profileStatus":`...)
	b = appendJSONString(b, string(status))
	return append(b, `,"result":`...)
}

// latestAnswer is a Get Latest SUCCESS as the journal keeps it: the engine's result, which
// it shares and never changes, instead of a copy of the whole body.
type latestAnswer struct {
	message string
	data    *idvmock.LatestData
}

var headBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// sendLatest writes a Get Latest SUCCESS without building its body: the envelope's head,
// the engine's result as it is, and the tail. The journal keeps the result, not a copy.
func sendLatest(c echo.Context, status int, code, message, txID string, data *idvmock.LatestData) error {
	p := headBuffers.Get().(*[]byte)
	defer headBuffers.Put(p)
	*p = appendLatestHead((*p)[:0], code, message, txID, data.ProfileStatus)
	w := c.Response()
	w.Header()[echo.HeaderContentType] = jsonContentType
	if t, ok := c.(*tracked); ok {
		t.x.answer.latest = latestAnswer{message: message, data: data}
		t.x.answer.passing = true
		defer func() { t.x.answer.passing = false }()
	}
	w.WriteHeader(status)
	if _, err := w.Write(*p); err != nil {
		return err
	}
	if _, err := w.Write(data.Result); err != nil {
		return err
	}
	_, err := w.Write(latestTailBytes)
	return err
}

var latestTailBytes = []byte(latestTail)

// appendJSONString appends s as a JSON string, escaped as encoding/json escapes it with
// HTML escaping off.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\b': // encoding/json's short escapes since Go 1.22
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			b = append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b = append(b, `\ufffd`...) // invalid UTF-8, as encoding/json replaces it
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// sendError answers with the vendor's error envelope.
func sendError(c echo.Context, status int, code, message string) error {
	x := exchangeOf(c)
	body, err := marshal(idvmock.NewErrorEnvelope(code, message, x.TransactionID))
	if err != nil {
		return err
	}
	x.Code = code
	return sendJSON(c, status, body)
}

// jsonContentType is the Content-Type header of JSON answers, shared by all of them: a
// header set this way costs no allocation (net/http only reads it).
var jsonContentType = []string{echo.MIMEApplicationJSON}

// sendJSON writes body, a JSON document the caller made for this answer alone and never
// changes after: the journal keeps it without a copy.
func sendJSON(c echo.Context, status int, body []byte) error {
	if t, ok := c.(*tracked); ok && !t.x.answer.whole && t.x.answer.kept.Len() == 0 {
		t.x.answer.own = body // only the first answer: anything after it is copied
	}
	c.Response().Header()[echo.HeaderContentType] = jsonContentType
	return c.Blob(status, echo.MIMEApplicationJSON, body)
}

// sendClientError answers an HTTP-level problem: the status and a CLIENT_ERROR envelope.
func sendClientError(c echo.Context, status int, detail string) error {
	return sendError(c, status, idvmock.CodeClientError, clientErrorMessage(status, detail))
}

// clientErrorMessage is the message of a CLIENT_ERROR: it starts like the vendor's ("HTTP 404
// - Not Found"), and says after a colon what was wrong.
func clientErrorMessage(status int, detail string) string {
	msg := "HTTP " + strconv.Itoa(status) + " - " + http.StatusText(status)
	if detail != "" {
		msg += ": " + detail
	}
	return msg
}

// jsonStrict decodes data into v, refusing unknown fields and trailing data.
func jsonStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
