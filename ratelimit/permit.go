package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Permit is one admitted request: it holds the concurrency slot (if
// concurrency is limited) and the request's token reservation, from
// [Limiter.Admit] to the end of the request.
//
// The caller must call Release on every exit path; a deferred call does that,
// including on a panic. Release, Decision, Subject and Limits accept a nil
// *Permit (Release then does nothing, so it may be deferred before checking
// Admit's error); ReserveTokens and Settle need a Permit from Admit. A Permit
// is safe for concurrent use.
type Permit struct {
	l       *Limiter
	subject string
	limits  Limits

	released atomic.Bool // the slot, if any, is released

	mu       sync.Mutex
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

// ReserveTokens takes n tokens, the request's estimate (see [TokenEstimator]),
// from the subject's token bucket before the request is forwarded. Call
// [Permit.Settle] with the exact count afterwards.
//
// If the bucket holds fewer than n tokens, or n exceeds TokensPerMinute, the
// request is refused: ReserveTokens gives back everything the Permit took (the
// request, the slot and any tokens reserved before) and returns a
// [*LimitError] wrapping [ErrLimited] or [ErrTooLarge] (also for a negative
// n, which only an overflowing estimator produces). The Permit is then
// spent: ReserveTokens returns the same error again, and Settle and Release do
// nothing. With TokensPerMinute zero, or n zero, it does nothing. Calling it
// again reserves n more.
func (p *Permit) ReserveTokens(ctx context.Context, n int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refused != nil {
		return p.refused
	}
	limit := p.limits.TokensPerMinute
	if limit == 0 || n == 0 {
		return nil
	}
	if n > limit || n < 0 { // a negative estimate is an estimator's overflow
		// Adjusting by zero reads the bucket, for the headers.
		q, err := p.l.b.AdjustTokens(ctx, p.subject, limit, 0, p.l.now())
		if err != nil {
			q = Quota{Limit: limit, Remaining: limit}
		}
		p.d.Tokens = q
		return p.refuseLocked(ctx, ErrTooLarge)
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

// giveBackLocked returns the tokens, the request and the slot p holds. It
// runs detached from ctx's cancellation: a client that left must not keep
// a refused request's quota spent.
func (p *Permit) giveBackLocked(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	now := p.l.now()
	if p.reserved != 0 {
		if q, err := p.l.b.AdjustTokens(ctx, p.subject, p.limits.TokensPerMinute, -p.reserved, now); err == nil {
			q.RetryAfter = p.d.Tokens.RetryAfter
			p.d.Tokens = q
			p.reserved = 0
		}
	}
	if p.request {
		if q, _, err := p.l.b.TakeRequests(ctx, p.subject, p.limits.RequestsPerMinute, -1, now); err == nil {
			p.d.Requests = q
			p.request = false
		}
	}
	if p.releaseSlot(context.WithoutCancel(ctx)) {
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
	if p.refused != nil || limit == 0 {
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
	if err := p.l.b.Release(ctx, p.subject); err != nil && p.l.log != nil {
		p.l.log.LogAttrs(ctx, slog.LevelWarn, "ratelimit: releasing a concurrency slot failed",
			slog.String("error", err.Error()))
	}
	return true
}
