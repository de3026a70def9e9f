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
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
)

// successBody is the envelope of a SUCCESS answer, in the field order of the vendor's INIT
// example, which has no pricingStrategy and no extra.
type successBody struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	TransactionID string `json:"transactionId"`
	Data          any    `json:"data"`
}

// fullBody is the envelope of a SUCCESS answer of the token and Generate URL APIs: every
// field of the documented envelope.
type fullBody struct {
	Code            string `json:"code"`
	Message         string `json:"message"`
	TransactionID   string `json:"transactionId"`
	PricingStrategy string `json:"pricingStrategy"`
	Data            any    `json:"data"`
	Extra           any    `json:"extra"`
}

func newFullBody(c echo.Context, data any) fullBody {
	return fullBody{Code: idvmock.CodeSuccess, Message: idvmock.MessageOK, TransactionID: exchangeOf(c).TransactionID,
		PricingStrategy: idvmock.PricingFree, Data: data}
}

type tokenData struct {
	Token       string `json:"token"`
	ExpiredTime int64  `json:"expiredTime"`
}

// errorBody is the envelope of every other answer, in the field order of the vendor's
// documented error examples. The vendor's ERROR example has no pricingStrategy.
type errorBody struct {
	Code            string    `json:"code"`
	Message         string    `json:"message"`
	Data            *struct{} `json:"data"`
	Extra           any       `json:"extra"`
	TransactionID   string    `json:"transactionId"`
	PricingStrategy string    `json:"pricingStrategy,omitempty"`
}

func newErrorBody(code, message, txID string) errorBody {
	b := errorBody{Code: code, Message: message, TransactionID: txID}
	if code != idvmock.CodeError {
		b.PricingStrategy = idvmock.PricingFree
	}
	return b
}

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

// send writes body as the JSON answer and records the code for the request log. A truncated
// or malformed fault spoils the body here.
func send(c echo.Context, status int, code string, body any) error {
	data, err := marshal(body)
	if err != nil {
		return err
	}
	x := exchangeOf(c)
	x.Code = code
	if x.Spoil != "" {
		data = spoil(x.Spoil, data)
	}
	return c.Blob(status, echo.MIMEApplicationJSON, data)
}

// sendLatest answers a SUCCESS of Get Latest Session Result. The envelope is written
// directly around the result, which is JSON already: this is the hot path, and it gives the
// bytes encoding/json would (field order of successBody, no HTML escaping).
func sendLatest(c echo.Context, code, message, txID string, data *idvmock.LatestData) error {
	b := make([]byte, 0, len(data.Result)+160)
	b = append(b, `{"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, message)
	b = append(b, `,"transactionId":`...)
	b = appendJSONString(b, txID)
	b = append(b, `,"data":{"profileStatus":`...)
	b = appendJSONString(b, string(data.ProfileStatus))
	b = append(b, `,"result":`...)
	b = append(b, data.Result...)
	b = append(b, "}}"...)
	x := exchangeOf(c)
	x.Code = code
	if x.Spoil != "" {
		b = spoil(x.Spoil, b)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

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
	return send(c, status, code, newErrorBody(code, message, exchangeOf(c).TransactionID))
}

// sendClientError answers an HTTP-level problem: the status and a CLIENT_ERROR envelope whose
// message starts like the vendor's ("HTTP 404 - Not Found").
func sendClientError(c echo.Context, status int, detail string) error {
	msg := "HTTP " + strconv.Itoa(status) + " - " + http.StatusText(status)
	if detail != "" {
		msg += ": " + detail
	}
	return sendError(c, status, idvmock.CodeClientError, msg)
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
