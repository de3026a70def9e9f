package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/idvmock/idvmock"
)

// maxBody bounds what the suite reads of one answer.
const maxBody = 1 << 20

// token is the X-ACCESS-TOKEN of a region: the one given, or one from its token API.
func (ru *runner) token(ctx context.Context, target *url.URL, host string) (string, error) {
	if ru.opts.Token != "" {
		return ru.opts.Token, nil
	}
	body := ru.tokenBody(ru.opts.SecretKey)
	status, _, raw, err := ru.do(ctx, http.MethodPost, target.String()+PathToken, host, "", body)
	if err != nil {
		return "", fmt.Errorf("no token: the token API could not be reached: %w", err)
	}
	var env struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return "", fmt.Errorf("no token: the token API answered HTTP %d with a body that is not JSON: %s", status, clip(string(raw), 80))
	}
	if env.Data.Token == "" {
		return "", fmt.Errorf("no token: the token API answered HTTP %d %s %q: check the access and secret keys", status, env.Code, env.Message)
	}
	return env.Data.Token, nil
}

// tokenBody is the body of a token request signed with secret, stamped now.
func (ru *runner) tokenBody(secret string) []byte {
	ts := strconv.FormatInt(ru.now().UnixMilli(), 10)
	b, _ := json.Marshal(map[string]string{"accessKey": ru.opts.AccessKey, "timestamp": ts, "signature": idvmock.Sign(ru.opts.AccessKey, secret, ts)})
	return b
}

// do sends one request and reads the answer.
func (ru *runner) do(ctx context.Context, method, rawURL, host, token string, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("Content-Type", "application/json") // as the vendor's curl examples send it, GET included
	if token != "" {
		req.Header.Set("X-ACCESS-TOKEN", token)
	}
	resp, err := ru.opts.Client.Do(req)
	if err != nil {
		if ctx.Err() == nil && !ru.reached[req.URL.Host] && connectFailed(err) {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URL is in the message already
			}
			where := ru.base.String()
			if ru.vendor {
				where = req.URL.Host
			}
			return 0, nil, nil, &UnreachableError{Target: where, Vendor: ru.vendor, Err: err}
		}
		return 0, nil, nil, err
	}
	ru.reached[req.URL.Host] = true
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil && len(raw) == 0 {
		return resp.StatusCode, resp.Header, raw, fmt.Errorf("reading the answer: %w", err)
	}
	// An answer cut short is checked as it came: its body breaks the json-body rule.
	return resp.StatusCode, resp.Header, raw, nil
}
