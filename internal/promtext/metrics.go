package promtext

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// desc is a family's name, help and label names.
type desc struct {
	name, help string
	typ        Type
	labelNames []string // as given to the constructor: the order of WithLabelValues
	order      []int    // indices of labelNames in name order: the order they are written in
}

func newDesc(name, help string, typ Type, labelNames []string) *desc {
	if !validName(name, true) {
		panic(fmt.Sprintf("promtext: invalid metric name %q", name))
	}
	d := &desc{name: name, help: help, typ: typ, labelNames: slices.Clone(labelNames)}
	for i, l := range labelNames {
		if !validName(l, false) || strings.HasPrefix(l, "__") || (typ == HistogramType && l == "le") || slices.Index(labelNames, l) != i {
			panic(fmt.Sprintf("promtext: %s: invalid or repeated label name %q", name, l))
		}
		d.order = append(d.order, i)
	}
	slices.SortFunc(d.order, func(a, b int) int { return strings.Compare(labelNames[a], labelNames[b]) })
	return d
}

// validName tells whether s is a metric name (colons allowed) or a label name.
func validName(s string, metric bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' || metric && c == ':'
		if !ok {
			return false
		}
	}
	return true
}

// labels are values (in the order of labelNames) as labels in name order.
func (d *desc) labels(values []string) []Label {
	if len(values) == 0 {
		return nil
	}
	out := make([]Label, len(d.order))
	for i, j := range d.order {
		out[i] = Label{d.labelNames[j], values[j]}
	}
	return out
}

// Counter is a count that only goes up.
type Counter struct {
	n    atomic.Uint64
	desc *desc // nil for a vector's child
}

// NewCounter is a counter without labels, to register.
func NewCounter(name, help string) *Counter {
	return &Counter{desc: newDesc(name, help, CounterType, nil)}
}

// Inc adds 1.
func (c *Counter) Inc() { c.n.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.n.Add(n) }

// Value is the count now.
func (c *Counter) Value() float64 { return float64(c.n.Load()) }

// Collect gives the counter's family.
func (c *Counter) Collect(emit func(Family)) {
	emit(Family{Name: c.desc.name, Help: c.desc.help, Type: CounterType, Series: []Series{{Value: c.Value()}}})
}

// Histogram counts observations in buckets, and sums them.
type Histogram struct {
	bounds []float64
	counts []atomic.Uint64 // per bucket, not cumulative; the last one past every bound (+Inf)
	sum    atomicFloat
}

func newHistogram(bounds []float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe counts v in the first bucket whose bound is ≥ v, and adds it to the sum.
func (h *Histogram) Observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.add(v)
}

// Value is the histogram now. Its count is the sum of its buckets, so the two agree even
// while observations go on.
func (h *Histogram) Value() *HistogramValue {
	v := &HistogramValue{Bounds: h.bounds, Cumulative: make([]uint64, len(h.bounds)), Sum: h.sum.load()}
	for i := range h.counts {
		v.Count += h.counts[i].Load()
		if i < len(h.bounds) {
			v.Cumulative[i] = v.Count
		}
	}
	return v
}

// vec is a family of children by label values.
type vec[T any] struct {
	desc     *desc
	newChild func() *T

	mu       sync.RWMutex
	children map[string]*child[T] // by the label values, joined by 0xff
}

type child[T any] struct {
	labels []Label // in name order
	metric *T
}

func newVec[T any](d *desc, newChild func() *T) *vec[T] {
	if len(d.labelNames) == 0 {
		panic("promtext: " + d.name + ": a vector needs label names")
	}
	return &vec[T]{desc: d, newChild: newChild, children: map[string]*child[T]{}}
}

// with is the child of values, made on first use.
func (v *vec[T]) with(values []string) *T {
	if len(values) != len(v.desc.labelNames) {
		panic(fmt.Sprintf("promtext: %s: %d label values for %d labels", v.desc.name, len(values), len(v.desc.labelNames)))
	}
	var stack [128]byte
	key := stack[:0]
	for _, s := range values {
		key = append(key, s...)
		key = append(key, 0xff)
	}
	v.mu.RLock()
	c := v.children[string(key)] // no allocation: the conversion only looks up
	v.mu.RUnlock()
	if c != nil {
		return c.metric
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if c = v.children[string(key)]; c == nil {
		c = &child[T]{labels: v.desc.labels(values), metric: v.newChild()}
		v.children[string(key)] = c
	}
	return c.metric
}

// series lists the children, sorted by label values.
func (v *vec[T]) series(value func(*T, *Series)) []Series {
	v.mu.RLock()
	out := make([]Series, 0, len(v.children))
	for _, c := range v.children {
		s := Series{Labels: c.labels}
		value(c.metric, &s)
		out = append(out, s)
	}
	v.mu.RUnlock()
	slices.SortFunc(out, compareSeries)
	return out
}

// CounterVec is a family of counters with the same label names.
type CounterVec struct{ v *vec[Counter] }

// NewCounterVec is a counter family with labelNames, to register.
func NewCounterVec(name, help string, labelNames ...string) *CounterVec {
	return &CounterVec{newVec(newDesc(name, help, CounterType, labelNames), func() *Counter { return &Counter{} })}
}

// WithLabelValues is the counter of values (one per label name, in their order), made at
// its first use.
func (cv *CounterVec) WithLabelValues(values ...string) *Counter { return cv.v.with(values) }

// Series are the counters now, sorted by label values.
func (cv *CounterVec) Series() []Series {
	return cv.v.series(func(c *Counter, s *Series) { s.Value = c.Value() })
}

// Collect gives the family.
func (cv *CounterVec) Collect(emit func(Family)) {
	d := cv.v.desc
	emit(Family{Name: d.name, Help: d.help, Type: CounterType, Series: cv.Series()})
}

// HistogramVec is a family of histograms with the same label names and buckets.
type HistogramVec struct{ v *vec[Histogram] }

// NewHistogramVec is a histogram family with labelNames whose buckets are bounds (increasing;
// +Inf is always added), to register.
func NewHistogramVec(name, help string, bounds []float64, labelNames ...string) *HistogramVec {
	bounds = slices.Clone(bounds)
	for i := range bounds {
		if i > 0 && bounds[i] <= bounds[i-1] {
			panic(fmt.Sprintf("promtext: %s: bucket bounds not increasing: %v", name, bounds))
		}
	}
	if n := len(bounds); n > 0 && bounds[n-1] > 1e308 { // +Inf is added anyway
		bounds = bounds[:n-1]
	}
	return &HistogramVec{newVec(newDesc(name, help, HistogramType, labelNames), func() *Histogram { return newHistogram(bounds) })}
}

// WithLabelValues is the histogram of values, made at its first use.
func (hv *HistogramVec) WithLabelValues(values ...string) *Histogram { return hv.v.with(values) }

// Collect gives the family.
func (hv *HistogramVec) Collect(emit func(Family)) {
	d := hv.v.desc
	emit(Family{Name: d.name, Help: d.help, Type: HistogramType, Series: hv.v.series(func(h *Histogram, s *Series) { s.Histogram = h.Value() })})
}

// ValueFunc is a counter or a gauge without a state of its own: fn gives its value at each
// scrape.
type ValueFunc struct {
	desc   *desc
	labels []Label
	fn     func() float64
}

// NewGaugeFunc is a gauge whose value fn reads at each scrape; labels are constant ones.
func NewGaugeFunc(name, help string, fn func() float64, labels ...Label) *ValueFunc {
	return newValueFunc(name, help, GaugeType, fn, labels)
}

// NewCounterFunc is a counter whose value fn reads at each scrape (it must never go down).
func NewCounterFunc(name, help string, fn func() float64, labels ...Label) *ValueFunc {
	return newValueFunc(name, help, CounterType, fn, labels)
}

func newValueFunc(name, help string, typ Type, fn func() float64, labels []Label) *ValueFunc {
	names := make([]string, len(labels))
	values := make([]string, len(labels))
	for i, l := range labels {
		names[i], values[i] = l.Name, l.Value
	}
	d := newDesc(name, help, typ, names)
	return &ValueFunc{desc: d, labels: d.labels(values), fn: fn}
}

// Collect gives the family, reading its value.
func (f *ValueFunc) Collect(emit func(Family)) {
	emit(Family{Name: f.desc.name, Help: f.desc.help, Type: f.desc.typ, Series: []Series{{Labels: f.labels, Value: f.fn()}}})
}
