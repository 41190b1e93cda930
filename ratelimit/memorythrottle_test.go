package ratelimit_test

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/ratelimit/ratelimittest"
)

func TestMemoryThrottleConformance(t *testing.T) {
	ratelimittest.RunThrottleBackendTests(t, func(t *testing.T) ratelimit.ThrottleBackend {
		m, err := ratelimit.NewMemoryThrottle(nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}

// The conformance suite with few clients (one shard) and with the minimum.
func TestMemoryThrottleConformanceSmall(t *testing.T) {
	for _, n := range []int{2, 300} {
		ratelimittest.RunThrottleBackendTests(t, func(t *testing.T) ratelimit.ThrottleBackend {
			m, err := ratelimit.NewMemoryThrottle(&ratelimit.MemoryThrottleOptions{MaxClients: n})
			if err != nil {
				t.Fatal(err)
			}
			return m
		})
	}
}

func TestMemoryThrottleOptionsInvalid(t *testing.T) {
	if _, err := ratelimit.NewMemoryThrottle(&ratelimit.MemoryThrottleOptions{MaxClients: -1}); err == nil {
		t.Fatal("NewMemoryThrottle(MaxClients: -1) succeeded; want an error")
	}
}

// TestMemoryThrottleBounded: the least recently seen client is pushed out,
// block and all, and Len never exceeds MaxClients.
func TestMemoryThrottleBounded(t *testing.T) {
	const capacity = 100 // one shard
	m, err := ratelimit.NewMemoryThrottle(&ratelimit.MemoryThrottleOptions{MaxClients: capacity})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := m.Fail(ctx, "victim", 1, time.Minute, time.Hour, t0); err != nil {
		t.Fatal(err)
	}
	for i := range capacity - 1 {
		if _, err := m.Fail(ctx, string(rune('A'+i)), 5, time.Minute, time.Hour, t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Len(); n != capacity {
		t.Fatalf("Len = %d; want %d", n, capacity)
	}
	// Seeing the victim keeps it: the oldest is now client 'A'.
	if until, _ := m.Blocked(ctx, "victim", t0); until.IsZero() {
		t.Fatal("victim not blocked")
	}
	m.Fail(ctx, "new 1", 5, time.Minute, time.Hour, t0)
	if until, _ := m.Blocked(ctx, "victim", t0); until.IsZero() {
		t.Fatal("victim pushed out although recently seen")
	}
	for i := range capacity {
		m.Fail(ctx, "more"+string(rune('A'+i)), 5, time.Minute, time.Hour, t0)
	}
	if until, _ := m.Blocked(ctx, "victim", t0); !until.IsZero() {
		t.Fatal("victim still blocked after MaxClients newer clients")
	}
	if n := m.Len(); n != capacity {
		t.Fatalf("Len = %d; want %d", n, capacity)
	}
}

// failingThrottle is a ThrottleBackend whose every operation fails once
// down is set, and which records what it was given otherwise.
type failingThrottle struct {
	ratelimit.ThrottleBackend
	down    atomic.Bool
	clients []string
}

var errDown = errors.New("backend down")

func (f *failingThrottle) Blocked(ctx context.Context, client string, now time.Time) (time.Time, error) {
	if f.down.Load() {
		return time.Time{}, errDown
	}
	f.clients = append(f.clients, client)
	return f.ThrottleBackend.Blocked(ctx, client, now)
}

func (f *failingThrottle) Fail(ctx context.Context, client string, maxFailures int, window, cooldown time.Duration, now time.Time) (time.Time, error) {
	if f.down.Load() {
		return now.Add(time.Hour), errDown // an until with an error must be ignored
	}
	f.clients = append(f.clients, client)
	return f.ThrottleBackend.Fail(ctx, client, maxFailures, window, cooldown, now)
}

func (f *failingThrottle) Succeed(ctx context.Context, client string) error {
	if f.down.Load() {
		return errDown
	}
	f.clients = append(f.clients, client)
	return f.ThrottleBackend.Succeed(ctx, client)
}

// TestAuthThrottleBackend: AuthThrottle passes its backend the client names
// it documents and its options, and fails open on backend errors, counting
// them.
func TestAuthThrottleBackend(t *testing.T) {
	mem, err := ratelimit.NewMemoryThrottle(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &failingThrottle{ThrottleBackend: mem}
	a := newThrottle(t, &ratelimit.AuthThrottleOptions{MaxFailures: 2, Cooldown: time.Minute, Backend: f, IPv4Prefix: 24})
	v4 := netip.MustParseAddr("::ffff:192.0.2.77")
	v6 := netip.MustParseAddr("2001:db8:1:2:3:4:5:6%eth0")
	a.Fail(v4, t0)
	if ra, blocked := a.Fail(v4, t0); !blocked || ra != time.Minute {
		t.Fatalf("second Fail = %v, %v; want 1m0s, true", ra, blocked)
	}
	if ra, blocked, _ := a.Blocked(v4, t0.Add(time.Second)); !blocked || ra != 59*time.Second {
		t.Fatalf("Blocked = %v, %v; want 59s, true", ra, blocked)
	}
	a.Succeed(v6)
	a.Blocked(netip.Addr{}, t0)
	want := []string{"192.0.2.0/24", "192.0.2.0/24", "192.0.2.0/24", "2001:db8:1:2::/64", "unknown"}
	if len(f.clients) != len(want) {
		t.Fatalf("clients = %q; want %q", f.clients, want)
	}
	for i := range want {
		if f.clients[i] != want[i] {
			t.Fatalf("clients = %q; want %q", f.clients, want)
		}
	}
	if n := a.Fallbacks(); n != 0 {
		t.Fatalf("Fallbacks = %d before any error; want 0", n)
	}

	f.down.Store(true)
	if ra, blocked, _ := a.Blocked(v4, t0.Add(time.Second)); blocked {
		t.Errorf("Blocked with the backend down = %v, true; want not blocked (fail open)", ra)
	}
	if ra, blocked := a.Fail(v4, t0.Add(time.Second)); blocked {
		t.Errorf("Fail with the backend down = %v, true; want not blocked (fail open)", ra)
	}
	a.Succeed(v4)
	if n := a.Fallbacks(); n != 3 {
		t.Errorf("Fallbacks = %d; want 3", n)
	}
	f.down.Store(false)
	if _, blocked, _ := a.Blocked(v4, t0.Add(time.Second)); !blocked {
		t.Error("not blocked once the backend is back")
	}
}

// TestAuthThrottleLenOtherBackend: with a backend that cannot count its
// clients, Len is 0.
func TestAuthThrottleLenOtherBackend(t *testing.T) {
	mem, err := ratelimit.NewMemoryThrottle(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := newThrottle(t, &ratelimit.AuthThrottleOptions{Backend: struct{ ratelimit.ThrottleBackend }{mem}})
	a.Fail(netip.MustParseAddr("192.0.2.1"), t0)
	if n := a.Len(); n != 0 {
		t.Fatalf("Len = %d; want 0", n)
	}
}
