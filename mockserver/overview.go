package mockserver

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// The dashboard's traffic chart: the vendor requests answered in each step of the last
// trafficSteps steps, by region and code. A goroutine samples the request counters every
// step, so a request pays nothing for the chart.
const (
	trafficStep  = 10 * time.Second
	trafficSteps = 90 // 15 minutes
)

// trafficKey is a series of the chart.
type trafficKey struct{ region, code string }

// traffic keeps the chart's steps. Its series are bounded: regions and codes are the
// metrics' bounded labels.
type traffic struct {
	mu    sync.Mutex
	steps [][]trafficCount // oldest first; the last one is the step in progress's start
	base  map[trafficKey]float64
	at    time.Time // when the step in progress started
}

type trafficCount struct {
	key   trafficKey
	count uint64
}

func newTraffic(now time.Time, totals map[trafficKey]float64) *traffic {
	return &traffic{base: totals, at: now}
}

// roll ends the step in progress with the counters' totals now.
func (t *traffic) roll(now time.Time, totals map[trafficKey]float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps = append(t.steps, deltas(t.base, totals))
	if len(t.steps) > trafficSteps-1 {
		t.steps = slices.Delete(t.steps, 0, len(t.steps)-(trafficSteps-1))
	}
	t.base, t.at = totals, now
}

// deltas is what each series counted between two totals.
func deltas(before, now map[trafficKey]float64) []trafficCount {
	var out []trafficCount
	for k, v := range now {
		if d := v - before[k]; d > 0 {
			out = append(out, trafficCount{k, uint64(d)})
		}
	}
	return out
}

// trafficSeries is one line of the chart, as the overview sends it.
type trafficSeries struct {
	Region string   `json:"region"`
	Code   string   `json:"code"`
	Counts []uint64 `json:"counts"`
}

// series returns the chart: trafficSteps counts a series, oldest first, the last one the
// step in progress (from totals, the counters now).
func (t *traffic) series(totals map[trafficKey]float64) []trafficSeries {
	t.mu.Lock()
	defer t.mu.Unlock()
	byKey := map[trafficKey][]uint64{}
	add := func(i int, counts []trafficCount) {
		for _, c := range counts {
			s := byKey[c.key]
			if s == nil {
				s = make([]uint64, trafficSteps)
				byKey[c.key] = s
			}
			s[i] += c.count
		}
	}
	first := trafficSteps - 1 - len(t.steps)
	for i, step := range t.steps {
		add(first+i, step)
	}
	add(trafficSteps-1, deltas(t.base, totals))
	out := make([]trafficSeries, 0, len(byKey))
	for k, counts := range byKey {
		out = append(out, trafficSeries{Region: k.region, Code: k.code, Counts: counts})
	}
	slices.SortFunc(out, func(a, b trafficSeries) int {
		return strings.Compare(a.Region+"\x00"+a.Code, b.Region+"\x00"+b.Code)
	})
	return out
}

// trafficTotals reads the request counters of the vendor's operations (and of unknown
// paths), summed by region and code.
func (m *metrics) trafficTotals() map[trafficKey]float64 {
	totals := map[trafficKey]float64{}
	for l, c := range *m.children.Load() {
		if m.vendorOperations[l.operation] || l.operation == labelUnknownOperation {
			totals[trafficKey{l.region, l.code}] += c.requests.Value()
		}
	}
	return totals
}

// faultsFired reads idvmock_faults_total: the faults fired, by rule and kind.
func (m *metrics) faultsFired() []faultFired {
	out := []faultFired{}
	for _, series := range m.faults.Series() { // sorted by fault, then rule
		ff := faultFired{Count: uint64(series.Value)}
		for _, l := range series.Labels {
			switch l.Name {
			case "rule":
				ff.Rule = l.Value
			case "fault":
				ff.Kind = l.Value
			}
		}
		out = append(out, ff)
	}
	return out
}

type faultFired struct {
	Rule  string `json:"rule"`
	Kind  string `json:"kind"`
	Count uint64 `json:"count"`
}

// sampleTraffic rolls the chart's steps until the server stops.
func (s *Server) sampleTraffic() {
	tick := time.NewTicker(trafficStep)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-tick.C:
			s.traffic.roll(now, s.metrics.trafficTotals())
		}
	}
}

type overviewBody struct {
	Version     string          `json:"version"`
	Auth        string          `json:"auth"`
	AdminToken  bool            `json:"adminToken"`
	Store       string          `json:"store"`
	StoreStatus string          `json:"storeStatus"`
	StoreError  string          `json:"storeError,omitempty"`
	StartedAt   time.Time       `json:"startedAt"`
	Now         time.Time       `json:"now"`
	StepSeconds int             `json:"stepSeconds"`
	Steps       int             `json:"steps"`
	Traffic     []trafficSeries `json:"traffic"`
	Journal     overviewJournal `json:"journal"`
	Users       int             `json:"users"`
	Scenarios   int             `json:"scenarios"`
	Rules       int             `json:"rules"`
	Reload      any             `json:"reload"`
}

type overviewJournal struct {
	Entries  int `json:"entries"`
	Capacity int `json:"capacity"`
}

// adminOverview is the dashboard's overview: what serves, and the traffic of the last
// minutes.
func (s *Server) adminOverview(c echo.Context) error {
	set := s.cfg.Engine.Set()
	body := overviewBody{
		Version: s.cfg.Version, Auth: string(s.cfg.Auth), AdminToken: s.cfg.AdminToken != "",
		Store: s.cfg.Engine.StoreName(), StoreStatus: "ok", StartedAt: s.started.UTC(), Now: time.Now().UTC(),
		StepSeconds: int(trafficStep / time.Second), Steps: trafficSteps,
		Traffic: s.traffic.series(s.metrics.trafficTotals()),
		Journal: overviewJournal{Entries: max(s.journal.size(), 0), Capacity: s.cfg.JournalSize},
		Users:   len(set.UserIDs()), Scenarios: len(set.ScenarioNames()), Rules: len(set.Rules()),
	}
	if s.cfg.Reload != nil {
		body.Reload = s.cfg.Reload()
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), healthTimeout)
	defer cancel()
	if err := s.cfg.Engine.PingStore(ctx); err != nil {
		body.StoreStatus, body.StoreError = "unavailable", err.Error()
	}
	return c.JSON(http.StatusOK, body)
}
