package engine

import (
	"encoding/json"

	"github.com/idvmock/idvmock/internal/bounded"
)

// Bounds of the result cache: entries, and bytes (a result with templates may be large).
const (
	maxCachedResults      = 8192
	maxCachedResultsBytes = 64 << 20
)

// resultKey is everything a declared session's result depends on: the profile (compiled
// with the set, so a reload or an admin change makes new keys), the userId its sessions are
// resolved for, the state and session, and the request values templates may read. The
// engine's seed is fixed for its life.
type resultKey struct {
	profile                               *Profile
	userID, region, country, solutionCode string
	state, session                        int
}

// resultCache keeps built results, which are costly (seeded fake data, templates, merge,
// JSON) and the same for the same key; the oldest go first. Results are shared: callers must
// not change them.
type resultCache struct {
	c *bounded.Cache[resultKey, json.RawMessage]
}

func newResultCache() resultCache {
	return resultCache{bounded.NewCache[resultKey, json.RawMessage](maxCachedResults, maxCachedResultsBytes)}
}

func (c resultCache) get(k resultKey) (json.RawMessage, bool) { return c.c.Get(k) }

func (c resultCache) put(k resultKey, raw json.RawMessage) { c.c.Put(k, raw, len(raw)+64) }

// reset forgets every result, when the set they were built from is replaced.
func (c resultCache) reset() { c.c.Clear() }
