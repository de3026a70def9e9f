// Package bounded holds the containers idvmock keeps state in when a client can make that
// state grow: each has a bound on its entries and bytes, and drops its oldest entries first.
package bounded

import "sync"

// Cache is a map with at most MaxEntries entries of at most MaxBytes in all (each entry's
// size as given to Put). When a Put would pass either bound, the oldest entries go first.
// It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	maxEntries, maxBytes int

	mu    sync.RWMutex
	m     map[K]cached[V]
	order []slot[K] // insertion order, oldest first, from head
	head  int
	seq   uint64
	bytes int
}

type cached[V any] struct {
	value V
	size  int
	seq   uint64 // which slot of order stands for this entry
}

type slot[K comparable] struct {
	key K
	seq uint64
}

// NewCache returns a cache bounded to maxEntries entries and maxBytes bytes (0: no byte
// bound).
func NewCache[K comparable, V any](maxEntries, maxBytes int) *Cache[K, V] {
	return &Cache[K, V]{maxEntries: max(maxEntries, 1), maxBytes: maxBytes, m: map[K]cached[V]{}}
}

// Get returns the value kept for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	return e.value, ok
}

// Put keeps v for k, size bytes of it. A value larger than the byte bound is not kept.
func (c *Cache[K, V]) Put(k K, v V, size int) {
	if c.maxBytes > 0 && size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		c.bytes -= old.size
		delete(c.m, k) // its old slot stays in order and is skipped when it comes up
	}
	for len(c.m) >= c.maxEntries || (c.maxBytes > 0 && c.bytes+size > c.maxBytes) {
		c.evictOldest()
	}
	c.seq++
	c.m[k] = cached[V]{v, size, c.seq}
	c.bytes += size
	c.order = append(c.order, slot[K]{k, c.seq})
	if c.head > len(c.order)/2 { // reclaim the evicted prefix now and then
		c.order = append(c.order[:0:0], c.order[c.head:]...)
		c.head = 0
	}
}

func (c *Cache[K, V]) evictOldest() {
	for c.head < len(c.order) {
		sl := c.order[c.head]
		c.order[c.head] = slot[K]{}
		c.head++
		if e, ok := c.m[sl.key]; ok && e.seq == sl.seq {
			c.bytes -= e.size
			delete(c.m, sl.key)
			return
		}
	}
}

// Len reports how many entries are kept.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Bytes reports the total size of the entries kept.
func (c *Cache[K, V]) Bytes() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bytes
}

// Clear forgets every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m, c.order, c.head, c.bytes = map[K]cached[V]{}, nil, 0, 0
}
