// Package redisstore is an engine.Store kept in Redis, so that several idvmock processes
// (replicas behind one load balancer, or CI jobs that share an environment) answer as one
// mock: each call is counted once whichever process answers it.
//
// # What it keeps
//
// Everything engine.Store describes: where each userId stands in its states, how often each
// rule matched, the sessions started through Generate URL with the status a PASS gave their
// user, deactivated userIds, the sequence of started sessions, and the tokens the token API
// issued (with --auth strict).
//
// # Atomicity
//
// Every method is one command (the reads: Progress, Session, TokenValid), one Lua script or
// one MULTI/EXEC transaction (Snapshot, Restore), never a read the store follows with a write
// from Go. Scripts run as EVALSHA, loaded when the store opens; after Redis restarts, the first
// call of each script sends it again (EVALSHA, then EVAL). Step and
// StepUser run engine.Machine.Advance's rule in Lua; StepUser reads the user's started
// sessions in the same script: one round trip. UpdateProgress and UpdateSession read, run
// their update in Go, and write with a script that compares what is there with what was
// read (compare and set): when another call changed it meanwhile, they read and run the
// update again, as their contract allows. They compare the one value they change rather than
// WATCH a key, since the keys are shared by every user and would make every concurrent step
// a conflict.
//
// # Keys
//
// Under the prefix (Options.Prefix, "idvmock:" by default; give each mock sharing one Redis its
// own), with P the prefix:
//
//	P progress          hash: progress field → "<state>|<calls>|<since s>|<since ns>|<hash>";
//	                    the field is "<len>|<kind><len>|<name><userId>"
//	P progress:order    sorted set: the fields of pattern (scenario, rule) progress, by first use
//	P progress:byuser   hash: userId → the fields of its progress
//	P started           hash: signatureId → "<size>|<len>|<userId><session as JSON>"
//	P started:order     sorted set: signatureIds, in the order they started
//	P started:byuser    hash: userId → its signatureIds, oldest first
//	P started:status    hash: userId → the status a PASS gave it (ACTIVE)
//	P started:bytes     string: the started sessions' size in all (engine's measure)
//	P inactive          sorted set: deactivated userIds, in the order they were deactivated
//	P hits              hash: rule → how often it matched
//	P sequence          string: sessions started so far
//	P tokens            sorted set: issued tokens, in the order they were issued
//	P token:<token>     string: the token's expiry (RFC 3339)
//
// Lists in a hash field are "<len>:<bytes>" for each element, so that any userId or
// signatureId fits. The scripts derive the token keys from the prefix, so the store wants a
// single Redis (a primary, with replicas or Sentinel as you like), not a Redis Cluster.
//
// # Bounds and TTLs
//
// The engine.Limits bound what the keys hold as they bound the memory store: pattern
// progress and deactivations past MaxProgress, started sessions past MaxSessionsPerUser,
// MaxStartedSessions and MaxStartedBytes, and tokens past MaxTokens, the oldest going first.
// Declared users' progress is bounded by the users the files and the admin API declare, the
// hits by the rules they declare. Each process passes its own limits with every call: give
// the processes sharing one Redis the same.
//
// Every key also expires Options.TTL (7 days by default) after the last write to it, so that
// an environment nobody uses any more does not stay in Redis forever; the keys of one group
// (progress, started sessions) are refreshed together by every write to the group, so they
// expire together and never point at each other's missing entries. An environment idle for
// longer than the TTL starts afresh. A token's key expires when the token does (as the clock
// of the process that issued it says), a minute later to spare the clocks of other processes.
//
// # Durability and failures
//
// The store is exactly as durable as the Redis it runs on: with persistence (RDB, AOF) and
// replication as that Redis is configured, no more. When Redis cannot be reached every call
// returns an error within about Options.DialTimeout or Options.ReadTimeout (500 ms by
// default), which the engine answers as its failure (HTTP 503); no call is retried by the
// client, since a retried Step could count a call twice. When Redis is back the same Store
// works again, without being opened again.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/idvmock/idvmock/engine"
)

// Options of a Store. Zero fields take the defaults.
type Options struct {
	// Prefix starts every key the store writes, so that several mocks can share one Redis.
	// Default "idvmock:".
	Prefix string
	// PasswordFile names a file that holds the password (its first line; trailing newline
	// ignored), read once when the store opens. It overrides the URL's password.
	PasswordFile string
	// TTL is how long a key lives after the last write to it. Default 7 days.
	TTL time.Duration
	// DialTimeout bounds connecting to Redis. Default 500 ms.
	DialTimeout time.Duration
	// ReadTimeout and WriteTimeout bound waiting for one reply and sending one request.
	// Default 500 ms each. A Reset or Snapshot of a large environment must fit in them. A
	// call waits at most DialTimeout+ReadTimeout for a free connection.
	ReadTimeout, WriteTimeout time.Duration
	// PoolSize is how many connections the store keeps to Redis at most. Default go-redis's:
	// 10 per CPU.
	PoolSize int
}

// Defaults of Options.
const (
	DefaultPrefix  = "idvmock:"
	DefaultTTL     = 7 * 24 * time.Hour
	DefaultTimeout = 500 * time.Millisecond
)

// tokenSpare is how long a token's key outlives its expiry, for the clocks of other processes.
const tokenSpare = time.Minute

// casAttempts bounds how often UpdateProgress and UpdateSession read again after a conflict;
// casMaxWait bounds the random wait before each new attempt.
const (
	casAttempts = 200
	casMaxWait  = 10 * time.Millisecond
)

// backoff waits before a new attempt (the first is 1) a random time that grows with attempt up
// to casMaxWait, so that contenders for one value spread out; it returns early when ctx is done.
func backoff(ctx context.Context, attempt int) error {
	limit := min(casMaxWait, 50*time.Microsecond<<min(attempt, 16))
	t := time.NewTimer(rand.N(limit) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	for _, d := range []*time.Duration{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout} {
		if *d <= 0 {
			*d = DefaultTimeout
		}
	}
	return o
}

// Store is an engine.Store in Redis. It is safe for concurrent use, by many processes.
type Store struct {
	client *redis.Client
	name   string
	prefix string
	keys   []string // the KEYS of every script, in the order of keyNames
	ttl    int64    // Options.TTL in milliseconds

	watchPing time.Duration // see Watch

	mu     sync.Mutex
	limits engine.Limits
}

var _ engine.Store = (*Store)(nil)

// Open connects to the Redis at url: redis://[user:password@]host:port/db, or rediss:// for
// TLS. It checks that Redis answers and loads the store's scripts.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password and all
		}
		return nil, fmt.Errorf("redis store: the URL: %w", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("redis store: the URL %s: want redis://host:port/db or rediss:// (TLS)", RedactURL(rawURL))
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis store: the URL %s: %w", RedactURL(rawURL), err)
	}
	opts = opts.withDefaults()
	if opts.PasswordFile != "" {
		b, err := os.ReadFile(opts.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("redis store: the password file: %w", err)
		}
		o.Password, _, _ = strings.Cut(string(b), "\n")
		o.Password = strings.TrimSuffix(o.Password, "\r")
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout
	o.PoolTimeout = opts.DialTimeout + opts.ReadTimeout
	o.MaxRetries = -1   // a retried script could count a call twice
	o.DialerRetries = 1 // down is down: answer now rather than dial again
	o.ContextTimeoutEnabled = true
	o.DisableIdentity = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if opts.PoolSize > 0 {
		o.PoolSize = opts.PoolSize
	}
	s := &Store{
		client: redis.NewClient(o),
		name:   fmt.Sprintf("%s://%s/%d", u.Scheme, o.Addr, o.DB),
		prefix: opts.Prefix,
		ttl:    opts.TTL.Milliseconds(),
		limits: engine.Limits{}.WithDefaults(),

		watchPing: watchPing,
	}
	for _, k := range keyNames {
		s.keys = append(s.keys, s.prefix+k)
	}
	if err := s.load(ctx); err != nil {
		s.client.Close()
		return nil, err
	}
	return s, nil
}

// load checks that Redis answers and loads the scripts, in one round trip.
func (s *Store) load(ctx context.Context) error {
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Ping(ctx)
		for _, src := range sources {
			p.ScriptLoad(ctx, src)
		}
		return nil
	})
	return s.fail("open", err)
}

// RedactURL is rawURL with the password (whatever stands between the first ':' and the last
// '@' of what follows the scheme) replaced by "xxxxx", as written; userinfo without ':' is
// replaced whole. Unlike url.URL.Redacted it hides the password of a URL that does not
// parse, or parses with part of the password in the host (after a '#' or a '/').
func RedactURL(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		scheme, rest = "", rawURL
	} else {
		scheme += "://"
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		user, _, hasPassword := strings.Cut(rest[:i], ":")
		if !hasPassword {
			user = ""
		}
		return scheme + user + ":xxxxx" + rest[i:]
	}
	return rawURL
}

// Name is the URL of the Redis without credentials: redis://host:port/db.
func (s *Store) Name() string { return s.name }

// Ping reports whether Redis answers now.
func (s *Store) Ping(ctx context.Context) error {
	return s.fail("ping", s.client.Ping(ctx).Err())
}

// Close closes the connections to Redis.
func (s *Store) Close() error { return s.client.Close() }

// SetLimits bounds what the store keeps from the next call on. Issued tokens are kept
// whatever MaxTokens becomes (other processes share them); a new MaxTokens applies at the
// next IssueToken.
func (s *Store) SetLimits(l engine.Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l.WithDefaults()
}

func (s *Store) currentLimits() engine.Limits {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits
}

// fail says which store and which call failed, wrapping Redis's error; nil stays nil.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redis %s (prefix %q): %s: %w", s.name, s.prefix, op, err)
}

// run runs a script with the store's KEYS and TTL before args.
func (s *Store) run(ctx context.Context, sc *script, args ...any) *redis.Cmd {
	return sc.Run(ctx, s.client, s.keys, append([]any{s.ttl}, args...)...)
}

// key is the full name of one of the store's keys.
func (s *Store) key(k int) string { return s.keys[k] }

// ttlDuration is Options.TTL.
func (s *Store) ttlDuration() time.Duration { return time.Duration(s.ttl) * time.Millisecond }

// SetLogger sends go-redis's own messages (a failed dial, a lost connection) to logger at
// debug level, instead of the standard error: the store's callers report failures
// themselves.
func SetLogger(logger *slog.Logger) { redis.SetLogger(slogPrinter{logger}) }

type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(ctx context.Context, format string, v ...any) {
	p.l.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
