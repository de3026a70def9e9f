package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// AddSession keeps a started session unless its signatureId is taken, the oldest going
// first past the limits: one script.
func (s *Store) AddSession(ctx context.Context, ss engine.StartedSession) (bool, error) {
	size := ss.Size()
	v, err := sessionValue(ss, size)
	if err != nil {
		return false, s.fail("AddSession", err)
	}
	l := s.currentLimits()
	added, err := s.run(ctx, addSessionScript, ss.Session.SignatureID, ss.UserID, size, v,
		l.MaxSessionsPerUser, l.MaxStartedSessions, l.MaxStartedBytes).Int()
	return added == 1, s.fail("AddSession", err)
}

// Session returns a started session: one HGET.
func (s *Store) Session(ctx context.Context, signatureID string) (engine.StartedSession, bool, error) {
	v, err := s.client.HGet(ctx, s.key(keyStarted), signatureID).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return engine.StartedSession{}, false, nil
	case err != nil:
		return engine.StartedSession{}, false, s.fail("Session", err)
	}
	ss, _, _, err := parseSession(v)
	return ss, err == nil, s.fail("Session", err)
}

// UserSessions returns userID's started sessions, oldest first, and its status: one script.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]engine.StartedSession, idvmock.ProfileStatus, error) {
	res, err := s.run(ctx, userSessionsScript, userID).StringSlice()
	if err != nil {
		return nil, "", s.fail("UserSessions", err)
	}
	started, status, err := parseUserSessions(res)
	return started, status, s.fail("UserSessions", err)
}

// UpdateSession applies update to a started session: it reads, runs update, and writes
// only if the session is still as read, or starts again (update may run more than once).
// status, when not "", becomes the user's; a deactivation still wins over it.
func (s *Store) UpdateSession(ctx context.Context, signatureID string, update func(*engine.StartedSession) (idvmock.ProfileStatus, error)) (engine.StartedSession, error) {
	unknown := fmt.Errorf("%w: %q", engine.ErrUnknownSignature, signatureID)
	for attempt := range casAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return engine.StartedSession{}, s.fail("UpdateSession", err)
			}
		}
		read, err := s.client.HGet(ctx, s.key(keyStarted), signatureID).Result()
		switch {
		case errors.Is(err, redis.Nil):
			return engine.StartedSession{}, unknown
		case err != nil:
			return engine.StartedSession{}, s.fail("UpdateSession", err)
		}
		cur, size, uid, err := parseSession(read)
		if err != nil {
			return engine.StartedSession{}, s.fail("UpdateSession", err)
		}
		changed := cur
		status, err := update(&changed)
		if err != nil {
			return cur, err
		}
		if changed.UserID != uid || changed.Session.SignatureID != signatureID {
			return cur, fmt.Errorf("redis store: UpdateSession of %q: an update may not change a session's userId or signatureId", signatureID)
		}
		v, err := sessionValue(changed, size)
		if err != nil {
			return cur, s.fail("UpdateSession", err)
		}
		written, err := s.run(ctx, updateSessionScript, signatureID, read, v, string(status)).Int()
		switch {
		case err != nil:
			return engine.StartedSession{}, s.fail("UpdateSession", err)
		case written == 1:
			return changed, nil
		case written == -1:
			return engine.StartedSession{}, unknown
		}
	}
	return engine.StartedSession{}, s.fail("UpdateSession", fmt.Errorf("session %q changed under every one of %d attempts", signatureID, casAttempts))
}

// Deactivate makes userID's profile INACTIVE: one script.
func (s *Store) Deactivate(ctx context.Context, userID string) error {
	err := s.run(ctx, deactivateScript, userID, s.currentLimits().MaxProgress).Err()
	return s.fail("Deactivate", err)
}

// ForgetUser forgets userID's progress, started sessions and deactivation: one script.
func (s *Store) ForgetUser(ctx context.Context, userID string) (bool, error) {
	found, err := s.run(ctx, forgetUserScript, userID).Int()
	return found == 1, s.fail("ForgetUser", err)
}

// Reset forgets everything but the tokens and the sequence: one script, which goes through
// every userId the store holds.
func (s *Store) Reset(ctx context.Context) (int, error) {
	n, err := s.run(ctx, resetScript).Int()
	return n, s.fail("Reset", err)
}

// IssueToken keeps a token until it expires (its key a minute longer), the oldest issued
// going first past MaxTokens: one script.
func (s *Store) IssueToken(ctx context.Context, token string, expires time.Time) error {
	px := max(time.Until(expires), 0) + tokenSpare
	keys := append(s.keys[:len(s.keys):len(s.keys)], s.prefix+tokenKeys+token)
	err := issueTokenScript.Run(ctx, s.client, keys, s.ttl, token, expires.UTC().Format(time.RFC3339Nano),
		px.Milliseconds(), s.currentLimits().MaxTokens, s.prefix+tokenKeys).Err()
	return s.fail("IssueToken", err)
}

// TokenValid reports whether token was issued and has not expired at now: one GET.
func (s *Store) TokenValid(ctx context.Context, token string, now time.Time) (bool, error) {
	v, err := s.client.Get(ctx, s.prefix+tokenKeys+token).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, s.fail("TokenValid", err)
	}
	expires, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return false, s.fail("TokenValid", fmt.Errorf("%w: token expiry %q", errCorrupt, v))
	}
	return now.Before(expires), nil
}
