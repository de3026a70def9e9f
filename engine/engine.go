package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// Engine answers from a Set compiled from scenario files and the admin API's declarations;
// what changes as it answers lives in its Store. It is safe for concurrent use, and several
// engines (replicas) may share one store: every call advances the state exactly once. What
// clients can make grow is bounded by its Limits.
//
// Work that grows with the size of the set (compiling declarations, looking for near misses)
// is done outside the lock, on the immutable Set, so that no request waits on it.
type Engine struct {
	seed   int64
	now    func() time.Time
	store  atomic.Pointer[storeRef] // read without the lock (stored); replaced by SetStore
	limits Limits

	mu    sync.Mutex
	auth  Auth
	set   atomic.Pointer[Set] // read without the lock; replaced under it
	files []*scenarios.File   // what set was compiled from, admin users aside
	// The admin layer as the engine compiled it: the store holds it, shared by replicas;
	// Follow keeps this copy in step with the store's.
	admin       map[string]scenarios.UserSpec // users put through the admin API
	adminRaw    map[string]string             // their declarations as the store keeps them (JSON)
	removed     map[string]bool               // users a file declares, deleted through the admin API
	adminGen    uint64                        // changes of admin and removed: a compile outside the lock checks it
	declVersion uint64                        // the store's version of the layer this copy follows

	results resultCache
}

// NewEngine compiles files (built-in files first, usually) into the set it answers from,
// with a memory store and the default Limits. now is the clock; nil means time.Now.
func NewEngine(seed int64, files []*scenarios.File, now func() time.Time) (*Engine, error) {
	if now == nil {
		now = time.Now
	}
	e := &Engine{
		seed: seed, now: now, limits: Limits{}.WithDefaults(),
		admin: map[string]scenarios.UserSpec{}, adminRaw: map[string]string{}, removed: map[string]bool{},
		results: newResultCache(),
	}
	e.store.Store(&storeRef{NewMemoryStore(Limits{})})
	if err := e.Load(files); err != nil {
		return nil, err
	}
	return e, nil
}

// storeRef holds the engine's store, so that it can be swapped atomically.
type storeRef struct{ Store }

// stored is the engine's store.
func (e *Engine) stored() Store { return e.store.Load().Store }

// SetStore makes the engine keep its state in s (shared by replicas, say). Call it before
// the engine answers.
func (e *Engine) SetStore(s Store) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s.SetLimits(e.limits)
	e.store.Store(&storeRef{s})
}

// StoreName names the engine's store: "memory", or a shared store's address.
func (e *Engine) StoreName() string { return e.stored().Name() }

// PingStore reports whether the engine's store answers now.
func (e *Engine) PingStore(ctx context.Context) error {
	if err := e.stored().Ping(ctx); err != nil {
		return storeError(err)
	}
	return nil
}

// SetLimits changes the engine's limits; zero fields take the defaults. Call it before the
// engine answers.
func (e *Engine) SetLimits(l Limits) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limits = l.WithDefaults()
	e.stored().SetLimits(e.limits)
}

// Limits returns the engine's limits.
func (e *Engine) Limits() Limits {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.limits
}

// Clock returns the engine's clock, for callers that time things the same way.
func (e *Engine) Clock() func() time.Time { return e.now }

// Load replaces the scenario files. On a problem nothing changes and the previous set keeps
// answering. Users whose declaration did not change keep their progress. The files are
// compiled outside the lock: requests go on being answered meanwhile.
func (e *Engine) Load(files []*scenarios.File) error {
	for {
		e.mu.Lock()
		admin, removed, gen := maps.Clone(e.admin), maps.Clone(e.removed), e.adminGen
		e.mu.Unlock()
		set, err := compile(e.seed, files, admin, removed)
		if err != nil {
			return err
		}
		e.mu.Lock()
		if gen != e.adminGen { // an admin call changed the layer meanwhile: compile again
			e.mu.Unlock()
			continue
		}
		e.set.Store(set)
		e.files = files
		e.results.reset()
		e.mu.Unlock()
		tmpl.ClearCache()
		return nil
	}
}

// compile builds the set of files plus the admin layer. admin and removed are only read.
func compile(seed int64, files []*scenarios.File, admin map[string]scenarios.UserSpec, removed map[string]bool) (*Set, error) {
	all := append([]*scenarios.File(nil), files...)
	if len(admin) > 0 {
		layer := scenarios.NewFile(AdminSource, nil)
		layer.Users = maps.Clone(admin)
		all = append(all, layer)
	}
	set, err := New(seed, all...)
	if err != nil {
		return nil, err
	}
	if len(removed) > 0 {
		set = set.shallow() // New's set may be shared (frozen files): drop users from a copy
		for id := range removed {
			set.dropUser(id)
		}
	}
	return set, nil
}

// AdminSource names the declarations of the admin API in messages and listings.
const AdminSource = "admin API"

// Set returns the set the engine answers from now.
func (e *Engine) Set() *Set { return e.set.Load() }

// ErrAdminFull is returned when a declaration would pass Limits.MaxAdminUsers or
// MaxAdminBytes.
var ErrAdminFull = errors.New("the admin API holds as many users as its limits allow")

// PutUser declares (or replaces) user id, as f (a declaration read by scenarios/files, size
// bytes long) declares it. A declaration with problems changes nothing; the problems' paths
// start at the userId. Only this user is compiled and checked, outside the lock; the rest of
// the set is shared with the previous one. The declaration is kept in the store, within its
// limits, so that every replica sharing it answers the user (see Follow).
func (e *Engine) PutUser(ctx context.Context, f *scenarios.File, id string, size int) error {
	spec, ok := f.Users[id]
	if !ok {
		return fmt.Errorf("%s declares no user %q", f.Name(), id)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	for {
		e.mu.Lock()
		base, gen := e.set.Load(), e.adminGen
		e.mu.Unlock()
		next, problems := base.withUser(f, id, spec)
		if len(problems) > 0 {
			return problems.TrimPath("users.")
		}
		version, err := e.stored().PutDeclaration(ctx, id, raw, size)
		switch {
		case errors.Is(err, ErrAdminFull):
			return err
		case err != nil:
			return storeError(err)
		}
		if e.swap(base, gen, next, func() {
			e.admin[id], e.adminRaw[id] = spec, string(raw)
			delete(e.removed, id)
			e.declVersion = max(e.declVersion, version)
		}) {
			return nil
		}
	}
}

// swap makes next the set, and applies change to the admin layer, if the set is still base
// and the layer unchanged since gen; it reports whether it did.
func (e *Engine) swap(base *Set, gen uint64, next *Set, change func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.set.Load() != base || e.adminGen != gen {
		return false
	}
	e.set.Store(next)
	change()
	e.adminGen++
	e.results.reset()
	return true
}

// DeleteUser removes user id until the scenario files are loaded again without it... or for
// good, if only the admin API declared it. Its progress is forgotten first, so that a store
// that fails changes nothing, and again once it is gone, for a call answered meanwhile. The
// new set is made outside the lock.
func (e *Engine) DeleteUser(ctx context.Context, id string) error {
	if e.Set().users[id] == nil {
		return fmt.Errorf("%w %q", ErrUnknownUser, id)
	}
	if err := e.stored().ForgetProgress(ctx, userKey(id)); err != nil {
		return storeError(err)
	}
	for {
		e.mu.Lock()
		base, gen, files := e.set.Load(), e.adminGen, e.files
		e.mu.Unlock()
		if base.users[id] == nil {
			return fmt.Errorf("%w %q", ErrUnknownUser, id)
		}
		hide := declaredIn(files, id) // keep the file's user hidden across reloads
		version, err := e.stored().DeleteDeclaration(ctx, id, hide)
		if err != nil {
			return storeError(err)
		}
		next := base.withoutUser(id)
		if e.swap(base, gen, next, func() {
			delete(e.admin, id)
			delete(e.adminRaw, id)
			if hide {
				e.removed[id] = true
			}
			e.declVersion = max(e.declVersion, version)
		}) {
			break
		}
	}
	if err := e.stored().ForgetProgress(ctx, userKey(id)); err != nil {
		return fmt.Errorf("user %q is deleted, but its progress may remain: %w", id, storeError(err))
	}
	return nil
}

// declaredIn reports whether a file declares user id.
func declaredIn(files []*scenarios.File, id string) bool {
	return slices.ContainsFunc(files, func(f *scenarios.File) bool { _, ok := f.Users[id]; return ok })
}

// userKey is the progress key of a declared user.
func userKey(id string) ProgressKey { return ProgressKey{Kind: ProgressUser, UserID: id} }
