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
// unlimited; if the request bucket refuses, the slot is given back. It is
// [Limiter.Defer] followed by [Permit.Admit].
//
// On success the returned Permit holds the slot until [Permit.Release] or
// [Permit.Finish], one of which the caller must call (a deferred call is
// simplest), and reserves tokens with [Permit.ReserveTokens]. On refusal
// Admit returns a nil *Permit (whose Release does nothing) and a
// [*LimitError]; on a backend failure, the backend's error.
func (l *Limiter) Admit(ctx context.Context, subject string, lim Limits) (*Permit, error) {
	p, err := l.Defer(subject, lim)
	if err != nil {
		return nil, err
	}
	if err := p.Admit(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Defer returns a Permit for one request of subject that is not admitted
// yet, and touches no state: the request is admitted by the Permit's first
// [Permit.ReserveTokens] (slot, request and tokens together) or
// [Permit.Admit]. A request answered before either (malformed, say) is
// counted by [Permit.Finish] as one request, with no slot.
//
// Deferring lets a caller that reserves tokens admit the request in one step:
// with a [Batcher] backend (Redis, say) that is one round trip instead of
// three. It returns an error only for invalid limits.
func (l *Limiter) Defer(subject string, lim Limits) (*Permit, error) {
	p := new(Permit)
	if err := l.DeferInto(p, subject, lim); err != nil {
		return nil, err
	}
	return p, nil
}

// DeferInto is Defer into a Permit the caller provides, which must be the
// zero Permit (part of a larger per-request value, say, to save an
// allocation); it must not be copied afterwards.
func (l *Limiter) DeferInto(p *Permit, subject string, lim Limits) error {
	if err := lim.Validate(); err != nil {
		return err
	}
	p.l, p.subject, p.limits, p.pending = l, subject, lim, true
	return nil
}

// Batches reports whether the Limiter's Backend does a request's operations
// in one step (it implements [Batcher]): a shared backend, such as Redis,
// whose every call is a round trip.
func (l *Limiter) Batches() bool {
	_, ok := l.b.(Batcher)
	return ok
}

// Carries reports whether the Limiter's Backend can carry another store's
// call in the round trip that ends a request (it implements [Carrier]).
func (l *Limiter) Carries() bool {
	_, ok := l.b.(Carrier)
	return ok
}

// admitAll admits with the backend's AdmitAll if it batches, else step by
// step.
func (l *Limiter) admitAll(ctx context.Context, subject string, lim Limits, tokens int64) (Decision, error) {
	if b, ok := l.b.(Batcher); ok {
		return b.AdmitAll(ctx, subject, lim, tokens, l.now())
	}
	return AdmitSequentially(ctx, l.b, subject, lim, tokens, l.now())
}

// finishAll applies f with the backend's FinishAll if it batches, else
// step by step.
func (l *Limiter) finishAll(ctx context.Context, subject string, lim Limits, f Finish) (Decision, error) {
	if b, ok := l.b.(Batcher); ok {
		return b.FinishAll(ctx, subject, lim, f, l.now())
	}
	return FinishSequentially(ctx, l.b, subject, lim, f, l.now())
}

// refuse returns d refused by dim, and the LimitError for it.
func refuse(d Decision, dim Dimension, reason error) (Decision, error) {
	d.Refused = dim
	return d, &LimitError{Decision: d, Err: reason}
}

// Local reports whether the Limiter's Backend is the in-process Memory,
// whose calls wait on no other process.
func (l *Limiter) Local() bool {
	_, ok := l.b.(*Memory)
	return ok
}
