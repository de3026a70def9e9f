package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
)

// ErrUnknownUser is returned for a userId that no loaded file or admin call declares.
var ErrUnknownUser = errors.New("no such user")

// UserProgress is where a declared user stands.
type UserProgress struct {
	UserID          string   `json:"userId"`
	Source          string   `json:"source"`
	Scenario        string   `json:"scenario,omitempty"`
	Regions         []string `json:"regions,omitempty"`
	States          []string `json:"states"`
	State           string   `json:"state"`
	StateIndex      int      `json:"stateIndex"`
	Calls           int      `json:"calls"`
	RuntimeSessions int      `json:"runtimeSessions"`
	// ProfileStatus is the status a passed session or a deactivation gave the profile; ""
	// when neither did (the state's own status applies).
	ProfileStatus idvmock.ProfileStatus `json:"profileStatus,omitempty"`
	Loop          bool                  `json:"loop,omitempty"`
	Next          *NextMove             `json:"next,omitempty"` // nil: the state stays
}

// NextMove says when a user's current state moves on: after a number of calls, or a while
// after its first call.
type NextMove struct {
	Calls       int      `json:"calls,omitempty"`
	CallsLeft   int      `json:"callsLeft,omitempty"`
	After       string   `json:"after,omitempty"`       // a Go duration
	SecondsLeft *float64 `json:"secondsLeft,omitempty"` // nil before the state's first call
}

// Progress reports where user id stands.
func (e *Engine) Progress(ctx context.Context, id string) (UserProgress, error) {
	u := e.Set().users[id]
	if u == nil {
		return UserProgress{}, fmt.Errorf("%w %q", ErrUnknownUser, id)
	}
	return e.progressOf(ctx, u)
}

// Users reports every declared user, sorted by userId.
func (e *Engine) Users(ctx context.Context) ([]UserProgress, error) {
	set := e.Set()
	out := make([]UserProgress, 0, len(set.users))
	for _, id := range set.UserIDs() {
		p, err := e.progressOf(ctx, set.users[id])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (e *Engine) progressOf(ctx context.Context, u *User) (UserProgress, error) {
	out := UserProgress{UserID: u.ID, Source: u.Source, Scenario: u.Spec.Scenario, Regions: u.Regions}
	for i := range u.Profile.States {
		out.States = append(out.States, stateLabel(u.Profile, i))
	}
	pr, found, err := e.stored().Progress(ctx, userKey(u.ID))
	if err != nil {
		return out, storeError(err)
	}
	if !found || pr.Hash != u.hash || pr.State >= len(u.Profile.States) {
		pr = Progress{}
	}
	out.StateIndex, out.Calls = pr.State, pr.Calls
	out.State = out.States[out.StateIndex]
	out.Loop = u.Profile.Loop
	out.Next = nextMove(u.Profile, pr, e.now())
	started, status, err := e.stored().UserSessions(ctx, u.ID)
	if err != nil {
		return out, storeError(err)
	}
	out.RuntimeSessions, out.ProfileStatus = len(started), status
	return out, nil
}

// nextMove says when the state pr is in moves on, as Machine.Advance moves it: nil when it
// stays (no "after", or the last state of a profile that does not loop).
func nextMove(p *Profile, pr Progress, now time.Time) *NextMove {
	if pr.State >= len(p.after) || (pr.State == len(p.after)-1 && !p.Loop) {
		return nil
	}
	switch after := p.after[pr.State]; {
	case after.Calls > 0:
		return &NextMove{Calls: after.Calls, CallsLeft: max(after.Calls-pr.Calls, 0)}
	case after.Duration > 0:
		m := &NextMove{After: after.Duration.String()}
		if !pr.Since.IsZero() {
			left := max(after.Duration-now.Sub(pr.Since), 0).Seconds()
			m.SecondsLeft = &left
		}
		return m
	}
	return nil
}

// Deactivate makes declared user id's profile INACTIVE, as the vendor's Update Status does.
func (e *Engine) Deactivate(ctx context.Context, id string) (UserProgress, error) {
	u := e.Set().users[id]
	if u == nil {
		return UserProgress{}, fmt.Errorf("%w %q", ErrUnknownUser, id)
	}
	if err := e.stored().Deactivate(ctx, id); err != nil {
		return UserProgress{}, storeError(err)
	}
	return e.progressOf(ctx, u)
}

// Sessions returns the sessions started through Generate URL, newest first, userID's only
// when it is not empty, at most limit (0: all the store keeps, which its limits bound).
func (e *Engine) Sessions(ctx context.Context, userID string, limit int) ([]StartedSession, error) {
	var started []StartedSession
	if userID != "" {
		s, _, err := e.stored().UserSessions(ctx, userID)
		if err != nil {
			return nil, storeError(err)
		}
		started = s
	} else {
		snap, err := e.stored().Snapshot(ctx)
		if err != nil {
			return nil, storeError(err)
		}
		started = snap.Started
	}
	slices.Reverse(started)
	if limit > 0 && len(started) > limit {
		started = started[:limit]
	}
	return started, nil
}

// RuleHits returns how many requests each rule matched since the last reset.
func (e *Engine) RuleHits(ctx context.Context) (map[string]uint64, error) {
	snap, err := e.stored().Snapshot(ctx)
	if err != nil {
		return nil, storeError(err)
	}
	return snap.Hits, nil
}

// Advance moves user id to its next state (the first after the last, when it loops).
func (e *Engine) Advance(ctx context.Context, id string) (UserProgress, error) {
	return e.move(ctx, id, func(u *User, current int) (int, error) {
		next := current + 1
		if next == len(u.Profile.States) {
			if !u.Profile.Loop {
				return 0, fmt.Errorf("user %q is in its last state and does not loop", id)
			}
			next = 0
		}
		return next, nil
	})
}

// SetState puts user id in the state named (or numbered from 0) state.
func (e *Engine) SetState(ctx context.Context, id, state string) (UserProgress, error) {
	return e.move(ctx, id, func(u *User, _ int) (int, error) {
		names := make([]string, len(u.Profile.States))
		for i := range u.Profile.States {
			names[i] = stateLabel(u.Profile, i)
			if names[i] == state || strconv.Itoa(i) == state {
				return i, nil
			}
		}
		return 0, fmt.Errorf("user %q has no state %q: use one of %s", id, state, strings.Join(names, ", "))
	})
}

// move puts user id in the state to says, from the state it is in.
func (e *Engine) move(ctx context.Context, id string, to func(u *User, current int) (int, error)) (UserProgress, error) {
	u := e.Set().users[id]
	if u == nil {
		return UserProgress{}, fmt.Errorf("%w %q", ErrUnknownUser, id)
	}
	var refused error
	_, err := e.stored().UpdateProgress(ctx, userKey(id), func(pr Progress, found bool) (Progress, error) {
		current := 0
		if found && pr.Hash == u.hash && pr.State < len(u.Profile.States) {
			current = pr.State
		}
		next, err := to(u, current)
		refused = err
		return Progress{Hash: u.hash, State: next}, err
	})
	switch {
	case refused != nil:
		return UserProgress{}, refused
	case err != nil:
		return UserProgress{}, storeError(err)
	}
	return e.progressOf(ctx, u)
}

// Reset forgets the progress and the run-time sessions of user id, or of every user when id
// is empty (rule match counts and parsed templates too). It returns how many userIds it
// reset.
func (e *Engine) Reset(ctx context.Context, id string) (int, error) {
	if id == "" {
		n, err := e.stored().Reset(ctx)
		tmpl.ClearCache()
		if err != nil {
			return 0, storeError(err)
		}
		return n, nil
	}
	found, err := e.stored().ForgetUser(ctx, id)
	switch {
	case err != nil:
		return 0, storeError(err)
	case found:
		return 1, nil
	}
	return 0, nil
}
