package ratelimit

import (
	"math"
	"math/bits"
	"time"

	"golang.org/x/time/rate"
)

// The token bucket is kept as a GCRA "theoretical arrival time": tat is the
// instant (in nanoseconds on some fixed time line) at which the bucket is full
// again. A bucket of limit L per minute holding x tokens at now has
// tat = now + (L-x) * minute/L, so tat > now+minute means debt. One int64
// per bucket, exact integer arithmetic, and the same scheme a Redis backend
// uses in Lua.

const minuteNs = int64(time.Minute)

// maxSpan bounds how far tat may run ahead of now (about 73 years), so that
// sums of spans never overflow an int64.
const maxSpan = int64(1) << 61

// tokenSpan returns the time in which a bucket of limit tokens per minute
// refills n >= 0 tokens, rounded down, at most maxSpan. Rounding down keeps a
// burst of exactly limit single-token takes within one minute.
func tokenSpan(n, limit int64) int64 {
	hi, lo := bits.Mul64(uint64(n), uint64(minuteNs))
	if hi >= uint64(limit) {
		return maxSpan
	}
	q, _ := bits.Div64(hi, lo, uint64(limit))
	if q > uint64(maxSpan) {
		return maxSpan
	}
	return int64(q)
}

// spanTokens returns the number of tokens, rounded up, that a bucket of limit
// tokens per minute refills in span > 0 nanoseconds.
func spanTokens(span, limit int64) int64 {
	hi, lo := bits.Mul64(uint64(span), uint64(limit))
	if hi >= uint64(minuteNs) {
		return math.MaxInt64
	}
	q, r := bits.Div64(hi, lo, uint64(minuteNs))
	if r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// tokenQuota describes a token bucket with the given tat at off.
func tokenQuota(tat, off, limit int64) Quota {
	span := tat - off
	if span <= 0 {
		return Quota{Limit: limit, Remaining: limit}
	}
	return Quota{Limit: limit, Remaining: limit - spanTokens(span, limit), Reset: time.Duration(span)}
}

// takeTokens takes n tokens from the bucket if it holds them, returning the
// new tat; otherwise it returns ok false and the wait until it would.
func takeTokens(tat, off, limit, n int64) (newTat int64, wait time.Duration, ok bool) {
	newTat = max(tat, off) + tokenSpan(n, limit)
	if over := newTat - off - minuteNs; over > 0 {
		return tat, time.Duration(over), false
	}
	return newTat, 0, true
}

// adjustTokens charges delta tokens (refunds -delta) unconditionally.
func adjustTokens(tat, off, limit, delta int64) int64 {
	base := max(tat, off)
	if delta >= 0 {
		return min(base+tokenSpan(delta, limit), off+maxSpan)
	}
	if delta == math.MinInt64 {
		delta++
	}
	return max(base-tokenSpan(-delta, limit), off)
}

// rescaleTokens converts tat from a bucket of limit from to one of limit to,
// keeping the number of tokens used (debt included).
func rescaleTokens(tat, off, from, to int64) int64 {
	span := tat - off
	if span <= 0 || from == to {
		return tat
	}
	used := spanTokens(span, from)
	return off + tokenSpan(min(used, maxSpan), to)
}

// The request bucket is a *rate.Limiter (float64 tokens) with burst limit
// refilled at limit per minute.

func perMinute(limit int64) rate.Limit { return rate.Limit(float64(limit) / 60) }

// refillTime returns the time in which a bucket of limit per minute refills x
// tokens, rounded up to the nanosecond.
func refillTime(x float64, limit int64) time.Duration {
	if x <= 0 {
		return 0
	}
	d := math.Ceil(x * float64(minuteNs) / float64(limit))
	if d >= float64(maxSpan) {
		return time.Duration(maxSpan)
	}
	return time.Duration(d)
}

// requestQuota describes a request bucket holding tokens.
func requestQuota(tokens float64, limit int64) Quota {
	tokens = min(max(tokens, 0), float64(limit))
	return Quota{
		Limit:     limit,
		Remaining: int64(tokens),
		Reset:     refillTime(float64(limit)-tokens, limit),
	}
}
