package mockserver

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"
)

// SharedJournal keeps the journal where every replica sharing a store sees it (a capped Redis
// stream): QA reads one journal of all the traffic, whichever replica answered. Entries go
// to it in the background, in batches, so a request costs no round trip for its entry; what
// the store cannot take while it is down is lost from the journal (the requests are still
// answered, and counted in the metrics).
type SharedJournal interface {
	// Append adds entries (JSON, oldest first), keeping at most the journal's size.
	Append(ctx context.Context, entries [][]byte) error
	// Recent returns the entries kept, newest first, each with an id that orders them.
	Recent(ctx context.Context) ([]JournalRecord, error)
	// Clear forgets every entry and says how many there were.
	Clear(ctx context.Context) (int, error)
	// Len says how many entries it keeps.
	Len(ctx context.Context) (int, error)
	// After returns the newest entries numbered above id, newest first, at most limit, and
	// whether there were more: the live journal reads only what is new.
	After(ctx context.Context, id uint64, limit int) ([]JournalRecord, bool, error)
	// Get returns the entry numbered id, if it is kept.
	Get(ctx context.Context, id uint64) (JournalRecord, bool, error)
}

// JournalRecord is an entry as a SharedJournal keeps it.
type JournalRecord struct {
	ID   uint64
	Data []byte // the Entry as JSON
}

// Bounds of the entries a replica holds for a shared journal before they are written.
const (
	sharedFlushEvery   = 5 * time.Millisecond
	sharedWriteTimeout = 2 * time.Second
)

// sharedWriter sends a replica's entries to a SharedJournal in batches.
type sharedWriter struct {
	to      SharedJournal
	log     *slog.Logger
	max     int // entries held at most: past it the oldest are dropped
	mu      sync.Mutex
	pending [][]byte
	dropped int
	kick    chan struct{}
	done    chan struct{}
	stop    chan struct{}
	once    sync.Once
}

func newSharedWriter(to SharedJournal, size int, log *slog.Logger) *sharedWriter {
	w := &sharedWriter{to: to, log: log, max: size, kick: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{})}
	go w.run()
	return w
}

// add queues an entry.
func (w *sharedWriter) add(e Entry) {
	data, err := json.Marshal(e)
	if err != nil {
		return
	}
	w.mu.Lock()
	if len(w.pending) >= w.max {
		w.pending = w.pending[1:]
		w.dropped++
	}
	w.pending = append(w.pending, data)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *sharedWriter) run() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			w.flush()
			return
		case <-w.kick:
		}
		time.Sleep(sharedFlushEvery) // gather a batch
		w.flush()
	}
}

// flush writes what is pending; it is called by the writer's goroutine, and by readers that
// want their own entries in what they read.
func (w *sharedWriter) flush() {
	w.mu.Lock()
	batch, dropped := w.pending, w.dropped
	w.pending, w.dropped = nil, 0
	w.mu.Unlock()
	if dropped > 0 {
		w.log.Warn("journal entries dropped: the shared journal did not take them in time", slog.Int("entries", dropped))
	}
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedWriteTimeout)
	defer cancel()
	if err := w.to.Append(ctx, batch); err != nil {
		w.log.Warn("journal entries lost: the shared journal did not answer", slog.Int("entries", len(batch)), slog.Any("error", err))
	}
}

// close writes what is pending and stops the writer.
func (w *sharedWriter) close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

// after returns the newest entries numbered above id, newest first, at most limit, and
// whether there were more, with this replica's pending ones written first.
func (w *sharedWriter) after(ctx context.Context, id uint64, limit int) ([]Entry, bool, error) {
	w.flush()
	records, more, err := w.to.After(ctx, id, limit)
	if err != nil {
		return nil, false, err
	}
	return decodeEntries(records), more, nil
}

// get returns the entry numbered id, if it is kept.
func (w *sharedWriter) get(ctx context.Context, id uint64) (Entry, bool, error) {
	w.flush()
	r, found, err := w.to.Get(ctx, id)
	if err != nil || !found {
		return Entry{}, false, err
	}
	entries := decodeEntries([]JournalRecord{r})
	if len(entries) == 0 {
		return Entry{}, false, nil
	}
	return entries[0], true, nil
}

// read returns the shared journal's entries, newest first, with this replica's pending ones
// written first.
func (w *sharedWriter) read(ctx context.Context) ([]Entry, error) {
	w.flush()
	records, err := w.to.Recent(ctx)
	if err != nil {
		return nil, err
	}
	return decodeEntries(records), nil
}

// decodeEntries reads a shared journal's records, skipping any that is not an entry of this
// version.
func decodeEntries(records []JournalRecord) []Entry {
	out := make([]Entry, 0, len(records))
	for _, r := range records {
		var e Entry
		if json.Unmarshal(r.Data, &e) != nil {
			continue
		}
		e.ID = r.ID
		out = append(out, e)
	}
	return out
}
