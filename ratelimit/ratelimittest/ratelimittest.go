// Package ratelimittest is the conformance suite for implementations of
// ratelimit.Backend and ratelimit.ThrottleBackend: a backend author calls
// RunBackendTests or RunThrottleBackendTests from a test of their own, as
// gocloud.dev's drivertest does for its drivers.
package ratelimittest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/ratelimit"
)

// t0 is the suite's starting time; times are whole milliseconds apart, so a
// backend that keeps milliseconds passes too.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// RunBackendTests runs the tests every ratelimit.Backend must pass.
// newBackend returns a new, empty backend for each subtest (for a shared
// server, one with its own key space). The backend must honour the times it is
// given (see ratelimit.Backend), since the suite advances time by passing
// later ones.
func RunBackendTests(t *testing.T, newBackend func(t *testing.T) ratelimit.Backend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b ratelimit.Backend)
	}{
		{"RequestsBurstAndRefill", testRequestsBurstAndRefill},
		{"RequestsGiveBack", testRequestsGiveBack},
		{"TokensTakeAndRefund", testTokensTakeAndRefund},
		{"TokensDebt", testTokensDebt},
		{"TokensUnevenLimit", testTokensUnevenLimit},
		{"Slots", testSlots},
		{"SubjectsIndependent", testSubjectsIndependent},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newBackend(t)) })
	}
}

func at(d time.Duration) time.Time { return t0.Add(d) }

type result struct {
	Q  ratelimit.Quota
	OK bool
}

func check(t *testing.T, what string, q ratelimit.Quota, ok bool, err error, want result) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if diff := cmp.Diff(want, result{q, ok}); diff != "" {
		t.Fatalf("%s: (-want +got):\n%s", what, diff)
	}
}

func testRequestsBurstAndRefill(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	const limit = 5 // one request per 12s
	for i := range int64(limit) {
		q, ok, err := b.TakeRequests(ctx, "s", limit, 1, t0)
		check(t, fmt.Sprintf("take %d", i+1), q, ok, err, result{ratelimit.Quota{
			Limit: limit, Remaining: limit - 1 - i, Reset: time.Duration(i+1) * 12 * time.Second,
		}, true})
	}
	q, ok, err := b.TakeRequests(ctx, "s", limit, 1, t0)
	check(t, "take 6", q, ok, err, result{ratelimit.Quota{
		Limit: limit, Remaining: 0, Reset: time.Minute, RetryAfter: 12 * time.Second,
	}, false})
	q, ok, err = b.TakeRequests(ctx, "s", limit, 1, at(12*time.Second-time.Millisecond))
	check(t, "take just before the refill", q, ok, err, result{ratelimit.Quota{
		Limit: limit, Remaining: 0, Reset: 48*time.Second + time.Millisecond, RetryAfter: time.Millisecond,
	}, false})
	q, ok, err = b.TakeRequests(ctx, "s", limit, 1, at(12*time.Second))
	check(t, "take after the refill", q, ok, err, result{ratelimit.Quota{
		Limit: limit, Remaining: 0, Reset: time.Minute,
	}, true})
	q, ok, err = b.TakeRequests(ctx, "s", limit, 2, at(72*time.Second))
	check(t, "take 2 after a full refill", q, ok, err, result{ratelimit.Quota{
		Limit: limit, Remaining: 3, Reset: 24 * time.Second,
	}, true})
}

func testRequestsGiveBack(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	const limit = 5
	q, ok, err := b.TakeRequests(ctx, "fresh", limit, -1, t0)
	check(t, "give back to a fresh subject", q, ok, err, result{ratelimit.Quota{Limit: limit, Remaining: limit}, true})

	for range limit {
		if _, ok, err := b.TakeRequests(ctx, "s", limit, 1, t0); err != nil || !ok {
			t.Fatalf("take: %v, %v; want granted", ok, err)
		}
	}
	q, ok, err = b.TakeRequests(ctx, "s", limit, -1, t0)
	check(t, "give back 1", q, ok, err, result{ratelimit.Quota{Limit: limit, Remaining: 1, Reset: 48 * time.Second}, true})
	q, ok, err = b.TakeRequests(ctx, "s", limit, 1, t0)
	check(t, "take the given-back request", q, ok, err, result{ratelimit.Quota{Limit: limit, Remaining: 0, Reset: time.Minute}, true})
	q, ok, err = b.TakeRequests(ctx, "s", limit, -100, t0)
	check(t, "give back more than the limit", q, ok, err, result{ratelimit.Quota{Limit: limit, Remaining: limit}, true})
	q, ok, err = b.TakeRequests(ctx, "s", limit, limit, t0)
	check(t, "take all after the give-back", q, ok, err, result{ratelimit.Quota{Limit: limit, Remaining: 0, Reset: time.Minute}, true})
}

func testTokensTakeAndRefund(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	const limit = 600 // one token per 100ms
	q, ok, err := b.TakeTokens(ctx, "s", limit, 500, t0)
	check(t, "take 500", q, ok, err, result{ratelimit.Quota{Limit: limit, Remaining: 100, Reset: 50 * time.Second}, true})
	q, err = b.AdjustTokens(ctx, "s", limit, 0, t0)
	check(t, "adjust by 0 (read)", q, true, err, result{ratelimit.Quota{Limit: limit, Remaining: 100, Reset: 50 * time.Second}, true})
	q, ok, err = b.TakeTokens(ctx, "s", limit, 200, t0)
	check(t, "take 200 more", q, ok, err, result{ratelimit.Quota{
		Limit: limit, Remaining: 100, Reset: 50 * time.Second, RetryAfter: 10 * time.Second,
	}, false})
	q, err = b.AdjustTokens(ctx, "s", limit, -400, t0)
	check(t, "refund 400", q, true, err, result{ratelimit.Quota{Limit: limit, Remaining: 500, Reset: 10 * time.Second}, true})
	q, ok, err = b.TakeTokens(ctx, "s", limit, 200, t0)
	check(t, "take 200 after the refund", q, ok, err, result{ratelimit.Quota{Limit: limit, Remaining: 300, Reset: 30 * time.Second}, true})
	q, err = b.AdjustTokens(ctx, "s", limit, -10_000, at(time.Second))
	check(t, "refund more than was taken", q, true, err, result{ratelimit.Quota{Limit: limit, Remaining: limit}, true})
	q, err = b.AdjustTokens(ctx, "fresh", limit, -10, t0)
	check(t, "refund to a fresh subject", q, true, err, result{ratelimit.Quota{Limit: limit, Remaining: limit}, true})
}

func testTokensDebt(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	const limit = 600
	if _, ok, err := b.TakeTokens(ctx, "s", limit, 100, t0); err != nil || !ok {
		t.Fatalf("take 100: %v, %v; want granted", ok, err)
	}
	q, err := b.AdjustTokens(ctx, "s", limit, 1000, t0)
	check(t, "charge 1000", q, true, err, result{ratelimit.Quota{Limit: limit, Remaining: -500, Reset: 110 * time.Second}, true})
	q, ok, err := b.TakeTokens(ctx, "s", limit, 1, at(50*time.Second))
	check(t, "take 1 in debt", q, ok, err, result{ratelimit.Quota{
		Limit: limit, Remaining: 0, Reset: time.Minute, RetryAfter: 100 * time.Millisecond,
	}, false})
	q, ok, err = b.TakeTokens(ctx, "s", limit, 1, at(50*time.Second+100*time.Millisecond))
	check(t, "take 1 after the debt is paid", q, ok, err, result{ratelimit.Quota{Limit: limit, Remaining: 0, Reset: time.Minute}, true})
	q, err = b.AdjustTokens(ctx, "fresh", limit, 700, t0)
	check(t, "charge a fresh subject", q, true, err, result{ratelimit.Quota{Limit: limit, Remaining: -100, Reset: 70 * time.Second}, true})
}

// testTokensUnevenLimit checks a limit that does not divide a minute: a full
// bucket still allows exactly limit single-token takes.
func testTokensUnevenLimit(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	for _, limit := range []int64{7, 9, 11, 1000003} {
		subject := fmt.Sprint("s", limit)
		n := min(limit, 50)
		if _, ok, err := b.TakeTokens(ctx, subject, limit, limit-n, t0); limit > n && (err != nil || !ok) {
			t.Fatalf("limit %d: take %d: %v, %v; want granted", limit, limit-n, ok, err)
		}
		for i := range n {
			if _, ok, err := b.TakeTokens(ctx, subject, limit, 1, t0); err != nil || !ok {
				t.Fatalf("limit %d: take %d of %d: %v, %v; want granted", limit, i+1, n, ok, err)
			}
		}
		q, ok, err := b.TakeTokens(ctx, subject, limit, 1, t0)
		if err != nil || ok || q.Remaining != 0 || q.RetryAfter <= 0 {
			t.Fatalf("limit %d: take after the bucket is empty = %+v, %v, %v; want refused with a retry-after", limit, q, ok, err)
		}
		if _, ok, err := b.TakeTokens(ctx, subject, limit, 1, t0.Add(q.RetryAfter)); err != nil || !ok {
			t.Fatalf("limit %d: take after the retry-after %v: %v, %v; want granted", limit, q.RetryAfter, ok, err)
		}
	}
}

func testSlots(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	const limit = 2
	for i := range int64(limit) {
		q, ok, err := b.Acquire(ctx, "s", limit, t0)
		check(t, fmt.Sprintf("acquire %d", i+1), q, ok, err, result{ratelimit.Quota{Limit: limit, Remaining: limit - 1 - i}, true})
	}
	q, ok, err := b.Acquire(ctx, "s", limit, t0)
	if err != nil || ok || q.Limit != limit || q.Remaining != 0 {
		t.Fatalf("acquire 3 = %+v, %v, %v; want refused with Remaining 0", q, ok, err)
	}
	if err := b.Release(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	q, ok, err = b.Acquire(ctx, "s", limit, t0)
	check(t, "acquire after a release", q, ok, err, result{ratelimit.Quota{Limit: limit, Remaining: 0}, true})

	// Releasing more than was acquired never makes room for extra slots.
	for range 5 {
		if err := b.Release(ctx, "s"); err != nil {
			t.Fatal(err)
		}
		if err := b.Release(ctx, "never-acquired"); err != nil {
			t.Fatal(err)
		}
	}
	for range limit {
		if _, ok, err := b.Acquire(ctx, "s", limit, t0); err != nil || !ok {
			t.Fatalf("acquire after releases: %v, %v; want granted", ok, err)
		}
	}
	if _, ok, err := b.Acquire(ctx, "s", limit, t0); err != nil || ok {
		t.Fatalf("acquire beyond the limit after extra releases: %v, %v; want refused", ok, err)
	}
}

func testSubjectsIndependent(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	if _, ok, err := b.TakeRequests(ctx, "a", 3, 3, t0); err != nil || !ok {
		t.Fatalf("a: take requests: %v, %v", ok, err)
	}
	if _, err := b.AdjustTokens(ctx, "a", 100, 1000, t0); err != nil {
		t.Fatalf("a: charge tokens: %v", err)
	}
	if _, ok, err := b.Acquire(ctx, "a", 1, t0); err != nil || !ok {
		t.Fatalf("a: acquire: %v, %v", ok, err)
	}
	q, ok, err := b.TakeRequests(ctx, "b", 3, 3, t0)
	check(t, "b: take requests", q, ok, err, result{ratelimit.Quota{Limit: 3, Remaining: 0, Reset: time.Minute}, true})
	q, ok, err = b.TakeTokens(ctx, "b", 100, 100, t0)
	check(t, "b: take tokens", q, ok, err, result{ratelimit.Quota{Limit: 100, Remaining: 0, Reset: time.Minute}, true})
	q, ok, err = b.Acquire(ctx, "b", 1, t0)
	check(t, "b: acquire", q, ok, err, result{ratelimit.Quota{Limit: 1, Remaining: 0}, true})
}

// testConcurrent hammers one subject from many goroutines at one instant:
// exactly the bucket's content is granted, never more.
func testConcurrent(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	const goroutines, each = 8, 40
	const reqLimit, tokLimit, tokCost, slots = 100, 300, 7, 3
	var requests, tokens, held, maxHeld atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				if _, ok, err := b.TakeRequests(ctx, "s", reqLimit, 1, t0); err != nil {
					t.Error(err)
				} else if ok {
					requests.Add(1)
				}
				if _, ok, err := b.TakeTokens(ctx, "s", tokLimit, tokCost, t0); err != nil {
					t.Error(err)
				} else if ok {
					tokens.Add(tokCost)
				}
				_, ok, err := b.Acquire(ctx, "s", slots, t0)
				if err != nil {
					t.Error(err)
					continue
				}
				if ok {
					n := held.Add(1)
					for m := maxHeld.Load(); n > m && !maxHeld.CompareAndSwap(m, n); m = maxHeld.Load() {
					}
					held.Add(-1)
					if err := b.Release(ctx, "s"); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if got := requests.Load(); got != reqLimit {
		t.Errorf("requests granted = %d; want %d", got, reqLimit)
	}
	if got, want := tokens.Load(), int64(tokLimit/tokCost*tokCost); got != want {
		t.Errorf("tokens granted = %d; want %d", got, want)
	}
	if got := maxHeld.Load(); got > slots {
		t.Errorf("slots held at once = %d; want at most %d", got, slots)
	}
}
