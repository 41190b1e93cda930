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

var errSharedDown = errors.New("backend unreachable")

// flaky is a Backend that fails every operation while down.
type flaky struct {
	ratelimit.Backend
	down atomic.Bool
}

func (f *flaky) TakeRequests(ctx context.Context, s string, limit, n int64, now time.Time) (ratelimit.Quota, bool, error) {
	if f.down.Load() {
		return ratelimit.Quota{}, false, errSharedDown
	}
	return f.Backend.TakeRequests(ctx, s, limit, n, now)
}

func (f *flaky) TakeTokens(ctx context.Context, s string, limit, n int64, now time.Time) (ratelimit.Quota, bool, error) {
	if f.down.Load() {
		return ratelimit.Quota{}, false, errSharedDown
	}
	return f.Backend.TakeTokens(ctx, s, limit, n, now)
}

func (f *flaky) AdjustTokens(ctx context.Context, s string, limit, delta int64, now time.Time) (ratelimit.Quota, error) {
	if f.down.Load() {
		return ratelimit.Quota{}, errSharedDown
	}
	return f.Backend.AdjustTokens(ctx, s, limit, delta, now)
}

func (f *flaky) Acquire(ctx context.Context, s string, limit int64, now time.Time) (ratelimit.Quota, bool, error) {
	if f.down.Load() {
		return ratelimit.Quota{}, false, errSharedDown
	}
	return f.Backend.Acquire(ctx, s, limit, now)
}

func (f *flaky) Release(ctx context.Context, s string) error {
	if f.down.Load() {
		return errSharedDown
	}
	return f.Backend.Release(ctx, s)
}

func newFlaky(t testing.TB) *flaky {
	m, err := ratelimit.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &flaky{Backend: m}
}

// A healthy shared backend behind Failover passes the conformance suite.
func TestFailoverConformance(t *testing.T) {
	ratelimittest.RunBackendTests(t, func(t *testing.T) ratelimit.Backend {
		f, err := ratelimit.Failover(newFlaky(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		return f
	})
}

func TestFailoverOpenLimitsLocally(t *testing.T) {
	shared := newFlaky(t)
	var mu sync.Mutex
	var heard []ratelimit.Fallback
	f, err := ratelimit.Failover(shared, &ratelimit.FailoverOptions{OnFallback: func(fb ratelimit.Fallback) {
		mu.Lock()
		heard = append(heard, fb)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	lim, err := ratelimit.New(&ratelimit.Options{Backend: f, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	limits := ratelimit.Limits{RequestsPerMinute: 2, MaxConcurrent: 1}
	shared.down.Store(true)
	ctx := t.Context()
	p, err := lim.Admit(ctx, "key_a", limits)
	if err != nil {
		t.Fatalf("first admit while the shared backend is down: %v; want admitted locally", err)
	}
	if _, err := lim.Admit(ctx, "key_a", limits); !errors.Is(err, ratelimit.ErrLimited) {
		t.Errorf("a second concurrent request: %v; want the local concurrency limit", err)
	}
	p.Release()
	p, err = lim.Admit(ctx, "key_a", limits)
	if err != nil {
		t.Fatalf("second request after the first ended: %v", err)
	}
	p.Release()
	if _, err := lim.Admit(ctx, "key_a", limits); !errors.Is(err, ratelimit.ErrLimited) {
		t.Errorf("a third request in the minute: %v; want the local request limit", err)
	}
	if f.Fallbacks(ratelimit.Requests) == 0 || f.Fallbacks(ratelimit.Concurrency) == 0 {
		t.Errorf("fallbacks: requests %d, concurrency %d; want counted", f.Fallbacks(ratelimit.Requests), f.Fallbacks(ratelimit.Concurrency))
	}
	mu.Lock()
	if len(heard) == 0 || heard[0].Subject != "key_a" || heard[0].Mode != ratelimit.FailOpen {
		t.Errorf("OnFallback heard %+v", heard)
	}
	mu.Unlock()
	// The shared backend is back: a slot taken from it is given back to it.
	shared.down.Store(false)
	now = now.Add(time.Minute)
	p, err = lim.Admit(ctx, "key_a", limits)
	if err != nil {
		t.Fatalf("admit once the shared backend is back: %v", err)
	}
	p.Release()
	if q, ok, err := shared.Acquire(ctx, "key_a", 1, now); err != nil || !ok || q.Remaining != 0 {
		t.Errorf("the shared slot after release: %+v %v %v; want free (taken now)", q, ok, err)
	}
}

func TestFailoverClosedRefuses(t *testing.T) {
	shared := newFlaky(t)
	f, err := ratelimit.Failover(shared, &ratelimit.FailoverOptions{Requests: ratelimit.FailClosed, Tokens: ratelimit.FailClosed, Concurrency: ratelimit.FailClosed})
	if err != nil {
		t.Fatal(err)
	}
	lim, err := ratelimit.New(&ratelimit.Options{Backend: f})
	if err != nil {
		t.Fatal(err)
	}
	shared.down.Store(true)
	if _, err := lim.Admit(t.Context(), "key_b", ratelimit.Limits{RequestsPerMinute: 5}); !errors.Is(err, errSharedDown) {
		t.Errorf("Admit: %v; want the backend's error", err)
	}
	if f.Fallbacks(ratelimit.Requests) != 1 || f.Mode(ratelimit.Requests) != ratelimit.FailClosed {
		t.Errorf("fallbacks %d, mode %v", f.Fallbacks(ratelimit.Requests), f.Mode(ratelimit.Requests))
	}
}
