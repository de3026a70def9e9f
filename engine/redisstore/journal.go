package redisstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Journal is the mock's journal in Redis, shared by every process on the store: a stream
// (P journal) capped at its size, whose entries expire with Options.TTL after the last one.
type Journal struct {
	s    *Store
	key  string
	size int64
}

// Record is one entry of the journal: its id orders the entries, oldest first.
type Record struct {
	ID   uint64
	Data []byte
}

// Journal returns the store's journal, keeping at most size entries.
func (s *Store) Journal(size int) *Journal {
	return &Journal{s: s, key: s.prefix + "journal", size: int64(max(size, 1))}
}

// Append adds entries, oldest first, in one round trip; past the size the oldest go.
func (j *Journal) Append(ctx context.Context, entries [][]byte) error {
	_, err := j.s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range entries {
			p.XAdd(ctx, &redis.XAddArgs{Stream: j.key, MaxLen: j.size, Values: []any{"e", e}})
		}
		p.PExpire(ctx, j.key, j.s.ttlDuration())
		return nil
	})
	return j.s.fail("journal append", err)
}

// Recent returns the entries kept, newest first.
func (j *Journal) Recent(ctx context.Context) ([]Record, error) {
	msgs, err := j.s.client.XRevRange(ctx, j.key, "+", "-").Result()
	if err != nil {
		return nil, j.s.fail("journal read", err)
	}
	return records(msgs), nil
}

// After returns the newest entries after id (as Record.ID numbers them), newest first, at
// most limit, and whether there were more: one read of what is new, however large the
// journal.
func (j *Journal) After(ctx context.Context, id uint64, limit int) ([]Record, bool, error) {
	msgs, err := j.s.client.XRevRangeN(ctx, j.key, "+", "("+streamKey(id), int64(limit+1)).Result()
	if err != nil {
		return nil, false, j.s.fail("journal read", err)
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	return records(msgs), more, nil
}

// Get returns the entry numbered id, if the journal still keeps it.
func (j *Journal) Get(ctx context.Context, id uint64) (Record, bool, error) {
	key := streamKey(id)
	msgs, err := j.s.client.XRange(ctx, j.key, key, key).Result()
	if err != nil {
		return Record{}, false, j.s.fail("journal read", err)
	}
	if len(msgs) == 0 {
		return Record{}, false, nil
	}
	return records(msgs)[0], true, nil
}

func records(msgs []redis.XMessage) []Record {
	out := make([]Record, 0, len(msgs))
	for _, m := range msgs {
		data, _ := m.Values["e"].(string)
		out = append(out, Record{ID: streamID(m.ID), Data: []byte(data)})
	}
	return out
}

// Len says how many entries the journal keeps.
func (j *Journal) Len(ctx context.Context) (int, error) {
	n, err := j.s.client.XLen(ctx, j.key).Result()
	return int(n), j.s.fail("journal length", err)
}

// Clear forgets every entry and says how many there were.
func (j *Journal) Clear(ctx context.Context) (int, error) {
	var n *redis.IntCmd
	_, err := j.s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.XLen(ctx, j.key)
		p.Del(ctx, j.key)
		return nil
	})
	if err != nil {
		return 0, j.s.fail("journal clear", err)
	}
	return int(n.Val()), nil
}

// streamID turns a stream entry's id ("<milliseconds>-<sequence>") into a number that orders
// the entries as the ids do.
func streamID(id string) uint64 {
	ms, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(ms, 10, 64)
	s, _ := strconv.ParseUint(seq, 10, 64)
	return m<<20 | min(s, 1<<20-1)
}

// streamKey is the stream entry id that streamID numbered id.
func streamKey(id uint64) string {
	return strconv.FormatUint(id>>20, 10) + "-" + strconv.FormatUint(id&(1<<20-1), 10)
}
