package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idvmock/idvmock/engine"
)

// The admin API's layer (engine.Declarations), shared by every process on the store:
//
//	P decl:users      hash: userId → its declaration (a scenarios.UserSpec as JSON)
//	P decl:sizes      hash: userId → the size of its declaration as it was sent
//	P decl:bytes      string: the sizes in all
//	P decl:removed    set: users of scenario files deleted through the admin API
//	P decl:version    string: the layer's version, moved on by every change; a layer made
//	                  afresh starts at Redis's clock in microseconds, so that a layer lost
//	                  (a restart without persistence, keys expired) and made again has
//	                  versions past the old one's
//
// Every change publishes "<version>|<userId>" on the channel P decl:changes ("<version>|" for
// a change of the whole layer), which Watch follows. The layer is bounded by the admin
// limits (MaxAdminUsers, MaxAdminBytes, checked by the script that keeps a declaration) and
// its keys expire Options.TTL after the last change, together.
const (
	declUsers   = "decl:users"
	declSizes   = "decl:sizes"
	declBytes   = "decl:bytes"
	declRemoved = "decl:removed"
	declVersion = "decl:version"
	declChanges = "decl:changes"
)

// declKeys are the layer's keys, in the order the scripts take them.
func (s *Store) declKeys() []string {
	return []string{s.prefix + declUsers, s.prefix + declSizes, s.prefix + declBytes, s.prefix + declRemoved, s.prefix + declVersion}
}

const declPrelude = `
local USERS, SIZES, BYTES, REMOVED, VERSION = unpack(KEYS, 1, 5)
local TTL, CHANNEL = ARGV[1], ARGV[2]
local function changed(id)
  if redis.call('EXISTS', VERSION) == 0 then
    -- a layer made afresh (a new Redis, a restart without persistence, keys expired) starts
    -- at Redis's clock in microseconds, past any version of a layer this Redis had before:
    -- replicas that followed that one must not take the new one for an older one
    local t = redis.call('TIME')
    redis.call('SET', VERSION, string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2])))
  end
  local v = redis.call('INCR', VERSION)
  for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, TTL) end
  redis.call('PUBLISH', CHANNEL, string.format('%d|%s', v, id))
  return v
end
`

// putDeclaration keeps a declaration within the limits: {version}, or {-1} past
// MaxAdminUsers, or {-2, bytes} past MaxAdminBytes. ARGV: TTL, channel, id, spec, size,
// max users, max bytes.
var putDeclaration = newDeclScript(declPrelude + `
local id, spec, size = ARGV[3], ARGV[4], tonumber(ARGV[5])
local old = redis.call('HGET', SIZES, id)
if not old and redis.call('HLEN', USERS) >= tonumber(ARGV[6]) then return {-1} end
local total = tonumber(redis.call('GET', BYTES) or '0') - tonumber(old or '0') + size
if total > tonumber(ARGV[7]) then return {-2, total} end
redis.call('HSET', USERS, id, spec)
redis.call('HSET', SIZES, id, size)
redis.call('SET', BYTES, total)
redis.call('SREM', REMOVED, id)
return {changed(id)}
`)

// deleteDeclaration forgets a declaration, and hides the user when ARGV[4] is "1". ARGV:
// TTL, channel, id, hide.
var deleteDeclaration = newDeclScript(declPrelude + `
local id = ARGV[3]
local old = redis.call('HGET', SIZES, id)
if old then
  redis.call('HDEL', USERS, id)
  redis.call('HDEL', SIZES, id)
  redis.call('DECRBY', BYTES, old)
end
if ARGV[4] == '1' then redis.call('SADD', REMOVED, id) end
return changed(id)
`)

// replaceDeclarations replaces the layer: ARGV after TTL and channel are the count of users,
// then id, spec, size for each, then the removed ids.
var replaceDeclarations = newDeclScript(declPrelude + `
redis.call('DEL', USERS, SIZES, BYTES, REMOVED)
local n, total, i = tonumber(ARGV[3]), 0, 4
for _ = 1, n do
  redis.call('HSET', USERS, ARGV[i], ARGV[i + 1])
  redis.call('HSET', SIZES, ARGV[i], ARGV[i + 2])
  total = total + tonumber(ARGV[i + 2])
  i = i + 3
end
redis.call('SET', BYTES, total)
for j = i, #ARGV do redis.call('SADD', REMOVED, ARGV[j]) end
return changed('')
`)

// Declarations reads the layer in one transaction.
func (s *Store) Declarations(ctx context.Context) (engine.Declarations, error) {
	k := s.declKeys()
	var users, sizes *redis.MapStringStringCmd
	var removed *redis.StringSliceCmd
	var version *redis.StringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		users, sizes, removed, version = p.HGetAll(ctx, k[0]), p.HGetAll(ctx, k[1]), p.SMembers(ctx, k[3]), p.Get(ctx, k[4])
		return nil
	})
	if err != nil && err != redis.Nil {
		return engine.Declarations{}, s.fail("declarations", err)
	}
	d := engine.Declarations{Users: map[string]json.RawMessage{}, Sizes: map[string]int{}, Removed: map[string]bool{}}
	d.Version, _ = strconv.ParseUint(version.Val(), 10, 64)
	for id, spec := range users.Val() {
		d.Users[id] = json.RawMessage(spec)
	}
	for id, size := range sizes.Val() {
		d.Sizes[id], _ = strconv.Atoi(size)
	}
	for _, id := range removed.Val() {
		d.Removed[id] = true
	}
	return d, nil
}

// PutDeclaration keeps userID's declaration within the admin limits, atomically for every
// process sharing the store.
func (s *Store) PutDeclaration(ctx context.Context, userID string, spec json.RawMessage, size int) (uint64, error) {
	l := s.currentLimits()
	res, err := putDeclaration.Run(ctx, s.client, s.declKeys(), s.ttl, s.prefix+declChanges, userID, string(spec), size,
		l.MaxAdminUsers, l.MaxAdminBytes).Int64Slice()
	switch {
	case err != nil:
		return 0, s.fail("put declaration", err)
	case res[0] == -1:
		return 0, fmt.Errorf("%w: %d users (--max-admin-users); delete some (DELETE /__admin/users/{userId}) or raise the limit", engine.ErrAdminFull, l.MaxAdminUsers)
	case res[0] == -2:
		return 0, fmt.Errorf("%w: %d bytes of declarations (--max-admin-bytes); delete some or raise the limit", engine.ErrAdminFull, l.MaxAdminBytes)
	}
	return uint64(res[0]), nil
}

// DeleteDeclaration forgets userID's declaration, and hides the user when hide.
func (s *Store) DeleteDeclaration(ctx context.Context, userID string, hide bool) (uint64, error) {
	flag := "0"
	if hide {
		flag = "1"
	}
	v, err := deleteDeclaration.Run(ctx, s.client, s.declKeys(), s.ttl, s.prefix+declChanges, userID, flag).Uint64()
	return v, s.fail("delete declaration", err)
}

// ReplaceDeclarations replaces the whole layer.
func (s *Store) ReplaceDeclarations(ctx context.Context, d engine.Declarations) (uint64, error) {
	args := []any{s.ttl, s.prefix + declChanges, len(d.Users)}
	for id, spec := range d.Users {
		args = append(args, id, string(spec), d.Sizes[id])
	}
	for id, hidden := range d.Removed {
		if hidden {
			args = append(args, id)
		}
	}
	v, err := replaceDeclarations.Run(ctx, s.client, s.declKeys(), args...).Uint64()
	return v, s.fail("replace declarations", err)
}

// watchRetry is how long Watch waits before subscribing again after an error.
const watchRetry = 200 * time.Millisecond

// Watch follows the layer's changes until ctx ends. Each (re)subscription is reported as a
// change of the whole layer, since changes made while the connection was lost were missed.
// A subscription that hears nothing for watchPing is pinged; one that does not answer the
// ping within watchPing more (a connection gone silent, without a reset) is made again.
func (s *Store) Watch(ctx context.Context, changed func(engine.DeclarationChange)) {
	for {
		s.watch(ctx, changed)
		select {
		case <-ctx.Done():
			return
		case <-time.After(watchRetry):
		}
	}
}

// watch follows one subscription until ctx ends or it goes silent.
func (s *Store) watch(ctx context.Context, changed func(engine.DeclarationChange)) {
	ps := s.client.Subscribe(ctx, s.prefix+declChanges)
	defer ps.Close()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.watchPing)
		if ctx.Err() != nil {
			return
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				changed(engine.DeclarationChange{})
			}
		case *redis.Message:
			version, id, _ := strings.Cut(m.Payload, "|")
			v, _ := strconv.ParseUint(version, 10, 64)
			changed(engine.DeclarationChange{Version: v, UserID: id})
		}
		var ne net.Error
		switch {
		case err == nil:
			pinged = false
		case errors.As(err, &ne) && ne.Timeout():
			if pinged || ps.Ping(ctx) != nil {
				return // silent: subscribe again, on a new connection
			}
			pinged = true
		default: // go-redis connects again at the next receive
			select {
			case <-ctx.Done():
				return
			case <-time.After(watchRetry):
			}
		}
	}
}

// watchPing is how long Watch waits for a message before it pings Redis on the subscription
// (Store.watchPing, which tests shorten).
const watchPing = 30 * time.Second
