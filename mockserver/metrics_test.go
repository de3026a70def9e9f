package mockserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/webhook"
)

// families is a scrape, parsed: the metric families by name.
type families map[string]*dto.MetricFamily

// scrape asks s for its metrics with the admin token (when token is not empty), checks the
// answer against openapi.yaml, and parses it with Prometheus' own text parser.
func scrape(t *testing.T, s *Server, sc *specChecker, token string) families {
	t.Helper()
	c := call{target: "/__admin/metrics", header: map[string]string{}}
	if token != "" {
		c.header["Authorization"] = "Bearer " + token
	}
	rec := serve(t, s, c)
	sc.check(t, c, rec)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /__admin/metrics: HTTP %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q, want Prometheus' text format 0.0.4", ct)
	}
	return parseMetrics(t, rec.Body.Bytes())
}

// parseMetrics parses a scrape with Prometheus' own text parser.
func parseMetrics(t *testing.T, text []byte) families {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("the metrics do not parse: %v\n%s", err, text)
	}
	return fams
}

// gathered reads s's registry directly, without a request (which would count itself): for
// waiting on what background work counts.
func gathered(t *testing.T, s *Server) families {
	t.Helper()
	var buf bytes.Buffer
	if err := s.metrics.registry.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	return parseMetrics(t, buf.Bytes())
}

// value is the value of the series of name with exactly labels: a counter's or a gauge's, a
// histogram's count. ok is false when there is no such series.
func (fams families) value(name string, labels ...string) (v float64, ok bool) {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if !maps.Equal(got, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// is checks that the series of name with labels has value want (0 also when it is absent).
func (fams families) is(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	if got, _ := fams.value(name, labels...); got != want {
		t.Errorf("%s%v = %g, want %g", name, labels, got, want)
	}
}

// sum adds the values of every series of name.
func (fams families) sum(name string) float64 {
	total := 0.0
	for _, m := range fams[name].GetMetric() {
		total += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
	}
	return total
}

// labelValues lists the values label takes in the series of name.
func (fams families) labelValues(name, label string) []string {
	var out []string
	for _, m := range fams[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && !slices.Contains(out, l.GetValue()) {
				out = append(out, l.GetValue())
			}
		}
	}
	slices.Sort(out)
	return out
}

// The counters equal what was sent: each answer once, under its operation, region and code,
// with its faults, and the callback it caused; a scrape sees the scrapes before it.
func TestMetricsCountWhatWasAnswered(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret", Engine: newEngine(t, 0, "qa.yaml")})
	t.Cleanup(s.Close)
	sc := newSpecChecker(t)
	receiver := &countingReceiver{}
	cbServer := httptest.NewServer(receiver)
	defer cbServer.Close()

	codeOf := func(c call) string { return decode(t, serve(t, s, c)).Code }
	for range 7 {
		if code := codeOf(latestCall("userId=user_active", "sg-api.advance.ai")); code != idvmock.CodeSuccess {
			t.Fatal(code)
		}
	}
	for i := range 3 {
		if code := codeOf(latestCall(fmt.Sprintf("userId=nobody_%d", i), "ph-api.advance.ai")); code != idvmock.CodeParameterError {
			t.Fatal(code)
		}
	}
	busy := latestCall("userId=user_active", "")
	busy.header["X-Fault"] = "service_busy"
	for range 2 {
		if code := codeOf(busy); code != idvmock.CodeServiceBusy {
			t.Fatal(code)
		}
	}
	sig := startSession(t, s, "u1", cbServer.URL+"/cb")
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", `{"overallResult": "PASS"}`), 200)
	waitFor(t, func() bool {
		v, _ := gathered(t, s).value("idvmock_deliveries_total", "kind", "callback", "outcome", "sent")
		return v == 1
	}, "the callback counted as sent")

	m := scrape(t, s, sc, "s3cret")
	m.is(t, 7, "idvmock_requests_total", "operation", idvmock.OpGetLatest, "region", "sg", "code", "SUCCESS")
	m.is(t, 3, "idvmock_requests_total", "operation", idvmock.OpGetLatest, "region", "ph", "code", "PARAMETER_ERROR")
	m.is(t, 2, "idvmock_requests_total", "operation", idvmock.OpGetLatest, "region", "global", "code", "SERVICE_BUSY")
	m.is(t, 1, "idvmock_requests_total", "operation", idvmock.OpGenerateURL, "region", "ph", "code", "SUCCESS")
	m.is(t, 1, "idvmock_requests_total", "operation", "adminCompleteSession", "region", "global", "code", "200")
	if got := m.sum("idvmock_requests_total"); got != 14 {
		t.Errorf("%g requests counted in all, want 14 (this scrape counts once answered): %v", got, m["idvmock_requests_total"])
	}
	m.is(t, 12, "idvmock_request_duration_seconds", "operation", idvmock.OpGetLatest)
	if got := m.sum("idvmock_request_duration_seconds"); got != 14 {
		t.Errorf("%g durations observed, want 14", got)
	}
	m.is(t, 2, "idvmock_faults_total", "rule", "fault-service_busy", "fault", "service_busy")
	if got := m.sum("idvmock_faults_total"); got != 2 {
		t.Errorf("%g faults counted, want 2", got)
	}
	m.is(t, 1, "idvmock_deliveries_total", "kind", "callback", "outcome", "sent")
	for _, outcome := range []string{"failed", "given_up", "dropped", "not_sent"} {
		m.is(t, 0, "idvmock_deliveries_total", "kind", "callback", "outcome", outcome)
	}
	m.is(t, 0, "idvmock_store_errors_total")
	m.is(t, 14, "idvmock_journal_entries") // 13 requests and 1 callback attempt; admin calls are not journaled
	m.is(t, DefaultJournalSize, "idvmock_journal_capacity")
	m.is(t, 1, "idvmock_build_info", "version", "dev")
	m.is(t, 0, "idvmock_reloads_total", "result", "applied")
	if _, ok := m.value("go_goroutines"); !ok {
		t.Error("the Go collector's go_goroutines is missing")
	}
	if n := receiver.n.Load(); n != 1 {
		t.Errorf("the receiver got %d callbacks, want 1", n)
	}

	again := scrape(t, s, sc, "s3cret")
	again.is(t, 1, "idvmock_requests_total", "operation", "adminMetrics", "region", "global", "code", "200")
	again.is(t, 7, "idvmock_requests_total", "operation", idvmock.OpGetLatest, "region", "sg", "code", "SUCCESS")
}

// Answers that carry no envelope are counted by what the fault did instead, and every fault
// that fired by its rule: a gateway's page by its status, a broken connection by its kind, a
// client that left during a latency fault as gone.
func TestMetricsCountFaultsThatSendNoEnvelope(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0, "qa.yaml")})
	base := liveServer(t, s)
	for _, kind := range []string{"gateway", "reset", "empty", "hang", "truncated"} {
		faultRequest(t, base, kind) // the answers themselves are TestFaultsOnTheWire's
	}
	gone := latestCall("userId=user_active", "")
	gone.header["X-Fault"] = "latency"
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client has left before the latency fault is waited
	s.ServeHTTP(httptest.NewRecorder(), gone.request().WithContext(ctx))

	want := map[string]string{ // code label by fault
		"gateway": "gateway_503", "reset": "reset", "empty": "empty", "hang": "hang", "truncated": "SUCCESS", "latency": "gone",
	}
	waitFor(t, func() bool { return gathered(t, s).sum("idvmock_requests_total") == float64(len(want)) },
		"every fault's request counted (a broken connection's once its handler returns)")
	m := scrape(t, s, newSpecChecker(t), "")
	for fault, code := range want {
		m.is(t, 1, "idvmock_requests_total", "operation", idvmock.OpGetLatest, "region", "global", "code", code)
		m.is(t, 1, "idvmock_faults_total", "rule", "fault-"+fault, "fault", fault)
	}
}

// A store that fails is counted: the 503 it answers and the store error.
func TestMetricsCountStoreErrors(t *testing.T) {
	e := newEngine(t, 0)
	e.SetStore(unreachableStore{engine.NewMemoryStore(engine.Limits{})})
	s := newTestServer(t, Config{Engine: e})
	rec := serve(t, s, latestCall("userId=user_active", "sg-api.advance.ai"))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("HTTP %d with a failing store, want 503", rec.Code)
	}
	m := scrape(t, s, newSpecChecker(t), "")
	m.is(t, 1, "idvmock_store_errors_total")
	m.is(t, 1, "idvmock_requests_total", "operation", idvmock.OpGetLatest, "region", "sg", "code", "ERROR")
}

// unreachableStore fails to step a declared user, as a store that cannot be reached.
type unreachableStore struct{ *engine.MemoryStore }

func (unreachableStore) StepUser(context.Context, engine.ProgressKey, engine.Machine, time.Time) (engine.Progress, []engine.StartedSession, idvmock.ProfileStatus, error) {
	return engine.Progress{}, nil, "", errors.New("connection refused")
}

// The metrics sit behind the admin token like the rest of /__admin/.
func TestMetricsNeedTheAdminToken(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	for _, auth := range []string{"", "Bearer wrong"} {
		c := call{target: "/__admin/metrics", header: map[string]string{"Authorization": auth}}
		rec := serve(t, s, c)
		sc.check(t, c, rec)
		if rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), "idvmock_") {
			t.Errorf("Authorization %q: HTTP %d, want 401 without metrics: %s", auth, rec.Code, rec.Body)
		}
	}
	m := scrape(t, s, sc, "s3cret")
	m.is(t, 2, "idvmock_requests_total", "operation", "adminMetrics", "region", "global", "code", "401")

	open := newTestServer(t, Config{})
	scrape(t, open, sc, "") // no admin token set: open, as the rest of /__admin/
}

// A client cannot create series: 1,000 requests with distinct userIds, paths, hosts, methods
// and scenario headers add a handful of series, whose label values are none of its own.
func TestMetricsLabelsStayBoundedUnderAHostileClient(t *testing.T) {
	s := newTestServer(t, Config{})
	for i := range 1000 {
		var c call
		switch i % 5 {
		case 0:
			c = latestCall(fmt.Sprintf("userId=hostile_%d", i), fmt.Sprintf("hostile-%d.example", i))
		case 1:
			c = call{target: fmt.Sprintf("/hostile/%d", i), host: fmt.Sprintf("hostile%d-api.advance.ai", i)}
		case 2:
			c = latestCall("userId=user_active", "")
			c.header[engine.ScenarioHeader] = fmt.Sprintf("hostile_%d", i)
		case 3:
			c = latestCall("userId=user_active", "")
			c.method = fmt.Sprintf("HOSTILE%d", i)
		case 4:
			c = call{target: fmt.Sprintf("/__admin/users/hostile_%d", i)}
		}
		serve(t, s, c)
	}
	m := scrape(t, s, newSpecChecker(t), "")
	if n := len(m["idvmock_requests_total"].GetMetric()); n > 10 {
		t.Errorf("%d request series after 1,000 hostile requests, want a handful: %v", n, m["idvmock_requests_total"])
	}
	if n := len(m["idvmock_request_duration_seconds"].GetMetric()); n > 5 {
		t.Errorf("%d duration series, want a handful", n)
	}
	for _, label := range []string{"operation", "region", "code"} {
		for _, v := range m.labelValues("idvmock_requests_total", label) {
			if strings.Contains(strings.ToLower(v), "hostile") {
				t.Errorf("label %s takes the client's value %q", label, v)
			}
		}
	}
	if got := m.labelValues("idvmock_requests_total", "operation"); !slices.Equal(got, []string{"adminGetUser", idvmock.OpGetLatest, "unknown"}) {
		t.Errorf("operations %v", got)
	}
	if got := m.labelValues("idvmock_requests_total", "region"); !slices.Equal(got, []string{"global"}) {
		t.Errorf("regions %v: an unknown host is global", got)
	}
}

// Rule names are the operator's, but their number is bounded: past maxFaultRules, a rule is
// counted as other. A code or fault type the metrics do not know is other too.
func TestMetricsBoundRulesCodesAndFaults(t *testing.T) {
	s := newTestServer(t, Config{})
	for i := range maxFaultRules + 50 {
		s.metrics.fault(fmt.Sprintf("rule-%d", i), "reset")
	}
	s.metrics.fault("rule-0", "a-fault-of-the-future")
	s.metrics.request(&exchange{Operation: "notAnOperation", Code: "A_CODE_OF_THE_FUTURE"}, 200, time.Millisecond, nil)
	m := gathered(t, s)
	if n := len(m.labelValues("idvmock_faults_total", "rule")); n != maxFaultRules+1 {
		t.Errorf("%d rule label values, want %d and other", n, maxFaultRules)
	}
	m.is(t, 50, "idvmock_faults_total", "rule", "other", "fault", "reset")
	m.is(t, 1, "idvmock_faults_total", "rule", "rule-0", "fault", "reset")
	m.is(t, 1, "idvmock_faults_total", "rule", "rule-0", "fault", "other")
	m.is(t, 1, "idvmock_requests_total", "operation", "unknown", "region", "other", "code", "other")
}

// Deliveries are counted by outcome: every attempt sent or failed, a delivery given up after
// its last attempt, one dropped past the pending bound, one not sent for INCOMPLETE; the
// delivery faults that fired are counted with the request faults.
func TestMetricsCountDeliveryOutcomes(t *testing.T) {
	t.Run("callback", func(t *testing.T) {
		failing := httptest.NewServer(&countingReceiver{status: http.StatusInternalServerError})
		defer failing.Close()
		blocking := newBlockingReceiver()
		blocked := httptest.NewServer(blocking)
		defer blocked.Close()
		s := newCallbackServer(t, CallbackPolicy{Attempts: 2, Backoff: 5 * time.Millisecond, MaxPending: 2})
		count := func(outcome string) float64 {
			v, _ := gathered(t, s).value("idvmock_deliveries_total", "kind", "callback", "outcome", outcome)
			return v
		}
		sendCallback(s, failing.URL, "sig-fail", "COMPLETED", "u1")
		waitFor(t, func() bool { return count("given_up") == 1 }, "the failing callback given up")
		sendCallback(s, blocked.URL, "sig-1", "COMPLETED", "u1")
		sendCallback(s, blocked.URL, "sig-2", "COMPLETED", "u1")
		sendCallback(s, blocked.URL, "sig-3", "COMPLETED", "u1") // past the bound of 2 pending
		close(blocking.release)
		waitFor(t, func() bool { return count("sent") == 2 }, "the two pending callbacks sent")
		m := scrape(t, s, newSpecChecker(t), "")
		m.is(t, 2, "idvmock_deliveries_total", "kind", "callback", "outcome", "failed")
		m.is(t, 1, "idvmock_deliveries_total", "kind", "callback", "outcome", "given_up")
		m.is(t, 1, "idvmock_deliveries_total", "kind", "callback", "outcome", "dropped")
		m.is(t, 2, "idvmock_deliveries_total", "kind", "callback", "outcome", "sent")
		m.is(t, 0, "idvmock_deliveries_total", "kind", "webhook", "outcome", "sent")
	})
	t.Run("webhook", func(t *testing.T) {
		hook := &webhookReceiver{status: func(n int) int {
			if n == 1 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}}
		s := webhookServer(t, newReceiver(t, hook), webhook.SHA256, MinWebhookRetryScale, nil)
		count := func(outcome string) float64 {
			v, _ := gathered(t, s).value("idvmock_deliveries_total", "kind", "webhook", "outcome", outcome)
			return v
		}
		completeSession(t, s, startWebhookSession(t, s, "dup-1"), `{"overallResult":"PASS"}`) // rule twice: sent twice
		completeSession(t, s, startWebhookSession(t, s, "gave-up"), `{"overallResult":"INCOMPLETE","errorCode":"TIMEOUT"}`)
		waitFor(t, func() bool { return count("sent") == 2 }, "both deliveries of the duplicate sent")
		m := scrape(t, s, newSpecChecker(t), "")
		m.is(t, 1, "idvmock_deliveries_total", "kind", "webhook", "outcome", "failed")
		m.is(t, 0, "idvmock_deliveries_total", "kind", "webhook", "outcome", "given_up")
		m.is(t, 1, "idvmock_deliveries_total", "kind", "webhook", "outcome", "not_sent")
		m.is(t, 1, "idvmock_faults_total", "rule", "twice", "fault", "duplicate_delivery")
	})
}

// Counting a request whose labels were seen before allocates nothing: its counter and
// histogram are looked up without boxing or hashing into the vectors.
func TestMetricsCountARequestWithoutAllocating(t *testing.T) {
	s := newTestServer(t, Config{})
	x := &exchange{Operation: idvmock.OpGetLatest, Code: idvmock.CodeSuccess}
	s.metrics.request(x, 200, time.Millisecond, nil)
	if n := testing.AllocsPerRun(100, func() { s.metrics.request(x, 200, time.Millisecond, nil) }); n != 0 {
		t.Errorf("%g allocations per request counted, want 0", n)
	}
	if v, _ := gathered(t, s).value("idvmock_requests_total", "operation", idvmock.OpGetLatest, "region", "other", "code", "SUCCESS"); v != 102 {
		t.Errorf("counted %g, want 102", v)
	}
}
