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

// Step counts one call of key and returns where it stands now: one script.
func (s *Store) Step(ctx context.Context, key engine.ProgressKey, m engine.Machine, now time.Time) (engine.Progress, error) {
	res, err := s.step(ctx, key, m, now, false)
	if err != nil {
		return engine.Progress{}, s.fail("Step", err)
	}
	pr, err := parseProgress(res[0])
	return pr, s.fail("Step", err)
}

// StepUser counts one call of a declared user's key and returns where it stands, with the
// user's started sessions and status read in the same script: one round trip.
func (s *Store) StepUser(ctx context.Context, key engine.ProgressKey, m engine.Machine, now time.Time) (engine.Progress, []engine.StartedSession, idvmock.ProfileStatus, error) {
	res, err := s.step(ctx, key, m, now, true)
	if err != nil {
		return engine.Progress{}, nil, "", s.fail("StepUser", err)
	}
	pr, err := parseProgress(res[0])
	if err != nil {
		return engine.Progress{}, nil, "", s.fail("StepUser", err)
	}
	started, status, err := parseUserSessions(res[1:])
	if err != nil {
		return engine.Progress{}, nil, "", s.fail("StepUser", err)
	}
	return pr, started, status, nil
}

// step runs stepScript; its reply is the progress, then (withSessions) the status and the
// started sessions.
func (s *Store) step(ctx context.Context, key engine.ProgressKey, m engine.Machine, now time.Time, withSessions bool) ([]string, error) {
	if len(m.After) == 0 {
		return nil, errors.New("a machine without states")
	}
	sec, nsec := timeArgs(now)
	args := make([]any, 0, 10+3*len(m.After))
	args = append(args, progressField(key), key.UserID, flag(key.Kind != engine.ProgressUser), s.currentLimits().MaxProgress,
		flag(withSessions), m.Hash, flag(m.Loop), sec, nsec, len(m.After))
	for _, a := range m.After {
		d := max(a.Duration, 0)
		args = append(args, a.Calls, int64(d/time.Second), int64(d%time.Second))
	}
	return s.run(ctx, stepScript, args...).StringSlice()
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Progress returns where key stands: one HGET.
func (s *Store) Progress(ctx context.Context, key engine.ProgressKey) (engine.Progress, bool, error) {
	v, err := s.client.HGet(ctx, s.key(keyProgress), progressField(key)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return engine.Progress{}, false, nil
	case err != nil:
		return engine.Progress{}, false, s.fail("Progress", err)
	}
	pr, err := parseProgress(v)
	return pr, err == nil, s.fail("Progress", err)
}

// UpdateProgress moves key to what update makes of where it stands: it reads, runs update,
// and writes only if key still stands where it was read, or starts again (update may run
// more than once).
func (s *Store) UpdateProgress(ctx context.Context, key engine.ProgressKey, update func(engine.Progress, bool) (engine.Progress, error)) (engine.Progress, error) {
	field := progressField(key)
	for attempt := range casAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return engine.Progress{}, s.fail("UpdateProgress", err)
			}
		}
		read, err := s.client.HGet(ctx, s.key(keyProgress), field).Result()
		found := err == nil
		if err != nil && !errors.Is(err, redis.Nil) {
			return engine.Progress{}, s.fail("UpdateProgress", err)
		}
		var pr engine.Progress
		if found {
			if pr, err = parseProgress(read); err != nil {
				return engine.Progress{}, s.fail("UpdateProgress", err)
			}
		}
		next, err := update(pr, found)
		if err != nil {
			return pr, err
		}
		written, err := s.run(ctx, putScript, field, key.UserID, flag(key.Kind != engine.ProgressUser),
			s.currentLimits().MaxProgress, flag(found), read, formatProgress(next)).Int()
		if err != nil {
			return engine.Progress{}, s.fail("UpdateProgress", err)
		}
		if written == 1 {
			return next, nil
		}
	}
	return engine.Progress{}, s.fail("UpdateProgress", fmt.Errorf("%+v changed under every one of %d attempts", key, casAttempts))
}

// ForgetProgress forgets key's progress, and a declared user's deactivation.
func (s *Store) ForgetProgress(ctx context.Context, key engine.ProgressKey) error {
	err := s.run(ctx, forgetProgressScript, progressField(key), key.UserID, flag(key.Kind == engine.ProgressUser)).Err()
	return s.fail("ForgetProgress", err)
}

// Hit counts a match of rule and returns how many it had before.
func (s *Store) Hit(ctx context.Context, rule string) (uint64, error) {
	n, err := s.run(ctx, counterScript, "hits", rule).Uint64()
	if err != nil {
		return 0, s.fail("Hit", err)
	}
	return n - 1, nil
}

// NextSequence returns the number of the next session started.
func (s *Store) NextSequence(ctx context.Context) (uint64, error) {
	n, err := s.run(ctx, counterScript, "sequence").Uint64()
	return n, s.fail("NextSequence", err)
}

// parseUserSessions reads a status and started sessions as the scripts return them.
func parseUserSessions(res []string) ([]engine.StartedSession, idvmock.ProfileStatus, error) {
	if len(res) == 0 {
		return nil, "", fmt.Errorf("%w: a reply without the user's status", errCorrupt)
	}
	var started []engine.StartedSession
	for _, v := range res[1:] {
		ss, _, _, err := parseSession(v)
		if err != nil {
			return nil, "", err
		}
		started = append(started, ss)
	}
	return started, idvmock.ProfileStatus(res[0]), nil
}
