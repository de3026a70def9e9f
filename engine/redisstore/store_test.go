package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/engine/storetest"
	"github.com/idvmock/idvmock/internal/redistest"
	"github.com/idvmock/idvmock/scenarios"
)

var prefixes atomic.Int64

// open opens a store on url under a prefix no other store of the test run uses, closed
// when t ends.
func open(t testing.TB, url string, l engine.Limits, opts Options) *Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = fmt.Sprintf("test%d:", prefixes.Add(1))
	}
	s, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetLimits(l)
	return s
}

func TestStoreContract(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, func(t *testing.T, l engine.Limits) engine.Store { return open(t, srv.URL(), l, Options{}) })
}

// Two Store values on one Redis, as two processes, act as one store.
func TestStoresSharingOneRedis(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunShared(t, func(t *testing.T, l engine.Limits) (engine.Store, engine.Store) {
		a := open(t, srv.URL(), l, Options{})
		return a, open(t, srv.URL(), l, Options{Prefix: a.prefix})
	})
}

// Mocks under different prefixes share nothing, Reset included.
func TestPrefixesKeepMocksApart(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv.URL(), engine.Limits{}, Options{}), open(t, srv.URL(), engine.Limits{}, Options{})
	m := engine.Machine{Hash: "h", After: []scenarios.After{{}}}
	key := engine.ProgressKey{Kind: engine.ProgressUser, UserID: "u"}
	ctx := t.Context()
	for range 3 {
		if _, err := a.Step(ctx, key, m, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if pr, err := b.Step(ctx, key, m, time.Time{}); err != nil || pr.Calls != 1 {
		t.Errorf("the other prefix's first step: %+v %v", pr, err)
	}
	if n, err := b.Reset(ctx); err != nil || n != 1 {
		t.Errorf("Reset under b: %d %v", n, err)
	}
	if pr, found, err := a.Progress(ctx, key); err != nil || !found || pr.Calls != 3 {
		t.Errorf("a after b's Reset: %+v %v %v", pr, found, err)
	}
}

// Every key the store writes expires: after TTL without a write, nothing is left.
func TestEveryKeyExpires(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = time.Hour
	s := open(t, srv.URL(), engine.Limits{MaxTokens: 2}, Options{TTL: ttl})
	ctx := t.Context()
	m := engine.Machine{Hash: "h", After: []scenarios.After{{Calls: 1}, {}}}
	for _, key := range []engine.ProgressKey{{Kind: engine.ProgressUser, UserID: "u"}, {Kind: engine.ProgressRule, Name: "r", UserID: "x"}} {
		if _, err := s.Step(ctx, key, m, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Hit(ctx, "r")
	must(err)
	_, err = s.NextSequence(ctx)
	must(err)
	_, err = s.AddSession(ctx, engine.StartedSession{UserID: "u", Session: engine.Session{SignatureID: "s1"}})
	must(err)
	_, err = s.UpdateSession(ctx, "s1", func(*engine.StartedSession) (idvmock.ProfileStatus, error) { return idvmock.ProfileActive, nil })
	must(err)
	must(s.Deactivate(ctx, "v"))
	for i := range 3 {
		must(s.IssueToken(ctx, fmt.Sprint("tok", i), time.Now().Add(2*time.Hour)))
	}
	keys, err := s.client.Keys(ctx, s.prefix+"*").Result() // a test may list keys
	must(err)
	seen := map[string]bool{}
	for _, k := range keys {
		seen[k] = true
		d, err := s.client.PTTL(ctx, k).Result()
		must(err)
		limit := ttl
		if strings.HasPrefix(k, s.prefix+tokenKeys) {
			limit = 2*time.Hour + tokenSpare
		}
		if d <= 0 || d > limit {
			t.Errorf("%s expires in %v, want within %v", k, d, limit)
		}
	}
	for _, k := range s.keys {
		if !seen[k] {
			t.Errorf("%s was not written", k)
		}
	}
	if seen[s.prefix+tokenKeys+"tok0"] || !seen[s.prefix+tokenKeys+"tok2"] {
		t.Errorf("past MaxTokens the oldest token's key goes first: %v", keys)
	}
}

// The store's name is its URL without credentials; a password file overrides the URL's
// password; a wrong password is refused at Open, in words that do not repeat it.
func TestOpenPasswordAndName(t *testing.T) {
	srv := redistest.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.ConfigSet(t.Context(), "requirepass", "s3cret").Err(); err != nil {
		t.Fatal(err)
	}
	wrong := "redis://:wrong-pass@" + srv.Addr() + "/0"
	if _, err := Open(t.Context(), wrong, Options{}); err == nil || strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("a wrong password: %v", err)
	}
	file := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), wrong, Options{PasswordFile: file})
	if err != nil {
		t.Fatalf("with the password file: %v", err)
	}
	defer s.Close()
	if got, want := s.Name(), "redis://"+srv.Addr()+"/0"; got != want {
		t.Errorf("Name %q, want %q", got, want)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"http://x:6379", "redis://:p@ss@[::1", "redis://host:6379/notanumber"} {
		if _, err := Open(t.Context(), bad, Options{}); err == nil || strings.Contains(err.Error(), "p@ss") {
			t.Errorf("Open(%q): %v", bad, err)
		}
	}
	if _, err := Open(t.Context(), wrong, Options{PasswordFile: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("a missing password file was accepted")
	}
}

// roundTrips counts the requests a client sends: a pipeline or a transaction is one.
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// StepUser, the call of Get Latest for a declared user, is one round trip; so is every other
// call but the two that run an update in Go (a read, then a compare and set).
func TestRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL(), engine.Limits{}, Options{})
	rt := &roundTrips{}
	s.client.AddHook(rt)
	ctx := t.Context()
	user := engine.ProgressKey{Kind: engine.ProgressUser, UserID: "alice"}
	m := engine.Machine{Hash: "h", Loop: true, After: []scenarios.After{{Calls: 2}, {Duration: time.Minute}}}
	if _, err := s.AddSession(ctx, engine.StartedSession{UserID: "alice", Session: engine.Session{SignatureID: "a1"}}); err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		want int64
		call func() error
	}{
		{"StepUser", 1, func() error { _, _, _, err := s.StepUser(ctx, user, m, time.Now()); return err }},
		{"Step", 1, func() error { _, err := s.Step(ctx, user, m, time.Now()); return err }},
		{"Hit", 1, func() error { _, err := s.Hit(ctx, "r"); return err }},
		{"Progress", 1, func() error { _, _, err := s.Progress(ctx, user); return err }},
		{"UpdateProgress", 2, func() error {
			_, err := s.UpdateProgress(ctx, user, func(p engine.Progress, _ bool) (engine.Progress, error) { return p, nil })
			return err
		}},
		{"NextSequence", 1, func() error { _, err := s.NextSequence(ctx); return err }},
		{"AddSession", 1, func() error {
			_, err := s.AddSession(ctx, engine.StartedSession{UserID: "alice", Session: engine.Session{SignatureID: "a2"}})
			return err
		}},
		{"Session", 1, func() error { _, _, err := s.Session(ctx, "a1"); return err }},
		{"UserSessions", 1, func() error { _, _, err := s.UserSessions(ctx, "alice"); return err }},
		{"UpdateSession", 2, func() error {
			_, err := s.UpdateSession(ctx, "a1", func(*engine.StartedSession) (idvmock.ProfileStatus, error) { return "", nil })
			return err
		}},
		{"Deactivate", 1, func() error { return s.Deactivate(ctx, "bob") }},
		{"IssueToken", 1, func() error { return s.IssueToken(ctx, "tok", time.Now().Add(time.Hour)) }},
		{"TokenValid", 1, func() error { _, err := s.TokenValid(ctx, "tok", time.Now()); return err }},
		{"Snapshot", 1, func() error { _, err := s.Snapshot(ctx); return err }},
		{"Restore", 1, func() error { return s.Restore(ctx, engine.Snapshot{}) }},
		{"ForgetProgress", 1, func() error { return s.ForgetProgress(ctx, user) }},
		{"ForgetUser", 1, func() error { _, err := s.ForgetUser(ctx, "alice"); return err }},
		{"Reset", 1, func() error { _, err := s.Reset(ctx); return err }},
		{"Ping", 1, func() error { return s.Ping(ctx) }},
	}
	for _, c := range calls {
		before := rt.n.Load()
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := rt.n.Load() - before; got != c.want {
			t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
		}
	}
}

// While Redis is down every call fails promptly, naming the store; once it is back the same
// Store works again. While Redis hangs (stopped, not gone) every call fails within the read
// timeout.
func TestRedisDownAndBack(t *testing.T) {
	srv := redistest.Start(t)
	const timeout = 300 * time.Millisecond
	s := open(t, srv.URL(), engine.Limits{}, Options{DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout})
	ctx := context.Background() // no deadline: the store's timeouts bound the calls
	calls := everyCall(s)
	if _, err := s.AddSession(ctx, engine.StartedSession{UserID: "alice", Session: engine.Session{SignatureID: "s1"}}); err != nil {
		t.Fatal(err)
	}
	for name, call := range calls {
		if err := call(ctx); err != nil {
			t.Fatalf("%s before Redis went down: %v", name, err)
		}
	}
	down := func(how string, within time.Duration) {
		for name, call := range calls {
			began := time.Now()
			err := call(ctx)
			took := time.Since(began)
			switch {
			case err == nil:
				t.Errorf("Redis %s: %s succeeded", how, name)
			case !strings.Contains(err.Error(), s.Name()):
				t.Errorf("Redis %s: %s's error does not name the store: %v", how, name, err)
			case took > within:
				t.Errorf("Redis %s: %s took %v to fail, want within %v", how, name, took, within)
			}
		}
	}
	back := func() {
		began := time.Now()
		for s.Ping(ctx) != nil {
			if time.Since(began) > 5*time.Second {
				t.Fatal("the store did not reconnect within 5 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("the store answered again %v after Redis did", time.Since(began).Round(time.Millisecond))
		// A restarted Redis without persistence lost everything: start the session again.
		if _, err := s.AddSession(ctx, engine.StartedSession{UserID: "alice", Session: engine.Session{SignatureID: "s1"}}); err != nil {
			t.Fatal(err)
		}
		for name, call := range calls {
			if err := call(ctx); err != nil {
				t.Errorf("%s once Redis is back: %v", name, err)
			}
		}
	}
	srv.Stop()
	down("stopped", timeout)
	began := time.Now()
	if _, err := Open(ctx, srv.URL(), Options{DialTimeout: timeout, ReadTimeout: timeout}); err == nil || time.Since(began) > timeout {
		t.Errorf("Open with Redis stopped: %v after %v", err, time.Since(began))
	}
	srv.Start()
	back()

	srv.Pause()
	down("hung", 3*timeout)
	srv.Resume()
	back()
}

// everyCall is one call of each of the store's methods, by name.
func everyCall(s *Store) map[string]func(context.Context) error {
	user := engine.ProgressKey{Kind: engine.ProgressUser, UserID: "alice"}
	m := engine.Machine{Hash: "h", After: []scenarios.After{{Calls: 2}, {}}}
	var sig atomic.Int64
	return map[string]func(context.Context) error{
		"Ping":     s.Ping,
		"StepUser": func(ctx context.Context) error { _, _, _, err := s.StepUser(ctx, user, m, time.Now()); return err },
		"Step": func(ctx context.Context) error {
			_, err := s.Step(ctx, engine.ProgressKey{Kind: engine.ProgressRule, Name: "r", UserID: "x"}, m, time.Now())
			return err
		},
		"Progress": func(ctx context.Context) error { _, _, err := s.Progress(ctx, user); return err },
		"UpdateProgress": func(ctx context.Context) error {
			_, err := s.UpdateProgress(ctx, user, func(p engine.Progress, _ bool) (engine.Progress, error) { return p, nil })
			return err
		},
		"ForgetProgress": func(ctx context.Context) error {
			return s.ForgetProgress(ctx, engine.ProgressKey{Kind: engine.ProgressRule, Name: "gone", UserID: "x"})
		},
		"Hit":          func(ctx context.Context) error { _, err := s.Hit(ctx, "r"); return err },
		"NextSequence": func(ctx context.Context) error { _, err := s.NextSequence(ctx); return err },
		"AddSession": func(ctx context.Context) error {
			_, err := s.AddSession(ctx, engine.StartedSession{UserID: "alice", Session: engine.Session{SignatureID: fmt.Sprint("s", sig.Add(1))}})
			return err
		},
		"Session":      func(ctx context.Context) error { _, _, err := s.Session(ctx, "s1"); return err },
		"UserSessions": func(ctx context.Context) error { _, _, err := s.UserSessions(ctx, "alice"); return err },
		"UpdateSession": func(ctx context.Context) error {
			_, err := s.UpdateSession(ctx, "s1", func(*engine.StartedSession) (idvmock.ProfileStatus, error) { return "", nil })
			return err
		},
		"Deactivate": func(ctx context.Context) error { return s.Deactivate(ctx, "bob") },
		"ForgetUser": func(ctx context.Context) error { _, err := s.ForgetUser(ctx, "nobody"); return err },
		"Reset": func(ctx context.Context) error {
			_, err := s.Reset(ctx)
			if err == nil { // keep s1 for the calls that read it
				_, err = s.AddSession(ctx, engine.StartedSession{UserID: "alice", Session: engine.Session{SignatureID: "s1"}})
			}
			return err
		},
		"IssueToken": func(ctx context.Context) error { return s.IssueToken(ctx, "tok", time.Now().Add(time.Hour)) },
		"TokenValid": func(ctx context.Context) error { _, err := s.TokenValid(ctx, "tok", time.Now()); return err },
		"Snapshot":   func(ctx context.Context) error { _, err := s.Snapshot(ctx); return err },
		"Restore": func(ctx context.Context) error {
			return s.Restore(ctx, engine.Snapshot{Started: []engine.StartedSession{{UserID: "alice", Session: engine.Session{SignatureID: "s1"}}}})
		},
	}
}

// A store's error wraps Redis's, so that a caller can tell what failed.
func TestErrorsWrapRedis(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL(), engine.Limits{}, Options{})
	srv.Stop()
	_, err := s.Hit(t.Context(), "r")
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("Hit with Redis stopped: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	srv.Start()
	if _, err := s.Hit(ctx, "r"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hit with a cancelled context: %v", err)
	}
}
