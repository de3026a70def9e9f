package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/engine/redisstore"
	"github.com/idvmock/idvmock/mockserver"
)

// storeMemory is --store's default: the state lives in this process.
const storeMemory = "memory"

// storeOpenTimeout bounds reaching a shared store at start.
const storeOpenTimeout = 5 * time.Second

// checkStore checks --store before anything starts: memory, or a Redis URL.
func checkStore(raw string) error {
	if raw == storeMemory {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return usagef("--store %q: use memory, or redis://[user:pass@]host:port/db (rediss:// for TLS)", redisstore.RedactURL(raw))
	}
	return nil
}

// sharedStore is a store that replicas share, opened by serve.
type sharedStore struct {
	store   *redisstore.Store
	journal mockserver.SharedJournal
}

// openStore opens --store when it is shared, makes the engine keep its state there and
// answer the admin layer it holds, and follows that layer until ctx ends. For memory it
// returns nil.
func openStore(ctx context.Context, f *serveFlags, eng *engine.Engine, logger *slog.Logger) (*sharedStore, error) {
	if *f.store == storeMemory {
		return nil, nil
	}
	redisstore.SetLogger(logger)
	octx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
	defer cancel()
	store, err := redisstore.Open(octx, *f.store, redisstore.Options{Prefix: *f.storePrefix, PasswordFile: *f.storePasswordFile})
	if err != nil {
		return nil, fmt.Errorf("cannot use the shared store: %w (start Redis, or check --store and --store-password-file)", err)
	}
	eng.SetStore(store)
	if err := eng.Sync(octx); err != nil {
		store.Close()
		return nil, fmt.Errorf("cannot read the admin API's users from the shared store: %w", err)
	}
	go eng.Follow(ctx, func(err error) {
		logger.Warn("the admin API's users could not be followed", slog.String("store", store.Name()), slog.Any("error", err))
	})
	return &sharedStore{store: store, journal: journalOf{store.Journal(*f.journalSize)}}, nil
}

// journalOf is a Redis journal as the mock server takes it.
type journalOf struct{ j *redisstore.Journal }

func (j journalOf) Append(ctx context.Context, entries [][]byte) error {
	return j.j.Append(ctx, entries)
}

func (j journalOf) Clear(ctx context.Context) (int, error) { return j.j.Clear(ctx) }

func (j journalOf) Len(ctx context.Context) (int, error) { return j.j.Len(ctx) }

func (j journalOf) Recent(ctx context.Context) ([]mockserver.JournalRecord, error) {
	records, err := j.j.Recent(ctx)
	return journalRecords(records), err
}

func (j journalOf) After(ctx context.Context, id uint64, limit int) ([]mockserver.JournalRecord, bool, error) {
	records, more, err := j.j.After(ctx, id, limit)
	return journalRecords(records), more, err
}

func (j journalOf) Get(ctx context.Context, id uint64) (mockserver.JournalRecord, bool, error) {
	r, found, err := j.j.Get(ctx, id)
	return mockserver.JournalRecord{ID: r.ID, Data: r.Data}, found, err
}

func journalRecords(records []redisstore.Record) []mockserver.JournalRecord {
	out := make([]mockserver.JournalRecord, len(records))
	for i, r := range records {
		out[i] = mockserver.JournalRecord{ID: r.ID, Data: r.Data}
	}
	return out
}
