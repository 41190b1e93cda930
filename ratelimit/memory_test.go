package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/ratelimit/ratelimittest"
	"golang.org/x/time/rate"
)

func TestMemoryConformance(t *testing.T) {
	for _, max := range []int{0, 100} { // sharded and not
		t.Run(fmt.Sprint("MaxSubjects=", max), func(t *testing.T) {
			ratelimittest.RunBackendTests(t, func(t *testing.T) ratelimit.Backend {
				m, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{MaxSubjects: max})
				if err != nil {
					t.Fatal(err)
				}
				return m
			})
		})
	}
}

func TestNewMemoryInvalid(t *testing.T) {
	if _, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{MaxSubjects: -1}); err == nil {
		t.Fatal("NewMemory(MaxSubjects: -1) succeeded; want an error")
	}
}

// TestRateLimiterGiveBack pins the behaviour of golang.org/x/time/rate that
// Memory relies on to give a request back: AllowN with a negative n adds
// tokens, and reads never see more than the burst.
func TestRateLimiterGiveBack(t *testing.T) {
	lim := rate.NewLimiter(1, 5)
	if !lim.AllowN(t0, 5) {
		t.Fatal("AllowN(5) on a full bucket = false")
	}
	lim.AllowN(t0, -1)
	if got := lim.TokensAt(t0); got != 1 {
		t.Fatalf("tokens after giving back 1 = %v; want 1", got)
	}
	lim.AllowN(t0, -10)
	if got := lim.TokensAt(t0); got != 5 {
		t.Fatalf("tokens after giving back 10 = %v; want 5 (the burst)", got)
	}
	if !lim.AllowN(t0, 5) || lim.AllowN(t0, 1) {
		t.Fatal("after giving back beyond the burst, the bucket does not hold exactly the burst")
	}
}

// TestMemoryBounded pushes 1M distinct subjects through a Memory capped at
// 10k, while one busy subject holds a slot and is deep in token debt: the
// Memory never holds more than its cap, and the busy subject is never reset.
func TestMemoryBounded(t *testing.T) {
	const capacity, subjects = 10_000, 1_000_000
	l, m, c := newLimiter(t, capacity)
	ctx := context.Background()
	busyLimits := ratelimit.Limits{MaxConcurrent: 1, TokensPerMinute: 1000, RequestsPerMinute: 10}
	busy, err := l.Admit(ctx, "busy", busyLimits)
	if err != nil {
		t.Fatal(err)
	}
	if err := busy.Settle(ctx, 10_000_000); err != nil { // 10,000 minutes of debt
		t.Fatal(err)
	}

	buf := []byte("subject-")
	for i := range subjects {
		c.Advance(time.Millisecond)
		buf = strconv.AppendInt(buf[:len("subject-")], int64(i), 10)
		// One request per second: each subject is busy for a second.
		if _, _, err := m.TakeRequests(ctx, string(buf), 60, 1, c.Now()); err != nil {
			t.Fatalf("subject %d: %v", i, err)
		}
		if i%1000 == 0 {
			if n := m.Len(); n > capacity {
				t.Fatalf("after %d subjects Len = %d; want at most %d", i+1, n, capacity)
			}
		}
	}
	if n := m.Len(); n > capacity {
		t.Fatalf("Len = %d; want at most %d", n, capacity)
	}

	// The slot is still held, and the debt still owed.
	var le *ratelimit.LimitError
	if _, err := l.Admit(ctx, "busy", busyLimits); !errors.As(err, &le) || le.Decision.Refused != ratelimit.Concurrency {
		t.Fatalf("Admit(busy) while its slot is held = %v; want refused for concurrency", err)
	}
	busy.Release()
	p, err := l.Admit(ctx, "busy", busyLimits)
	if err != nil {
		t.Fatalf("Admit(busy) after Release: %v", err)
	}
	defer p.Release()
	if err := p.ReserveTokens(ctx, 1); !errors.As(err, &le) || le.Decision.Tokens.Remaining > -9_000_000 {
		t.Fatalf("ReserveTokens(busy) = %v; want refused with the debt still owed", err)
	}
}

// TestMemoryEviction checks which subject a full Memory evicts.
func TestMemoryEviction(t *testing.T) {
	ctx := context.Background()
	m, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{MaxSubjects: 3}) // one shard
	if err != nil {
		t.Fatal(err)
	}
	take := func(subject string, now time.Time) error {
		_, _, err := m.TakeRequests(ctx, subject, 60, 1, now)
		return err
	}
	if _, _, err := m.Acquire(ctx, "holder", 1, t0); err != nil { // busy until released
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b"} {
		if err := take(s, t0); err != nil { // busy for one second
			t.Fatal(err)
		}
	}

	// Everyone is busy: a new subject is refused, and nothing changes.
	if err := take("c", t0.Add(500*time.Millisecond)); !errors.Is(err, ratelimit.ErrCapacity) {
		t.Fatalf("new subject while all are busy: err = %v; want ErrCapacity", err)
	}
	if n := m.Len(); n != 3 {
		t.Fatalf("Len = %d; want 3", n)
	}
	// A subject already present is served all the same.
	if q, ok, err := m.TakeRequests(ctx, "a", 60, 1, t0.Add(500*time.Millisecond)); err != nil || !ok || q.Remaining != 58 {
		t.Fatalf("take a = %+v, %v, %v; want granted with Remaining 58", q, ok, err)
	}

	// Once a and b have refilled, new subjects push them out, never the holder,
	// although it is the least recently used.
	now := t0.Add(2 * time.Second)
	for i := range 100 {
		now = now.Add(2 * time.Second)
		if err := take(fmt.Sprint("new", i), now); err != nil {
			t.Fatalf("new subject %d: %v", i, err)
		}
		if q, ok, err := m.Acquire(ctx, "holder", 1, now); err != nil || ok {
			t.Fatalf("after new subject %d: Acquire(holder) = %+v, %v, %v; want refused (slot still held)", i, q, ok, err)
		}
	}
	if n := m.Len(); n != 3 {
		t.Fatalf("Len = %d; want 3", n)
	}
	// With two subjects busy at now and the holder holding its slot, there is
	// no room.
	if err := take("x", now); err != nil {
		t.Fatal(err)
	}
	if err := take("late", now); !errors.Is(err, ratelimit.ErrCapacity) {
		t.Fatalf("new subject while all are busy: err = %v; want ErrCapacity", err)
	}
	if err := m.Release(ctx, "holder"); err != nil {
		t.Fatal(err)
	}
	if err := take("late", now); err != nil {
		t.Fatalf("new subject once the holder is idle: %v", err)
	}
}

// TestMemoryLimitChange checks that a subject's limits can change between
// calls.
func TestMemoryLimitChange(t *testing.T) {
	ctx := context.Background()
	m, err := ratelimit.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := m.TakeRequests(ctx, "s", 2, 2, t0); err != nil || !ok {
		t.Fatalf("take 2 of 2: %v, %v", ok, err)
	}
	q, ok, err := m.TakeRequests(ctx, "s", 4, 1, t0)
	if err != nil || ok || q.Limit != 4 || q.RetryAfter != 15*time.Second {
		t.Fatalf("take with the limit raised to 4 = %+v, %v, %v; want refused, RetryAfter 15s", q, ok, err)
	}
	if _, ok, err := m.TakeRequests(ctx, "s", 4, 1, t0.Add(15*time.Second)); err != nil || !ok {
		t.Fatalf("take 15s later: %v, %v; want granted", ok, err)
	}

	// Tokens keep the count used: 300 of 600 is 300 of 1200 after a raise.
	if _, ok, err := m.TakeTokens(ctx, "s", 600, 300, t0); err != nil || !ok {
		t.Fatalf("take 300 tokens: %v, %v", ok, err)
	}
	q, err = m.AdjustTokens(ctx, "s", 1200, 0, t0)
	if err != nil || q.Remaining != 900 || q.Reset != 15*time.Second {
		t.Fatalf("tokens with the limit raised to 1200 = %+v, %v; want Remaining 900, Reset 15s", q, err)
	}
}

func TestMemoryNeverGranted(t *testing.T) {
	m, err := ratelimit.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	if q, ok, err := m.TakeRequests(ctx, "s", 5, 6, t0); err != nil || ok || q.RetryAfter != 0 || q.Remaining != 5 {
		t.Fatalf("TakeRequests(6 of 5) = %+v, %v, %v; want refused, RetryAfter 0", q, ok, err)
	}
	if q, ok, err := m.TakeTokens(ctx, "s", 5, 6, t0); err != nil || ok || q.RetryAfter != 0 || q.Remaining != 5 {
		t.Fatalf("TakeTokens(6 of 5) = %+v, %v, %v; want refused, RetryAfter 0", q, ok, err)
	}
}
