package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/ratelimit"
)

// admitScript admits a request in one step: a concurrency slot, one request
// and its tokens, all or nothing.
//
// KEYS are the subject's leases (sorted set), request bucket and token
// bucket. ARGV: now's seconds and nanoseconds; now and the new lease's expiry
// in Unix milliseconds; the concurrency limit ("0": not limited), the lease
// ID and the lease set's time to live in milliseconds; the request limit
// ("0": not limited) and the cost of one request as a span; the token limit
// ("0": no tokens to take) and the tokens' cost as a span.
//
// It returns {refused, held, rspan, rretry, tspan, tretry}: refused is 0
// when granted, else 1, 2 or 3 for the slot, the request or the tokens (the
// first that refused; nothing is written then); held is the number of
// leases after the operation; rspan and tspan are the times until the
// buckets are full (after a grant, or as they are), and rretry and tretry
// the wait of the bucket that refused.
var admitScript = redis.NewScript(bucketLua + `
local now_s, now_ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local clim, rlim, tlim = tonumber(ARGV[5]), ARGV[8], ARGV[10]
local held = 0
if clim > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
  held = redis.call('ZCARD', KEYS[1])
  if held >= clim then return {1, held, 0, 0, 0, 0} end
end
local rspan, rafter = 0, 0
if rlim ~= '0' then
  rspan = span_of(KEYS[2], now_s, now_ns, rlim)
  rafter = rspan + tonumber(ARGV[9])
  if rafter > MINUTE then return {2, held, rspan, rafter - MINUTE, 0, 0} end
end
local tspan, tafter = 0, 0
if tlim ~= '0' then
  tspan = span_of(KEYS[3], now_s, now_ns, tlim)
  tafter = tspan + tonumber(ARGV[11])
  if tafter > MINUTE then return {3, held, rspan, 0, tspan, tafter - MINUTE} end
end
if clim > 0 then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[6])
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  held = held + 1
end
if rlim ~= '0' then store(KEYS[2], now_s, now_ns, rlim, rafter) end
if tlim ~= '0' then store(KEYS[3], now_s, now_ns, tlim, tafter) end
return {0, held, rafter, 0, tafter, 0}
`)

// finishScript ends a request in one step.
//
// KEYS are as for admitScript. ARGV: now's seconds and nanoseconds; the
// lease to remove ("": none); the request limit ("0": nothing to give back)
// and the give-back as a (negative) span; the token limit ("0": no
// correction) and the correction as a signed span. It returns {rspan,
// tspan}, the times until the buckets touched are full.
var finishScript = redis.NewScript(bucketLua + `
local now_s, now_ns = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[1], ARGV[3]) end
local rspan, tspan = 0, 0
if ARGV[6] ~= '0' then tspan = adjust(KEYS[3], now_s, now_ns, ARGV[6], tonumber(ARGV[7])) end
if ARGV[4] ~= '0' then rspan = adjust(KEYS[2], now_s, now_ns, ARGV[4], tonumber(ARGV[5])) end
return {rspan, tspan}
`)

var _ ratelimit.Batcher = (*LimiterBackend)(nil)

// AdmitAll implements [ratelimit.Batcher]: the slot, the request and the
// tokens in one script, one round trip.
func (b *LimiterBackend) AdmitAll(ctx context.Context, subject string, lim ratelimit.Limits, tokens int64, now time.Time) (ratelimit.Decision, error) {
	ttl := b.leaseTTL.Milliseconds()
	nowMs := now.UnixMilli()
	var id string
	if lim.MaxConcurrent > 0 {
		id = b.leaseID()
	}
	rlim, rcost := "0", int64(0)
	if lim.RequestsPerMinute > 0 {
		rlim, rcost = strconv.FormatInt(lim.RequestsPerMinute, 10), tokenSpan(1, lim.RequestsPerMinute)
	}
	tlim, tcost := "0", int64(0)
	if lim.TokensPerMinute > 0 && tokens > 0 {
		tlim, tcost = strconv.FormatInt(lim.TokensPerMinute, 10), tokenSpan(tokens, lim.TokensPerMinute)
	}
	res, err := boundedCall(ctx, b.timeout, b.aware, func(ctx context.Context) ([]int64, error) {
		return admitScript.Run(ctx, b.client, b.keys(subject),
			now.Unix(), now.Nanosecond(), nowMs, nowMs+ttl,
			strconv.FormatInt(lim.MaxConcurrent, 10), id, ttl+1000,
			rlim, rcost, tlim, tcost).Int64Slice()
	})
	if err != nil {
		return ratelimit.Decision{}, wrapErr(err)
	}
	if len(res) != 6 || res[0] < 0 || res[0] > 3 {
		return ratelimit.Decision{}, errReply
	}
	var d ratelimit.Decision
	refused := res[0]
	if lim.MaxConcurrent > 0 {
		d.Concurrency = ratelimit.Quota{Limit: lim.MaxConcurrent, Remaining: max(lim.MaxConcurrent-res[1], 0)}
	}
	if rlim != "0" && refused != 1 {
		d.Requests = spanQuota(res[2], lim.RequestsPerMinute)
		d.Requests.RetryAfter = time.Duration(res[3])
	}
	if tlim != "0" && (refused == 0 || refused == 3) {
		d.Tokens = spanQuota(res[4], lim.TokensPerMinute)
		d.Tokens.RetryAfter = time.Duration(res[5])
	}
	switch refused {
	case 0:
		if id != "" {
			b.remember(subject, id)
		}
	case 1:
		d.Refused = ratelimit.Concurrency
	case 2:
		d.Refused = ratelimit.Requests
	case 3:
		d.Refused = ratelimit.Tokens
	}
	return d, nil
}

// FinishAll implements [ratelimit.Batcher]: the token correction, the
// request's return and the slot's (the oldest lease this backend granted
// subject, as Release does) in one script, one round trip.
func (b *LimiterBackend) FinishAll(ctx context.Context, subject string, lim ratelimit.Limits, f ratelimit.Finish, now time.Time) (ratelimit.Decision, error) {
	var id string
	if f.Release {
		id = b.forgetOldest(subject)
	}
	rlim, rcost := "0", int64(0)
	if f.GiveBackRequest && lim.RequestsPerMinute > 0 {
		rlim, rcost = strconv.FormatInt(lim.RequestsPerMinute, 10), signedSpan(-1, lim.RequestsPerMinute)
	}
	tlim, tcost := "0", int64(0)
	if f.Tokens != 0 && lim.TokensPerMinute > 0 {
		tlim, tcost = strconv.FormatInt(lim.TokensPerMinute, 10), signedSpan(f.Tokens, lim.TokensPerMinute)
	}
	if id == "" && rlim == "0" && tlim == "0" {
		return ratelimit.Decision{}, nil
	}
	res, err := boundedCall(ctx, b.timeout, b.aware, func(ctx context.Context) ([]int64, error) {
		return finishScript.Run(ctx, b.client, b.keys(subject),
			now.Unix(), now.Nanosecond(), id, rlim, rcost, tlim, tcost).Int64Slice()
	})
	if err != nil {
		return ratelimit.Decision{}, wrapErr(err)
	}
	if len(res) != 2 {
		return ratelimit.Decision{}, errReply
	}
	var d ratelimit.Decision
	if rlim != "0" {
		d.Requests = spanQuota(res[0], lim.RequestsPerMinute)
	}
	if tlim != "0" {
		d.Tokens = spanQuota(res[1], lim.TokensPerMinute)
	}
	return d, nil
}

// keys returns the keys of subject's slots, request bucket and token
// bucket, in one hash slot.
func (b *LimiterBackend) keys(subject string) []string {
	return []string{b.key(subject, "c"), b.key(subject, "r"), b.key(subject, "t")}
}
