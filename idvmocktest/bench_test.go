package idvmocktest

import (
	"net/http"
	"testing"
)

// loopTB is the testing.TB a benchmark iteration hands to New: its cleanups (the Close New
// registers) run at the end of the iteration instead of piling up until the benchmark ends.
type loopTB struct {
	testing.TB
	cleanups []func()
}

func (t *loopTB) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

func (t *loopTB) runCleanups() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = t.cleanups[:0]
}

// warmUp starts and closes the first mock of the process, so that what follows is timed after it.
func warmUp(b *testing.B) {
	b.Helper()
	warm, err := Start()
	if err != nil {
		b.Fatal(err)
	}
	if err := warm.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkNew times New after the first mock of the process (the warm-up below): what each
// further test that calls New pays. The Close at the end of each iteration is not timed.
// scripts/bench.sh reports the first of a process separately (bench/newtime).
func BenchmarkNew(b *testing.B) {
	warmUp(b)
	tb := &loopTB{TB: b}
	b.ReportAllocs()
	for b.Loop() {
		New(tb)
		b.StopTimer()
		tb.runCleanups()
		b.StartTimer()
	}
}

// BenchmarkNewFirstAnswer times New and the first answer on user_active through srv.Client,
// after a warm-up mock: from a test's New to the first call it makes. Close is not timed.
func BenchmarkNewFirstAnswer(b *testing.B) {
	warmUp(b)
	tb := &loopTB{TB: b}
	for b.Loop() {
		srv := New(tb)
		req, _ := http.NewRequest(http.MethodGet, srv.VendorURL("")+PathLatest+"?userId=user_active", nil)
		req.Header.Set("X-ACCESS-TOKEN", "bench-token")
		resp, err := srv.Client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("user_active: HTTP %d", resp.StatusCode)
		}
		b.StopTimer()
		tb.runCleanups()
		b.StartTimer()
	}
}
