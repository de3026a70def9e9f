package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// Snapshot is everything but the tokens, read in one MULTI/EXEC.
func (s *Store) Snapshot(ctx context.Context) (engine.Snapshot, error) {
	var progress, hits, started, statuses *redis.MapStringStringCmd
	var order, inactive *redis.StringSliceCmd
	var sequence *redis.StringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		progress = p.HGetAll(ctx, s.key(keyProgress))
		hits = p.HGetAll(ctx, s.key(keyHits))
		order = p.ZRange(ctx, s.key(keyStartedOrder), 0, -1)
		started = p.HGetAll(ctx, s.key(keyStarted))
		statuses = p.HGetAll(ctx, s.key(keyStatus))
		inactive = p.ZRange(ctx, s.key(keyInactive), 0, -1)
		sequence = p.Get(ctx, s.key(keySequence))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) { // a sequence never counted is nil
		return engine.Snapshot{}, s.fail("Snapshot", err)
	}
	snap, err := readSnapshot(progress.Val(), hits.Val(), order.Val(), started.Val(), statuses.Val(), inactive.Val(), sequence.Val())
	return snap, s.fail("Snapshot", err)
}

func readSnapshot(progress, hits map[string]string, order []string, started, statuses map[string]string, inactive []string, sequence string) (engine.Snapshot, error) {
	snap := engine.Snapshot{Progress: map[engine.ProgressKey]engine.Progress{}, Hits: map[string]uint64{},
		Statuses: map[string]idvmock.ProfileStatus{}}
	for f, v := range progress {
		key, err := parseField(f)
		if err != nil {
			return engine.Snapshot{}, err
		}
		if snap.Progress[key], err = parseProgress(v); err != nil {
			return engine.Snapshot{}, err
		}
	}
	for rule, v := range hits {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return engine.Snapshot{}, fmt.Errorf("%w: hits of %q: %q", errCorrupt, rule, v)
		}
		snap.Hits[rule] = n
	}
	for _, sig := range order {
		v, ok := started[sig]
		if !ok {
			continue
		}
		ss, _, _, err := parseSession(v)
		if err != nil {
			return engine.Snapshot{}, err
		}
		snap.Started = append(snap.Started, ss)
	}
	for uid, status := range statuses {
		snap.Statuses[uid] = idvmock.ProfileStatus(status)
	}
	for _, uid := range inactive {
		snap.Statuses[uid] = idvmock.ProfileInactive
	}
	if sequence != "" {
		n, err := strconv.ParseUint(sequence, 10, 64)
		if err != nil {
			return engine.Snapshot{}, fmt.Errorf("%w: sequence %q", errCorrupt, sequence)
		}
		snap.Sequence = n
	}
	return snap, nil
}

// Restore replaces everything but the tokens with snap, in one MULTI/EXEC. What is kept of
// snap within the limits is what the memory store keeps of it: the store restores snap into
// one and writes what it holds then.
func (s *Store) Restore(ctx context.Context, snap engine.Snapshot) error {
	mem := engine.NewMemoryStore(s.currentLimits())
	if err := mem.Restore(ctx, snap); err != nil {
		return s.fail("Restore", err)
	}
	kept, err := mem.Snapshot(ctx)
	if err != nil {
		return s.fail("Restore", err)
	}
	w, err := s.writes(kept)
	if err != nil {
		return s.fail("Restore", err)
	}
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		groups := []string{s.key(keyProgress), s.key(keyProgressOrder), s.key(keyProgressByUser), s.key(keyStarted),
			s.key(keyStartedOrder), s.key(keyStartedByUser), s.key(keyStatus), s.key(keyStartedBytes), s.key(keyInactive), s.key(keyHits)}
		p.Unlink(ctx, groups...)
		for k, fields := range w.hashes {
			if len(fields) > 0 {
				p.HSet(ctx, s.key(k), fields...)
			}
		}
		for k, members := range w.orders {
			if len(members) > 0 {
				p.ZAdd(ctx, s.key(k), members...)
			}
		}
		p.Set(ctx, s.key(keyStartedBytes), w.bytes, 0)
		p.Set(ctx, s.key(keySequence), kept.Sequence, 0)
		for _, k := range append(groups, s.key(keySequence)) {
			p.PExpire(ctx, k, s.ttlDuration())
		}
		return nil
	})
	return s.fail("Restore", err)
}

// writes are what Restore writes: the hashes' fields and values, the orders' members.
type writes struct {
	hashes map[int][]any
	orders map[int][]redis.Z
	bytes  int
}

// writes lays out kept (a memory store's snapshot, within the limits) in the store's keys,
// with the orders the memory store's Restore gives: progress and deactivations sorted, the
// started sessions as listed.
func (s *Store) writes(kept engine.Snapshot) (writes, error) {
	w := writes{hashes: map[int][]any{}, orders: map[int][]redis.Z{}}
	byUser := map[string][]string{}
	keys := slices.SortedFunc(maps.Keys(kept.Progress), func(a, b engine.ProgressKey) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name), strings.Compare(a.UserID, b.UserID))
	})
	for _, key := range keys {
		f := progressField(key)
		w.hashes[keyProgress] = append(w.hashes[keyProgress], f, formatProgress(kept.Progress[key]))
		if key.Kind != engine.ProgressUser {
			w.orders[keyProgressOrder] = append(w.orders[keyProgressOrder], redis.Z{Score: float64(len(w.orders[keyProgressOrder]) + 1), Member: f})
		}
		byUser[key.UserID] = append(byUser[key.UserID], f)
	}
	for _, uid := range slices.Sorted(maps.Keys(byUser)) {
		w.hashes[keyProgressByUser] = append(w.hashes[keyProgressByUser], uid, encodeList(byUser[uid]))
	}
	sigs := map[string][]string{}
	for i, ss := range kept.Started {
		size := ss.Size()
		v, err := sessionValue(ss, size)
		if err != nil {
			return writes{}, err
		}
		sig := ss.Session.SignatureID
		w.hashes[keyStarted] = append(w.hashes[keyStarted], sig, v)
		w.orders[keyStartedOrder] = append(w.orders[keyStartedOrder], redis.Z{Score: float64(i + 1), Member: sig})
		sigs[ss.UserID] = append(sigs[ss.UserID], sig)
		w.bytes += size
	}
	for _, uid := range slices.Sorted(maps.Keys(sigs)) {
		w.hashes[keyStartedByUser] = append(w.hashes[keyStartedByUser], uid, encodeList(sigs[uid]))
	}
	for _, uid := range slices.Sorted(maps.Keys(kept.Statuses)) {
		if status := kept.Statuses[uid]; status == idvmock.ProfileInactive {
			w.orders[keyInactive] = append(w.orders[keyInactive], redis.Z{Score: float64(len(w.orders[keyInactive]) + 1), Member: uid})
		} else {
			w.hashes[keyStatus] = append(w.hashes[keyStatus], uid, string(status))
		}
	}
	for _, rule := range slices.Sorted(maps.Keys(kept.Hits)) {
		w.hashes[keyHits] = append(w.hashes[keyHits], rule, strconv.FormatUint(kept.Hits[rule], 10))
	}
	return w, nil
}
