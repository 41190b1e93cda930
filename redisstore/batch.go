package redisstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/metering"
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
	fa, ok := b.finishArgs(subject, lim, f, now)
	if !ok {
		return ratelimit.Decision{}, nil
	}
	res, err := boundedCall(ctx, b.timeout, b.aware, func(ctx context.Context) ([]int64, error) {
		return finishScript.Run(ctx, b.client, fa.keys, fa.args...).Int64Slice()
	})
	return fa.decision(res, err)
}

var _ ratelimit.Carrier = (*LimiterBackend)(nil)

// FinishAllWith implements [ratelimit.Carrier]. A settlement of a [Ledger]
// on the same client (directly, or behind metering's FailoverLedger) is
// sent with the finish in one pipeline: one round trip on a single server
// (on a cluster, one per node holding the keys, in parallel). Any other
// rider runs after the finish.
func (b *LimiterBackend) FinishAllWith(ctx context.Context, subject string, lim ratelimit.Limits, f ratelimit.Finish, r ratelimit.Rider, now time.Time) (ratelimit.Decision, error, error) {
	s, report := carried(r)
	if s == nil || s.l.client != b.client || s.err != nil {
		d, err := b.FinishAll(ctx, subject, lim, f, now)
		var riderErr error
		if r != nil {
			riderErr = r.Run(ctx)
		}
		return d, err, riderErr
	}
	fa, ok := b.finishArgs(subject, lim, f, now)
	lkeys, largs := s.l.endArgs(s.id, s.cost)
	type replies struct {
		fin []int64
		n   int64
		err [2]error
	}
	rep, err := boundedCall(ctx, b.timeout, b.aware, func(ctx context.Context) (replies, error) {
		var rp replies
		needFin, needEnd := ok, true
		for attempt := 0; ; attempt++ {
			var fc, lc *redis.Cmd
			_, _ = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
				if needFin {
					fc = finishScript.EvalSha(ctx, p, fa.keys, fa.args...)
				}
				if needEnd {
					lc = ledgerEndScript.EvalSha(ctx, p, lkeys, largs...)
				}
				return nil
			})
			// Each command's own reply counts; only a script the server
			// did not hold (it restarted) is sent again, once loaded, so
			// that nothing runs twice.
			if fc != nil {
				rp.fin, rp.err[0] = fc.Int64Slice()
				needFin = isNoScript(rp.err[0])
			}
			if lc != nil {
				rp.n, rp.err[1] = lc.Int64()
				needEnd = isNoScript(rp.err[1])
			}
			if (!needFin && !needEnd) || attempt > 0 {
				return rp, nil
			}
			if needFin {
				if err := finishScript.Load(ctx, b.client).Err(); err != nil {
					return rp, err
				}
			}
			if needEnd {
				if err := ledgerEndScript.Load(ctx, b.client).Err(); err != nil {
					return rp, err
				}
			}
		}
	})
	if err != nil {
		rep.err = [2]error{err, err}
	}
	var d ratelimit.Decision
	var ferr error
	if ok {
		d, ferr = fa.decision(rep.fin, rep.err[0])
	}
	riderErr := endResult(s.op, rep.n, rep.err[1])
	if report != nil {
		riderErr = report(riderErr)
	}
	return d, ferr, riderErr
}

// carried returns the Ledger settlement r is, directly or behind a
// FailoverLedger (then with the function to report its outcome to), or nil.
func carried(r ratelimit.Rider) (*settlement, func(error) error) {
	switch v := r.(type) {
	case *settlement:
		return v, nil
	case interface {
		Unwrap() metering.Settlement
		Report(error) error
	}:
		if s, ok := v.Unwrap().(*settlement); ok {
			return s, v.Report
		}
	}
	return nil, nil
}

// isNoScript reports whether err is Redis's answer to an EVALSHA of a
// script it does not hold.
func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// finishCall is a prepared finishScript call.
type finishCall struct {
	keys       []string
	args       []any
	lim        ratelimit.Limits
	rlim, tlim string
}

// finishArgs prepares the finishScript call of f, popping the lease to
// release; false means there is nothing to do.
func (b *LimiterBackend) finishArgs(subject string, lim ratelimit.Limits, f ratelimit.Finish, now time.Time) (finishCall, bool) {
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
		return finishCall{}, false
	}
	return finishCall{
		keys: b.keys(subject),
		args: []any{now.Unix(), now.Nanosecond(), id, rlim, rcost, tlim, tcost},
		lim:  lim, rlim: rlim, tlim: tlim,
	}, true
}

// decision turns finishScript's reply into FinishAll's result.
func (fa finishCall) decision(res []int64, err error) (ratelimit.Decision, error) {
	if err != nil {
		return ratelimit.Decision{}, wrapErr(err)
	}
	if len(res) != 2 {
		return ratelimit.Decision{}, errReply
	}
	var d ratelimit.Decision
	if fa.rlim != "0" {
		d.Requests = spanQuota(res[0], fa.lim.RequestsPerMinute)
	}
	if fa.tlim != "0" {
		d.Tokens = spanQuota(res[1], fa.lim.TokensPerMinute)
	}
	return d, nil
}

// keys returns the keys of subject's slots, request bucket and token
// bucket, in one hash slot.
func (b *LimiterBackend) keys(subject string) []string {
	return []string{b.key(subject, "c"), b.key(subject, "r"), b.key(subject, "t")}
}
