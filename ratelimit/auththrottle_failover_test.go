package ratelimit_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/ratelimit"
)

// errShared is what a flakyThrottle returns while down. Like a real
// client's errors, it names where the backend lives.
var errShared = errors.New("dial tcp 10.9.8.7:6379: connect: connection refused")

// flakyThrottle is a shared ThrottleBackend (a MemoryThrottle behind an
// interface) whose every operation fails while down is set, and which
// counts the operations it failed.
type flakyThrottle struct {
	ratelimit.ThrottleBackend
	down   atomic.Bool
	failed atomic.Int64
}

func newFlakyThrottle(t testing.TB) *flakyThrottle {
	t.Helper()
	m, err := ratelimit.NewMemoryThrottle(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &flakyThrottle{ThrottleBackend: m}
}

func (f *flakyThrottle) Blocked(ctx context.Context, client string, now time.Time) (time.Time, error) {
	if f.down.Load() {
		f.failed.Add(1)
		return now.Add(time.Hour), errShared // an until with an error must be ignored
	}
	return f.ThrottleBackend.Blocked(ctx, client, now)
}

func (f *flakyThrottle) Fail(ctx context.Context, client string, maxFailures int, window, cooldown time.Duration, now time.Time) (time.Time, error) {
	if f.down.Load() {
		f.failed.Add(1)
		return now.Add(time.Hour), errShared
	}
	return f.ThrottleBackend.Fail(ctx, client, maxFailures, window, cooldown, now)
}

func (f *flakyThrottle) Succeed(ctx context.Context, client string) error {
	if f.down.Load() {
		f.failed.Add(1)
		return errShared
	}
	return f.ThrottleBackend.Succeed(ctx, client)
}

// fallbackLog records what OnFallback is told.
type fallbackLog struct {
	mu  sync.Mutex
	got []ratelimit.ThrottleFallback
}

func (l *fallbackLog) record(f ratelimit.ThrottleFallback) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, f)
}

func (l *fallbackLog) all() []ratelimit.ThrottleFallback {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ratelimit.ThrottleFallback(nil), l.got...)
}

// TestAuthThrottleFailOpen: while the shared backend fails, a throttle
// failing open keeps counting and blocking on a local throttle (an
// attacker is not let through without limit), tells every fallback, and
// honours the local block once the backend is back until it ends.
func TestAuthThrottleFailOpen(t *testing.T) {
	shared := newFlakyThrottle(t)
	var log fallbackLog
	a := newThrottle(t, &ratelimit.AuthThrottleOptions{MaxFailures: 3, Window: time.Minute, Cooldown: time.Minute,
		Backend: shared, OnFallback: log.record})
	if got := a.Mode(); got != ratelimit.FailOpen {
		t.Errorf("Mode: got %v; want open", got)
	}
	attacker, bystander := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("192.0.2.8")

	shared.down.Store(true)
	for i := range 3 {
		ra, blocked, err := a.Blocked(attacker, t0)
		if err != nil || blocked {
			t.Fatalf("Blocked before failure %d: got %v, %v, %v; want not blocked, no error", i+1, ra, blocked, err)
		}
		ra, blocked = a.Fail(attacker, t0)
		if want := i == 2; blocked != want || (blocked && ra != time.Minute) {
			t.Fatalf("Fail %d: got %v, %v; want blocked %v (for 1m0s)", i+1, ra, blocked, want)
		}
	}
	if ra, blocked, err := a.Blocked(attacker, t0.Add(time.Second)); err != nil || !blocked || ra != 59*time.Second {
		t.Errorf("Blocked(attacker) with the backend down: got %v, %v, %v; want 59s, true, nil", ra, blocked, err)
	}
	if ra, blocked, err := a.Blocked(bystander, t0); err != nil || blocked {
		t.Errorf("Blocked(bystander) with the backend down: got %v, %v, %v; want not blocked", ra, blocked, err)
	}
	a.Succeed(bystander)
	const ops = 3 + 3 + 2 + 1 // Blocked and Fail ×3, two Blocked, one Succeed
	if got := a.Fallbacks(); got != ops || shared.failed.Load() != ops {
		t.Errorf("Fallbacks: got %d (backend failed %d); want %d", got, shared.failed.Load(), ops)
	}
	var want []ratelimit.ThrottleFallback
	for range 3 {
		want = append(want, ratelimit.ThrottleFallback{Op: ratelimit.ThrottleBlocked, Mode: ratelimit.FailOpen},
			ratelimit.ThrottleFallback{Op: ratelimit.ThrottleFail, Mode: ratelimit.FailOpen})
	}
	want = append(want, ratelimit.ThrottleFallback{Op: ratelimit.ThrottleBlocked, Mode: ratelimit.FailOpen},
		ratelimit.ThrottleFallback{Op: ratelimit.ThrottleBlocked, Mode: ratelimit.FailOpen},
		ratelimit.ThrottleFallback{Op: ratelimit.ThrottleSucceed, Mode: ratelimit.FailOpen})
	if diff := cmp.Diff(want, log.all()); diff != "" {
		t.Errorf("OnFallback (-want +got):\n%s", diff)
	}

	// The backend is back, with no state for the attacker: the local block
	// still holds until it ends, and no fallback is counted.
	shared.down.Store(false)
	if until, err := shared.ThrottleBackend.Blocked(t.Context(), "192.0.2.7/32", t0.Add(time.Second)); err != nil || !until.IsZero() {
		t.Fatalf("shared backend: got %v, %v; want no block there", until, err)
	}
	if ra, blocked, err := a.Blocked(attacker, t0.Add(30*time.Second)); err != nil || !blocked || ra != 30*time.Second {
		t.Errorf("Blocked(attacker) once the backend is back: got %v, %v, %v; want 30s, true, nil", ra, blocked, err)
	}
	if ra, blocked, err := a.Blocked(bystander, t0.Add(30*time.Second)); err != nil || blocked {
		t.Errorf("Blocked(bystander) once the backend is back: got %v, %v, %v; want not blocked", ra, blocked, err)
	}
	if ra, blocked, err := a.Blocked(attacker, t0.Add(time.Minute)); err != nil || blocked {
		t.Errorf("Blocked(attacker) after the cool-down: got %v, %v, %v; want not blocked", ra, blocked, err)
	}
	if got := a.Fallbacks(); got != ops {
		t.Errorf("Fallbacks once the backend is back: got %d; want still %d", got, ops)
	}
	// Failures count on the shared backend again.
	for range 3 {
		a.Fail(attacker, t0.Add(2*time.Minute))
	}
	if until, err := shared.ThrottleBackend.Blocked(t.Context(), "192.0.2.7/32", t0.Add(2*time.Minute)); err != nil || until.IsZero() {
		t.Errorf("shared backend after 3 failures: got %v, %v; want a block", until, err)
	}
}

// TestAuthThrottleFailClosed: while the shared backend fails, a throttle
// failing closed reports an error from Blocked (naming no address), records
// nothing locally, and tells every fallback.
func TestAuthThrottleFailClosed(t *testing.T) {
	shared := newFlakyThrottle(t)
	var log fallbackLog
	a := newThrottle(t, &ratelimit.AuthThrottleOptions{MaxFailures: 2, Cooldown: time.Minute,
		Backend: shared, FailMode: ratelimit.FailClosed, OnFallback: log.record})
	if got := a.Mode(); got != ratelimit.FailClosed {
		t.Errorf("Mode: got %v; want closed", got)
	}
	ip := netip.MustParseAddr("2001:db8:1:2::99")
	if _, blocked, err := a.Blocked(ip, t0); err != nil || blocked {
		t.Fatalf("Blocked with the backend up: got %v, %v; want not blocked, no error", blocked, err)
	}

	shared.down.Store(true)
	ra, blocked, err := a.Blocked(ip, t0)
	if err == nil || blocked || ra != 0 {
		t.Fatalf("Blocked with the backend down: got %v, %v, %v; want 0, false and an error", ra, blocked, err)
	}
	if !errors.Is(err, errShared) {
		t.Errorf("Blocked error %v does not wrap the backend's", err)
	}
	if msg := err.Error(); strings.Contains(msg, "2001:db8") || !strings.HasPrefix(msg, "ratelimit: auth throttle: blocked: ") {
		t.Errorf("Blocked error %q: want it to name the operation and not the client", msg)
	}
	for range 5 {
		if ra, blocked := a.Fail(ip, t0); blocked {
			t.Errorf("Fail with the backend down: got %v, true; want not blocked (the backend's until ignored)", ra)
		}
	}
	a.Succeed(ip)
	if got := a.Fallbacks(); got != 7 {
		t.Errorf("Fallbacks: got %d; want 7", got)
	}
	want := []ratelimit.ThrottleFallback{{Op: ratelimit.ThrottleBlocked, Mode: ratelimit.FailClosed}}
	for range 5 {
		want = append(want, ratelimit.ThrottleFallback{Op: ratelimit.ThrottleFail, Mode: ratelimit.FailClosed})
	}
	want = append(want, ratelimit.ThrottleFallback{Op: ratelimit.ThrottleSucceed, Mode: ratelimit.FailClosed})
	if diff := cmp.Diff(want, log.all()); diff != "" {
		t.Errorf("OnFallback (-want +got):\n%s", diff)
	}

	// Nothing was counted anywhere while the backend was down.
	shared.down.Store(false)
	if _, blocked, err := a.Blocked(ip, t0); err != nil || blocked {
		t.Errorf("Blocked once the backend is back: got %v, %v; want not blocked (failures lost)", blocked, err)
	}
	a.Fail(ip, t0)
	if _, blocked := a.Fail(ip, t0); !blocked {
		t.Error("second Fail once the backend is back: not blocked; want blocked")
	}
}

// TestAuthThrottleFailModeDefaultBackend: the default backend never fails,
// so the fail mode never applies and Blocked never returns an error.
func TestAuthThrottleFailModeDefaultBackend(t *testing.T) {
	called := false
	a := newThrottle(t, &ratelimit.AuthThrottleOptions{MaxFailures: 1, FailMode: ratelimit.FailClosed,
		OnFallback: func(ratelimit.ThrottleFallback) { called = true }})
	ip := netip.MustParseAddr("192.0.2.1")
	a.Fail(ip, t0)
	if _, blocked, err := a.Blocked(ip, t0); err != nil || !blocked {
		t.Errorf("Blocked: got %v, %v; want blocked, no error", blocked, err)
	}
	a.Succeed(ip)
	if a.Fallbacks() != 0 || called {
		t.Errorf("Fallbacks: got %d (OnFallback called: %v); want 0", a.Fallbacks(), called)
	}
	if got := a.Mode(); got != ratelimit.FailClosed {
		t.Errorf("Mode: got %v; want closed", got)
	}
}

// TestAuthThrottleFailOpenBounded: the local throttle used while failing
// open holds at most MaxClients clients, like the default backend.
func TestAuthThrottleFailOpenBounded(t *testing.T) {
	shared := newFlakyThrottle(t)
	shared.down.Store(true)
	a := newThrottle(t, &ratelimit.AuthThrottleOptions{MaxFailures: 1, Cooldown: time.Hour, MaxClients: 64, Backend: shared})
	victim := netip.MustParseAddr("198.51.100.1")
	a.Fail(victim, t0)
	if _, blocked, _ := a.Blocked(victim, t0); !blocked {
		t.Fatal("victim not blocked locally")
	}
	for i := range 10_000 {
		a.Fail(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), t0)
	}
	if _, blocked, _ := a.Blocked(victim, t0); blocked {
		t.Error("victim still blocked after 10,000 other clients in a local throttle of 64; want it pushed out")
	}
	if n := a.Len(); n != 0 {
		t.Errorf("Len: got %d; want 0 (the local throttle is not counted)", n)
	}
}

// TestAuthThrottleFailoverConcurrent: concurrent operations while the
// backend flaps are all counted, and race-free.
func TestAuthThrottleFailoverConcurrent(t *testing.T) {
	for _, mode := range []ratelimit.FailMode{ratelimit.FailOpen, ratelimit.FailClosed} {
		t.Run(mode.String(), func(t *testing.T) {
			shared := newFlakyThrottle(t)
			var told atomic.Int64
			a := newThrottle(t, &ratelimit.AuthThrottleOptions{MaxFailures: 5, Backend: shared, FailMode: mode,
				OnFallback: func(f ratelimit.ThrottleFallback) {
					if f.Mode != mode {
						t.Errorf("OnFallback mode: got %v; want %v", f.Mode, mode)
					}
					told.Add(1)
				}})
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(g)})
					for i := range 500 {
						if g == 0 && i%50 == 0 {
							shared.down.Store(!shared.down.Load())
						}
						_, _, err := a.Blocked(ip, t0)
						if err != nil && mode == ratelimit.FailOpen {
							t.Errorf("Blocked failing open: got error %v", err)
						}
						a.Fail(ip, t0)
						a.Succeed(ip)
					}
				})
			}
			wg.Wait()
			if got, want := a.Fallbacks(), uint64(shared.failed.Load()); got != want || told.Load() != int64(want) || want == 0 {
				t.Errorf("Fallbacks %d, told %d; want both %d (the backend's failures), more than 0", got, told.Load(), want)
			}
		})
	}
}

func TestAuthThrottleFailModeInvalid(t *testing.T) {
	if _, err := ratelimit.NewAuthThrottle(&ratelimit.AuthThrottleOptions{FailMode: ratelimit.FailClosed + 1}); err == nil || !strings.Contains(err.Error(), "FailMode") {
		t.Errorf("NewAuthThrottle(FailMode: 2): got %v; want an error naming FailMode", err)
	}
}

func TestThrottleOpString(t *testing.T) {
	for op, want := range map[ratelimit.ThrottleOp]string{
		ratelimit.ThrottleBlocked: "blocked", ratelimit.ThrottleFail: "fail", ratelimit.ThrottleSucceed: "succeed", 7: "ThrottleOp(7)",
	} {
		if got := op.String(); got != want {
			t.Errorf("ThrottleOp(%d).String(): got %q; want %q", uint8(op), got, want)
		}
	}
}

// BenchmarkAuthThrottleBlockedFallback is the check every request makes
// with a shared backend (an in-memory one behind an interface): up and
// never failed, down (failing open to the local throttle, or closed), and
// up again after failing open (the local throttle is asked too).
func BenchmarkAuthThrottleBlockedFallback(b *testing.B) {
	ip := netip.MustParseAddr("192.0.2.1")
	for _, bc := range []struct {
		name       string
		mode       ratelimit.FailMode
		down, back bool
	}{
		{"up", ratelimit.FailOpen, false, false},
		{"down-open", ratelimit.FailOpen, true, false},
		{"down-closed", ratelimit.FailClosed, true, false},
		{"back-open", ratelimit.FailOpen, true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			shared := newFlakyThrottle(b)
			a := newThrottle(b, &ratelimit.AuthThrottleOptions{Backend: shared, FailMode: bc.mode})
			shared.down.Store(bc.down)
			if bc.back {
				a.Blocked(ip, t0)
				shared.down.Store(false)
			}
			b.ReportAllocs()
			for b.Loop() {
				a.Blocked(ip, t0)
			}
		})
	}
}
