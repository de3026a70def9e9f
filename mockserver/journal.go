package mockserver

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idvmock/idvmock/engine"
)

// Entry is one request the mock answered, or one attempt of a callback or webhook it
// delivered, as the journal keeps it. Values a client sent are clipped, so an entry's size is bounded.
type Entry struct {
	ID            uint64            `json:"id"`
	Time          time.Time         `json:"time"`
	Kind          string            `json:"kind"` // request, callback or webhook
	Host          string            `json:"host,omitempty"`
	Region        string            `json:"region,omitempty"`
	Method        string            `json:"method"`
	Path          string            `json:"path"`
	Query         string            `json:"query,omitempty"`
	Token         string            `json:"token,omitempty"` // masked
	Operation     string            `json:"operation,omitempty"`
	UserID        string            `json:"userId,omitempty"`
	SignatureID   string            `json:"signatureId,omitempty"`
	Source        string            `json:"source,omitempty"` // user, scenario or rule that answered
	Rule          string            `json:"rule,omitempty"`
	Scenario      string            `json:"scenario,omitempty"`
	State         string            `json:"state,omitempty"`
	Status        int               `json:"status"`
	Code          string            `json:"code,omitempty"`
	Fault         string            `json:"fault,omitempty"` // the faults that fired, comma-separated
	LatencyMillis float64           `json:"latencyMillis"`
	TransactionID string            `json:"transactionId,omitempty"`
	Unmatched     bool              `json:"unmatched,omitempty"` // no user or rule knew the userId
	NearMisses    []engine.NearMiss `json:"nearMisses,omitempty"`
	Attempt       int               `json:"attempt,omitempty"` // deliveries: 1 for the first try
	Error         string            `json:"error,omitempty"`   // deliveries: why the attempt failed, or why none was made
	Body          string            `json:"body,omitempty"`    // deliveries: the JSON body POSTed
	Headers       map[string]string `json:"headers,omitempty"` // webhooks: the aai-* headers sent (never the secret)
	Note          string            `json:"note,omitempty"`    // deliveries: what a delivery fault did
	// Requests: what was sent and answered, for the dashboard. Headers are clipped and their
	// secrets masked; bodies are clipped to maxEntryBody, the token API's secrets masked.
	RequestHeaders Headers `json:"requestHeaders,omitempty"`
	RequestBody    string  `json:"requestBody,omitempty"`
	ResponseBody   string  `json:"responseBody,omitempty"`
	// latest is a Get Latest SUCCESS kept as the engine's result: ResponseBody is made from
	// it when the entry is read (withBody).
	latest latestAnswer
}

// Headers are a request's headers as the journal keeps them: name and value pairs, one
// allocation per request where a map would take several. In JSON they are an object, names
// in order, as encoding/json writes a map.
type Headers []Header

// Header is one of Headers.
type Header struct{ Name, Value string }

// Get is the value of the header named name, as kept ("" when it is not).
func (h Headers) Get(name string) string {
	for _, f := range h {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// MarshalJSON writes h as an object.
func (h Headers) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(h))
	for _, f := range h {
		m[f.Name] = f.Value
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads an object, names in order.
func (h *Headers) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*h = (*h)[:0]
	for name, value := range m {
		*h = append(*h, Header{name, value})
	}
	slices.SortFunc(*h, func(a, b Header) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// withBody is e with its ResponseBody, made from latest when it is kept that way.
func (e Entry) withBody() Entry {
	if e.latest.data != nil {
		e.ResponseBody = clipTo(string(appendLatest(nil, e.Code, e.latest.message, e.TransactionID, e.latest.data)), maxEntryBody)
		e.latest = latestAnswer{}
	}
	return e
}

// summary is e without what the live stream leaves out: headers and bodies.
func (e Entry) summary() Entry {
	e.RequestHeaders, e.RequestBody, e.ResponseBody, e.Body, e.Headers = nil, "", "", "", nil
	return e
}

// Limits on what one entry keeps of a client's values.
const (
	maxEntryField = 256
	maxEntryQuery = 1024
	maxEntryError = 512
	maxEntryBody  = 8 << 10
	// maxEntryHeaders bounds the request headers an entry keeps.
	maxEntryHeaders = 32
)

// journal is a ring of the latest entries: memory stays bounded whatever the traffic. With
// a shared journal, entries go there instead, and the admin API reads them from there.
type journal struct {
	mu      sync.Mutex
	entries []Entry // ring; next is where the next entry goes
	next    int
	full    bool
	lastID  uint64
	shared  *sharedWriter // nil: the ring is the journal
}

func newJournal(size int) *journal { return &journal{entries: make([]Entry, size)} }

func (j *journal) add(e Entry) {
	e.Host = clipTo(e.Host, maxEntryField)
	e.Path = clipTo(e.Path, maxEntryField)
	e.Query = clipTo(e.Query, maxEntryQuery)
	e.UserID = clipTo(e.UserID, maxEntryField)
	e.SignatureID = clipTo(e.SignatureID, maxEntryField)
	e.RequestBody = clipTo(e.RequestBody, maxEntryBody)
	e.ResponseBody = clipTo(e.ResponseBody, maxEntryBody)
	e.Error = clipTo(e.Error, maxEntryError)
	e.Body = clipTo(e.Body, maxEntryBody)
	e.Note = clipTo(e.Note, maxEntryError)
	if j.shared != nil {
		e.ID = 0 // the shared journal numbers its entries
		j.shared.add(e.withBody())
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lastID++
	e.ID = j.lastID
	j.entries[j.next] = e
	j.next = (j.next + 1) % len(j.entries)
	j.full = j.full || j.next == 0
}

// filter selects journal entries; zero fields select everything.
type filter struct {
	UserID, Region, Code, Kind, Operation string
	Fault                                 string // a fault kind that fired
	Since                                 time.Time
	Unmatched                             bool // only requests whose userId nothing knew
}

func (f filter) keeps(e *Entry) bool {
	return (f.UserID == "" || e.UserID == f.UserID) &&
		(f.Region == "" || e.Region == f.Region) &&
		(f.Code == "" || e.Code == f.Code) &&
		(f.Kind == "" || e.Kind == f.Kind) &&
		(f.Operation == "" || e.Operation == f.Operation) &&
		(f.Fault == "" || slices.Contains(strings.Split(e.Fault, ","), f.Fault)) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(!f.Unmatched || e.Unmatched)
}

// query returns the matching entries, newest first, at most limit (0: all), from the shared
// journal when there is one.
func (j *journal) query(ctx context.Context, f filter, limit int) ([]Entry, error) {
	if j.shared == nil {
		return j.find(f, limit), nil
	}
	all, err := j.shared.read(ctx)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for i := range all {
		if f.keeps(&all[i]) {
			out = append(out, all[i])
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// byID returns the entry numbered id, from the shared journal when there is one.
func (j *journal) byID(ctx context.Context, id uint64) (Entry, bool, error) {
	if j.shared != nil {
		return j.shared.get(ctx, id)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := 0; i < j.len(); i++ {
		if j.entries[i].ID == id {
			return j.entries[i].withBody(), true, nil
		}
	}
	return Entry{}, false, nil
}

// after returns the summaries of the entries numbered above id that f keeps, oldest first:
// the newest limit of them, and how many more there were (with a shared journal, 1 when
// there were more). last is the number of the newest
// entry looked at (id when there is none), where the next call starts.
func (j *journal) after(ctx context.Context, id uint64, f filter, limit int) (out []Entry, skipped int, last uint64, err error) {
	last = id
	keep := func(e *Entry) {
		if e.ID <= id {
			return
		}
		last = max(last, e.ID)
		if !f.keeps(e) {
			return
		}
		if len(out) < limit {
			out = append(out, e.summary())
		} else {
			skipped++
		}
	}
	if j.shared != nil {
		// The newest entries after id, and, when there were more, one counted as skipped
		// (a shared journal does not count them).
		newest, more, err := j.shared.after(ctx, id, limit)
		if err != nil {
			return nil, 0, id, err
		}
		for i := range newest {
			keep(&newest[i])
		}
		if more {
			skipped++
		}
	} else {
		j.mu.Lock()
		if j.lastID > id { // nothing new: nothing to walk
			for i := 1; i <= j.len(); i++ {
				e := &j.entries[(j.next-i+len(j.entries))%len(j.entries)]
				if e.ID <= id {
					break
				}
				keep(e)
			}
		}
		j.mu.Unlock()
	}
	slices.Reverse(out)
	return out, skipped, last, nil
}

// newestID is the number of the newest entry of the journal in this process (0 when none);
// false with a shared journal, whose numbers never go back.
func (j *journal) newestID() (uint64, bool) {
	if j.shared != nil {
		return 0, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lastID, true
}

// tally counts the matching entries, in the shared journal when there is one.
func (j *journal) tally(ctx context.Context, f filter) (int, error) {
	if j.shared == nil {
		return j.count(f), nil
	}
	entries, err := j.query(ctx, f, 0)
	return len(entries), err
}

// empty clears the journal, the shared one when there is one, and says how many entries it
// held.
func (j *journal) empty(ctx context.Context) (int, error) {
	if j.shared == nil {
		return j.clear(), nil
	}
	j.shared.flush()
	return j.shared.to.Clear(ctx)
}

// find returns the matching entries, newest first, at most limit (0: all).
func (j *journal) find(f filter, limit int) []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Entry
	for i := 1; i <= j.len(); i++ {
		e := &j.entries[(j.next-i+len(j.entries))%len(j.entries)]
		if f.keeps(e) {
			out = append(out, e.withBody())
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out
}

func (j *journal) count(f filter) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for i := 0; i < j.len(); i++ {
		if f.keeps(&j.entries[i]) {
			n++
		}
	}
	return n
}

// clear empties the journal and returns how many entries it held.
func (j *journal) clear() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := j.len()
	clear(j.entries)
	j.next, j.full = 0, false
	return n
}

// size is how many entries the journal holds; the shared journal's, when there is one (-1
// when it does not answer).
func (j *journal) size() int {
	if j.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedWriteTimeout)
		defer cancel()
		n, err := j.shared.to.Len(ctx)
		if err != nil {
			return -1
		}
		return n
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.len()
}

func (j *journal) len() int {
	if j.full {
		return len(j.entries)
	}
	return j.next
}

func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
