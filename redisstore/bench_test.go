package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// The benchmarks measure one operation against the test's redis-server on
// loopback: mostly the round trip.

func benchLimiter(b *testing.B) *redisstore.LimiterBackend {
	l, err := redisstore.NewLimiterBackend(newClient(b), &redisstore.LimiterOptions{Prefix: redistest.Prefix(b)})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func BenchmarkTakeRequests(b *testing.B) {
	l, ctx := benchLimiter(b), context.Background()
	for i := 0; b.Loop(); i++ {
		// A fresh minute per take, so every take is granted.
		if _, ok, err := l.TakeRequests(ctx, "s", 100, 1, t0.Add(time.Duration(i)*time.Minute)); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkTakeTokens(b *testing.B) {
	l, ctx := benchLimiter(b), context.Background()
	for i := 0; b.Loop(); i++ {
		if _, ok, err := l.TakeTokens(ctx, "s", 100_000, 500, t0.Add(time.Duration(i)*time.Minute)); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkAdjustTokens(b *testing.B) {
	l, ctx := benchLimiter(b), context.Background()
	for i := 0; b.Loop(); i++ {
		if _, err := l.AdjustTokens(ctx, "s", 100_000, 50, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	l, ctx := benchLimiter(b), context.Background()
	for b.Loop() {
		if _, ok, err := l.Acquire(ctx, "s", 10, t0); err != nil || !ok {
			b.Fatal(ok, err)
		}
		if err := l.Release(ctx, "s"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTakeTokensParallel is the shape of a busy gateway: many requests
// at once, over the client's connection pool.
func BenchmarkTakeTokensParallel(b *testing.B) {
	l, ctx := benchLimiter(b), context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := l.TakeTokens(ctx, "s", 1_000_000, 1, t0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkThrottleFail(b *testing.B) {
	th, err := redisstore.NewThrottleBackend(newClient(b), &redisstore.ThrottleOptions{Prefix: redistest.Prefix(b)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := th.Fail(ctx, "203.0.113.7/32", 1<<30, time.Minute, time.Minute, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkThrottleBlocked(b *testing.B) {
	th, err := redisstore.NewThrottleBackend(newClient(b), &redisstore.ThrottleOptions{Prefix: redistest.Prefix(b)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := th.Fail(ctx, "203.0.113.7/32", 1, time.Minute, time.Hour, t0); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if until, err := th.Blocked(ctx, "203.0.113.7/32", t0); err != nil || until.IsZero() {
			b.Fatal(until, err)
		}
	}
}
