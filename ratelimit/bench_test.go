package ratelimit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/ratelimit"
)

// benchLimits never refuse at benchmark speeds: the request bucket refills
// far faster than the benchmark takes.
var benchLimits = ratelimit.Limits{RequestsPerMinute: 1 << 35}

// BenchmarkAllow is one request decision for a hot subject, on the real
// clock.
func BenchmarkAllow(b *testing.B) {
	l, err := ratelimit.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Allow(ctx, "key_hot", benchLimits); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdmit is the gateway's whole per-request path: a slot, a request,
// a token reservation, the settlement and the release.
func BenchmarkAdmit(b *testing.B) {
	l, err := ratelimit.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	lim := ratelimit.Limits{RequestsPerMinute: 1 << 35, TokensPerMinute: 1 << 35, MaxConcurrent: 1 << 20}
	b.ReportAllocs()
	for b.Loop() {
		p, err := l.Admit(ctx, "key_hot", lim)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.ReserveTokens(ctx, 1200); err != nil {
			b.Fatal(err)
		}
		if err := p.Settle(ctx, 900); err != nil {
			b.Fatal(err)
		}
		p.Release()
	}
}

// BenchmarkAllowParallel10k spreads decisions over 10k subjects from every
// core.
func BenchmarkAllowParallel10k(b *testing.B) {
	l, err := ratelimit.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	subjects := make([]string, 10_000)
	for i := range subjects {
		subjects[i] = "key_" + strconv.Itoa(i)
	}
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.New(rand.NewPCG(seed.Add(1), 0)).IntN(len(subjects))
		for pb.Next() {
			if _, err := l.Allow(ctx, subjects[i], benchLimits); err != nil {
				b.Error(err)
				return
			}
			if i++; i == len(subjects) {
				i = 0
			}
		}
	})
}

// BenchmarkMemory1M reports the heap held by a Memory after 1M distinct
// subjects have gone through it, with the LRU capped.
func BenchmarkMemory1M(b *testing.B) {
	for _, capacity := range []int{10_000, ratelimit.DefaultMaxSubjects} {
		b.Run(fmt.Sprint("cap=", capacity), func(b *testing.B) {
			const subjects = 1_000_000
			ctx := context.Background()
			var heap uint64
			var length int
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				m, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{MaxSubjects: capacity})
				if err != nil {
					b.Fatal(err)
				}
				now := time.Now()
				buf := []byte("key_")
				for i := range subjects {
					now = now.Add(time.Millisecond)
					buf = strconv.AppendInt(buf[:4], int64(i), 10)
					s := string(buf)
					if _, _, err := m.TakeRequests(ctx, s, 60, 1, now); err != nil {
						b.Fatal(err)
					}
					if _, err := m.AdjustTokens(ctx, s, 10_000, 100, now); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap, length = after.HeapAlloc-before.HeapAlloc, m.Len()
				runtime.KeepAlive(m)
			}
			b.ReportMetric(float64(heap), "heap-bytes")
			b.ReportMetric(float64(heap)/float64(length), "bytes/subject")
			b.ReportMetric(float64(length), "subjects")
		})
	}
}

// BenchmarkAuthThrottleBlocked is the check every request makes before any
// key work, for a blocked and for an unknown address.
func BenchmarkAuthThrottleBlocked(b *testing.B) {
	a, err := ratelimit.NewAuthThrottle(nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	blocked := netip.MustParseAddr("2001:db8::1")
	for range ratelimit.DefaultAuthMaxFailures {
		a.Fail(blocked, now)
	}
	for name, ip := range map[string]netip.Addr{"blocked": blocked, "unknown": netip.MustParseAddr("192.0.2.1")} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a.Blocked(ip, now)
			}
		})
	}
}

// BenchmarkAuthThrottleFail records a failed authentication from an address
// already tracked, and from a new address each time (evicting the least
// recently seen client once the throttle is full).
func BenchmarkAuthThrottleFail(b *testing.B) {
	now := time.Now()
	b.Run("known", func(b *testing.B) {
		a, err := ratelimit.NewAuthThrottle(&ratelimit.AuthThrottleOptions{MaxFailures: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		ip := netip.MustParseAddr("192.0.2.1")
		b.ReportAllocs()
		for b.Loop() {
			a.Fail(ip, now)
		}
	})
	b.Run("new", func(b *testing.B) {
		a, err := ratelimit.NewAuthThrottle(nil)
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			a.Fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), now)
			i++
		}
	})
}
