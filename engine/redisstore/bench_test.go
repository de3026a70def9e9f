package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/internal/redistest"
	"github.com/idvmock/idvmock/scenarios"
)

// StepUser of a declared user with three started sessions, whose states move on after calls:
// what Get Latest Session Result asks of the store. Redis's runs on this machine (loopback);
// across a network, add its round trip.
func BenchmarkRedisStepUser(b *testing.B) {
	srv := redistest.Start(b)
	benchStepUser(b, open(b, srv.URL(), engine.Limits{}, Options{}))
}

// The same with calls from many goroutines at once, as a busy replica makes them.
func BenchmarkRedisStepUserParallel(b *testing.B) {
	srv := redistest.Start(b)
	s := open(b, srv.URL(), engine.Limits{}, Options{})
	key, m := stepUserSetup(b, s)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, _, err := s.StepUser(context.Background(), key, m, time.Time{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkMemoryStepUser(b *testing.B) {
	benchStepUser(b, engine.NewMemoryStore(engine.Limits{}))
}

func benchStepUser(b *testing.B, s engine.Store) {
	key, m := stepUserSetup(b, s)
	b.ReportAllocs()
	for b.Loop() {
		if _, started, _, err := s.StepUser(context.Background(), key, m, time.Time{}); err != nil || len(started) != 3 {
			b.Fatal(len(started), err)
		}
	}
}

func stepUserSetup(b testing.TB, s engine.Store) (engine.ProgressKey, engine.Machine) {
	for i := range 3 {
		ss := engine.StartedSession{UserID: "alice", Seq: uint64(i + 1),
			Start:   engine.StartRequest{UserID: "alice", Input: []byte(`{"userId":"alice","region":"IDN"}`)},
			Session: engine.Session{SignatureID: fmt.Sprint("sig", i), SolutionCode: "101", State: scenarios.StateInProgress, CreatedAt: time.Now(), Literal: true}}
		if _, err := s.AddSession(context.Background(), ss); err != nil {
			b.Fatal(err)
		}
	}
	m := engine.Machine{Hash: "h", Loop: true, After: []scenarios.After{{Calls: 2}, {Calls: 3}, {}}}
	return engine.ProgressKey{Kind: engine.ProgressUser, UserID: "alice"}, m
}
