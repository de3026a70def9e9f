package bounded

import (
	"fmt"
	"testing"
)

func TestCacheEvictsOldestByCount(t *testing.T) {
	c := NewCache[string, int](3, 0)
	for i := range 5 {
		c.Put(fmt.Sprint(i), i, 1)
	}
	if c.Len() != 3 {
		t.Fatalf("len %d, want 3", c.Len())
	}
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := c.Get(fmt.Sprint(i)); ok != want {
			t.Errorf("key %d kept=%v, want %v", i, ok, want)
		}
	}
}

func TestCacheEvictsOldestByBytes(t *testing.T) {
	c := NewCache[string, string](100, 10)
	c.Put("a", "aaaa", 4)
	c.Put("b", "bbbb", 4)
	c.Put("c", "cccc", 4) // 12 > 10: a goes
	if _, ok := c.Get("a"); ok {
		t.Error("a kept past the byte bound")
	}
	if c.Bytes() != 8 || c.Len() != 2 {
		t.Errorf("bytes %d len %d, want 8 and 2", c.Bytes(), c.Len())
	}
	c.Put("huge", "x", 11) // over the bound alone: not kept, nothing evicted
	if _, ok := c.Get("huge"); ok || c.Len() != 2 {
		t.Errorf("a value over the byte bound was kept (len %d)", c.Len())
	}
}

// A key put again is as new as its last put: its first slot must not evict it.
func TestCacheReplacedKeyIsNew(t *testing.T) {
	c := NewCache[string, int](2, 0)
	c.Put("a", 1, 1)
	c.Put("b", 2, 1)
	c.Put("a", 3, 1) // a is now newer than b
	c.Put("c", 4, 1) // evicts b, the oldest
	if v, ok := c.Get("a"); !ok || v != 3 {
		t.Errorf("a = %v, %v; want 3, kept", v, ok)
	}
	if _, ok := c.Get("b"); ok {
		t.Error("b kept; it was the oldest")
	}
}

// Many puts keep the order slice bounded too.
func TestCacheOrderStaysBounded(t *testing.T) {
	c := NewCache[int, int](10, 0)
	for i := range 100_000 {
		c.Put(i%20, i, 1)
	}
	if len(c.order) > 64 {
		t.Errorf("order holds %d slots for %d entries", len(c.order), c.Len())
	}
	c.Clear()
	if c.Len() != 0 || c.Bytes() != 0 {
		t.Errorf("after Clear: len %d bytes %d", c.Len(), c.Bytes())
	}
}
