package ratelimittest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/ratelimit"
)

// RunThrottleBackendTests runs the tests every ratelimit.ThrottleBackend must
// pass. newBackend returns a new, empty backend for each subtest (for a
// shared server, one with its own key space). The backend must honour the
// times it is given (see ratelimit.ThrottleBackend), since the suite advances
// time by passing later ones.
func RunThrottleBackendTests(t *testing.T, newBackend func(t *testing.T) ratelimit.ThrottleBackend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b ratelimit.ThrottleBackend)
	}{
		{"BlocksAtMaxFailures", testThrottleBlocks},
		{"Window", testThrottleWindow},
		{"Cooldown", testThrottleCooldown},
		{"Succeed", testThrottleSucceed},
		{"ClientsIndependent", testThrottleClientsIndependent},
		{"ConcurrentBlock", testThrottleConcurrentBlock},
		{"ConcurrentCount", testThrottleConcurrentCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newBackend(t)) })
	}
}

// Client names as an AuthThrottle forms them.
const (
	client4  = "203.0.113.7/32"
	client6  = "2001:db8:1:2::/64"
	clientNA = "unknown"
)

// throttle binds a backend to one configuration, failing t on any error.
type throttle struct {
	t                *testing.T
	b                ratelimit.ThrottleBackend
	max              int
	window, cooldown time.Duration
}

func (th throttle) fail(client string, now time.Time) time.Time {
	th.t.Helper()
	until, err := th.b.Fail(context.Background(), client, th.max, th.window, th.cooldown, now)
	if err != nil {
		th.t.Fatalf("Fail(%q, %v): %v", client, now.Sub(t0), err)
	}
	return until
}

func (th throttle) blocked(client string, now time.Time) time.Time {
	th.t.Helper()
	until, err := th.b.Blocked(context.Background(), client, now)
	if err != nil {
		th.t.Fatalf("Blocked(%q, %v): %v", client, now.Sub(t0), err)
	}
	return until
}

func (th throttle) succeed(client string) {
	th.t.Helper()
	if err := th.b.Succeed(context.Background(), client); err != nil {
		th.t.Fatalf("Succeed(%q): %v", client, err)
	}
}

// wantUntil fails t unless got is want (the zero time meaning not blocked).
func wantUntil(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %s; want %s", what, fmtUntil(got), fmtUntil(want))
	}
}

func fmtUntil(u time.Time) string {
	if u.IsZero() {
		return "zero (not blocked)"
	}
	return "t0+" + u.Sub(t0).String()
}

func testThrottleBlocks(t *testing.T, b ratelimit.ThrottleBackend) {
	th := throttle{t, b, 3, time.Minute, 10 * time.Minute}
	wantUntil(t, "Blocked(fresh client)", th.blocked(client4, t0), time.Time{})
	wantUntil(t, "failure 1", th.fail(client4, t0), time.Time{})
	wantUntil(t, "failure 2", th.fail(client4, at(time.Second)), time.Time{})
	wantUntil(t, "Blocked after 2 failures", th.blocked(client4, at(time.Second)), time.Time{})
	end := at(2*time.Second + 10*time.Minute)
	wantUntil(t, "failure 3", th.fail(client4, at(2*time.Second)), end)
	wantUntil(t, "Blocked after failure 3", th.blocked(client4, at(2*time.Second)), end)
	// A failure while blocked neither counts nor extends the block.
	for i := range 5 {
		wantUntil(t, "failure while blocked", th.fail(client4, at(time.Duration(3+i)*time.Second)), end)
	}
	wantUntil(t, "Blocked after failures while blocked", th.blocked(client4, end.Add(-time.Millisecond)), end)
	wantUntil(t, "Blocked at the block's end", th.blocked(client4, end), time.Time{})
}

// testThrottleWindow: a window starts at its first failure and lasts window;
// failures in different windows do not add up.
func testThrottleWindow(t *testing.T, b ratelimit.ThrottleBackend) {
	th := throttle{t, b, 3, time.Minute, time.Minute}
	// Windows [0, 60s) and [60s, 120s): two failures in each.
	for _, d := range []time.Duration{0, 30 * time.Second, 60 * time.Second, 90 * time.Second} {
		wantUntil(t, "failure at t0+"+d.String(), th.fail(client4, at(d)), time.Time{})
	}
	wantUntil(t, "third failure in the second window", th.fail(client4, at(100*time.Second)), at(160*time.Second))

	// A window is not sliding: two failures late in one window and one
	// early in the next do not block.
	for _, d := range []time.Duration{0, 59*time.Second + 999*time.Millisecond, 60 * time.Second} {
		wantUntil(t, "IPv6 failure at t0+"+d.String(), th.fail(client6, at(d)), time.Time{})
	}
}

func testThrottleCooldown(t *testing.T, b ratelimit.ThrottleBackend) {
	th := throttle{t, b, 1, time.Minute, 90 * time.Second}
	end := at(90 * time.Second)
	wantUntil(t, "first failure with maxFailures 1", th.fail(clientNA, t0), end)
	wantUntil(t, "Blocked just before the end", th.blocked(clientNA, end.Add(-time.Millisecond)), end)
	wantUntil(t, "Blocked at the end", th.blocked(clientNA, end), time.Time{})
	// After the block the count starts again, in a new window.
	th.max = 2
	wantUntil(t, "first failure after the block", th.fail(clientNA, end), time.Time{})
	wantUntil(t, "second failure after the block", th.fail(clientNA, end.Add(time.Second)), end.Add(time.Second+90*time.Second))
}

func testThrottleSucceed(t *testing.T, b ratelimit.ThrottleBackend) {
	th := throttle{t, b, 3, time.Minute, time.Minute}
	th.succeed(client6) // no state: nothing to do
	wantUntil(t, "Blocked after Succeed on a fresh client", th.blocked(client6, t0), time.Time{})
	th.fail(client4, t0)
	th.fail(client4, t0)
	th.succeed(client4)
	wantUntil(t, "failure 1 after Succeed", th.fail(client4, t0), time.Time{})
	wantUntil(t, "failure 2 after Succeed", th.fail(client4, t0), time.Time{})
	end := at(time.Minute)
	wantUntil(t, "failure 3 after Succeed", th.fail(client4, t0), end)
	th.succeed(client4)
	wantUntil(t, "Blocked after Succeed on a blocked client", th.blocked(client4, t0), end)
}

func testThrottleClientsIndependent(t *testing.T, b ratelimit.ThrottleBackend) {
	th := throttle{t, b, 2, time.Minute, time.Minute}
	th.fail(client4, t0)
	wantUntil(t, "a's second failure", th.fail(client4, t0), at(time.Minute))
	wantUntil(t, "Blocked(b) while a is blocked", th.blocked(client6, t0), time.Time{})
	wantUntil(t, "b's first failure", th.fail(client6, t0), time.Time{})
	th.succeed(client6)
	wantUntil(t, "Blocked(a) after b's success", th.blocked(client4, t0), at(time.Minute))
	wantUntil(t, "b's failure after its success", th.fail(client6, at(time.Second)), time.Time{})
	wantUntil(t, "b's second failure", th.fail(client6, at(time.Second)), at(61*time.Second))
	wantUntil(t, "Blocked(unknown)", th.blocked(clientNA, t0), time.Time{})
}

const goroutines, each = 8, 25

// testThrottleConcurrentBlock fails one client from many goroutines at one
// instant: exactly maxFailures-1 failures are counted without a block, and
// every other one reports the same block.
func testThrottleConcurrentBlock(t *testing.T, b ratelimit.ThrottleBackend) {
	const maxFailures = 37
	ctx := context.Background()
	end := at(time.Minute)
	var free, blocked atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				until, err := b.Fail(ctx, client6, maxFailures, time.Minute, time.Minute, t0)
				switch {
				case err != nil:
					t.Error(err)
				case until.IsZero():
					free.Add(1)
				case until.Equal(end):
					blocked.Add(1)
				default:
					t.Errorf("Fail = %s; want zero or %s", fmtUntil(until), fmtUntil(end))
				}
			}
		})
	}
	wg.Wait()
	if got := free.Load(); got != maxFailures-1 {
		t.Errorf("failures reported not blocked = %d; want %d", got, maxFailures-1)
	}
	if got, want := blocked.Load(), int64(goroutines*each-maxFailures+1); got != want {
		t.Errorf("failures reported blocked = %d; want %d", got, want)
	}
}

// testThrottleConcurrentCount fails one client from many goroutines at one
// instant without reaching maxFailures: every failure is counted, so the
// next one blocks.
func testThrottleConcurrentCount(t *testing.T, b ratelimit.ThrottleBackend) {
	th := throttle{t, b, goroutines*each + 1, time.Minute, time.Minute}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				until, err := b.Fail(context.Background(), client4, th.max, th.window, th.cooldown, t0)
				if err != nil || !until.IsZero() {
					t.Errorf("concurrent Fail = %s, %v; want not blocked", fmtUntil(until), err)
				}
			}
		})
	}
	wg.Wait()
	wantUntil(t, "the failure after the concurrent ones", th.fail(client4, at(time.Millisecond)), at(time.Minute+time.Millisecond))
}
