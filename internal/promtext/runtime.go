package promtext

import "runtime"

type goCollector struct{ info *ValueFunc }

// NewGoCollector exposes a few of the Go runtime's metrics, read at each scrape:
// go_goroutines, go_threads, go_gc_cycles_total, go_memstats_heap_alloc_bytes,
// go_memstats_heap_inuse_bytes, go_memstats_sys_bytes, and go_info{version}. It reads the
// process, so one collector can be registered with several registries.
//
// The memory statistics come from runtime.ReadMemStats, which stops the world for a few
// microseconds at each scrape. runtime/metrics would not, but its package init (its table of
// descriptions, GODEBUG settings included) costs about a millisecond at every start.
func NewGoCollector() Collector {
	return goCollector{NewGaugeFunc("go_info", "1, labelled with the version of Go that built the binary.",
		func() float64 { return 1 }, Label{"version", runtime.Version()})}
}

func (c goCollector) Collect(emit func(Family)) {
	one := func(name, help string, typ Type, v float64) {
		emit(Family{Name: name, Help: help, Type: typ, Series: []Series{{Value: v}}})
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	threads, _ := runtime.ThreadCreateProfile(nil)
	one("go_goroutines", "Goroutines that currently exist.", GaugeType, float64(runtime.NumGoroutine()))
	one("go_threads", "OS threads the Go runtime created (runtime.ThreadCreateProfile; it seldom ends one).", GaugeType, float64(threads))
	one("go_gc_cycles_total", "Garbage collection cycles completed since the process started (runtime.MemStats.NumGC).", CounterType, float64(ms.NumGC))
	one("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects (runtime.MemStats.HeapAlloc).", GaugeType, float64(ms.HeapAlloc))
	one("go_memstats_heap_inuse_bytes", "Bytes in in-use heap spans (runtime.MemStats.HeapInuse).", GaugeType, float64(ms.HeapInuse))
	one("go_memstats_sys_bytes", "Bytes of memory the Go runtime obtained from the OS (runtime.MemStats.Sys).", GaugeType, float64(ms.Sys))
	c.info.Collect(emit)
}
