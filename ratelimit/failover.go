package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/internal/breaker"
)

// FailMode says what a limit does when its shared backend fails (errors
// or times out).
type FailMode uint8

// Fail modes.
const (
	// FailOpen keeps limiting with a local, in-process backend while the
	// shared one fails: each replica then enforces the limit on its own (a
	// fleet of N replicas admits up to N times the limit), but no request
	// is refused for the backend's trouble. The zero FailMode.
	FailOpen FailMode = iota
	// FailClosed refuses: the backend's error reaches the caller, which
	// the gateway answers 503 in the client's dialect.
	FailClosed
)

// String returns "open" or "closed".
func (m FailMode) String() string {
	if m == FailClosed {
		return "closed"
	}
	return "open"
}

// FailoverOptions configures Failover.
type FailoverOptions struct {
	// Requests, Tokens and Concurrency are the fail modes of the three
	// limits. The zero value fails open for each.
	Requests, Tokens, Concurrency FailMode
	// Local is the in-process backend used while the shared one fails,
	// for the limits that fail open. Nil means a new Memory with its
	// defaults.
	Local Backend
	// OnFallback, if set, is told of each operation the shared backend
	// failed: the limit, the subject (a key ID) and the mode applied. It
	// runs on the request's goroutine: keep it quick.
	OnFallback func(Fallback)
	// TripAfter and Hold make a circuit breaker: after TripAfter failures
	// of the shared backend in a row, it is not called for Hold, and every
	// operation applies its limit's fail mode at once (counted and told as
	// any fallback), so that an outage does not cost each request a
	// time-out; after the hold, the next operation tries it again. Zero
	// values mean 3 and 1 second; a negative Hold disables the breaker.
	TripAfter int
	Hold      time.Duration
	// Now is the breaker's clock. Nil means time.Now.
	Now func() time.Time
}

// ErrBackendUnavailable is returned by a FailoverBackend for an operation
// whose limit fails closed while its breaker holds the shared backend off.
var ErrBackendUnavailable = errors.New("ratelimit: shared backend unavailable")

// Fallback describes one operation the shared backend failed.
type Fallback struct {
	Dimension Dimension
	Subject   string
	Mode      FailMode
}

// FailoverBackend is a Backend in front of a shared one (Redis, say) that
// applies a fail mode per limit when it fails; see Failover.
type FailoverBackend struct {
	shared, local Backend
	br            *breaker.Breaker
	modes         [4]FailMode // by Dimension
	onFallback    func(Fallback)
	fallbacks     [4]atomic.Uint64 // by Dimension

	// slots counts, per subject, the concurrency slots granted by the
	// local backend, so that they are released there. Its size is bounded
	// by the requests in flight.
	mu    sync.Mutex
	slots map[string]int
}

var _ Backend = (*FailoverBackend)(nil)

// Failover returns shared behind the fail modes of opts: an operation
// whose limit fails open is done on the local backend when shared returns
// an error, and one that fails closed returns the error. Concurrency slots
// taken locally are given back locally. Every fallback is counted
// (Fallbacks) and told to OnFallback.
func Failover(shared Backend, opts *FailoverOptions) (*FailoverBackend, error) {
	var o FailoverOptions
	if opts != nil {
		o = *opts
	}
	if o.Local == nil {
		m, err := NewMemory(nil)
		if err != nil {
			return nil, err
		}
		o.Local = m
	}
	if o.TripAfter < 0 {
		return nil, errors.New("ratelimit: FailoverOptions.TripAfter is negative")
	}
	f := &FailoverBackend{shared: shared, local: o.Local, onFallback: o.OnFallback, slots: map[string]int{},
		br: breaker.New(o.TripAfter, o.Hold, o.Now)}
	f.modes[Requests], f.modes[Tokens], f.modes[Concurrency] = o.Requests, o.Tokens, o.Concurrency
	return f, nil
}

// Fallbacks returns how many operations of dim the shared backend failed
// since Failover, whatever the mode applied.
func (f *FailoverBackend) Fallbacks(dim Dimension) uint64 {
	if int(dim) >= len(f.fallbacks) {
		return 0
	}
	return f.fallbacks[dim].Load()
}

// Mode returns the fail mode in force for dim.
func (f *FailoverBackend) Mode(dim Dimension) FailMode {
	if int(dim) >= len(f.modes) {
		return FailClosed
	}
	return f.modes[dim]
}

// failed counts and tells a failure of the shared backend, and reports
// whether to go on locally.
func (f *FailoverBackend) failed(dim Dimension, subject string) bool {
	f.fallbacks[dim].Add(1)
	mode := f.modes[dim]
	if f.onFallback != nil {
		f.onFallback(Fallback{Dimension: dim, Subject: subject, Mode: mode})
	}
	return mode == FailOpen
}

// record tells the breaker how a call to the shared backend went.
//
// A call cut short by its caller's context (a client that went away) says
// nothing about the backend, and is not counted.
func (f *FailoverBackend) record(ctx context.Context, err error) {
	switch {
	case err == nil:
		f.br.Success()
	case ctx.Err() == nil:
		f.br.Failure()
	}
}

// TakeRequests implements Backend.
func (f *FailoverBackend) TakeRequests(ctx context.Context, subject string, limit, n int64, now time.Time) (Quota, bool, error) {
	var q Quota
	ok, err := false, ErrBackendUnavailable
	if f.br.Allow() {
		q, ok, err = f.shared.TakeRequests(ctx, subject, limit, n, now)
		f.record(ctx, err)
	}
	if err != nil && f.failed(Requests, subject) {
		return f.local.TakeRequests(ctx, subject, limit, n, now)
	}
	return q, ok, err
}

// TakeTokens implements Backend.
func (f *FailoverBackend) TakeTokens(ctx context.Context, subject string, limit, n int64, now time.Time) (Quota, bool, error) {
	var q Quota
	ok, err := false, ErrBackendUnavailable
	if f.br.Allow() {
		q, ok, err = f.shared.TakeTokens(ctx, subject, limit, n, now)
		f.record(ctx, err)
	}
	if err != nil && f.failed(Tokens, subject) {
		return f.local.TakeTokens(ctx, subject, limit, n, now)
	}
	return q, ok, err
}

// AdjustTokens implements Backend.
func (f *FailoverBackend) AdjustTokens(ctx context.Context, subject string, limit, delta int64, now time.Time) (Quota, error) {
	var q Quota
	err := ErrBackendUnavailable
	if f.br.Allow() {
		q, err = f.shared.AdjustTokens(ctx, subject, limit, delta, now)
		f.record(ctx, err)
	}
	if err != nil && f.failed(Tokens, subject) {
		return f.local.AdjustTokens(ctx, subject, limit, delta, now)
	}
	return q, err
}

// Acquire implements Backend.
func (f *FailoverBackend) Acquire(ctx context.Context, subject string, limit int64, now time.Time) (Quota, bool, error) {
	var q Quota
	ok, err := false, ErrBackendUnavailable
	if f.br.Allow() {
		q, ok, err = f.shared.Acquire(ctx, subject, limit, now)
		f.record(ctx, err)
	}
	if err == nil || !f.failed(Concurrency, subject) {
		return q, ok, err
	}
	return failoverLocal{f}.Acquire(ctx, subject, limit, now)
}

// Release implements Backend: a slot the local backend granted goes back
// there, any other to the shared one (while the breaker holds that off, the
// slot's lease is left to expire there).
func (f *FailoverBackend) Release(ctx context.Context, subject string) error {
	f.mu.Lock()
	local := f.slots[subject] > 0
	if local {
		if f.slots[subject]--; f.slots[subject] == 0 {
			delete(f.slots, subject)
		}
	}
	f.mu.Unlock()
	if local {
		return f.local.Release(ctx, subject)
	}
	if !f.br.Allow() {
		return ErrBackendUnavailable
	}
	err := f.shared.Release(ctx, subject)
	f.record(ctx, err)
	return err
}

var _ Batcher = (*FailoverBackend)(nil)

// AdmitAll implements [Batcher]: with a shared backend that batches, one
// call to it; when that call fails, each limit it involved counts a
// fallback, and the request is admitted on the local backend if every one
// of them fails open, or refused with the error if any fails closed. With a
// shared backend that does not batch, it admits step by step, each step
// with its own limit's mode.
func (f *FailoverBackend) AdmitAll(ctx context.Context, subject string, lim Limits, tokens int64, now time.Time) (Decision, error) {
	sb, ok := f.shared.(Batcher)
	if !ok {
		return AdmitSequentially(ctx, f, subject, lim, tokens, now)
	}
	var d Decision
	err := ErrBackendUnavailable
	if f.br.Allow() {
		d, err = sb.AdmitAll(ctx, subject, lim, tokens, now)
		f.record(ctx, err)
	}
	if err == nil {
		return d, nil
	}
	open := true
	for _, dim := range [...]struct {
		on  bool
		dim Dimension
	}{{lim.MaxConcurrent > 0, Concurrency}, {lim.RequestsPerMinute > 0, Requests}, {lim.TokensPerMinute > 0 && tokens > 0, Tokens}} {
		if dim.on && !f.failed(dim.dim, subject) {
			open = false
		}
	}
	if !open {
		return Decision{}, err
	}
	return AdmitSequentially(ctx, failoverLocal{f}, subject, lim, tokens, now)
}

// FinishAll implements [Batcher]. A slot granted by the local backend is
// returned there; the rest goes to the shared backend in one call, and
// when that fails, each part whose limit fails open is applied locally.
func (f *FailoverBackend) FinishAll(ctx context.Context, subject string, lim Limits, fin Finish, now time.Time) (Decision, error) {
	sb, ok := f.shared.(Batcher)
	if !ok || (fin.Release && f.heldLocally(subject)) {
		return FinishSequentially(ctx, f, subject, lim, fin, now)
	}
	var d Decision
	err := ErrBackendUnavailable
	if f.br.Allow() {
		d, err = sb.FinishAll(ctx, subject, lim, fin, now)
		f.record(ctx, err)
	}
	if err == nil {
		return d, nil
	}
	return f.finishFailed(ctx, subject, lim, fin, now, err)
}

// finishFailed handles a failed shared finish: each part whose limit fails
// open is applied locally; err is returned when nothing was.
func (f *FailoverBackend) finishFailed(ctx context.Context, subject string, lim Limits, fin Finish, now time.Time, err error) (Decision, error) {
	var local Finish
	if fin.Tokens != 0 && lim.TokensPerMinute > 0 && f.failed(Tokens, subject) {
		local.Tokens = fin.Tokens
	}
	if fin.GiveBackRequest && lim.RequestsPerMinute > 0 && f.failed(Requests, subject) {
		local.GiveBackRequest = true
	}
	if fin.Release {
		// The shared backend's lease expires on its own.
		f.failed(Concurrency, subject)
	}
	if !local.involved(lim) {
		return Decision{}, err
	}
	return FinishSequentially(ctx, f.local, subject, lim, local, now)
}

// heldLocally reports whether subject holds a slot granted by the local
// backend, which Release would return there.
func (f *FailoverBackend) heldLocally(subject string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.slots[subject] > 0
}

// failoverLocal is the local backend of a FailoverBackend, recording the
// slots it grants so that they are released locally.
type failoverLocal struct{ f *FailoverBackend }

func (l failoverLocal) TakeRequests(ctx context.Context, subject string, limit, n int64, now time.Time) (Quota, bool, error) {
	return l.f.local.TakeRequests(ctx, subject, limit, n, now)
}

func (l failoverLocal) TakeTokens(ctx context.Context, subject string, limit, n int64, now time.Time) (Quota, bool, error) {
	return l.f.local.TakeTokens(ctx, subject, limit, n, now)
}

func (l failoverLocal) AdjustTokens(ctx context.Context, subject string, limit, delta int64, now time.Time) (Quota, error) {
	return l.f.local.AdjustTokens(ctx, subject, limit, delta, now)
}

func (l failoverLocal) Acquire(ctx context.Context, subject string, limit int64, now time.Time) (Quota, bool, error) {
	q, ok, err := l.f.local.Acquire(ctx, subject, limit, now)
	if err == nil && ok {
		l.f.mu.Lock()
		l.f.slots[subject]++
		l.f.mu.Unlock()
	}
	return q, ok, err
}

// Release goes through the FailoverBackend, which routes it by the slots
// recorded.
func (l failoverLocal) Release(ctx context.Context, subject string) error {
	return l.f.Release(ctx, subject)
}

var _ Carrier = (*FailoverBackend)(nil)

// FinishAllWith implements [Carrier]: with a shared backend that carries
// riders and a slot not granted locally, one call to it, whose failure is
// handled as FinishAll's is (r's error is r's); otherwise FinishAll, then r.
func (f *FailoverBackend) FinishAllWith(ctx context.Context, subject string, lim Limits, fin Finish, r Rider, now time.Time) (Decision, error, error) {
	sc, ok := f.shared.(Carrier)
	if !ok || (fin.Release && f.heldLocally(subject)) {
		d, err := f.FinishAll(ctx, subject, lim, fin, now)
		return d, err, runRider(ctx, r)
	}
	if !f.br.Allow() {
		d, err := f.finishFailed(ctx, subject, lim, fin, now, ErrBackendUnavailable)
		return d, err, runRider(ctx, r)
	}
	d, err, riderErr := sc.FinishAllWith(ctx, subject, lim, fin, r, now)
	f.record(ctx, err)
	if err == nil {
		return d, nil, riderErr
	}
	d, err = f.finishFailed(ctx, subject, lim, fin, now, err)
	return d, err, riderErr
}
