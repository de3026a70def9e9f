package mockserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/idvmock/idvmock"
)

var (
	errTokenRejected      = errors.New(idvmock.MessageTokenNotFound)
	errAdminTokenRejected = errors.New("admin token missing or wrong")
)

// authenticate is kin-openapi's AuthenticationFunc. For the vendor's X-ACCESS-TOKEN scheme
// the engine decides (engine.TokenAccepted): a blank token never passes, and in strict mode
// only an unexpired token the token API issued does. For the admin API's bearer scheme the
// token given to --admin-token must be sent, compared in constant time, when one was given.
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
	ok, err := s.cfg.Engine.TokenAccepted(req.Context(), headerValue(req.Header, tokenHeaderKey))
	switch {
	case err != nil:
		return err
	case !ok:
		return errTokenRejected
	}
	return nil
}
