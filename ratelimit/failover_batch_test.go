package ratelimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/ratelimit/ratelimittest"
)

// flakyBatcher is a flaky Backend that also batches, each batch one call
// that fails while down.
type flakyBatcher struct {
	*flaky
	batches atomic.Int64
}

func (f *flakyBatcher) AdmitAll(ctx context.Context, s string, lim ratelimit.Limits, tokens int64, now time.Time) (ratelimit.Decision, error) {
	f.batches.Add(1)
	if f.down.Load() {
		return ratelimit.Decision{}, errSharedDown
	}
	return ratelimit.AdmitSequentially(ctx, f.Backend, s, lim, tokens, now)
}

func (f *flakyBatcher) FinishAll(ctx context.Context, s string, lim ratelimit.Limits, fin ratelimit.Finish, now time.Time) (ratelimit.Decision, error) {
	f.batches.Add(1)
	if f.down.Load() {
		return ratelimit.Decision{}, errSharedDown
	}
	return ratelimit.FinishSequentially(ctx, f.Backend, s, lim, fin, now)
}

// Failover passes the Batcher suite over a batching shared backend and over
// one that does not batch.
func TestFailoverBatcherConformance(t *testing.T) {
	t.Run("SharedBatches", func(t *testing.T) {
		ratelimittest.RunBatcherTests(t, func(t *testing.T) ratelimit.Batcher {
			f, err := ratelimit.Failover(&flakyBatcher{flaky: newFlaky(t)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return f
		})
	})
	t.Run("SharedDoesNotBatch", func(t *testing.T) {
		ratelimittest.RunBatcherTests(t, func(t *testing.T) ratelimit.Batcher {
			f, err := ratelimit.Failover(newFlaky(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			return f
		})
	})
}

// A Limiter over a batching backend admits and finishes a request with one
// call each; with the shared backend down and every limit failing open, the
// local backend still limits, and its slots are returned there.
func TestFailoverBatchOpen(t *testing.T) {
	shared := &flakyBatcher{flaky: newFlaky(t)}
	var heard []ratelimit.Fallback
	fb, err := ratelimit.Failover(shared, &ratelimit.FailoverOptions{OnFallback: func(f ratelimit.Fallback) { heard = append(heard, f) }})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ratelimit.New(&ratelimit.Options{Backend: fb, Now: func() time.Time { return time.Unix(1e9, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lim := ratelimit.Limits{MaxConcurrent: 1, RequestsPerMinute: 10, TokensPerMinute: 100}

	p, err := l.Defer("k", lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ReserveTokens(ctx, 40); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(ctx, 30); err != nil {
		t.Fatal(err)
	}
	if shared.batches.Load() != 2 {
		t.Fatalf("backend calls for one request: %d; want 2 (one AdmitAll, one FinishAll)", shared.batches.Load())
	}

	shared.down.Store(true)
	p1, _ := l.Defer("k", lim)
	if err := p1.ReserveTokens(ctx, 10); err != nil {
		t.Fatalf("shared down, every limit open: %v; want admitted locally", err)
	}
	p2, _ := l.Defer("k", lim)
	if err := p2.ReserveTokens(ctx, 10); !errors.Is(err, ratelimit.ErrLimited) || p2.Decision().Refused != ratelimit.Concurrency {
		t.Fatalf("second request with the one local slot held: %v (refused %v); want the local concurrency limit", err, p2.Decision().Refused)
	}
	shared.down.Store(false)
	if err := p1.Finish(ctx, 10); err != nil { // the slot goes back to the local backend
		t.Fatal(err)
	}
	p3, _ := l.Defer("k", lim)
	if err := p3.ReserveTokens(ctx, 10); err != nil {
		t.Fatalf("after the local slot's release, shared back up: %v", err)
	}
	if got := fb.Fallbacks(ratelimit.Concurrency) + fb.Fallbacks(ratelimit.Requests) + fb.Fallbacks(ratelimit.Tokens); got != 6 || len(heard) != 6 {
		t.Errorf("fallbacks counted %d, heard %d; want 6 each (two admissions of three limits)", got, len(heard))
	}
}

// A combined admission fails closed when any limit it involves does.
func TestFailoverBatchClosed(t *testing.T) {
	shared := &flakyBatcher{flaky: newFlaky(t)}
	fb, err := ratelimit.Failover(shared, &ratelimit.FailoverOptions{Tokens: ratelimit.FailClosed})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ratelimit.New(&ratelimit.Options{Backend: fb})
	if err != nil {
		t.Fatal(err)
	}
	shared.down.Store(true)
	p, _ := l.Defer("k", ratelimit.Limits{RequestsPerMinute: 10, TokensPerMinute: 100})
	if err := p.ReserveTokens(context.Background(), 5); !errors.Is(err, errSharedDown) {
		t.Fatalf("tokens fail closed: %v; want the backend's error", err)
	}
	// Without tokens involved, the open limits admit locally.
	p, _ = l.Defer("k", ratelimit.Limits{RequestsPerMinute: 10, TokensPerMinute: 100})
	if err := p.Admit(context.Background()); err != nil {
		t.Fatalf("requests only, failing open: %v", err)
	}
}

// flakyCarrier is a flakyBatcher that carries riders, counting them.
type flakyCarrier struct {
	*flakyBatcher
	carried atomic.Int64
}

func (f *flakyCarrier) FinishAllWith(ctx context.Context, s string, lim ratelimit.Limits, fin ratelimit.Finish, r ratelimit.Rider, now time.Time) (ratelimit.Decision, error, error) {
	f.batches.Add(1)
	if f.down.Load() {
		return ratelimit.Decision{}, errSharedDown, errSharedDown
	}
	f.carried.Add(1)
	d, err := ratelimit.FinishSequentially(ctx, f.Backend, s, lim, fin, now)
	return d, err, r.Run(ctx)
}

// riderFunc is a Rider made of a function.
type riderFunc func(context.Context) error

func (r riderFunc) Run(ctx context.Context) error { return r(ctx) }

// Permit.FinishWith hands the rider to a carrying backend (through
// Failover) in the one call that ends the request; a slot granted locally
// during an outage is returned locally and the rider runs on its own; with
// the shared backend down, the finish falls back and the rider's error is
// its own.
func TestFinishWithCarrier(t *testing.T) {
	shared := &flakyCarrier{flakyBatcher: &flakyBatcher{flaky: newFlaky(t)}}
	fb, err := ratelimit.Failover(shared, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ratelimit.New(&ratelimit.Options{Backend: fb, Now: func() time.Time { return time.Unix(1e9, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Carries() || !l.Batches() {
		t.Fatalf("Carries %v, Batches %v; want both", l.Carries(), l.Batches())
	}
	ctx := context.Background()
	lim := ratelimit.Limits{MaxConcurrent: 1, TokensPerMinute: 100}
	var runs atomic.Int64
	rider := riderFunc(func(context.Context) error { runs.Add(1); return nil })

	p, _ := l.Defer("k", lim)
	if err := p.ReserveTokens(ctx, 50); err != nil {
		t.Fatal(err)
	}
	shared.batches.Store(0)
	if err, riderErr := p.FinishWith(ctx, 20, rider); err != nil || riderErr != nil {
		t.Fatal(err, riderErr)
	}
	if shared.batches.Load() != 1 || shared.carried.Load() != 1 || runs.Load() != 1 {
		t.Fatalf("calls %d, carried %d, rider runs %d; want 1 each", shared.batches.Load(), shared.carried.Load(), runs.Load())
	}
	if got := p.Decision().Tokens.Remaining; got != 80 {
		t.Errorf("tokens after the finish: %d; want 80 (charge corrected to 20)", got)
	}

	// A slot taken locally while the shared backend was down.
	shared.down.Store(true)
	p, _ = l.Defer("k", lim)
	if err := p.ReserveTokens(ctx, 10); err != nil {
		t.Fatal(err)
	}
	shared.down.Store(false)
	if err, riderErr := p.FinishWith(ctx, 10, rider); err != nil || riderErr != nil {
		t.Fatal(err, riderErr)
	}
	if shared.carried.Load() != 1 || runs.Load() != 2 {
		t.Errorf("local slot: carried %d, rider runs %d; want 1 and 2 (not carried, run alone)", shared.carried.Load(), runs.Load())
	}
	p, _ = l.Defer("k", lim)
	if err := p.ReserveTokens(ctx, 10); err != nil {
		t.Fatalf("the local slot was not returned: %v", err)
	}

	// The shared backend down at the end: the token correction falls back
	// locally (tokens fail open), the rider's error is returned apart.
	shared.down.Store(true)
	err, riderErr := p.FinishWith(ctx, 5, rider)
	if err != nil || !errors.Is(riderErr, errSharedDown) {
		t.Errorf("shared down at the finish: %v, %v; want nil (fell back) and the rider's error", err, riderErr)
	}
}

// A nil or never-admitted Permit still runs the rider.
func TestFinishWithNoPermit(t *testing.T) {
	var runs int
	rider := riderFunc(func(context.Context) error { runs++; return nil })
	var p *ratelimit.Permit
	if err, riderErr := p.FinishWith(context.Background(), 0, rider); err != nil || riderErr != nil || runs != 1 {
		t.Fatalf("nil Permit: %v, %v, runs %d", err, riderErr, runs)
	}
	l, _ := ratelimit.New(nil)
	p, _ = l.Defer("k", ratelimit.Limits{RequestsPerMinute: 1})
	if err, riderErr := p.FinishWith(context.Background(), 0, rider); err != nil || riderErr != nil || runs != 2 {
		t.Fatalf("deferred Permit: %v, %v, runs %d", err, riderErr, runs)
	}
}

// countingFlaky is a flaky backend that counts the calls it receives.
type countingFlaky struct {
	*flaky
	calls atomic.Int64
}

func (c *countingFlaky) TakeRequests(ctx context.Context, s string, limit, n int64, now time.Time) (ratelimit.Quota, bool, error) {
	c.calls.Add(1)
	return c.flaky.TakeRequests(ctx, s, limit, n, now)
}

// After three failures in a row the breaker holds the shared backend off:
// operations fall back at once (counted), without calling it, until the
// hold ends; then one call tries it again.
func TestFailoverBreaker(t *testing.T) {
	shared := &countingFlaky{flaky: newFlaky(t)}
	var mu sync.Mutex
	clock := time.Unix(1e9, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	for _, tc := range []struct {
		mode    ratelimit.FailMode
		wantErr error
	}{{ratelimit.FailOpen, nil}, {ratelimit.FailClosed, ratelimit.ErrBackendUnavailable}} {
		shared.calls.Store(0)
		fb, err := ratelimit.Failover(shared, &ratelimit.FailoverOptions{Requests: tc.mode, Hold: time.Second, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		shared.down.Store(true)
		ctx := context.Background()
		for i := range 10 {
			_, _, err := fb.TakeRequests(ctx, "k", 100, 1, now())
			if i >= 3 && !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
				t.Fatalf("%v, call %d while held off: %v; want %v", tc.mode, i+1, err, tc.wantErr)
			}
		}
		if n := shared.calls.Load(); n != 3 {
			t.Errorf("%v: calls reaching the shared backend: %d; want 3 (then held off)", tc.mode, n)
		}
		if n := fb.Fallbacks(ratelimit.Requests); n != 10 {
			t.Errorf("%v: fallbacks counted %d; want 10 (held-off operations count)", tc.mode, n)
		}
		shared.down.Store(false)
		advance(999 * time.Millisecond)
		fb.TakeRequests(ctx, "k", 100, 1, now())
		if n := shared.calls.Load(); n != 3 {
			t.Errorf("%v: the shared backend was called before the hold ended", tc.mode)
		}
		advance(time.Millisecond)
		if _, _, err := fb.TakeRequests(ctx, "k", 100, 1, now()); err != nil {
			t.Errorf("%v: after the hold, shared back: %v", tc.mode, err)
		}
		if n := shared.calls.Load(); n != 4 {
			t.Errorf("%v: calls after the hold: %d; want 4", tc.mode, n)
		}
	}
}

// A negative Hold disables the breaker: every operation tries the shared
// backend.
func TestFailoverBreakerDisabled(t *testing.T) {
	shared := &countingFlaky{flaky: newFlaky(t)}
	fb, err := ratelimit.Failover(shared, &ratelimit.FailoverOptions{Hold: -1})
	if err != nil {
		t.Fatal(err)
	}
	shared.down.Store(true)
	for range 10 {
		fb.TakeRequests(context.Background(), "k", 100, 1, time.Now())
	}
	if n := shared.calls.Load(); n != 10 {
		t.Errorf("calls with the breaker disabled: %d; want 10", n)
	}
}

// Calls cut short by their caller's context (clients that went away) do
// not trip the breaker.
func TestFailoverBreakerIgnoresCanceledCallers(t *testing.T) {
	shared := &countingFlaky{flaky: newFlaky(t)}
	fb, err := ratelimit.Failover(shared, &ratelimit.FailoverOptions{Requests: ratelimit.FailClosed})
	if err != nil {
		t.Fatal(err)
	}
	shared.down.Store(true) // every call fails, as one cut by its context would
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 10 {
		fb.TakeRequests(ctx, "k", 100, 1, time.Now())
	}
	if n := shared.calls.Load(); n != 10 {
		t.Errorf("calls reaching the shared backend: %d; want 10 (canceled callers trip nothing)", n)
	}
}
