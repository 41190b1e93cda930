package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/ratelimit"
)

// acquireScript takes a concurrency slot atomically.
//
// KEYS[1] is the subject's sorted set of leases, scored by expiry in Unix
// milliseconds of the callers' clocks. ARGV is now and the new lease's expiry
// (both in Unix milliseconds), the limit, the lease ID and the key's time to
// live in milliseconds.
//
// It drops the leases expired at now, then adds the new one if fewer than the
// limit remain, and returns {granted, held}: 1 or 0 and the number of leases
// held after the operation. The key expires (in Redis's own time) a second
// after its newest lease, so an idle subject leaves no key.
var acquireScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[3]) then
  return {0, held}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, held + 1}
`)

// Acquire implements [ratelimit.Backend]. On a refusal the Quota's RetryAfter
// is zero: a slot frees when some request ends.
func (b *LimiterBackend) Acquire(ctx context.Context, subject string, limit int64, now time.Time) (ratelimit.Quota, bool, error) {
	ttl := b.leaseTTL.Milliseconds()
	nowMs := now.UnixMilli()
	id := b.leaseID()
	res, err := boundedCall(ctx, b.timeout, b.aware, func(ctx context.Context) ([]int64, error) {
		return acquireScript.Run(ctx, b.client, []string{b.key(subject, "c")},
			nowMs, nowMs+ttl, strconv.FormatInt(limit, 10), id, ttl+1000).Int64Slice()
	})
	if err != nil {
		return ratelimit.Quota{}, false, wrapErr(err)
	}
	if len(res) != 2 {
		return ratelimit.Quota{}, false, errReply
	}
	q := ratelimit.Quota{Limit: limit, Remaining: max(limit-res[1], 0)}
	if res[0] != 1 {
		return q, false, nil
	}
	b.remember(subject, id)
	return q, true, nil
}

// leaseID returns a new lease ID, unique among replicas.
func (b *LimiterBackend) leaseID() string {
	return b.instance + ":" + strconv.FormatUint(b.seq.Add(1), 36)
}

// remember records a lease granted to subject.
func (b *LimiterBackend) remember(subject, id string) {
	b.mu.Lock()
	b.leases[subject] = append(b.leases[subject], id)
	b.mu.Unlock()
}

// forgetOldest removes and returns the oldest lease this backend granted
// subject, or "" when it holds none.
func (b *LimiterBackend) forgetOldest(subject string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := b.leases[subject]
	if len(ids) == 0 {
		return ""
	}
	id := ids[0]
	if len(ids) == 1 {
		delete(b.leases, subject)
	} else {
		ids[0] = "" // let the string go; the slice's array is reused
		b.leases[subject] = ids[1:]
	}
	return id
}

// Release implements [ratelimit.Backend]. It gives back the oldest of the
// leases this LimiterBackend granted subject (see LimiterBackend for why that
// keeps the count right); with none it does nothing and sends nothing. If
// Redis cannot be reached, the lease is forgotten all the same and expires on
// its own.
func (b *LimiterBackend) Release(ctx context.Context, subject string) error {
	id := b.forgetOldest(subject)
	if id == "" {
		return nil
	}
	_, err := boundedCall(ctx, b.timeout, b.aware, func(ctx context.Context) (int64, error) {
		return b.client.ZRem(ctx, b.key(subject, "c"), id).Result()
	})
	if err != nil {
		return wrapErr(err)
	}
	return nil
}

// Held returns the number of concurrency slots this LimiterBackend granted
// subject and has not yet released (whether or not their leases have since
// expired).
func (b *LimiterBackend) Held(subject string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.leases[subject])
}
