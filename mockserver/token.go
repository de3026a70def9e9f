package mockserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/bounded"
)

// timestampWindow is how far a token request's timestamp may be from the server's clock.
const timestampWindow = 300 * time.Second

var thirteenDigits = regexp.MustCompile(`^[0-9]{13}$`)

// tokenRequest is the token API's body once openapi.yaml has validated it (and filled the
// default periodSecond).
type tokenRequest struct {
	AccessKey    string          `json:"accessKey"`
	Timestamp    json.RawMessage `json:"timestamp"`
	Signature    string          `json:"signature"`
	PeriodSecond int64           `json:"periodSecond"`
}

// timestamp is the timestamp as the client wrote it, string or number: the signature covers
// those characters.
func (r tokenRequest) timestamp() string {
	var s string
	if json.Unmarshal(r.Timestamp, &s) == nil {
		return s
	}
	return string(r.Timestamp)
}

// scenarioAccountDisabled, in X-Mock-Scenario, makes the token API answer ACCOUNT_DISABLED to
// a correctly signed request. It is the only scenario of the token API.
const scenarioAccountDisabled = "account_disabled"

// generateToken is the Token Authentication API.
func (s *Server) generateToken(c echo.Context) error {
	if name := c.Request().Header.Get(scenarioHeader); name != "" && name != scenarioAccountDisabled {
		return sendClientError(c, http.StatusBadRequest, fmt.Sprintf("%s %q is not a scenario of the token API; use %s",
			scenarioHeader, name, scenarioAccountDisabled))
	}
	var body tokenRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&body); err != nil {
		return sendClientError(c, http.StatusBadRequest, "the body is not valid JSON")
	}
	if _, answered, err := s.applyRules(c, s.request(c, idvmock.OpToken, "", "")); answered {
		return err
	}
	now := s.cfg.Now()
	switch {
	case !s.timestampFresh(body.timestamp(), now):
		return sendError(c, http.StatusOK, idvmock.CodeParameterError, idvmock.MessageTimestampError)
	case !s.signatureValid(body):
		return sendError(c, http.StatusOK, idvmock.CodeParameterError, idvmock.MessageSignatureError)
	case c.Request().Header.Get(scenarioHeader) == scenarioAccountDisabled:
		return sendError(c, http.StatusOK, idvmock.CodeAccountDisabled, idvmock.MessageAccountDisabled)
	}
	expires := now.Add(time.Duration(body.PeriodSecond) * time.Second)
	token := s.tokens.issue(expires)
	return send(c, http.StatusOK, idvmock.CodeSuccess, newFullBody(c, tokenData{Token: token, ExpiredTime: expires.UnixMilli()}))
}

// timestampFresh reports whether ts is 13 digits of epoch milliseconds within the window.
func (s *Server) timestampFresh(ts string, now time.Time) bool {
	if !thirteenDigits.MatchString(ts) {
		return false
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := now.Sub(time.UnixMilli(ms))
	return d <= timestampWindow && d >= -timestampWindow
}

// signatureValid checks the accessKey and the signature in constant time. An unknown
// accessKey is a signature error: without its secret the signature cannot be right.
func (s *Server) signatureValid(body tokenRequest) bool {
	want := idvmock.Sign(s.cfg.AccessKey, s.cfg.SecretKey, body.timestamp())
	keyOK := subtle.ConstantTimeCompare([]byte(body.AccessKey), []byte(s.cfg.AccessKey)) == 1
	sigOK := subtle.ConstantTimeCompare([]byte(body.Signature), []byte(want)) == 1
	return keyOK && sigOK
}

var (
	errTokenRejected      = errors.New(idvmock.MessageTokenNotFound)
	errAdminTokenRejected = errors.New("admin token missing or wrong")
)

// authenticate is kin-openapi's AuthenticationFunc. For the vendor's X-ACCESS-TOKEN scheme a
// blank token never passes, and in strict mode only an unexpired token this process issued
// does. For the admin API's bearer scheme the token given to --admin-token must be sent,
// compared in constant time, when one was given.
func (s *Server) authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	if in.SecuritySchemeName == "adminToken" {
		if s.cfg.AdminToken == "" {
			return nil
		}
		got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.AdminToken)) == 1 {
			return nil
		}
		return errAdminTokenRejected
	}
	token := strings.TrimSpace(req.Header.Get(idvmock.TokenHeader))
	if token == "" {
		return errTokenRejected
	}
	if s.cfg.Auth == AuthStrict && !s.tokens.valid(token, s.cfg.Now()) {
		return errTokenRejected
	}
	return nil
}

// tokenStore remembers the tokens this process issued (strict mode only), at most max of
// them: past that the oldest issued go first, whatever their expiry. An expired token stays
// until it is pushed out, and is refused meanwhile.
type tokenStore struct {
	expires *bounded.Cache[string, time.Time]
}

// tokenBytes is about what one kept token costs, for the documentation of the bound.
const tokenBytes = 100

func newTokenStore(max int) *tokenStore {
	return &tokenStore{expires: bounded.NewCache[string, time.Time](max, 0)}
}

// NewToken returns a random token: 32 hex characters, from crypto/rand. The token API
// issues them, and serve generates the admin token with it.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func (t *tokenStore) issue(expires time.Time) string {
	token := NewToken()
	if t != nil {
		t.expires.Put(token, expires, tokenBytes)
	}
	return token
}

func (t *tokenStore) valid(token string, now time.Time) bool {
	exp, ok := t.expires.Get(token)
	return ok && now.Before(exp)
}
