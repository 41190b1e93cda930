package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Permit is one admitted request: it holds the concurrency slot (if
// concurrency is limited) and the request's token reservation, from
// [Limiter.Admit] (or the admission of a [Limiter.Defer]red Permit) to the
// end of the request.
//
// The caller must call Release or Finish on every exit path; a deferred call
// does that, including on a panic. Release, Finish, Decision, Subject and
// Limits accept a nil *Permit (Release then does nothing, so it may be
// deferred before checking Admit's error); ReserveTokens and Settle need a
// Permit from Admit or Defer. A Permit is safe for concurrent use.
type Permit struct {
	l       *Limiter
	subject string
	limits  Limits

	released atomic.Bool // the slot, if any, is released

	mu       sync.Mutex
	pending  bool  // deferred, not yet admitted
	slot     bool  // a slot was acquired
	request  bool  // a request was taken (and not given back)
	reserved int64 // tokens charged so far
	refused  error // the refusal that ended this permit, if any
	d        Decision
}

// Decision returns the latest Decision: the state of each dimension as of the
// last operation on it. A nil Permit returns the zero Decision.
func (p *Permit) Decision() Decision {
	if p == nil {
		return Decision{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.d
}

// Subject returns the subject the Permit was admitted for; "" for a nil
// Permit.
func (p *Permit) Subject() string {
	if p == nil {
		return ""
	}
	return p.subject
}

// Limits returns the Limits the Permit was admitted with; the zero Limits for
// a nil Permit.
func (p *Permit) Limits() Limits {
	if p == nil {
		return Limits{}
	}
	return p.limits
}

// Admit admits a Permit from [Limiter.Defer] without tokens: the slot and
// the request, as [Limiter.Admit] does, returning a [*LimitError] when a
// limit refuses (the Permit is then spent) or the backend's error. On a
// Permit already admitted it does nothing and returns nil; on a spent one,
// the error that ended it.
func (p *Permit) Admit(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.pending {
		return p.refused
	}
	return p.admitLocked(ctx, 0)
}

// admitLocked admits a deferred p with tokens (0 for none) in one step.
func (p *Permit) admitLocked(ctx context.Context, tokens int64) error {
	p.pending = false
	lim := p.limits
	d, err := p.l.admitAll(ctx, p.subject, lim, tokens)
	if err != nil {
		p.refused = err
		return err
	}
	if d.Refused != 0 {
		if d.Refused == Concurrency {
			d.Concurrency.RetryAfter = max(d.Concurrency.RetryAfter, concurrencyRetryAfter)
		}
		p.d, p.refused = refuse(d, d.Refused, ErrLimited)
		return p.refused
	}
	p.d = d
	p.slot = lim.MaxConcurrent > 0
	p.request = lim.RequestsPerMinute > 0
	if lim.TokensPerMinute > 0 {
		p.reserved = tokens
	}
	return nil
}

// ReserveTokens takes n tokens, the request's estimate (see [TokenEstimator]),
// from the subject's token bucket before the request is forwarded. Call
// [Permit.Settle] or [Permit.Finish] with the exact count afterwards. On a
// deferred Permit it admits the request first, slot, request and tokens in
// one step.
//
// If the bucket holds fewer than n tokens, or n exceeds TokensPerMinute, the
// request is refused: ReserveTokens gives back everything the Permit took (the
// request, the slot and any tokens reserved before) and returns a
// [*LimitError] wrapping [ErrLimited] or [ErrTooLarge] (also for a negative
// n, which only an overflowing estimator produces). The Permit is then
// spent: ReserveTokens returns the same error again, and Settle and Release do
// nothing. With TokensPerMinute zero, or n zero, it takes no tokens. Calling
// it again reserves n more.
func (p *Permit) ReserveTokens(ctx context.Context, n int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refused != nil {
		return p.refused
	}
	limit := p.limits.TokensPerMinute
	if limit == 0 || n == 0 {
		if p.pending {
			return p.admitLocked(ctx, 0)
		}
		return nil
	}
	if n > limit || n < 0 { // a negative estimate is an estimator's overflow
		p.pending = false // a deferred Permit holds nothing to give back
		// Adjusting by zero reads the bucket, for the headers.
		q, err := p.l.b.AdjustTokens(ctx, p.subject, limit, 0, p.l.now())
		if err != nil {
			q = Quota{Limit: limit, Remaining: limit}
		}
		p.d.Tokens = q
		return p.refuseLocked(ctx, ErrTooLarge)
	}
	if p.pending {
		return p.admitLocked(ctx, n)
	}
	q, ok, err := p.l.b.TakeTokens(ctx, p.subject, limit, n, p.l.now())
	if err != nil {
		return err
	}
	p.d.Tokens = q
	if !ok {
		return p.refuseLocked(ctx, ErrLimited)
	}
	p.reserved += n
	return nil
}

// refuseLocked ends p refused by the token bucket, giving back what p took.
func (p *Permit) refuseLocked(ctx context.Context, reason error) error {
	p.giveBackLocked(ctx)
	var err error
	p.d, err = refuse(p.d, Tokens, reason)
	p.refused = err
	return err
}

// giveBackLocked returns the tokens, the request and the slot p holds, in
// one step of the backend. It runs detached from ctx's cancellation: a
// client that left must not keep a refused request's quota spent.
func (p *Permit) giveBackLocked(ctx context.Context) {
	f := Finish{Tokens: -p.reserved, GiveBackRequest: p.request}
	f.Release = p.slot && p.released.CompareAndSwap(false, true)
	if !f.involved(p.limits) {
		return
	}
	d, err := p.l.finishAll(context.WithoutCancel(ctx), p.subject, p.limits, f)
	p.reserved, p.request = 0, false
	if err != nil {
		p.logError("ratelimit: giving back a refused request's quota failed", err)
		return
	}
	if f.Tokens != 0 && d.Tokens.Limit != 0 {
		d.Tokens.RetryAfter = p.d.Tokens.RetryAfter
		p.d.Tokens = d.Tokens
	}
	if f.GiveBackRequest && d.Requests.Limit != 0 {
		d.Requests.RetryAfter = p.d.Requests.RetryAfter
		p.d.Requests = d.Requests
	}
	if f.Release {
		p.d.Concurrency.Remaining = min(p.d.Concurrency.Remaining+1, p.d.Concurrency.Limit)
	}
}

// Cancel gives back everything the Permit took (the request, any reserved
// tokens and the slot) for a request that something else refused before it
// was forwarded, such as a budget, so that the refusal costs no rate-limit
// quota. The Permit is then spent: ReserveTokens returns ErrCanceled, and
// Settle and Release do nothing. Cancel on a nil or spent Permit does
// nothing.
func (p *Permit) Cancel(ctx context.Context) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refused != nil {
		return
	}
	p.pending = false
	p.giveBackLocked(ctx)
	p.refused = ErrCanceled
}

// Settle corrects the token charge to actual, the exact count from the
// upstream's usage (or the gateway's estimate when the client went away): it
// refunds the difference when the reservation was larger, and charges it when
// smaller, which may put the bucket in debt so that the subject's next
// requests wait. Settling again corrects to the new value. With
// TokensPerMinute zero, or after a refusal, it does nothing; a negative actual
// counts as zero.
func (p *Permit) Settle(ctx context.Context, actual int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	limit := p.limits.TokensPerMinute
	if p.refused != nil || p.pending || limit == 0 {
		return nil
	}
	delta := max(actual, 0) - p.reserved
	if delta == 0 {
		return nil
	}
	q, err := p.l.b.AdjustTokens(ctx, p.subject, limit, delta, p.l.now())
	if err != nil {
		return err
	}
	p.d.Tokens = q
	p.reserved += delta
	return nil
}

// Finish ends the request: it corrects the token charge to actual, as
// Settle does, and returns the slot, as Release does, in one step of the
// backend (one round trip with a [Batcher]). A deferred Permit never
// admitted (the request was answered before its reservation) counts as one
// request taken, with no slot and no tokens, so that refused requests still
// count against the rate. Finish on a spent Permit does nothing; a second
// Finish corrects the charge again. ctx should not be canceled: call it
// detached from a client that went away (context.WithoutCancel).
func (p *Permit) Finish(ctx context.Context, actual int64) error {
	err, _ := p.FinishWith(ctx, actual, nil)
	return err
}

// FinishWith is Finish that also runs r, another store's call (nil for
// none): in the same round trip when the backend is a [Carrier], else after
// the finish. It returns the finish's error and r's apart.
func (p *Permit) FinishWith(ctx context.Context, actual int64, r Rider) (err, riderErr error) {
	if p == nil {
		return nil, runRider(ctx, r)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending {
		p.pending, p.refused = false, ErrCanceled
		if p.limits.RequestsPerMinute > 0 {
			var q Quota
			if q, _, err = p.l.b.TakeRequests(ctx, p.subject, p.limits.RequestsPerMinute, 1, p.l.now()); err == nil {
				p.d.Requests = q
			}
		}
		return err, runRider(ctx, r)
	}
	var f Finish
	if p.refused == nil {
		if p.limits.TokensPerMinute > 0 {
			f.Tokens = max(actual, 0) - p.reserved
		}
		f.Release = p.slot && p.released.CompareAndSwap(false, true)
	}
	if !f.involved(p.limits) {
		return nil, runRider(ctx, r)
	}
	var d Decision
	if c, ok := p.l.b.(Carrier); ok && r != nil {
		d, err, riderErr = c.FinishAllWith(ctx, p.subject, p.limits, f, r, p.l.now())
	} else {
		d, err = p.l.finishAll(ctx, p.subject, p.limits, f)
		riderErr = runRider(ctx, r)
	}
	if f.Release {
		p.d.Concurrency.Remaining = min(p.d.Concurrency.Remaining+1, p.d.Concurrency.Limit)
	}
	if err == nil && f.Tokens != 0 {
		p.d.Tokens = d.Tokens
		p.reserved += f.Tokens
	}
	return err, riderErr
}

// runRider runs r, if any.
func runRider(ctx context.Context, r Rider) error {
	if r == nil {
		return nil
	}
	return r.Run(ctx)
}

// logError logs err to the Limiter's Logger, if it has one.
func (p *Permit) logError(msg string, err error) {
	if p.l.log != nil {
		p.l.log.LogAttrs(context.Background(), slog.LevelWarn, msg, slog.String("error", err.Error()))
	}
}

// Release returns the Permit's concurrency slot. It is idempotent and safe to
// call from any goroutine, on every exit path; calls after the first, and
// calls on a nil Permit, do nothing. It neither refunds nor settles tokens:
// call Settle for that (before or after Release). A backend error is logged to
// [Options].Logger.
func (p *Permit) Release() {
	if p == nil {
		return
	}
	// The request's context may be canceled by now (the client went away),
	// and the slot must be returned all the same.
	p.releaseSlot(context.Background())
}

// releaseSlot releases p's slot if it holds one that is not yet released,
// and reports whether it did. ctx must not be canceled: the slot must be
// returned even when the client has gone away.
func (p *Permit) releaseSlot(ctx context.Context) bool {
	if !p.slot || !p.released.CompareAndSwap(false, true) {
		return false
	}
	if err := p.l.b.Release(ctx, p.subject); err != nil {
		p.logError("ratelimit: releasing a concurrency slot failed", err)
	}
	return true
}
