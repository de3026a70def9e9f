package mockserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// switchableStore is a memory store that can be made unreachable, as a shared store whose
// server went away: while down, every call fails.
type switchableStore struct {
	*engine.MemoryStore
	down atomic.Bool
}

var errStoreDown = errors.New("dial tcp 10.0.0.5:6379: connect: connection refused")

func (s *switchableStore) fail() error {
	if s.down.Load() {
		return errStoreDown
	}
	return nil
}

func (s *switchableStore) Name() string { return "redis://10.0.0.5:6379/0" }

func (s *switchableStore) Ping(context.Context) error { return s.fail() }

func (s *switchableStore) Step(ctx context.Context, k engine.ProgressKey, m engine.Machine, now time.Time) (engine.Progress, error) {
	if err := s.fail(); err != nil {
		return engine.Progress{}, err
	}
	return s.MemoryStore.Step(ctx, k, m, now)
}

func (s *switchableStore) StepUser(ctx context.Context, k engine.ProgressKey, m engine.Machine, now time.Time) (engine.Progress, []engine.StartedSession, idvmock.ProfileStatus, error) {
	if err := s.fail(); err != nil {
		return engine.Progress{}, nil, "", err
	}
	return s.MemoryStore.StepUser(ctx, k, m, now)
}

func (s *switchableStore) Progress(ctx context.Context, k engine.ProgressKey) (engine.Progress, bool, error) {
	if err := s.fail(); err != nil {
		return engine.Progress{}, false, err
	}
	return s.MemoryStore.Progress(ctx, k)
}

func (s *switchableStore) NextSequence(ctx context.Context) (uint64, error) {
	if err := s.fail(); err != nil {
		return 0, err
	}
	return s.MemoryStore.NextSequence(ctx)
}

func (s *switchableStore) Session(ctx context.Context, sig string) (engine.StartedSession, bool, error) {
	if err := s.fail(); err != nil {
		return engine.StartedSession{}, false, err
	}
	return s.MemoryStore.Session(ctx, sig)
}

func (s *switchableStore) UserSessions(ctx context.Context, id string) ([]engine.StartedSession, idvmock.ProfileStatus, error) {
	if err := s.fail(); err != nil {
		return nil, "", err
	}
	return s.MemoryStore.UserSessions(ctx, id)
}

func (s *switchableStore) Snapshot(ctx context.Context) (engine.Snapshot, error) {
	if err := s.fail(); err != nil {
		return engine.Snapshot{}, err
	}
	return s.MemoryStore.Snapshot(ctx)
}

// While the state store does not answer, every vendor operation that needs it answers HTTP
// 503 with Retry-After and an ERROR envelope naming the store (never a business answer),
// the admin API a 503 of its own, and health 503 so that a load balancer takes the replica
// out; once the store is back, everything answers again without a restart.
func TestStoreDownAnswers503NamingTheStore(t *testing.T) {
	store := &switchableStore{MemoryStore: engine.NewMemoryStore(engine.Limits{})}
	e := newEngine(t, 0)
	e.SetStore(store)
	s := newTestServer(t, Config{Engine: e, AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	vendorCalls := func(host string) []call {
		return []call{
			latestCall("userId=user_active", host),
			profileCall(idvmock.PathGetProfile, "user_active", host),
			profileCall(idvmock.PathGetProfileCamel, "user_active", host),
			statusCall("user_active", "INACTIVE", host),
			getResultCall(host, `{"signatureId":"455d0b0e17e8"}`),
			generateCall(`{"userId":"u1","bizId":"b","region":"PHL","returnUrl":"https://a.example/ok","failReturnUrl":"https://a.example/ko"}`),
		}
	}
	store.down.Store(true)
	for _, host := range vendorHosts {
		for _, c := range vendorCalls(host) {
			rec := serve(t, s, c)
			sc.check(t, c, rec)
			env := decode(t, rec)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || env.Code != idvmock.CodeError ||
				!strings.Contains(env.Message, "redis://10.0.0.5:6379/0") || string(env.Data) != "null" {
				t.Errorf("%s %s on %s with the store down: HTTP %d Retry-After %q %s", c.method, c.target, host, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
			}
		}
	}
	state := adminCall(http.MethodGet, "/__admin/state", "")
	if rec := serve(t, s, state); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "redis://10.0.0.5:6379/0") {
		t.Errorf("GET /__admin/state with the store down: HTTP %d %s", rec.Code, rec.Body)
	} else {
		sc.check(t, state, rec)
	}
	health := call{target: "/__admin/health"}
	rec := serve(t, s, health)
	sc.check(t, health, rec)
	var h healthBody
	json.Unmarshal(rec.Body.Bytes(), &h)
	if rec.Code != http.StatusServiceUnavailable || h.Status != "unavailable" || h.Store != "redis://10.0.0.5:6379/0" || !strings.Contains(h.Error, "connection refused") {
		t.Errorf("health with the store down: HTTP %d %s", rec.Code, rec.Body)
	}

	store.down.Store(false)
	if rec := serve(t, s, health); rec.Code != http.StatusOK {
		t.Errorf("health once the store is back: HTTP %d %s", rec.Code, rec.Body)
	}
	for _, c := range vendorCalls("sg-api.advance.ai") {
		rec := serve(t, s, c)
		sc.check(t, c, rec)
		if rec.Code != http.StatusOK || decode(t, rec).Code != idvmock.CodeSuccess {
			t.Errorf("%s %s once the store is back: HTTP %d %s", c.method, c.target, rec.Code, rec.Body)
		}
	}
}
