package engine

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
)

// Auth is how the token API and the access token work.
type Auth struct {
	AccessKey string // the accessKey the token API accepts
	SecretKey string // the secretKey it signs with
	// Strict: only unexpired tokens the token API issued are accepted (and kept, within
	// Limits.MaxTokens); otherwise any non-blank token is, and none is kept.
	Strict bool
}

// SetAuth sets the token API's keys and mode. Call it before the engine answers.
func (e *Engine) SetAuth(a Auth) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.auth = a
}

func (e *Engine) authConfig() Auth {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.auth
}

// TokenScenarioAccountDisabled, in the ScenarioHeader, makes the token API answer
// ACCOUNT_DISABLED to a correctly signed request. It is the only scenario of the token API.
const TokenScenarioAccountDisabled = "account_disabled"

// timestampWindow is how far a token request's timestamp may be from the engine's clock.
const timestampWindow = 300 * time.Second

var thirteenDigits = regexp.MustCompile(`^[0-9]{13}$`)

// tokenReply answers the token API: a fresh timestamp, then a right signature, then the
// account_disabled scenario, then a token.
func (e *Engine) tokenReply(ctx context.Context, req *Request) Reply {
	auth, now, body := e.authConfig(), e.now(), req.Token
	switch {
	case !timestampFresh(body.TimestampText(), now):
		return answer(idvmock.CodeParameterError, idvmock.MessageTimestampError)
	case !signatureValid(auth, body):
		return answer(idvmock.CodeParameterError, idvmock.MessageSignatureError)
	case req.Scenario == TokenScenarioAccountDisabled:
		return answer(idvmock.CodeAccountDisabled, idvmock.MessageAccountDisabled)
	}
	expires := now.Add(time.Duration(body.PeriodSecond) * time.Second)
	token := NewToken()
	if auth.Strict { // otherwise any non-blank token is accepted: none is kept
		if err := e.stored().IssueToken(ctx, token, expires); err != nil {
			return failure(storeError(err))
		}
	}
	return success(idvmock.TokenData{Token: token, ExpiredTime: expires.UnixMilli()}, true)
}

// timestampFresh reports whether ts is 13 digits of epoch milliseconds within the window.
func timestampFresh(ts string, now time.Time) bool {
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
func signatureValid(auth Auth, body idvmock.TokenRequest) bool {
	want := idvmock.Sign(auth.AccessKey, auth.SecretKey, body.TimestampText())
	keyOK := subtle.ConstantTimeCompare([]byte(body.AccessKey), []byte(auth.AccessKey)) == 1
	sigOK := subtle.ConstantTimeCompare([]byte(body.Signature), []byte(want)) == 1
	return keyOK && sigOK
}

// TokenAccepted reports whether the access token may call the vendor's other operations:
// never a blank one, and in strict mode only an unexpired token the token API issued.
func (e *Engine) TokenAccepted(ctx context.Context, token string) (bool, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return false, nil
	}
	if !e.authConfig().Strict {
		return true, nil
	}
	ok, err := e.stored().TokenValid(ctx, token, e.now())
	if err != nil {
		return false, storeError(err)
	}
	return ok, nil
}

// NewToken returns a random token: 32 hex characters, from crypto/rand. The token API
// issues them, and serve generates the admin token with it.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
