package mockserver

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/internal/promtext"
	"github.com/idvmock/idvmock/scenarios"
)

// The label values metrics use when a value is not one they know: every label is bounded,
// whatever a client sends.
const (
	labelUnknownOperation = "unknown" // a path or method openapi.yaml does not declare (404, 405)
	labelOther            = "other"
)

// The code label of answers that carry no envelope code.
const (
	codeGone = "gone" // the client left during a latency fault: nothing was written
	// gateway_502, gateway_503 and gateway_504 are gatewayCode's; the connection faults
	// (hang, reset, empty) are their kinds.
)

// maxFaultRules bounds the rule label of idvmock_faults_total: past this many distinct rule
// names (scenario files and the admin API name them), a rule is counted as "other".
const maxFaultRules = 1000

// Delivery outcomes, the outcome label of idvmock_deliveries_total.
const (
	deliverySent    = "sent"     // an attempt the receiver took
	deliveryFailed  = "failed"   // an attempt that failed (the final one too)
	deliveryGivenUp = "given_up" // a delivery whose last attempt failed
	deliveryDropped = "dropped"  // not sent: the pending deliveries were at their bound
	deliveryNotSent = "not_sent" // not sent: INCOMPLETE, or the server was shutting down
)

// metricsContentType is what GET /__admin/metrics answers: Prometheus' text format 0.0.4.
const metricsContentType = promtext.ContentType

// durationBuckets are the bounds of idvmock_request_duration_seconds, from 100 µs (a cached
// answer) to 10 s (latency faults).
var durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics are a server's Prometheus metrics (internal/promtext), on a registry of its own:
// several servers may run in one process. Requests are counted by track, where every request
// ends; deliveries by the deliveries; reloads by whoever reloads (Server.ObserveReload).
type metrics struct {
	registry    *promtext.Registry
	requests    *promtext.CounterVec
	durations   *promtext.HistogramVec
	faults      *promtext.CounterVec
	deliveries  map[[2]string]*promtext.Counter // by kind and outcome
	storeErrors *promtext.Counter
	reloads     *promtext.CounterVec

	// Shared by every server (metricLabels), never changed.
	operations       map[string]bool // openapi.yaml's operationIds
	vendorOperations map[string]bool // those of the vendor's API, neither admin nor H5
	regions          map[string]bool // the region names
	codes            map[string]bool // the code label's values but other

	// children holds the counter and histogram of each (operation, region, code) seen, so a
	// request does not hash its labels into the vectors: a map replaced whole (copy on write)
	// when a new one is seen, read without a lock or an allocation. Its keys are bounded labels.
	children   atomic.Pointer[map[requestLabels]*requestChildren]
	childrenMu sync.Mutex // held to add one

	rulesMu sync.Mutex
	rules   map[string]bool // the rule names counted under their own name
}

type requestLabels struct{ operation, region, code string }

type requestChildren struct {
	requests *promtext.Counter
	duration *promtext.Histogram
}

// metricLabels are the bounded values of the metrics' labels, derived from openapi.yaml and
// the mock's own codes once per process (fromSpec) and shared, read-only, by every server.
type metricLabels struct {
	operations       map[string]bool
	vendorOperations map[string]bool
	regions          map[string]bool
	codes            map[string]bool
}

// newMetricLabels reads the operations of doc and the regions.
func newMetricLabels(doc *openapi3.T, regions *idvmock.Regions) *metricLabels {
	l := &metricLabels{operations: map[string]bool{}, vendorOperations: map[string]bool{}, regions: map[string]bool{}, codes: map[string]bool{}}
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			l.operations[op.OperationID] = true
			if !slices.Contains(op.Tags, idvmock.AdminTag) && !slices.Contains(op.Tags, idvmock.H5Tag) {
				l.vendorOperations[op.OperationID] = true
			}
		}
	}
	for _, name := range regions.Names() {
		l.regions[name] = true
	}
	for _, code := range []string{
		idvmock.CodeSuccess, idvmock.CodeParameterError, idvmock.CodeError, idvmock.CodeIAMFailed, idvmock.CodeClientError,
		idvmock.CodeAccountDisabled, idvmock.CodeServiceBusy, idvmock.CodeSignatureNotExist,
		"ok", codeGone, string(scenarios.FaultHang), string(scenarios.FaultReset), string(scenarios.FaultEmpty),
		gatewayCode(502), gatewayCode(503), gatewayCode(504),
	} {
		l.codes[code] = true
	}
	for _, status := range []int{200, 302, 303, 400, 401, 403, 404, 405, 409, 413, 500, 503, 507} { // admin and H5 answers
		l.codes[strconv.Itoa(status)] = true
	}
	return l
}

// newMetrics registers a server's metrics. labels bound the operation, region and code
// labels; j is the journal whose size is reported.
func newMetrics(labels *metricLabels, j *journal, version string) *metrics {
	m := &metrics{
		registry: promtext.NewRegistry(),
		requests: promtext.NewCounterVec("idvmock_requests_total",
			"Requests the mock answered, by operationId (unknown: no operation of openapi.yaml), region and code (the envelope's code; for a fault that sends none, gateway_5xx, hang, reset or empty; gone: the client left during a latency fault; the HTTP status or ok for admin and H5 answers without one).",
			"operation", "region", "code"),
		durations: promtext.NewHistogramVec("idvmock_request_duration_seconds",
			"How long the mock took to answer a request, latency faults included, by operationId.",
			durationBuckets, "operation"),
		faults: promtext.NewCounterVec("idvmock_faults_total",
			fmt.Sprintf("Faults that fired, on requests and on deliveries, by the rule that drew them (other past %d distinct rules) and fault type.", maxFaultRules),
			"rule", "fault"),
		storeErrors: promtext.NewCounter("idvmock_store_errors_total",
			"Requests answered HTTP 503 because the state store did not answer."),
		reloads: promtext.NewCounterVec("idvmock_reloads_total",
			"Reloads of the scenario files (--watch), by result: applied, or refused (the previous set keeps answering).",
			"result"),
		operations: labels.operations, vendorOperations: labels.vendorOperations,
		regions: labels.regions,
		codes:   labels.codes,
		rules:   map[string]bool{},
	}

	m.children.Store(&map[requestLabels]*requestChildren{})
	deliveries := promtext.NewCounterVec("idvmock_deliveries_total",
		"Callbacks and webhooks: attempts sent (taken by the receiver) and failed, deliveries given up after their last attempt, dropped past --callback-max-pending, and not sent (INCOMPLETE, or the mock shutting down).",
		"kind", "outcome")
	m.deliveries = map[[2]string]*promtext.Counter{}
	for _, kind := range []string{kindCallback, kindWebhook} {
		for _, outcome := range []string{deliverySent, deliveryFailed, deliveryGivenUp, deliveryDropped, deliveryNotSent} {
			m.deliveries[[2]string{kind, outcome}] = deliveries.WithLabelValues(kind, outcome)
		}
	}
	m.reloads.WithLabelValues("applied")
	m.reloads.WithLabelValues("refused")

	journalEntries := promtext.NewGaugeFunc("idvmock_journal_entries",
		"Entries the request journal holds now (the shared journal's with --store redis; -1 while it does not answer).",
		func() float64 { return float64(j.size()) })
	capacity := float64(len(j.entries))
	journalCapacity := promtext.NewGaugeFunc("idvmock_journal_capacity",
		"Entries the request journal keeps at most (--journal-size); past it the oldest go first.",
		func() float64 { return capacity })
	buildInfo := promtext.NewGaugeFunc("idvmock_build_info", "1, labelled with the version of idvmock serving.",
		func() float64 { return 1 }, promtext.Label{Name: "version", Value: version})

	goCollector, processCollector := runtimeCollectors()
	m.registry.MustRegister(m.requests, m.durations, m.faults, deliveries, m.storeErrors, m.reloads,
		journalEntries, journalCapacity, buildInfo, goCollector, processCollector)
	return m
}

// runtimeCollectors are the Go runtime's and the process's collectors (go_*, process_*), made
// once per process and registered with every server's registry: they read the process, not a
// server, and collect safely from several registries at once.
var runtimeCollectors = sync.OnceValues(func() (promtext.Collector, promtext.Collector) {
	return promtext.NewGoCollector(), promtext.NewProcessCollector()
})

// gatewayCode is the code label of a gateway fault of status.
func gatewayCode(status int) string { return "gateway_" + strconv.Itoa(status) }

// request counts one answered request: x is its record, status the HTTP status written, took
// its duration and failed the error that made it a 500, if any.
func (m *metrics) request(x *exchange, status int, took time.Duration, failed error) {
	c := m.childrenOf(requestLabels{m.operationLabel(x.Operation), m.regionLabel(x.Region.Name), m.codeLabel(x, status)})
	c.requests.Inc()
	c.duration.Observe(took.Seconds())
	for _, kind := range x.Trace.Faults {
		m.fault(x.Trace.Rule, kind)
	}
	if failed != nil && errors.Is(failed, engine.ErrStore) {
		m.storeErrors.Inc()
	}
}

// childrenOf is the counter and histogram of l, made on its first request.
func (m *metrics) childrenOf(l requestLabels) *requestChildren {
	if c := (*m.children.Load())[l]; c != nil {
		return c
	}
	m.childrenMu.Lock()
	defer m.childrenMu.Unlock()
	old := *m.children.Load()
	if c := old[l]; c != nil {
		return c
	}
	c := &requestChildren{
		requests: m.requests.WithLabelValues(l.operation, l.region, l.code),
		duration: m.durations.WithLabelValues(l.operation),
	}
	next := maps.Clone(old)
	next[l] = c
	m.children.Store(&next)
	return c
}

func (m *metrics) operationLabel(op string) string {
	if m.operations[op] {
		return op
	}
	return labelUnknownOperation
}

func (m *metrics) regionLabel(name string) string {
	if m.regions[name] {
		return name
	}
	return labelOther
}

// codeLabel is what a request's answer is counted as: what a fault did instead of answering,
// or the envelope's code, or (admin and H5 answers without one) the HTTP status.
func (m *metrics) codeLabel(x *exchange, status int) string {
	code := x.Outcome
	if code == "" {
		code = x.Code
	}
	if code == "" {
		code = strconv.Itoa(status)
	}
	if m.codes[code] {
		return code
	}
	return labelOther
}

// fault counts a fault of kind that rule drew.
func (m *metrics) fault(rule string, kind scenarios.FaultKind) {
	fault := string(kind)
	if !isFaultKind(kind) {
		fault = labelOther
	}
	m.faults.WithLabelValues(m.ruleLabel(rule), fault).Inc()
}

func isFaultKind(kind scenarios.FaultKind) bool {
	for _, k := range scenarios.FaultKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// ruleLabel is rule's name, until maxFaultRules names have been counted; other afterwards.
func (m *metrics) ruleLabel(rule string) string {
	m.rulesMu.Lock()
	defer m.rulesMu.Unlock()
	switch {
	case m.rules[rule]:
	case len(m.rules) < maxFaultRules:
		m.rules[rule] = true
	default:
		return labelOther
	}
	return rule
}

// delivery counts an outcome of a delivery of kind (callback or webhook).
func (m *metrics) delivery(kind, outcome string) {
	if c := m.deliveries[[2]string{kind, outcome}]; c != nil {
		c.Inc()
	}
}

// ObserveReload counts a reload of the scenario files: applied when err is nil, refused
// otherwise. Whoever reloads the files calls it (idvmock serve: files.Watcher.OnReload).
func (s *Server) ObserveReload(err error) {
	result := "applied"
	if err != nil {
		result = "refused"
	}
	s.metrics.reloads.WithLabelValues(result).Inc()
}

// adminMetrics answers the metrics in Prometheus' text format. A collector that fails does
// not hide the others: what was gathered is answered, and the failure logged.
func (s *Server) adminMetrics(c echo.Context) error {
	var buf bytes.Buffer
	if err := s.metrics.registry.WriteText(&buf); err != nil {
		s.log.Warn("some metrics could not be gathered; answering the others", slog.Any("error", err))
	}
	return c.Blob(http.StatusOK, metricsContentType, buf.Bytes())
}
