package redisstore

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/internal/redistest"
	"github.com/idvmock/idvmock/scenarios"
)

// The Lua of stepScript is engine.Machine.Advance: on random machines, progress and clocks
// (times a nanosecond either side of a state's duration, before 1970, zero), Step returns
// what Advance gives, and keeps it to the nanosecond.
func TestStepIsAdvance(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL(), engine.Limits{MaxProgress: 50}, Options{})
	rng := rand.New(rand.NewPCG(13, 1))
	const machines, calls = 400, 30
	steps := 0
	for i := range machines {
		m := randomMachine(rng)
		key := engine.ProgressKey{Kind: engine.ProgressUser, UserID: fmt.Sprint("u", i)}
		if rng.IntN(2) == 0 {
			key = engine.ProgressKey{Kind: engine.ProgressRule, Name: "r|1", UserID: fmt.Sprint("u|", i)}
		}
		now := randomEpoch(rng)
		var want engine.Progress
		for j := range calls {
			switch rng.IntN(12) {
			case 0: // the user's declaration changed
				m = randomMachine(rng)
			case 1: // the same states, another definition
				m.Hash += "'"
			case 2: // the admin API set where it stands
				set := randomProgress(rng, m, now)
				if _, err := s.UpdateProgress(t.Context(), key, func(engine.Progress, bool) (engine.Progress, error) { return set, nil }); err != nil {
					t.Fatal(err)
				}
				want = set
			}
			now = now.Add(randomGap(rng, m))
			at := now
			if rng.IntN(8) == 0 { // an untimed machine steps with a zero clock
				at = time.Time{}
			}
			before := want
			want = m.Advance(want, at)
			got, err := s.Step(t.Context(), key, m, at)
			if err != nil {
				t.Fatal(err)
			}
			steps++
			if !sameProgress(got, want) {
				t.Fatalf("machine %d call %d: %+v\nfrom %+v at %v (%d s %d ns):\nStep %+v\nAdvance %+v",
					i, j, m, before, at, at.Unix(), at.Nanosecond(), got, want)
			}
		}
	}
	t.Logf("%d steps on %d machines agree", steps, machines)
}

func sameProgress(a, b engine.Progress) bool {
	return a.Hash == b.Hash && a.State == b.State && a.Calls == b.Calls && a.Since.Equal(b.Since) && a.Since.IsZero() == b.Since.IsZero()
}

// randomMachine has 1 to 4 states, each moving on after calls, a duration, both or never
// (durations with nanoseconds in them), looping or not.
func randomMachine(rng *rand.Rand) engine.Machine {
	durations := []time.Duration{0, 0, time.Nanosecond, time.Second, time.Second + time.Nanosecond,
		1500 * time.Millisecond, time.Minute, 999999999}
	m := engine.Machine{Hash: fmt.Sprint("h", rng.IntN(3)), Loop: rng.IntN(2) == 0}
	for range 1 + rng.IntN(4) {
		m.After = append(m.After, scenarios.After{Calls: rng.IntN(4), Duration: durations[rng.IntN(len(durations))]})
	}
	return m
}

// randomProgress is what the admin API might set: in or past the states, of this definition
// or another, since a time around now or never.
func randomProgress(rng *rand.Rand, m engine.Machine, now time.Time) engine.Progress {
	p := engine.Progress{Hash: m.Hash, State: rng.IntN(len(m.After) + 1), Calls: rng.IntN(5)}
	if rng.IntN(4) == 0 {
		p.Hash = "other"
	}
	if rng.IntN(3) > 0 {
		p.Since = now.Add(-randomGap(rng, m))
	}
	return p
}

// randomGap is a time between two calls: none, a nanosecond, a state's duration a nanosecond
// either side, or seconds to minutes.
func randomGap(rng *rand.Rand, m engine.Machine) time.Duration {
	switch rng.IntN(5) {
	case 0:
		return 0
	case 1:
		return time.Duration(rng.IntN(3))
	case 2:
		return m.After[rng.IntN(len(m.After))].Duration + time.Duration(rng.IntN(3)-1)
	default:
		return time.Duration(rng.Int64N(int64(2 * time.Minute)))
	}
}

// randomEpoch is a time now, before 1970 or near a second's end.
func randomEpoch(rng *rand.Rand) time.Time {
	switch rng.IntN(3) {
	case 0:
		return time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)
	case 1:
		return time.Unix(1_800_000_000, 999_999_998)
	default:
		return time.Now()
	}
}
