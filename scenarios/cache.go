package scenarios

import (
	"encoding/json"
	"sync"
)

// maxCachedResults bounds the result cache; when it is full it starts over.
const maxCachedResults = 8192

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
// JSON) and the same for the same key. Results are shared: callers must not change them.
type resultCache struct {
	mu sync.RWMutex
	m  map[resultKey]json.RawMessage
}

func (c *resultCache) get(k resultKey) (json.RawMessage, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	raw, ok := c.m[k]
	return raw, ok
}

func (c *resultCache) put(k resultKey, raw json.RawMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedResults {
		c.m = make(map[resultKey]json.RawMessage)
	}
	c.m[k] = raw
}

// reset forgets every result, when the set they were built from is replaced.
func (c *resultCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
