// Package promtext keeps counters, gauges and histograms and writes them in Prometheus' text
// exposition format, version 0.0.4: what the mock server's /__admin/metrics needs, without
// the weight of a full client library (its package init, protobuf descriptors and binary
// size are paid at every start of idvmock).
//
// The output follows what Prometheus' own client prints, so a scrape is stable: families
// sorted by name, empty families left out, a family's labels in name order, its series sorted
// by their label values, floats printed as strconv's shortest 'g' form (1, 0.25, 1e+06, +Inf,
// NaN).
//
// Updates are lock-free: a counter is an atomic add, a histogram's observation a bucket search
// and two atomic adds (its sum by compare-and-swap on the float's bits).
package promtext

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ContentType is the Content-Type of the text format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Type is a metric family's type, as # TYPE writes it.
type Type string

const (
	CounterType   Type = "counter"
	GaugeType     Type = "gauge"
	HistogramType Type = "histogram"
)

// Label is a label's name and value.
type Label struct{ Name, Value string }

// Series is one series of a family at a scrape: its labels (in name order) and its value, or
// for a histogram its buckets.
type Series struct {
	Labels    []Label
	Value     float64         // a counter's or a gauge's
	Histogram *HistogramValue // a histogram's
}

// HistogramValue is a histogram's state at a scrape.
type HistogramValue struct {
	Bounds     []float64 // upper bounds of the buckets, +Inf excepted, increasing
	Cumulative []uint64  // observations ≤ each bound (len(Bounds)), cumulative
	Count      uint64    // every observation: the +Inf bucket
	Sum        float64
}

// Family is a metric family at a scrape.
type Family struct {
	Name, Help string
	Type       Type
	Series     []Series
}

// Collector is anything that gives families at a scrape: the metrics of this package, and
// collectors of values read when scraped (NewGoCollector, NewProcessCollector).
type Collector interface {
	Collect(emit func(Family))
}

// Registry is a set of collectors, written together.
type Registry struct {
	mu         sync.Mutex
	collectors []Collector
}

// NewRegistry is an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// MustRegister adds collectors to r.
func (r *Registry) MustRegister(cs ...Collector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		if c == nil {
			panic("promtext: registering a nil collector")
		}
		r.collectors = append(r.collectors, c)
	}
}

// Gather collects every family, sorted by name, their series sorted by label values, and
// drops the families without series. A name given by two collectors is an error: the first
// is kept, and the others reported.
func (r *Registry) Gather() ([]Family, error) {
	r.mu.Lock()
	cs := slices.Clone(r.collectors)
	r.mu.Unlock()
	var fams []Family
	seen := map[string]bool{}
	var errs []error
	for _, c := range cs {
		c.Collect(func(f Family) {
			if seen[f.Name] {
				errs = append(errs, fmt.Errorf("promtext: metric family %s collected twice", f.Name))
				return
			}
			seen[f.Name] = true
			if len(f.Series) > 0 {
				fams = append(fams, f)
			}
		})
	}
	slices.SortFunc(fams, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range fams {
		slices.SortStableFunc(f.Series, compareSeries)
	}
	return fams, errors.Join(errs...)
}

// compareSeries orders series by their label values, label by label.
func compareSeries(a, b Series) int {
	if len(a.Labels) != len(b.Labels) {
		return len(a.Labels) - len(b.Labels)
	}
	for i := range a.Labels {
		if c := strings.Compare(a.Labels[i].Value, b.Labels[i].Value); c != 0 {
			return c
		}
	}
	return 0
}

// WriteText writes r's families in the text format to w. Families that could be gathered are
// written even if Gather reported an error, which WriteText returns then.
func (r *Registry) WriteText(w io.Writer) error {
	fams, gatherErr := r.Gather()
	var buf bytes.Buffer
	for _, f := range fams {
		AppendFamily(&buf, f)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	return gatherErr
}

// AppendFamily writes f, with its # HELP and # TYPE lines, to buf.
func AppendFamily(buf *bytes.Buffer, f Family) {
	buf.WriteString("# HELP ")
	buf.WriteString(f.Name)
	buf.WriteByte(' ')
	writeEscaped(buf, f.Help, false)
	buf.WriteString("\n# TYPE ")
	buf.WriteString(f.Name)
	buf.WriteByte(' ')
	buf.WriteString(string(f.Type))
	buf.WriteByte('\n')
	for _, s := range f.Series {
		if h := s.Histogram; h != nil {
			for i, bound := range h.Bounds {
				writeSample(buf, f.Name, "_bucket", s.Labels, "le", bound, float64(h.Cumulative[i]))
			}
			writeSample(buf, f.Name, "_bucket", s.Labels, "le", math.Inf(+1), float64(h.Count))
			writeSample(buf, f.Name, "_sum", s.Labels, "", 0, h.Sum)
			writeSample(buf, f.Name, "_count", s.Labels, "", 0, float64(h.Count))
			continue
		}
		writeSample(buf, f.Name, "", s.Labels, "", 0, s.Value)
	}
}

// writeSample writes one line: name and suffix, the labels (and le, when extra is set), the value.
func writeSample(buf *bytes.Buffer, name, suffix string, labels []Label, extra string, extraValue, v float64) {
	buf.WriteString(name)
	buf.WriteString(suffix)
	if len(labels) > 0 || extra != "" {
		buf.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(l.Name)
			buf.WriteString(`="`)
			writeEscaped(buf, l.Value, true)
			buf.WriteByte('"')
		}
		if extra != "" {
			if len(labels) > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(extra)
			buf.WriteString(`="`)
			writeFloat(buf, extraValue)
			buf.WriteByte('"')
		}
		buf.WriteByte('}')
	}
	buf.WriteByte(' ')
	writeFloat(buf, v)
	buf.WriteByte('\n')
}

// writeEscaped writes s with backslash and newline escaped, and double quotes too in a label
// value (quote).
func writeEscaped(buf *bytes.Buffer, s string, quote bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			buf.WriteString(`\\`)
		case c == '\n':
			buf.WriteString(`\n`)
		case c == '"' && quote:
			buf.WriteString(`\"`)
		default:
			buf.WriteByte(c)
		}
	}
}

// writeFloat writes v as Prometheus' client does: +Inf, -Inf, NaN, otherwise the shortest
// 'g' form that reads back as v.
func writeFloat(buf *bytes.Buffer, v float64) {
	switch {
	case math.IsNaN(v):
		buf.WriteString("NaN")
	case math.IsInf(v, +1):
		buf.WriteString("+Inf")
	case math.IsInf(v, -1):
		buf.WriteString("-Inf")
	default:
		var b [32]byte
		buf.Write(strconv.AppendFloat(b[:0], v, 'g', -1, 64))
	}
}

// atomicFloat is a float64 updated atomically through its bits.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) load() float64   { return math.Float64frombits(f.bits.Load()) }
func (f *atomicFloat) store(v float64) { f.bits.Store(math.Float64bits(v)) }

func (f *atomicFloat) add(v float64) {
	for {
		old := f.bits.Load()
		if f.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}
