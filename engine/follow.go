package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/idvmock/idvmock/scenarios"
)

// Replicas sharing a store share the admin layer: a user PUT through one replica is kept in
// the store (PutUser), and every replica that follows the store (Follow) compiles it into the
// set it answers from. Scenario files stay each replica's own: every replica loads the same
// files.

// incrementalChanges is how many changed users a sync compiles one by one; past it, it
// compiles the whole set once.
const incrementalChanges = 16

// Follow keeps the engine's admin layer in step with its store's until ctx ends: once now,
// then after every change the store reports (a user put or deleted through another replica).
// problem is told what could not be followed (a store that failed, a declaration this
// replica's files cannot compile); the engine keeps answering from what it had. A memory
// store reports no changes: Follow then only waits for ctx.
func (e *Engine) Follow(ctx context.Context, problem func(error)) {
	report := func(err error) {
		if err != nil && problem != nil && ctx.Err() == nil {
			problem(err)
		}
	}
	report(e.Sync(ctx))
	e.stored().Watch(ctx, func(DeclarationChange) { report(e.Sync(ctx)) })
}

// Sync reads the store's admin layer and makes the engine answer from it: users whose
// declaration changed are compiled alone (the whole set when many changed, or deleted file
// users did), outside the lock.
func (e *Engine) Sync(ctx context.Context) error {
	for {
		// What the engine follows is taken before the store is read, so that the layer read
		// is never older than it: a swap made meanwhile (a PutUser, another Sync) makes this
		// one's swap fail, and the loop read the store again.
		e.mu.Lock()
		base, gen, version, have, removed := e.set.Load(), e.adminGen, e.declVersion, maps.Clone(e.adminRaw), maps.Clone(e.removed)
		e.mu.Unlock()
		layer, err := e.stored().Declarations(ctx)
		if err != nil {
			return storeError(err)
		}
		changed := changedUsers(have, layer.Users)
		sameRemoved := maps.Equal(removed, layer.Removed)
		// A store without a layer (version 0: Redis restarted without persistence, or its
		// keys expired) has lost the one the engine follows: follow it, empty.
		if (layer.Version < version && layer.Version != 0) || (len(changed) == 0 && sameRemoved) {
			return nil // the engine follows a newer layer, or this one already
		}
		admin, err := decodeDeclarations(layer)
		if err != nil {
			return err
		}
		var next *Set
		if sameRemoved && len(changed) <= incrementalChanges {
			next, err = applyChanges(base, admin, changed)
		} else {
			next, _, err = e.compileCurrent(admin, layer.Removed)
		}
		if err != nil {
			return fmt.Errorf("the admin API's users in the store %s cannot be compiled here (are the scenario files the same on every replica?): %w", e.StoreName(), err)
		}
		if e.swap(base, gen, next, func() {
			e.admin, e.removed = admin, maps.Clone(layer.Removed)
			e.adminRaw = make(map[string]string, len(layer.Users))
			for id, raw := range layer.Users {
				e.adminRaw[id] = string(raw)
			}
			e.declVersion = max(e.declVersion, layer.Version)
		}) {
			return nil
		}
	}
}

// changedUsers lists the users whose declaration differs between have and want, sorted.
func changedUsers(have map[string]string, want map[string]json.RawMessage) []string {
	var out []string
	for id, raw := range want {
		if have[id] != string(raw) {
			out = append(out, id)
		}
	}
	for id := range have {
		if _, ok := want[id]; !ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// applyChanges returns base with each changed user declared as admin says, or removed when
// admin has none.
func applyChanges(base *Set, admin map[string]scenarios.UserSpec, changed []string) (*Set, error) {
	next := base
	for _, id := range changed {
		spec, ok := admin[id]
		if !ok {
			next = next.withoutUser(id)
			continue
		}
		f := scenarios.NewFile(AdminSource, nil)
		f.Users = map[string]scenarios.UserSpec{id: spec}
		var problems scenarios.Problems
		if next, problems = next.withUser(f, id, spec); len(problems) > 0 {
			return nil, fmt.Errorf("user %s: %w", id, problems.TrimPath("users."))
		}
	}
	return next, nil
}

// decodeDeclarations reads the declarations of a layer.
func decodeDeclarations(layer Declarations) (map[string]scenarios.UserSpec, error) {
	out := make(map[string]scenarios.UserSpec, len(layer.Users))
	for id, raw := range layer.Users {
		var spec scenarios.UserSpec
		if err := json.Unmarshal(raw, &spec); err != nil {
			return nil, fmt.Errorf("the store holds a declaration of user %s that cannot be read: %w", id, err)
		}
		out[id] = spec
	}
	return out, nil
}
