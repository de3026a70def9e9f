package mockserver

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// listJournal is a SharedJournal in this process: a capped list, as a Redis stream is.
type listJournal struct {
	mu      sync.Mutex
	size    int
	next    uint64
	records []JournalRecord // oldest first
	down    bool
}

func (j *listJournal) Append(_ context.Context, entries [][]byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.down {
		return errStoreDown
	}
	for _, e := range entries {
		j.next++
		j.records = append(j.records, JournalRecord{ID: j.next, Data: e})
	}
	if over := len(j.records) - j.size; over > 0 {
		j.records = j.records[over:]
	}
	return nil
}

func (j *listJournal) Recent(context.Context) ([]JournalRecord, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.down {
		return nil, errStoreDown
	}
	out := slices.Clone(j.records)
	slices.Reverse(out)
	return out, nil
}

func (j *listJournal) After(ctx context.Context, id uint64, limit int) ([]JournalRecord, bool, error) {
	all, err := j.Recent(ctx)
	var out []JournalRecord
	for _, r := range all {
		if r.ID > id {
			out = append(out, r)
		}
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, err
}

func (j *listJournal) Get(ctx context.Context, id uint64) (JournalRecord, bool, error) {
	all, err := j.Recent(ctx)
	for _, r := range all {
		if r.ID == id {
			return r, true, err
		}
	}
	return JournalRecord{}, false, err
}

func (j *listJournal) Len(context.Context) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.records), nil
}

func (j *listJournal) Clear(context.Context) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := len(j.records)
	j.records = nil
	return n, nil
}

// Replicas with one shared journal: the requests answered by either are counted and listed
// by both, newest first, within the journal's size; clearing through one clears it for all;
// a journal that does not answer is the store's failure, a 503.
func TestSharedJournalShowsEveryReplicasRequests(t *testing.T) {
	shared := &listJournal{size: 50}
	a := newTestServer(t, Config{SharedJournal: shared, JournalSize: 50, AdminToken: "s3cret"})
	b := newTestServer(t, Config{SharedJournal: shared, JournalSize: 50, AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	for i := range 30 {
		s := []*Server{a, b}[i%2]
		serve(t, s, latestCall("userId=user_active", vendorHosts[i%len(vendorHosts)]))
	}
	for _, s := range []*Server{a, b} { // each replica writes its entries within milliseconds
		waitFor(t, func() bool {
			return admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests/count?kind=request", ""), http.StatusOK)["count"] == float64(30)
		}, "the count on one replica to be the 30 requests sent to both")
	}
	for range 40 {
		serve(t, a, latestCall("userId=nobody", "sg-api.advance.ai"))
	}
	waitFor(t, func() bool {
		return admin(t, b, sc, adminCall(http.MethodGet, "/__admin/requests/count?userId=nobody", ""), http.StatusOK)["count"] == float64(40)
	}, "a's 40 requests in b's journal")
	body := admin(t, b, sc, adminCall(http.MethodGet, "/__admin/requests?limit=100", ""), http.StatusOK)
	raw, _ := json.Marshal(body["requests"])
	var entries []Entry
	json.Unmarshal(raw, &entries)
	if len(entries) != 50 || entries[0].UserID != "nobody" || !slices.IsSortedFunc(entries, func(x, y Entry) int { return int(y.ID) - int(x.ID) }) {
		t.Errorf("%d entries (want the journal's 50), newest %q, ordered newest first: %v", len(entries), entries[0].UserID,
			slices.IsSortedFunc(entries, func(x, y Entry) int { return int(y.ID) - int(x.ID) }))
	}
	scrape(t, b, sc, "s3cret").is(t, 50, "idvmock_journal_entries") // the shared journal's size, not b's own ring
	admin(t, a, sc, adminCall(http.MethodDelete, "/__admin/requests", ""), http.StatusOK)
	if body := admin(t, b, sc, adminCall(http.MethodGet, "/__admin/requests/count", ""), http.StatusOK); body["count"] != float64(0) {
		t.Errorf("after a clear through a, b counts %v", body["count"])
	}
	shared.mu.Lock()
	shared.down = true
	shared.mu.Unlock()
	serve(t, a, latestCall("userId=user_active", "sg-api.advance.ai")) // answered; its entry is lost
	c := adminCall(http.MethodGet, "/__admin/requests", "")
	if rec := serve(t, b, c); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("reading a journal that does not answer: HTTP %d %s", rec.Code, rec.Body)
	} else {
		sc.check(t, c, rec)
	}
}

// A Get Latest answer reaches the shared journal as it was sent: the body made from the
// engine's result for the journal is the one written on the wire.
func TestSharedJournalKeepsTheAnswerSent(t *testing.T) {
	shared := &listJournal{size: 10}
	s := newTestServer(t, Config{SharedJournal: shared, JournalSize: 10})
	sc := newSpecChecker(t)
	sent := serve(t, s, latestCall("userId=user_active", "sg-api.advance.ai")).Body.String()
	var e Entry
	waitFor(t, func() bool {
		list := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests", ""), http.StatusOK)["requests"].([]any)
		if len(list) == 0 {
			return false
		}
		raw, _ := json.Marshal(list[0])
		return json.Unmarshal(raw, &e) == nil
	}, "the request in the shared journal")
	if e.ResponseBody != sent || !strings.Contains(sent, `"profileStatus":"ACTIVE"`) {
		t.Errorf("shared journal keeps %q, the wire had %q", e.ResponseBody, sent)
	}
}
