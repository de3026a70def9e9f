package promtext

import (
	"bytes"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// text is what r writes.
func text(t *testing.T, r *Registry) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// parse reads what r writes with Prometheus' own text parser.
func parse(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	out := text(t, r)
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(out))
	if err != nil {
		t.Fatalf("Prometheus' parser refuses the output: %v\n%s", err, out)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// Help is escaped (backslash, newline), label values too (backslash, double quote, newline),
// and Prometheus' parser reads back what was set.
func TestEscaping(t *testing.T) {
	r := NewRegistry()
	cv := NewCounterVec("x_total", "a \\ backslash,\na newline and \"quotes\"", "v")
	r.MustRegister(cv)
	odd := "back\\slash \"quoted\"\nnext line é"
	cv.WithLabelValues(odd).Add(3)
	want := "# HELP x_total a \\\\ backslash,\\na newline and \"quotes\"\n" +
		"# TYPE x_total counter\n" +
		"x_total{v=\"back\\\\slash \\\"quoted\\\"\\nnext line é\"} 3\n"
	if got := text(t, r); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	f := parse(t, r)["x_total"]
	if got := f.GetHelp(); got != "a \\ backslash,\na newline and \"quotes\"" {
		t.Errorf("help read back as %q", got)
	}
	if got := labelsOf(f.GetMetric()[0])["v"]; got != odd {
		t.Errorf("label value read back as %q, want %q", got, odd)
	}
}

// Families come out sorted by name, empty ones left out; a family's labels in name order
// and its series sorted by their values, whatever the order they were made in.
func TestSorting(t *testing.T) {
	r := NewRegistry()
	b := NewCounterVec("b_total", "B.", "zone", "code")
	empty := NewCounterVec("c_total", "Never used.", "x")
	a := NewCounter("a_total", "A.")
	g := NewGaugeFunc("ab", "AB.", func() float64 { return 2 }, Label{"z", "1"}, Label{"m", "2"})
	r.MustRegister(b, empty, a, g)
	b.WithLabelValues("sg", "b").Inc()
	b.WithLabelValues("ph", "b").Inc()
	b.WithLabelValues("sg", "a").Add(2)
	b.WithLabelValues("ph", "b").Inc()
	want := `# HELP a_total A.
# TYPE a_total counter
a_total 0
# HELP ab AB.
# TYPE ab gauge
ab{m="2",z="1"} 2
# HELP b_total B.
# TYPE b_total counter
b_total{code="a",zone="sg"} 2
b_total{code="b",zone="ph"} 2
b_total{code="b",zone="sg"} 1
`
	if got := text(t, r); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := b.Series(); len(got) != 3 || got[0].Labels[0] != (Label{"code", "a"}) || got[2].Value != 1 {
		t.Errorf("Series: %+v", got)
	}
}

// A histogram's buckets are cumulative, a value on a bound counts in it, one past every
// bound only in +Inf; _sum and _count follow.
func TestHistogram(t *testing.T) {
	r := NewRegistry()
	hv := NewHistogramVec("d_seconds", "D.", []float64{0.001, 0.25, 1, 10}, "op")
	r.MustRegister(hv)
	h := hv.WithLabelValues("get")
	for _, v := range []float64{0.0005, 0.001, 0.1, 0.2, 0.25, 3, 20} {
		h.Observe(v)
	}
	hv.WithLabelValues("a") // made, never observed
	want := `# HELP d_seconds D.
# TYPE d_seconds histogram
d_seconds_bucket{op="a",le="0.001"} 0
d_seconds_bucket{op="a",le="0.25"} 0
d_seconds_bucket{op="a",le="1"} 0
d_seconds_bucket{op="a",le="10"} 0
d_seconds_bucket{op="a",le="+Inf"} 0
d_seconds_sum{op="a"} 0
d_seconds_count{op="a"} 0
d_seconds_bucket{op="get",le="0.001"} 2
d_seconds_bucket{op="get",le="0.25"} 5
d_seconds_bucket{op="get",le="1"} 5
d_seconds_bucket{op="get",le="10"} 6
d_seconds_bucket{op="get",le="+Inf"} 7
d_seconds_sum{op="get"} 23.5515
d_seconds_count{op="get"} 7
`
	if got := text(t, r); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	m := parse(t, r)["d_seconds"].GetMetric()[1]
	if hist := m.GetHistogram(); hist.GetSampleCount() != 7 || math.Abs(hist.GetSampleSum()-23.5515) > 1e-12 || len(hist.GetBucket()) != 5 || hist.GetBucket()[1].GetCumulativeCount() != 5 {
		t.Errorf("Prometheus' parser reads %v", hist)
	}
}

// Floats print as Prometheus' client prints them.
func TestFloats(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {-1, "-1"}, {42, "42"}, {0.25, "0.25"}, {1e-4, "0.0001"}, {123456, "123456"},
		{1e6, "1e+06"}, {2.8336128e+07, "2.8336128e+07"}, {math.Inf(+1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.NaN(), "NaN"},
	} {
		r := NewRegistry()
		r.MustRegister(NewGaugeFunc("g", "G.", func() float64 { return c.v }))
		if got, want := text(t, r), "# HELP g G.\n# TYPE g gauge\ng "+c.want+"\n"; got != want {
			t.Errorf("%v written as %q, want %q", c.v, got, want)
		}
	}
}

// Counters and histograms count every concurrent update, while scrapes go on (-race).
func TestConcurrentUpdates(t *testing.T) {
	r := NewRegistry()
	cv := NewCounterVec("n_total", "N.", "k")
	hv := NewHistogramVec("h", "H.", []float64{1, 2}, "k")
	c := NewCounter("c_total", "C.")
	r.MustRegister(cv, hv, c)
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			k := []string{"even", "odd"}[w%2]
			for i := range each {
				c.Inc()
				cv.WithLabelValues(k).Inc()
				hv.WithLabelValues(k).Observe(float64(i % 3)) // 0, 1, 2: buckets 1, 2
			}
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			parse(t, r)
		}
	}()
	wg.Wait()
	<-done
	fams := parse(t, r)
	if v := fams["c_total"].GetMetric()[0].GetCounter().GetValue(); v != workers*each {
		t.Errorf("c_total %g, want %d", v, workers*each)
	}
	for _, m := range fams["n_total"].GetMetric() {
		if v := m.GetCounter().GetValue(); v != workers/2*each {
			t.Errorf("n_total%v %g, want %d", labelsOf(m), v, workers/2*each)
		}
	}
	for _, m := range fams["h"].GetMetric() {
		h := m.GetHistogram()
		var sum float64
		for i := range each {
			sum += float64(i % 3)
		}
		if h.GetSampleCount() != workers/2*each || h.GetSampleSum() != sum*workers/2 {
			t.Errorf("h%v: count %d sum %g, want %d and %g", labelsOf(m), h.GetSampleCount(), h.GetSampleSum(), workers/2*each, sum*workers/2)
		}
		if b := h.GetBucket(); b[1].GetCumulativeCount() != h.GetSampleCount() || b[0].GetCumulativeCount() >= b[1].GetCumulativeCount() {
			t.Errorf("h%v buckets %v", labelsOf(m), b)
		}
	}
}

// The per-request path allocates nothing: an increment, an observation, a child looked up.
func TestUpdatesDoNotAllocate(t *testing.T) {
	cv := NewCounterVec("n_total", "N.", "a", "b")
	hv := NewHistogramVec("h", "H.", []float64{1, 2}, "a")
	cv.WithLabelValues("x", "y")
	hv.WithLabelValues("x")
	if n := testing.AllocsPerRun(100, func() {
		cv.WithLabelValues("x", "y").Inc()
		hv.WithLabelValues("x").Observe(1.5)
	}); n != 0 {
		t.Errorf("%g allocations per update, want 0", n)
	}
}

// A family collected twice is an error, and written once; invalid names are refused.
func TestMistakes(t *testing.T) {
	r := NewRegistry()
	r.MustRegister(NewCounter("a_total", "first"), NewCounter("a_total", "second"))
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err == nil || strings.Count(buf.String(), "# TYPE a_total") != 1 {
		t.Errorf("duplicate family: error %v, output\n%s", err, &buf)
	}
	for name, make := range map[string]func(){
		"metric name":        func() { NewCounter("1x", "") },
		"label name":         func() { NewCounterVec("x", "", "a-b") },
		"repeated label":     func() { NewCounterVec("x", "", "a", "a") },
		"le on a histogram":  func() { NewHistogramVec("x", "", []float64{1}, "le") },
		"unsorted buckets":   func() { NewHistogramVec("x", "", []float64{2, 1}, "a") },
		"wrong value count":  func() { NewCounterVec("x", "", "a").WithLabelValues("1", "2") },
		"vector sans labels": func() { NewCounterVec("x", "") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			make()
		}()
	}
}

// The Go and process collectors give their documented metrics, which Prometheus' parser reads,
// with plausible values.
func TestRuntimeCollectors(t *testing.T) {
	r := NewRegistry()
	r.MustRegister(NewGoCollector(), NewProcessCollector())
	fams := parse(t, r)
	want := map[string]dto.MetricType{
		"go_goroutines": dto.MetricType_GAUGE, "go_threads": dto.MetricType_GAUGE, "go_gc_cycles_total": dto.MetricType_COUNTER,
		"go_memstats_heap_alloc_bytes": dto.MetricType_GAUGE, "go_memstats_heap_inuse_bytes": dto.MetricType_GAUGE,
		"go_memstats_sys_bytes": dto.MetricType_GAUGE, "go_info": dto.MetricType_GAUGE,
	}
	if runtime.GOOS == "linux" {
		for _, name := range []string{"process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds"} {
			want[name] = dto.MetricType_GAUGE
		}
		want["process_cpu_seconds_total"] = dto.MetricType_COUNTER
	}
	for name, typ := range want {
		if f := fams[name]; f == nil || f.GetType() != typ {
			t.Errorf("%s: %v, want a %v", name, f, typ)
		}
	}
	if len(fams) != len(want) {
		t.Errorf("%d families, want %d", len(fams), len(want))
	}
	value := func(name string) float64 {
		m := fams[name].GetMetric()[0]
		return m.GetGauge().GetValue() + m.GetCounter().GetValue()
	}
	if v := value("go_goroutines"); v < 1 {
		t.Errorf("go_goroutines %g", v)
	}
	if v := value("go_threads"); v < 1 {
		t.Errorf("go_threads %g", v)
	}
	if labels := labelsOf(fams["go_info"].GetMetric()[0]); labels["version"] != runtime.Version() {
		t.Errorf("go_info %v", labels)
	}
	if alloc, inuse, sys := value("go_memstats_heap_alloc_bytes"), value("go_memstats_heap_inuse_bytes"), value("go_memstats_sys_bytes"); alloc <= 0 || inuse < alloc || sys < inuse {
		t.Errorf("heap alloc %g, in use %g, sys %g", alloc, inuse, sys)
	}
	if runtime.GOOS != "linux" {
		return
	}
	if v := value("process_start_time_seconds"); math.Abs(v-float64(time.Now().Unix())) > 3600 {
		t.Errorf("process_start_time_seconds %g, not within the hour", v)
	}
	if open, max := value("process_open_fds"), value("process_max_fds"); open < 3 || max < open {
		t.Errorf("open fds %g, max %g", open, max)
	}
	if rss, vm := value("process_resident_memory_bytes"), value("process_virtual_memory_bytes"); rss < 1<<20 || vm < rss {
		t.Errorf("rss %g, vm %g", rss, vm)
	}
}
