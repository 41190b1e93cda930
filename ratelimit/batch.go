package ratelimit

import (
	"context"
	"time"
)

// Batcher is implemented by a [Backend] that can do all of a request's
// operations on one subject in one step: a shared backend, where each step
// is a network round trip (the redisstore module's is one Lua script per
// call). A [Limiter] whose Backend implements Batcher admits a request with
// one AdmitAll and finishes it with one FinishAll, instead of up to three
// calls each.
//
// Both methods must behave exactly as [AdmitSequentially] and
// [FinishSequentially] do on the same Backend, but atomically: the
// conformance suite (ratelimittest.RunBatcherTests) compares them.
type Batcher interface {
	Backend

	// AdmitAll takes, all or nothing, what a request needs of subject: one
	// concurrency slot when lim.MaxConcurrent > 0, one request when
	// lim.RequestsPerMinute > 0, and tokens tokens when
	// lim.TokensPerMinute > 0 and tokens > 0 (then 1 <= tokens <=
	// lim.TokensPerMinute). The Decision holds the Quota of each dimension
	// checked; when one refuses, nothing is taken, Refused names the first
	// refusing dimension in the order concurrency, requests, tokens, and its
	// Quota carries the RetryAfter. lim is valid.
	AdmitAll(ctx context.Context, subject string, lim Limits, tokens int64, now time.Time) (Decision, error)

	// FinishAll applies f to subject in one step (see [Finish]) and
	// returns the Quotas of the buckets it touched.
	FinishAll(ctx context.Context, subject string, lim Limits, f Finish, now time.Time) (Decision, error)
}

// Finish is what ends, or undoes, an admitted request: a correction of its
// token charge, the return of its request and of its concurrency slot.
type Finish struct {
	// Tokens is charged to the token bucket (> 0) or refunded (< 0), as
	// AdjustTokens does, when lim.TokensPerMinute > 0.
	Tokens int64
	// GiveBackRequest returns one request to the request bucket, when
	// lim.RequestsPerMinute > 0: a request refused after admission costs
	// no quota.
	GiveBackRequest bool
	// Release returns one of the subject's concurrency slots, as Release
	// does.
	Release bool
}

// involved reports whether f does anything under lim.
func (f Finish) involved(lim Limits) bool {
	return f.Release || (f.Tokens != 0 && lim.TokensPerMinute > 0) ||
		(f.GiveBackRequest && lim.RequestsPerMinute > 0)
}

// AdmitSequentially does what [Batcher.AdmitAll] does with b's primitive
// operations, one after another: it acquires the slot, takes the request,
// then the tokens, and gives back what it took when a later step refuses or
// fails (detached from ctx's cancellation). It is the reference a Batcher is
// tested against, and what a Batcher may fall back on.
func AdmitSequentially(ctx context.Context, b Backend, subject string, lim Limits, tokens int64, now time.Time) (Decision, error) {
	var d Decision
	var slot, request bool
	undo := func() {
		ctx := context.WithoutCancel(ctx)
		if request {
			if q, _, err := b.TakeRequests(ctx, subject, lim.RequestsPerMinute, -1, now); err == nil {
				q.RetryAfter = d.Requests.RetryAfter
				d.Requests = q
			}
		}
		if slot && b.Release(ctx, subject) == nil {
			d.Concurrency.Remaining = min(d.Concurrency.Remaining+1, d.Concurrency.Limit)
		}
	}
	if lim.MaxConcurrent > 0 {
		q, ok, err := b.Acquire(ctx, subject, lim.MaxConcurrent, now)
		if err != nil {
			return Decision{}, err
		}
		d.Concurrency = q
		if !ok {
			d.Refused = Concurrency
			return d, nil
		}
		slot = true
	}
	if lim.RequestsPerMinute > 0 {
		q, ok, err := b.TakeRequests(ctx, subject, lim.RequestsPerMinute, 1, now)
		if err != nil {
			undo()
			return Decision{}, err
		}
		d.Requests = q
		if !ok {
			d.Refused = Requests
			undo()
			return d, nil
		}
		request = true
	}
	if lim.TokensPerMinute > 0 && tokens > 0 {
		q, ok, err := b.TakeTokens(ctx, subject, lim.TokensPerMinute, tokens, now)
		if err != nil {
			undo()
			return Decision{}, err
		}
		d.Tokens = q
		if !ok {
			d.Refused = Tokens
			undo()
			return d, nil
		}
	}
	return d, nil
}

// FinishSequentially does what [Batcher.FinishAll] does with b's primitive
// operations, one after another: the token correction, the request's
// return, then the slot's. It goes on after a failed step and returns the
// first error.
func FinishSequentially(ctx context.Context, b Backend, subject string, lim Limits, f Finish, now time.Time) (Decision, error) {
	var d Decision
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	if f.Tokens != 0 && lim.TokensPerMinute > 0 {
		q, err := b.AdjustTokens(ctx, subject, lim.TokensPerMinute, f.Tokens, now)
		if err != nil {
			keep(err)
		} else {
			d.Tokens = q
		}
	}
	if f.GiveBackRequest && lim.RequestsPerMinute > 0 {
		q, _, err := b.TakeRequests(ctx, subject, lim.RequestsPerMinute, -1, now)
		if err != nil {
			keep(err)
		} else {
			d.Requests = q
		}
	}
	if f.Release {
		if err := b.Release(ctx, subject); err != nil {
			keep(err)
		}
	}
	return d, first
}

// A Rider is a call to another store, such as a budget ledger's
// settlement, that a shared backend may make in the same round trip as its
// FinishAll when both stores live on the same server (see [Carrier]). Run
// makes the call on its own.
type Rider interface {
	Run(ctx context.Context) error
}

// A Carrier is a [Batcher] that can carry a [Rider] in the round trip of a
// FinishAll: the gateway ends a request's limits and settles its budget in
// one round trip when its Limiter's backend is a Carrier and its ledger
// hands out Riders that the Carrier knows (the redisstore module's, on one
// client). A Rider the Carrier does not know is run after the FinishAll.
type Carrier interface {
	Batcher

	// FinishAllWith does what FinishAll does and runs r, and returns
	// FinishAll's result and error and r's error apart.
	FinishAllWith(ctx context.Context, subject string, lim Limits, f Finish, r Rider, now time.Time) (d Decision, err, riderErr error)
}
