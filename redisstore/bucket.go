package redisstore

import (
	"context"
	"math"
	"math/bits"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/ratelimit"
)

// A bucket is kept as a GCRA "theoretical arrival time" (tat): the instant at
// which it is full again, so that a bucket of limit L per minute holding x
// tokens at now has tat = now + (L-x) * minute/L, and tat > now+minute means
// debt. It is the scheme ratelimit.Memory uses for tokens.
//
// Lua in Redis 7 has only float64 numbers, exact for integers below 2^53: a
// nanosecond count since 1970 (about 2^61) does not fit, but a span of up to
// 2^52 ns (about 52 days) does. So the Lua scripts never hold an absolute time
// in one number: a time is a pair (Unix seconds, nanoseconds), a span between
// two times is computed from the pair exactly, and the division by a limit
// (which needs 128-bit products) is left to Go, which passes the cost of the
// operation as a span and turns the span the script returns into a Quota.

const minuteNs = int64(time.Minute)

// maxSpan bounds how far a bucket's tat may run ahead of now: 2^52 ns, about
// 52 days of refill, so that every span the scripts add stays exact in a
// float64. A charge that would drive a bucket deeper into debt stops there.
const maxSpan = int64(1) << 52

// bucketLua holds the bucket functions every limiter script shares.
//
// A bucket's hash holds s and n (its tat as Unix seconds and nanoseconds)
// and l (the limit the tat was computed for). span_of returns the time until
// the bucket at key is full, from now (now_s, now_ns), in [0, MAXSPAN], and
// whether the bucket exists; a bucket whose limit changed keeps the tokens it
// has used (rounded, in float64). store makes the bucket full after span
// nanoseconds: a full one is deleted, and every bucket expires (in Redis's
// own time) a second after it would be full, so idle subjects leave no keys.
// adjust charges (cost > 0) or refunds (cost < 0) a span, unconditionally,
// and returns the span after it; a refund to a bucket that does not exist
// writes nothing.
const bucketLua = `
local MINUTE = 60000000000
local MAXSPAN = 4503599627370496
local function span_of(key, now_s, now_ns, limit)
  local st = redis.call('HMGET', key, 's', 'n', 'l')
  if st[1] == false or st[2] == false then return 0, false end
  local span = (tonumber(st[1]) - now_s) * 1e9 + (tonumber(st[2]) - now_ns)
  if span < 0 then span = 0 elseif span > MAXSPAN then span = MAXSPAN end
  if span > 0 and st[3] and st[3] ~= limit then
    local used = math.ceil(span * tonumber(st[3]) / MINUTE)
    span = math.min(math.floor(used * MINUTE / tonumber(limit)), MAXSPAN)
  end
  return span, true
end
local function store(key, now_s, now_ns, limit, span)
  if span <= 0 then
    redis.call('DEL', key)
    return
  end
  local total = now_ns + span
  local ns = math.fmod(total, 1e9)
  local s = now_s + (total - ns) / 1e9
  redis.call('HSET', key, 's', string.format('%.0f', s), 'n', string.format('%.0f', ns), 'l', limit)
  redis.call('PEXPIRE', key, string.format('%.0f', math.ceil(span / 1e6) + 1000))
end
local function adjust(key, now_s, now_ns, limit, cost)
  local span, exists = span_of(key, now_s, now_ns, limit)
  if not exists and cost <= 0 then return 0 end
  local after = span + cost
  if after < 0 then after = 0 elseif after > MAXSPAN then after = MAXSPAN end
  store(key, now_s, now_ns, limit, after)
  return after
end
`

// bucketScript takes, charges or refunds a bucket atomically.
//
// KEYS[1] is the bucket's hash (see bucketLua). ARGV is now's seconds and
// nanoseconds, the limit, the operation ("take" or "adjust") and its cost as
// a span in nanoseconds (for "adjust", negative for a refund).
//
// It returns {granted, span, retry}: 1 or 0, the time until the bucket is full
// after the operation (before it, on a refusal) and, on a refusal, the wait
// until the take would be granted. Only a granted take and a charge create a
// bucket; a refusal writes nothing.
var bucketScript = redis.NewScript(bucketLua + `
local now_s, now_ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, op, cost = ARGV[3], ARGV[4], tonumber(ARGV[5])
if op == 'take' then
  local span = span_of(KEYS[1], now_s, now_ns, limit)
  local after = span + cost
  if after > MINUTE then
    return {0, span, after - MINUTE}
  end
  store(KEYS[1], now_s, now_ns, limit, after)
  return {1, math.max(after, 0), 0}
end
return {1, adjust(KEYS[1], now_s, now_ns, limit, cost), 0}
`)

// bucketOp names the operation of bucketScript.
type bucketOp string

const (
	opTake   bucketOp = "take"
	opAdjust bucketOp = "adjust"
)

// runBucket runs bucketScript on key and returns the Quota after the
// operation and whether it was granted.
func (b *LimiterBackend) runBucket(ctx context.Context, key string, limit int64, op bucketOp, cost int64, now time.Time) (ratelimit.Quota, bool, error) {
	res, err := boundedCall(ctx, b.timeout, b.aware, func(ctx context.Context) ([]int64, error) {
		return bucketScript.Run(ctx, b.client, []string{key},
			now.Unix(), now.Nanosecond(), strconv.FormatInt(limit, 10), string(op), cost).Int64Slice()
	})
	if err != nil {
		return ratelimit.Quota{}, false, wrapErr(err)
	}
	if len(res) != 3 {
		return ratelimit.Quota{}, false, errReply
	}
	q := spanQuota(res[1], limit)
	q.RetryAfter = time.Duration(res[2])
	return q, res[0] == 1, nil
}

// signedSpan returns the cost of n tokens (a refund for n < 0) as a span of
// a bucket of limit per minute.
func signedSpan(n, limit int64) int64 {
	if n < 0 {
		if n == math.MinInt64 {
			n++
		}
		return -tokenSpan(-n, limit)
	}
	return tokenSpan(n, limit)
}

// tokenSpan returns the time in which a bucket of limit tokens per minute
// refills n >= 0 tokens, rounded down (so that a burst of exactly limit
// single-token takes fits in one minute), at most maxSpan.
func tokenSpan(n, limit int64) int64 {
	hi, lo := bits.Mul64(uint64(n), uint64(minuteNs))
	if hi >= uint64(limit) {
		return maxSpan
	}
	q, _ := bits.Div64(hi, lo, uint64(limit))
	return int64(min(q, uint64(maxSpan)))
}

// spanQuota describes a bucket of limit per minute that is full span
// nanoseconds from now: Remaining is the tokens it holds, rounded down.
func spanQuota(span, limit int64) ratelimit.Quota {
	if span <= 0 {
		return ratelimit.Quota{Limit: limit, Remaining: limit}
	}
	// The tokens missing, rounded up: ceil(span*limit/minute).
	hi, lo := bits.Mul64(uint64(span), uint64(limit))
	missing := int64(math.MaxInt64)
	if hi < uint64(minuteNs) {
		q, r := bits.Div64(hi, lo, uint64(minuteNs))
		if r != 0 {
			q++
		}
		missing = int64(min(q, uint64(math.MaxInt64)))
	}
	return ratelimit.Quota{Limit: limit, Remaining: limit - missing, Reset: time.Duration(span)}
}
