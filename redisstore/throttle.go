package redisstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/ratelimit"
)

// DefaultThrottlePrefix is the key prefix of a [ThrottleBackend] when
// [ThrottleOptions].Prefix is empty.
const DefaultThrottlePrefix = "wicket:at:"

// ThrottleOptions configures a [ThrottleBackend]. The zero value uses the
// defaults.
type ThrottleOptions struct {
	// Prefix is prepended to every key the backend writes. Empty means
	// DefaultThrottlePrefix. Backends that share a prefix (the replicas of
	// one gateway) share their clients' counts and blocks. On Redis Cluster,
	// leave it without a hash tag, so that clients spread over the shards.
	Prefix string

	// Timeout bounds each call the backend makes to Redis (one per Blocked,
	// Fail and Succeed), on top of the caller's context. Zero means
	// DefaultTimeout; it must otherwise be at least a millisecond.
	// A client with ContextTimeoutEnabled (go-redis) is cut off at the
	// deadline by the client itself; for any other, each call runs in a
	// goroutine of its own and is abandoned at the deadline (see doc.go).
	Timeout time.Duration
}

// ThrottleBackend is a [ratelimit.ThrottleBackend] on Redis, for an
// [ratelimit.AuthThrottle] whose counts and blocks every replica shares: a
// client that fails to authenticate on one replica is blocked on all.
//
// A client's state is one hash: the end of its block and of its current
// counting window, as Unix seconds and nanoseconds of the callers' clocks,
// and the failures counted in the window. Fail is one Lua script (atomic,
// one round trip), Blocked one HMGET and Succeed one HDEL. Times are never
// added in Lua: Go computes a window's end and a block's end exactly and the
// script only compares them, so they are exact to the nanosecond. A window
// is ended at its first failure plus the window passed then; the
// AuthThrottle passes the same one each time.
//
// A client's key expires (in Redis's own time) a second after its window or
// block ends, so a client seen once leaves no key for long; unlike
// [ratelimit.MemoryThrottle], nothing else bounds the number of clients, and
// none is pushed out by others.
//
// Every call touches the one key of its client, so the backend works on
// Redis Cluster and Valkey as on a single server, and its clients spread
// over a cluster's shards. Each call is bounded by ThrottleOptions.Timeout.
//
// Use [NewThrottleBackend]; the zero ThrottleBackend is not usable. It is
// safe for concurrent use and starts no goroutine.
type ThrottleBackend struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
	aware   bool // the client bounds its reads by the context's deadline
}

var _ ratelimit.ThrottleBackend = (*ThrottleBackend)(nil)

// NewThrottleBackend returns a ThrottleBackend that keeps its state on
// client. opts may be nil. It returns an error naming the field for invalid
// options.
func NewThrottleBackend(client redis.UniversalClient, opts *ThrottleOptions) (*ThrottleBackend, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	var o ThrottleOptions
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = DefaultThrottlePrefix
	}
	d, err := timeout(o.Timeout, "ThrottleOptions.Timeout")
	if err != nil {
		return nil, err
	}
	return &ThrottleBackend{client: client, prefix: o.Prefix, timeout: d, aware: honoursDeadlines(client)}, nil
}

func (b *ThrottleBackend) key(client string) string { return b.prefix + client }

// failScript records one failure atomically.
//
// KEYS[1] is the client's hash: us and un (the end of its block), ws and wn
// (the end of its current window) and c (the failures counted in it). ARGV is
// now's seconds and nanoseconds; the end of a window starting now and of a
// block starting now, each as seconds and nanoseconds; maxFailures; and the
// key's time to live in milliseconds when a window starts and when a block
// does.
//
// It returns {blocked, seconds, nanoseconds}: whether the client is blocked
// after the failure and, if so, the block's end.
var failScript = redis.NewScript(`
local function before(as, an, bs, bn)
  return as < bs or (as == bs and an < bn)
end
local now_s, now_n = tonumber(ARGV[1]), tonumber(ARGV[2])
local st = redis.call('HMGET', KEYS[1], 'us', 'un', 'ws', 'wn', 'c')
if st[1] and st[2] then
  local us, un = tonumber(st[1]), tonumber(st[2])
  if before(now_s, now_n, us, un) then
    return {1, us, un}
  end
end
local count = tonumber(st[5] or '0')
local in_window = false
if count > 0 and st[3] and st[4] then
  in_window = before(now_s, now_n, tonumber(st[3]), tonumber(st[4]))
end
if not in_window then
  count = 0
  redis.call('HSET', KEYS[1], 'ws', ARGV[3], 'wn', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
end
count = count + 1
if count < tonumber(ARGV[7]) then
  redis.call('HSET', KEYS[1], 'c', count)
  return {0, 0, 0}
end
redis.call('HSET', KEYS[1], 'us', ARGV[5], 'un', ARGV[6], 'c', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[9])
return {1, tonumber(ARGV[5]), tonumber(ARGV[6])}
`)

// Blocked implements [ratelimit.ThrottleBackend].
func (b *ThrottleBackend) Blocked(ctx context.Context, client string, now time.Time) (time.Time, error) {
	vals, err := boundedCall(ctx, b.timeout, b.aware, func(ctx context.Context) ([]any, error) {
		return b.client.HMGet(ctx, b.key(client), "us", "un").Result()
	})
	if err != nil {
		return time.Time{}, wrapErr(err)
	}
	if len(vals) != 2 || vals[0] == nil || vals[1] == nil {
		return time.Time{}, nil
	}
	s, err1 := strconv.ParseInt(asString(vals[0]), 10, 64)
	n, err2 := strconv.ParseInt(asString(vals[1]), 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, errReply
	}
	until := time.Unix(s, n)
	if !now.Before(until) {
		return time.Time{}, nil
	}
	return until, nil
}

// Fail implements [ratelimit.ThrottleBackend].
func (b *ThrottleBackend) Fail(ctx context.Context, client string, maxFailures int, window, cooldown time.Duration, now time.Time) (time.Time, error) {
	wend, bend := now.Add(window), now.Add(cooldown)
	res, err := boundedCall(ctx, b.timeout, b.aware, func(ctx context.Context) ([]int64, error) {
		return failScript.Run(ctx, b.client, []string{b.key(client)},
			now.Unix(), now.Nanosecond(),
			wend.Unix(), wend.Nanosecond(),
			bend.Unix(), bend.Nanosecond(),
			maxFailures, keyTTL(window), keyTTL(cooldown)).Int64Slice()
	})
	if err != nil {
		return time.Time{}, wrapErr(err)
	}
	if len(res) != 3 {
		return time.Time{}, errReply
	}
	if res[0] != 1 {
		return time.Time{}, nil
	}
	return time.Unix(res[1], res[2]), nil
}

// Succeed implements [ratelimit.ThrottleBackend]. It forgets the window and
// its count, leaving any block in force.
func (b *ThrottleBackend) Succeed(ctx context.Context, client string) error {
	_, err := boundedCall(ctx, b.timeout, b.aware, func(ctx context.Context) (int64, error) {
		return b.client.HDel(ctx, b.key(client), "ws", "wn", "c").Result()
	})
	if err != nil {
		return wrapErr(err)
	}
	return nil
}

// keyTTL returns the time to live, in milliseconds, of a key whose state
// lasts d: d rounded up plus a second, at most about 290 years.
func keyTTL(d time.Duration) int64 {
	const maxMs = int64(1) << 53 // beyond any Redis expiry
	ms := d.Milliseconds()
	if d%time.Millisecond != 0 {
		ms++
	}
	return min(ms, maxMs-1000) + 1000
}

// asString returns v, an HMGET value, as a string.
func asString(v any) string {
	s, _ := v.(string)
	return s
}
