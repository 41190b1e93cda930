package ratelimit_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/ratelimit"
)

func newThrottle(t testing.TB, o *ratelimit.AuthThrottleOptions) *ratelimit.AuthThrottle {
	t.Helper()
	a, err := ratelimit.NewAuthThrottle(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthThrottleBlocks(t *testing.T) {
	const n = 5
	a := newThrottle(t, &ratelimit.AuthThrottleOptions{MaxFailures: n, Window: time.Minute, Cooldown: 10 * time.Minute})
	attacker := netip.MustParseAddr("203.0.113.7")
	other := netip.MustParseAddr("203.0.113.8")
	now := t0
	blockedAt := 0
	for i := 1; i <= 1000; i++ {
		now = now.Add(time.Millisecond)
		if _, blocked, _ := a.Blocked(attacker, now); blocked {
			continue // the gateway answers 429 and does no key work
		}
		if ra, blocked := a.Fail(attacker, now); blocked {
			if blockedAt != 0 {
				t.Fatalf("failure %d blocked again; first block at %d", i, blockedAt)
			}
			if ra != 10*time.Minute {
				t.Fatalf("Fail retry-after = %v; want 10m", ra)
			}
			blockedAt = i
		}
	}
	if blockedAt != n {
		t.Fatalf("blocked at failure %d; want %d", blockedAt, n)
	}
	ra, blocked, _ := a.Blocked(attacker, now)
	if want := 10*time.Minute - 995*time.Millisecond; !blocked || ra != want {
		t.Fatalf("Blocked(attacker) = %v, %v; want %v, true", ra, blocked, want)
	}
	if _, blocked, _ := a.Blocked(other, now); blocked {
		t.Fatal("another address is blocked")
	}
	// A failure while blocked (a race with Blocked) neither counts nor extends.
	if ra2, blocked := a.Fail(attacker, now); !blocked || ra2 != ra {
		t.Fatalf("Fail while blocked = %v, %v; want %v, true", ra2, blocked, ra)
	}

	now = now.Add(ra - time.Nanosecond)
	if _, blocked, _ := a.Blocked(attacker, now); !blocked {
		t.Fatal("unblocked before the cool-down ended")
	}
	now = now.Add(time.Nanosecond)
	if _, blocked, _ := a.Blocked(attacker, now); blocked {
		t.Fatal("still blocked after the cool-down")
	}
	// After the cool-down the count starts again.
	for i := 1; i < n; i++ {
		if _, blocked := a.Fail(attacker, now); blocked {
			t.Fatalf("blocked at failure %d after the cool-down; want %d", i, n)
		}
	}
	if _, blocked := a.Fail(attacker, now); !blocked {
		t.Fatalf("not blocked at failure %d after the cool-down", n)
	}
}

func TestAuthThrottleWindow(t *testing.T) {
	a := newThrottle(t, &ratelimit.AuthThrottleOptions{MaxFailures: 3, Window: time.Minute})
	ip := netip.MustParseAddr("198.51.100.1")
	for _, d := range []time.Duration{0, 30 * time.Second, 60 * time.Second, 90 * time.Second} {
		if _, blocked := a.Fail(ip, t0.Add(d)); blocked {
			t.Fatalf("blocked by the failure at %v; failures were in different windows", d)
		}
	}
	if _, blocked := a.Fail(ip, t0.Add(100*time.Second)); !blocked {
		t.Fatal("not blocked by the third failure within a window")
	}
}

func TestAuthThrottleSucceed(t *testing.T) {
	a := newThrottle(t, &ratelimit.AuthThrottleOptions{MaxFailures: 3})
	ip := netip.MustParseAddr("198.51.100.1")
	a.Fail(ip, t0)
	a.Fail(ip, t0)
	a.Succeed(ip)
	a.Succeed(netip.MustParseAddr("198.51.100.2")) // unknown: nothing to do
	a.Fail(ip, t0)
	if _, blocked := a.Fail(ip, t0); blocked {
		t.Fatal("blocked although Succeed forgot the earlier failures")
	}
	if _, blocked := a.Fail(ip, t0); !blocked {
		t.Fatal("not blocked by the third failure after Succeed")
	}
	a.Succeed(ip)
	if _, blocked, _ := a.Blocked(ip, t0); !blocked {
		t.Fatal("Succeed lifted a block")
	}
}

func TestAuthThrottleGrouping(t *testing.T) {
	tests := []struct {
		name    string
		opts    ratelimit.AuthThrottleOptions
		fail    []string // each fails once, MaxFailures is len(fail)
		blocked []string
		free    []string
	}{
		{
			name:    "IPv6 /64 by default",
			fail:    []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3", "2001:db8:1:2:dead:beef:0:4"},
			blocked: []string{"2001:db8:1:2::99", "2001:db8:1:2::1%eth0"},
			free:    []string{"2001:db8:1:3::1", "2001:db8::1", "192.0.2.1"},
		},
		{
			name:    "IPv6 /48",
			opts:    ratelimit.AuthThrottleOptions{IPv6Prefix: 48},
			fail:    []string{"2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:1:ffff::1"},
			blocked: []string{"2001:db8:1:4::1"},
			free:    []string{"2001:db8:2::1"},
		},
		{
			name:    "IPv4 alone by default, mapped IPv6 counts as IPv4",
			fail:    []string{"192.0.2.1", "::ffff:192.0.2.1"},
			blocked: []string{"192.0.2.1", "::ffff:192.0.2.1"},
			free:    []string{"192.0.2.2", "::192.0.2.1"},
		},
		{
			name:    "IPv4 /24",
			opts:    ratelimit.AuthThrottleOptions{IPv4Prefix: 24},
			fail:    []string{"192.0.2.1", "192.0.2.200"},
			blocked: []string{"192.0.2.7"},
			free:    []string{"192.0.3.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.MaxFailures = len(tt.fail)
			a := newThrottle(t, &tt.opts)
			for i, s := range tt.fail {
				_, blocked := a.Fail(netip.MustParseAddr(s), t0)
				if want := i == len(tt.fail)-1; blocked != want {
					t.Fatalf("Fail(%s) blocked = %v; want %v", s, blocked, want)
				}
			}
			for _, s := range tt.blocked {
				if _, blocked, _ := a.Blocked(netip.MustParseAddr(s), t0); !blocked {
					t.Errorf("Blocked(%s) = false; want true", s)
				}
			}
			for _, s := range tt.free {
				if _, blocked, _ := a.Blocked(netip.MustParseAddr(s), t0); blocked {
					t.Errorf("Blocked(%s) = true; want false", s)
				}
			}
		})
	}
}

func TestAuthThrottleBounded(t *testing.T) {
	const capacity = 1000
	a := newThrottle(t, &ratelimit.AuthThrottleOptions{MaxClients: capacity})
	for i := range 100_000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		a.Fail(ip, t0)
	}
	if n := a.Len(); n > capacity {
		t.Fatalf("Len = %d; want at most %d", n, capacity)
	}
	if _, blocked, _ := a.Blocked(netip.Addr{}, t0); blocked {
		t.Fatal("the zero Addr is blocked")
	}
}

func TestAuthThrottleOptionsInvalid(t *testing.T) {
	for _, o := range []ratelimit.AuthThrottleOptions{
		{MaxFailures: -1}, {Window: -1}, {Cooldown: -1}, {MaxClients: -1},
		{IPv4Prefix: 33}, {IPv6Prefix: 129}, {IPv6Prefix: -1},
	} {
		if _, err := ratelimit.NewAuthThrottle(&o); err == nil {
			t.Errorf("NewAuthThrottle(%+v) succeeded; want an error", o)
		}
	}
}

func TestAuthThrottleBlockedAllocs(t *testing.T) {
	a := newThrottle(t, nil)
	blocked := netip.MustParseAddr("2001:db8::1")
	for range ratelimit.DefaultAuthMaxFailures {
		a.Fail(blocked, t0)
	}
	unknown := netip.MustParseAddr("192.0.2.1")
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok, _ := a.Blocked(blocked, t0); !ok {
			t.Fatal("not blocked")
		}
		if _, ok, _ := a.Blocked(unknown, t0); ok {
			t.Fatal("blocked")
		}
	})
	if allocs != 0 {
		t.Fatalf("Blocked allocates %v times; want 0", allocs)
	}
}

// capacityCases are clients whose addresses differ only in bits an attacker
// can vary: IPv4 addresses of one /8, and consecutive IPv6 /64s.
var capacityCases = []struct {
	name   string
	victim netip.Addr
	other  func(i int) netip.Addr // the i-th other client, never the victim's
}{
	{
		name:   "IPv4 one /8",
		victim: netip.MustParseAddr("10.200.0.1"),
		other: func(i int) netip.Addr {
			return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) // below 10.4.0.0 for i < 262,144
		},
	},
	{
		name:   "IPv6 consecutive /64s",
		victim: netip.MustParseAddr("2001:db8:0:ffff::1"),
		other: func(i int) netip.Addr {
			if i >= 0xffff {
				i++ // skip the victim's /64
			}
			// The /64s of 2001:db8::/48, then of the /48s after it.
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 5: byte(i >> 16), 6: byte(i >> 8), 7: byte(i), 15: 1})
		},
	},
}

// TestAuthThrottleCapacity: a blocked client stays blocked while well under
// MaxClients other clients fail, however alike their addresses.
func TestAuthThrottleCapacity(t *testing.T) {
	const others = 90_000 // of DefaultAuthMaxClients (100,000)
	for _, tt := range capacityCases {
		t.Run(tt.name, func(t *testing.T) {
			a := newThrottle(t, nil)
			for range ratelimit.DefaultAuthMaxFailures {
				a.Fail(tt.victim, t0)
			}
			now := t0
			for i := range others {
				now = now.Add(time.Microsecond) // all within one Window
				if _, blocked := a.Fail(tt.other(i), now); blocked {
					t.Fatalf("other client %d blocked by one failure", i)
				}
			}
			ra, blocked, _ := a.Blocked(tt.victim, now)
			if want := ratelimit.DefaultAuthCooldown - others*time.Microsecond; !blocked || ra != want {
				t.Errorf("after %d other failing clients, Blocked(%v) = %v, %v; want %v, true", others, tt.victim, ra, blocked, want)
			}
			if n := a.Len(); n != others+1 {
				t.Errorf("Len = %d; want %d", n, others+1)
			}
		})
	}
}

// TestAuthThrottleCapacityBound: the bound is real. After twice MaxClients
// other clients fail, the throttle holds exactly MaxClients clients (every
// shard full) and the blocked client, least recently seen, is gone.
func TestAuthThrottleCapacityBound(t *testing.T) {
	const others = 2 * ratelimit.DefaultAuthMaxClients
	tt := capacityCases[0]
	a := newThrottle(t, nil)
	for range ratelimit.DefaultAuthMaxFailures {
		a.Fail(tt.victim, t0)
	}
	now := t0
	for i := range others {
		now = now.Add(time.Microsecond)
		a.Fail(tt.other(i), now)
	}
	if ra, blocked, _ := a.Blocked(tt.victim, now); blocked {
		t.Errorf("after %d other failing clients, Blocked(%v) = %v, true; want evicted", others, tt.victim, ra)
	}
	if n := a.Len(); n != ratelimit.DefaultAuthMaxClients {
		t.Errorf("Len = %d; want %d", n, ratelimit.DefaultAuthMaxClients)
	}
}
