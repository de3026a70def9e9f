package promtext

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// NewProcessCollector exposes the process's metrics, read from /proc/self at each scrape:
// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds and process_start_time_seconds. What cannot be read is
// left out. One collector can be registered with several registries.
func NewProcessCollector() Collector { return processCollector{} }

type processCollector struct{}

// userHZ is the unit of /proc/self/stat's times: USER_HZ, 100 on every Linux architecture
// Go supports.
const userHZ = 100

func (processCollector) Collect(emit func(Family)) {
	one := func(name, help string, typ Type, v float64) {
		emit(Family{Name: name, Help: help, Type: typ, Series: []Series{{Value: v}}})
	}
	if st, ok := readStat(); ok {
		one("process_cpu_seconds_total", "User and system CPU time the process spent, in seconds.", CounterType, float64(st.utime+st.stime)/userHZ)
		one("process_resident_memory_bytes", "Resident memory of the process, in bytes.", GaugeType, float64(st.rssPages)*float64(os.Getpagesize()))
		one("process_virtual_memory_bytes", "Virtual memory of the process, in bytes.", GaugeType, float64(st.vsize))
		if boot, ok := bootTime(); ok {
			one("process_start_time_seconds", "When the process started, in seconds since the Unix epoch.", GaugeType, float64(boot)+float64(st.starttime)/userHZ)
		}
	}
	if n, ok := openFDs(); ok {
		one("process_open_fds", "File descriptors the process has open.", GaugeType, float64(n))
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		one("process_max_fds", "File descriptors the process may open at most (the soft limit).", GaugeType, float64(lim.Cur))
	}
}

type procStat struct {
	utime, stime, starttime, vsize, rssPages uint64
}

// readStat reads /proc/self/stat (proc(5)).
func readStat() (procStat, bool) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return procStat{}, false
	}
	// The command, field 2, is in parentheses and may hold spaces: the fields are counted
	// from the last ')', whose next field is the 3rd (state).
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, false
	}
	fields := strings.Fields(string(data[i+1:]))
	field := func(n int) uint64 { // n as proc(5) numbers them
		if n-3 >= len(fields) {
			return 0
		}
		v, _ := strconv.ParseUint(fields[n-3], 10, 64)
		return v
	}
	if len(fields) < 24-2 {
		return procStat{}, false
	}
	return procStat{utime: field(14), stime: field(15), starttime: field(22), vsize: field(23), rssPages: field(24)}, true
}

// boot is the btime of /proc/stat, read once (a plain sync.Once: no package init).
var boot struct {
	once sync.Once
	secs uint64
	ok   bool
}

// bootTime is when the system booted, in seconds since the epoch.
func bootTime() (uint64, bool) {
	boot.once.Do(func() {
		data, err := os.ReadFile("/proc/stat")
		if err != nil {
			return
		}
		for line := range strings.Lines(string(data)) {
			if rest, ok := strings.CutPrefix(line, "btime "); ok {
				v, err := strconv.ParseUint(strings.TrimSpace(rest), 10, 64)
				boot.secs, boot.ok = v, err == nil
				return
			}
		}
	})
	return boot.secs, boot.ok
}

// openFDs counts the entries of /proc/self/fd (the descriptor reading it included).
func openFDs() (int, bool) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	return len(names), err == nil
}
