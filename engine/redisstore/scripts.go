package redisstore

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Every script gets the same KEYS (Store.keys, in the order of the key* constants of
// keys.go) and the TTL in milliseconds as ARGV[1]; its own arguments follow. A script reads
// and writes only under the store's prefix: the token keys it derives from ARGV are the
// only keys it does not get in KEYS, so the store wants one Redis, not a cluster.
const prelude = `
local P, PO, PK, SS, SO, US, SU, SB, IN, HITS, SEQ, TOK = unpack(KEYS, 1, 12)
local TTL = ARGV[1]

-- touch refreshes the TTL of the keys given (a missing key stays missing).
local function touch(...)
  for _, k in ipairs({...}) do redis.call('PEXPIRE', k, TTL) end
end

-- A list is kept in one hash field as "<length>:<bytes>" for each element, so that any
-- bytes fit.
local function lp_decode(s)
  local out, i = {}, 1
  if not s then return out end
  while i <= #s do
    local n, j = string.match(s, '^(%d+):()', i)
    n = tonumber(n)
    out[#out + 1] = string.sub(s, j, j + n - 1)
    i = j + n
  end
  return out
end

local function lp_encode(t)
  local parts = {}
  for i, v in ipairs(t) do parts[i] = #v .. ':' .. v end
  return table.concat(parts)
end

local function lp_remove(t, v)
  for i = 1, #t do
    if t[i] == v then table.remove(t, i) return true end
  end
  return false
end

-- next_score is one past the newest score of an order: members are ranked as they came.
local function next_score(z)
  local last = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
  if #last == 0 then return 1 end
  return tonumber(last[2]) + 1
end

-- field_uid is the userId of a progress field ("<len>|<kind><len>|<name><userId>").
local function field_uid(f)
  local a, p = string.match(f, '^(%d+)|()')
  p = p + tonumber(a)
  local b, q = string.match(f, '^(%d+)|()', p)
  return string.sub(f, q + tonumber(b))
end

-- A started session is kept as "<size>|<len>|<userId><JSON>".
local function session_head(v)
  local size, n, p = string.match(v, '^(%d+)|(%d+)|()')
  return tonumber(size), string.sub(v, p, p + tonumber(n) - 1)
end

local function drop_session(sig)
  redis.call('ZREM', SO, sig)
  local v = redis.call('HGET', SS, sig)
  if not v then return end
  local size, uid = session_head(v)
  redis.call('HDEL', SS, sig)
  redis.call('DECRBY', SB, size)
  local list = lp_decode(redis.call('HGET', US, uid))
  lp_remove(list, sig)
  if #list == 0 then
    redis.call('HDEL', US, uid)
    redis.call('HDEL', SU, uid) -- its status goes with its last session
  else
    redis.call('HSET', US, uid, lp_encode(list))
  end
end

-- drop_progress forgets one progress field; it reports whether there was one.
local function drop_progress(f)
  local had = redis.call('HDEL', P, f) == 1
  redis.call('ZREM', PO, f)
  local uid = field_uid(f)
  local list = lp_decode(redis.call('HGET', PK, uid))
  if lp_remove(list, f) then
    if #list == 0 then redis.call('HDEL', PK, uid) else redis.call('HSET', PK, uid, lp_encode(list)) end
  end
  return had
end

-- new_slot makes room for a new progress field: a pattern's pushes out the oldest past
-- max_progress; every field is listed under its userId.
local function new_slot(f, uid, pattern, max_progress)
  if pattern then
    while redis.call('ZCARD', PO) >= max_progress do
      drop_progress(redis.call('ZRANGE', PO, 0, 0)[1])
    end
    redis.call('ZADD', PO, next_score(PO), f)
  end
  local list = lp_decode(redis.call('HGET', PK, uid))
  list[#list + 1] = f
  redis.call('HSET', PK, uid, lp_encode(list))
end

local function status_of(uid)
  if redis.call('ZSCORE', IN, uid) then return 'INACTIVE' end
  return redis.call('HGET', SU, uid) or ''
end

-- sessions_of appends uid's started sessions, oldest first, to out.
local function sessions_of(uid, out)
  local sigs = lp_decode(redis.call('HGET', US, uid))
  for i = 1, #sigs, 500 do
    local vals = redis.call('HMGET', SS, unpack(sigs, i, math.min(i + 499, #sigs)))
    for _, v in ipairs(vals) do
      if v then out[#out + 1] = v end
    end
  end
  return out
end
`

// stepScript is engine.Machine.Advance: it counts one call of a progress field and returns
// where it stands ("<state>|<calls>|<since s>|<since ns>|<hash>", since empty when zero),
// then, for StepUser, the user's status and started sessions.
//
// ARGV: 2 field, 3 userId, 4 "1" for a pattern's, 5 MaxProgress, 6 "1" with the sessions,
// 7 the machine's hash, 8 "1" when it loops, 9 and 10 now (Unix seconds and nanoseconds,
// empty when zero), 11 the number of states, then for each state its calls and duration
// (seconds and nanoseconds).
var stepScript = newScript(prelude + `
local f, uid, pattern, max_progress, with_sessions = ARGV[2], ARGV[3], ARGV[4] == '1', tonumber(ARGV[5]), ARGV[6] == '1'
local mhash, loop, now_s, now_ns, n = ARGV[7], ARGV[8] == '1', ARGV[9], ARGV[10], tonumber(ARGV[11])
if n < 1 then return redis.error_reply('a machine without states') end

-- elapsed: now - (s, ns) >= (d_s, d_ns), exactly, in whole seconds and nanoseconds.
local function elapsed(s, ns, d_s, d_ns)
  local ds = tonumber(now_s) - tonumber(s)
  local dn = tonumber(now_ns) - tonumber(ns)
  if dn < 0 then ds, dn = ds - 1, dn + 1000000000 end
  return ds > d_s or (ds == d_s and dn >= d_ns)
end

local state, calls, since_s, since_ns, hash = 0, 0, '', '', ''
local cur = redis.call('HGET', P, f)
if cur then
  local a, b, c, d, e = string.match(cur, '^(%-?%d+)|(%-?%d+)|(%-?%d*)|(%d*)|(.*)$')
  state, calls, since_s, since_ns, hash = tonumber(a), tonumber(b), c, d, e
else
  new_slot(f, uid, pattern, max_progress)
end
if hash ~= mhash or state >= n or state < 0 then
  state, calls, since_s, since_ns, hash = 0, 0, '', '', mhash
end
while true do
  local base = 12 + 3 * state
  local after_calls, d_s, d_ns = tonumber(ARGV[base]), tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local due = (after_calls > 0 and calls >= after_calls) or
    ((d_s > 0 or d_ns > 0) and since_s ~= '' and now_s ~= '' and elapsed(since_s, since_ns, d_s, d_ns))
  if not due or (state == n - 1 and not loop) then break end
  state, calls, since_s, since_ns = (state + 1) % n, 0, '', ''
end
if since_s == '' then since_s, since_ns = now_s, now_ns end
calls = calls + 1
local v = string.format('%d|%d|%s|%s|%s', state, calls, since_s, since_ns, hash)
redis.call('HSET', P, f, v)
touch(P, PO, PK)
if not with_sessions then return {v} end
return sessions_of(uid, {v, status_of(uid)})
`)

// putScript writes a progress field if it still holds what the caller read (UpdateProgress's
// compare and set): 1 when written, 0 when it changed meanwhile.
//
// ARGV: 2 field, 3 userId, 4 "1" for a pattern's, 5 MaxProgress, 6 "1" when it was found,
// 7 what was read, 8 what to write.
var putScript = newScript(prelude + `
local f, uid, pattern, max_progress = ARGV[2], ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
local cur = redis.call('HGET', P, f)
if ARGV[6] == '1' then
  if cur ~= ARGV[7] then return 0 end
elseif cur then
  return 0
end
if not cur then new_slot(f, uid, pattern, max_progress) end
redis.call('HSET', P, f, ARGV[8])
touch(P, PO, PK)
return 1
`)

// forgetProgressScript forgets a progress field, and for a user's the user's deactivation.
//
// ARGV: 2 field, 3 userId, 4 "1" for a user's.
var forgetProgressScript = newScript(prelude + `
drop_progress(ARGV[2])
if ARGV[4] == '1' then redis.call('ZREM', IN, ARGV[3]) end
return 1
`)

// counterScript counts one in a hash field (ARGV 2 "hits" and ARGV 3 the rule) or in the
// sequence (ARGV 2 "sequence") and returns the count after.
var counterScript = newScript(prelude + `
if ARGV[2] == 'hits' then
  local n = redis.call('HINCRBY', HITS, ARGV[3], 1)
  touch(HITS)
  return n
end
local n = redis.call('INCR', SEQ)
touch(SEQ)
return n
`)

// addSessionScript keeps a started session unless its signatureId is taken (0), pushing
// out the oldest past the limits: the user's first, then everyone's (never the one added).
//
// ARGV: 2 signatureId, 3 userId, 4 size, 5 value, 6 MaxSessionsPerUser,
// 7 MaxStartedSessions, 8 MaxStartedBytes.
var addSessionScript = newScript(prelude + `
local sig, uid, size, value = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local per_user, max_sessions, max_bytes = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
if redis.call('HEXISTS', SS, sig) == 1 then return 0 end
redis.call('HSET', SS, sig, value)
redis.call('ZADD', SO, next_score(SO), sig)
redis.call('INCRBY', SB, size)
local list = lp_decode(redis.call('HGET', US, uid))
list[#list + 1] = sig
redis.call('HSET', US, uid, lp_encode(list))
while #list > per_user do
  drop_session(list[1])
  list = lp_decode(redis.call('HGET', US, uid))
end
while true do
  local n = redis.call('ZCARD', SO)
  if n <= 1 or (n <= max_sessions and tonumber(redis.call('GET', SB) or '0') <= max_bytes) then break end
  drop_session(redis.call('ZRANGE', SO, 0, 0)[1])
end
touch(SS, SO, US, SU, SB)
return 1
`)

// userSessionsScript returns a user's status and started sessions, oldest first.
//
// ARGV: 2 userId.
var userSessionsScript = newScript(prelude + `
return sessions_of(ARGV[2], {status_of(ARGV[2])})
`)

// updateSessionScript writes a started session if it still holds what the caller read
// (UpdateSession's compare and set), and the status its update gave its user: 1 when
// written, 0 when it changed meanwhile, -1 when it is gone.
//
// ARGV: 2 signatureId, 3 what was read, 4 what to write, 5 the status ("" for none).
var updateSessionScript = newScript(prelude + `
local cur = redis.call('HGET', SS, ARGV[2])
if not cur then return -1 end
if cur ~= ARGV[3] then return 0 end
redis.call('HSET', SS, ARGV[2], ARGV[4])
if ARGV[5] ~= '' then
  local _, uid = session_head(cur)
  redis.call('HSET', SU, uid, ARGV[5])
end
touch(SS, SO, US, SU, SB)
return 1
`)

// deactivateScript makes a user INACTIVE, pushing out the oldest deactivation past
// MaxProgress.
//
// ARGV: 2 userId, 3 MaxProgress.
var deactivateScript = newScript(prelude + `
if redis.call('ZSCORE', IN, ARGV[2]) then return 0 end
while redis.call('ZCARD', IN) >= tonumber(ARGV[3]) do redis.call('ZPOPMIN', IN) end
redis.call('ZADD', IN, next_score(IN), ARGV[2])
touch(IN)
return 1
`)

// forgetUserScript forgets a user's progress of every kind, started sessions, status and
// deactivation: 1 when there was any.
//
// ARGV: 2 userId.
var forgetUserScript = newScript(prelude + `
local uid, found = ARGV[2], false
for _, f in ipairs(lp_decode(redis.call('HGET', PK, uid))) do
  if redis.call('HDEL', P, f) == 1 then found = true end
  redis.call('ZREM', PO, f)
end
redis.call('HDEL', PK, uid)
for _, sig in ipairs(lp_decode(redis.call('HGET', US, uid))) do
  drop_session(sig)
  found = true
end
redis.call('HDEL', US, uid)
redis.call('HDEL', SU, uid)
if redis.call('ZREM', IN, uid) == 1 then found = true end
if found then return 1 end
return 0
`)

// resetScript forgets everything but the tokens and the sequence, and returns how many
// userIds it forgot.
var resetScript = newScript(prelude + `
local ids, n = {}, 0
local function add(list)
  for _, id in ipairs(list) do
    if not ids[id] then ids[id], n = true, n + 1 end
  end
end
add(redis.call('HKEYS', PK))
add(redis.call('HKEYS', US))
add(redis.call('ZRANGE', IN, 0, -1))
redis.call('UNLINK', P, PO, PK, SS, SO, US, SU, SB, IN, HITS)
return n
`)

// issueTokenScript keeps a token (its key is KEYS[13]) for PX milliseconds, pushing out the
// oldest issued past MaxTokens.
//
// ARGV: 2 token, 3 its expiry (RFC 3339), 4 PX, 5 MaxTokens, 6 the prefix of token keys.
var issueTokenScript = newScript(prelude + `
redis.call('SET', KEYS[13], ARGV[3], 'PX', ARGV[4])
redis.call('ZADD', TOK, next_score(TOK), ARGV[2])
while redis.call('ZCARD', TOK) > tonumber(ARGV[5]) do
  local oldest = redis.call('ZPOPMIN', TOK)
  redis.call('DEL', ARGV[6] .. oldest[1])
end
touch(TOK)
return 1
`)

// sources are the scripts' sources, loaded when the store opens so that the first call of
// each is one EVALSHA. (go-redis's Script.Load in a pipeline would forget the script's hash.)
var sources []string

// script is a Lua script, hashed when first run: hashing every script at package init
// (a copy and a SHA-1 of a few KiB each) cost every start of the binary 0.4 ms, with a
// shared store or not.
type script struct{ get func() *redis.Script }

// Run runs the script, as redis.Script.Run.
func (sc *script) Run(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd {
	return sc.get().Run(ctx, c, keys, args...)
}

func newScript(src string) *script {
	sources = append(sources, src)
	return newDeclScript(src)
}

// newDeclScript is a script the store does not load when it opens (the declarations').
func newDeclScript(src string) *script {
	return &script{get: sync.OnceValue(func() *redis.Script { return redis.NewScript(src) })}
}
