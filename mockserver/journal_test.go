package mockserver

import (
	"runtime"
	"strings"
	"testing"
)

// The journal is a ring: with a small one, many large requests leave memory where it was.
func TestJournalStaysBounded(t *testing.T) {
	s := newTestServer(t, Config{JournalSize: 16})
	bigQuery := "userId=" + strings.Repeat("u", 250) + "&solutionCode=" + strings.Repeat("9", 60)
	c := latestCall(bigQuery, "sg-api.advance.ai")
	c.header["X-Padding"] = strings.Repeat("p", 4096)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for i := 0; i < 2000; i++ {
		serve(t, s, c)
	}
	before := heap()
	for i := 0; i < 20000; i++ {
		serve(t, s, c)
	}
	after := heap()
	if n := s.journal.count(filter{}); n != 16 {
		t.Fatalf("the journal holds %d entries, want its size 16", n)
	}
	// 20,000 more requests of over 4 KB each went through; kept, they would take 80 MB.
	if after > before+4<<20 {
		t.Errorf("heap grew from %d to %d bytes over 20,000 requests", before, after)
	}
	entries := s.journal.find(filter{}, 0)
	if entries[0].ID != 22000 || entries[15].ID != 21985 || len(entries[0].Query) > maxEntryQuery+len("…") {
		t.Errorf("newest first, ids 22000..21985, clipped: got %d..%d, query %d bytes", entries[0].ID, entries[15].ID, len(entries[0].Query))
	}
}
