package ratelimit

import (
	"context"
	"log/slog"
	"time"
)

// concurrencyRetryAfter is the retry-after suggested when every slot is held:
// one frees when some request ends, which cannot be predicted.
const concurrencyRetryAfter = time.Second

// Options configures a [Limiter]. A nil *Options, like the zero Options, uses
// the defaults.
type Options struct {
	// Backend stores the state. If nil, a new [Memory] with
	// DefaultMaxSubjects is used.
	Backend Backend

	// Now returns the current time. If nil, time.Now is used. Tests set it to
	// a fake clock so that they never sleep.
	Now func() time.Time

	// Logger receives the errors of Permit.Release, which has no caller to
	// return them to (only a distributed Backend can fail there). If nil,
	// they are discarded.
	Logger *slog.Logger
}

// Limiter applies the concurrency, request and token limits of each subject,
// keeping their state in a [Backend]. Every call takes the subject's [Limits].
//
// Use [New] to make one; the zero Limiter is not usable. A Limiter is safe
// for concurrent use and starts no goroutine.
type Limiter struct {
	b   Backend
	now func() time.Time
	log *slog.Logger
}

// New returns a Limiter. opts may be nil.
func New(opts *Options) (*Limiter, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Backend == nil {
		m, err := NewMemory(nil)
		if err != nil {
			return nil, err
		}
		o.Backend = m
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Limiter{b: o.Backend, now: o.Now, log: o.Logger}, nil
}

// Allow takes one request from subject's request bucket, and checks nothing
// else (neither concurrency nor tokens). It returns the Decision, and a
// [*LimitError] wrapping [ErrLimited] when the bucket is empty. With
// lim.RequestsPerMinute zero it allows at once, touching no state.
func (l *Limiter) Allow(ctx context.Context, subject string, lim Limits) (Decision, error) {
	if err := lim.Validate(); err != nil {
		return Decision{}, err
	}
	if lim.RequestsPerMinute == 0 {
		return Decision{}, nil
	}
	q, ok, err := l.b.TakeRequests(ctx, subject, lim.RequestsPerMinute, 1, l.now())
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Requests: q}
	if !ok {
		return refuse(d, Requests, ErrLimited)
	}
	return d, nil
}

// Admit admits one request of subject: it takes a concurrency slot, then one
// request from the request bucket, skipping the dimensions that lim leaves
// unlimited. If the request bucket refuses, the slot is given back.
//
// On success the returned Permit holds the slot until [Permit.Release], which
// the caller must call (a deferred call is simplest), and reserves tokens with
// [Permit.ReserveTokens]. On refusal Admit returns a nil *Permit (whose
// Release does nothing) and a [*LimitError]; on a backend failure, the
// backend's error.
func (l *Limiter) Admit(ctx context.Context, subject string, lim Limits) (*Permit, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	now := l.now()
	p := &Permit{l: l, subject: subject, limits: lim}
	if lim.MaxConcurrent > 0 {
		q, ok, err := l.b.Acquire(ctx, subject, lim.MaxConcurrent, now)
		if err != nil {
			return nil, err
		}
		p.d.Concurrency = q
		if !ok {
			p.d.Concurrency.RetryAfter = max(q.RetryAfter, concurrencyRetryAfter)
			_, err := refuse(p.d, Concurrency, ErrLimited)
			return nil, err
		}
		p.slot = true
	}
	if lim.RequestsPerMinute > 0 {
		q, ok, err := l.b.TakeRequests(ctx, subject, lim.RequestsPerMinute, 1, now)
		if (err != nil || !ok) && p.releaseSlot(context.WithoutCancel(ctx)) {
			p.d.Concurrency.Remaining = min(p.d.Concurrency.Remaining+1, p.d.Concurrency.Limit)
		}
		if err != nil {
			return nil, err
		}
		p.d.Requests = q
		if !ok {
			_, err := refuse(p.d, Requests, ErrLimited)
			return nil, err
		}
		p.request = true
	}
	return p, nil
}

// refuse returns d refused by dim, and the LimitError for it.
func refuse(d Decision, dim Dimension, reason error) (Decision, error) {
	d.Refused = dim
	return d, &LimitError{Decision: d, Err: reason}
}
