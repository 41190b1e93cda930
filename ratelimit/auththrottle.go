package ratelimit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
)

// Defaults of [AuthThrottleOptions].
const (
	DefaultAuthMaxFailures = 10
	DefaultAuthWindow      = time.Minute
	DefaultAuthCooldown    = 10 * time.Minute
	DefaultAuthMaxClients  = 100_000
	DefaultAuthIPv4Prefix  = 32
	DefaultAuthIPv6Prefix  = 64
)

// AuthThrottleOptions configures an [AuthThrottle]. The zero value uses the
// defaults; negative values are invalid.
type AuthThrottleOptions struct {
	// MaxFailures is the number of failed authentications from one client
	// within Window that blocks it. Zero means DefaultAuthMaxFailures (10).
	MaxFailures int
	// Window is the period over which failures are counted: a client's count
	// starts at its first failure and restarts Window later. Zero means
	// DefaultAuthWindow (1 minute).
	Window time.Duration
	// Cooldown is how long a client stays blocked. Zero means
	// DefaultAuthCooldown (10 minutes).
	Cooldown time.Duration
	// MaxClients bounds the number of clients tracked in memory, least
	// recently seen first out: by the default backend, or, when Backend is
	// set and FailMode is FailOpen, by the local throttle used while Backend
	// fails. Zero means DefaultAuthMaxClients (100,000).
	MaxClients int
	// IPv4Prefix is the prefix length by which IPv4 addresses are grouped
	// into one client. Zero means DefaultAuthIPv4Prefix (32: each address
	// alone).
	IPv4Prefix int
	// IPv6Prefix is the prefix length by which IPv6 addresses are grouped
	// into one client, since one subscriber usually holds a whole /64 and
	// could otherwise rotate through it. Zero means DefaultAuthIPv6Prefix (64).
	IPv6Prefix int
	// Backend stores the clients' counts and blocks. Nil means a
	// [MemoryThrottle] of MaxClients clients.
	Backend ThrottleBackend
	// FailMode says what the throttle does when Backend fails (errors or
	// times out). FailOpen, the zero value, keeps throttling with a local
	// MemoryThrottle of MaxClients clients, so that each replica still
	// blocks the addresses that fail too often on it; FailClosed makes
	// Blocked return an error, which the gateway answers with 503. The
	// default backend never fails.
	FailMode FailMode
	// OnFallback, if set, is told of each operation Backend failed. It runs
	// on the request's goroutine: keep it quick.
	OnFallback func(ThrottleFallback)
}

// ThrottleOp names an operation of an [AuthThrottle] on its backend.
type ThrottleOp uint8

// Operations of an AuthThrottle.
const (
	// ThrottleBlocked is the check made before authentication (Blocked).
	ThrottleBlocked ThrottleOp = iota
	// ThrottleFail records a failed authentication (Fail).
	ThrottleFail
	// ThrottleSucceed forgets a client's failures (Succeed).
	ThrottleSucceed
)

// String returns "blocked", "fail" or "succeed".
func (op ThrottleOp) String() string {
	switch op {
	case ThrottleBlocked:
		return "blocked"
	case ThrottleFail:
		return "fail"
	case ThrottleSucceed:
		return "succeed"
	}
	return "ThrottleOp(" + strconv.Itoa(int(op)) + ")"
}

// ThrottleFallback describes one operation an [AuthThrottle]'s backend
// failed: which, and the fail mode applied.
//
// It names no client address, unlike [Fallback], which names its subject:
// a backend failure is the backend's, not the client's (during an outage
// every client's requests fall back alike), so the address would tell
// nothing about it, while it would carry personal data, with no bound on
// its values, into whatever OnFallback feeds (metrics labels, logs). The
// audit trail records the addresses that matter: failed authentications
// and blocks.
type ThrottleFallback struct {
	// Op is the operation the backend failed.
	Op ThrottleOp
	// Mode is the throttle's fail mode: FailOpen if the operation was done
	// on the local throttle instead, FailClosed if it was not done.
	Mode FailMode
}

// AuthThrottle blocks client addresses that fail authentication too often,
// against credential stuffing and key guessing. The gateway calls Blocked
// before any key hashing or store lookup, answering 429 with the retry-after
// when it reports true (and 503 when it returns an error), and Fail after
// each failed authentication.
//
// Addresses are grouped into clients: IPv4-mapped IPv6 addresses count as
// IPv4, zones are ignored, and each family is grouped by its configured prefix
// (IPv6 by /64 unless set otherwise). The zero netip.Addr (an unknown
// address) is one client. The counts and blocks are kept by a
// [ThrottleBackend], which sees each client as the text form of its prefix
// ("203.0.113.7/32", "2001:db8:1:2::/64"; "unknown" for the zero Addr).
//
// The default backend, a [MemoryThrottle], bounds its state by an LRU of
// MaxClients clients. An attacker with more addresses than that can push
// clients out, and with them their counts and blocks; size MaxClients well
// above the number of attacking prefixes expected. See MemoryThrottle for how
// its clients are spread over shards.
//
// The methods take no context (they implement the keys package's
// Throttle), so AuthThrottle calls its backend with context.Background():
// a shared backend bounds each call with its own deadline. When the backend
// fails, the throttle applies its [FailMode]. Failing open, the operation
// is done on a local [MemoryThrottle] instead, so that an address failing
// too often is still blocked, by each replica on its own (a fleet of N
// replicas lets it try up to N times MaxFailures per Window); a block the
// local throttle imposed is honoured until it ends, even once the backend
// is back. Failing closed, Blocked returns an error (the gateway then
// answers 503 where it would answer a blocked address 429), and a failure
// or success goes unrecorded.
// Either way the fallback is counted (Fallbacks) and told to
// AuthThrottleOptions.OnFallback.
//
// AuthThrottle never starts a goroutine; with the default backend, Blocked
// allocates nothing. Use [NewAuthThrottle]; the zero AuthThrottle is not
// usable. It is safe for concurrent use.
type AuthThrottle struct {
	maxFailures int
	window      time.Duration
	cooldown    time.Duration
	v4bits      int
	v6bits      int
	backend     ThrottleBackend
	// mem is backend when it is a *MemoryThrottle, called directly so that
	// client names built on the stack stay there.
	mem *MemoryThrottle
	// local takes over while backend fails, when failing open and backend
	// is not a MemoryThrottle (which never fails); nil otherwise.
	local      *MemoryThrottle
	mode       FailMode
	onFallback func(ThrottleFallback)
	fallbacks  atomic.Uint64
	// usedLocal is set at the first fallback to local: from then on,
	// Blocked asks local too when backend finds no block.
	usedLocal atomic.Bool
}

// clientMax is the length of the longest client name: an IPv6 /128.
const clientMax = len("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")

// NewAuthThrottle returns an AuthThrottle. opts may be nil.
func NewAuthThrottle(opts *AuthThrottleOptions) (*AuthThrottle, error) {
	var o AuthThrottleOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxFailures < 0 || o.Window < 0 || o.Cooldown < 0 || o.MaxClients < 0 {
		return nil, errors.New("ratelimit: negative AuthThrottleOptions field")
	}
	if o.IPv4Prefix < 0 || o.IPv4Prefix > 32 || o.IPv6Prefix < 0 || o.IPv6Prefix > 128 {
		return nil, errors.New("ratelimit: AuthThrottleOptions prefix length out of range")
	}
	if o.FailMode > FailClosed {
		return nil, errors.New("ratelimit: AuthThrottleOptions.FailMode invalid")
	}
	if o.MaxFailures > 1<<30 {
		return nil, errors.New("ratelimit: AuthThrottleOptions.MaxFailures too large")
	}
	o.MaxFailures = cmp.Or(o.MaxFailures, DefaultAuthMaxFailures)
	o.Window = cmp.Or(o.Window, DefaultAuthWindow)
	o.Cooldown = cmp.Or(o.Cooldown, DefaultAuthCooldown)
	o.IPv4Prefix = cmp.Or(o.IPv4Prefix, DefaultAuthIPv4Prefix)
	o.IPv6Prefix = cmp.Or(o.IPv6Prefix, DefaultAuthIPv6Prefix)

	a := &AuthThrottle{
		maxFailures: o.MaxFailures,
		window:      o.Window,
		cooldown:    o.Cooldown,
		v4bits:      o.IPv4Prefix,
		v6bits:      o.IPv6Prefix,
		backend:     o.Backend,
		mode:        o.FailMode,
		onFallback:  o.OnFallback,
	}
	if a.backend == nil {
		m, err := NewMemoryThrottle(&MemoryThrottleOptions{MaxClients: o.MaxClients})
		if err != nil {
			return nil, err
		}
		a.backend = m
	}
	a.mem, _ = a.backend.(*MemoryThrottle)
	if a.mem == nil && a.mode == FailOpen {
		m, err := NewMemoryThrottle(&MemoryThrottleOptions{MaxClients: o.MaxClients})
		if err != nil {
			return nil, err
		}
		a.local = m
	}
	return a, nil
}

// client appends the name of ip's client to b.
func (a *AuthThrottle) client(b []byte, ip netip.Addr) []byte {
	if !ip.IsValid() {
		return append(b, "unknown"...)
	}
	ip = ip.Unmap().WithZone("")
	bits := a.v6bits
	if ip.Is4() {
		bits = a.v4bits
	}
	p, _ := ip.Prefix(bits) // cannot fail: bits is within range, no zone
	return p.AppendTo(b)
}

// fallback counts and tells a failure of the backend in op, and returns
// the local throttle to go on with, or nil when failing closed.
func (a *AuthThrottle) fallback(op ThrottleOp) *MemoryThrottle {
	a.fallbacks.Add(1)
	if a.onFallback != nil {
		a.onFallback(ThrottleFallback{Op: op, Mode: a.mode})
	}
	if a.local != nil {
		a.usedLocal.Store(true)
	}
	return a.local
}

// retry returns the time from now until the end of a block, and whether
// one is in force.
func retry(until, now time.Time) (time.Duration, bool) {
	if !now.Before(until) {
		return 0, false
	}
	return until.Sub(now), true
}

// Blocked reports whether ip's client is blocked at now and, if so, the time
// until the block ends. It creates no state.
//
// err is non-nil only when the backend failed and the throttle fails
// closed: the caller cannot tell whether ip is blocked, and should refuse
// what it would refuse a blocked address (the gateway answers 503). When
// failing open, the local throttle answers instead.
func (a *AuthThrottle) Blocked(ip netip.Addr, now time.Time) (retryAfter time.Duration, blocked bool, err error) {
	var buf [clientMax]byte
	client := a.client(buf[:0], ip)
	if a.mem != nil {
		// The default backend: it never fails.
		until, _ := a.mem.Blocked(context.Background(), string(client), now)
		retryAfter, blocked = retry(until, now)
		return retryAfter, blocked, nil
	}
	// Two conversions: the one passed to the interface escapes and is
	// copied to the heap, the one passed to local stays on the stack.
	until, err := a.backend.Blocked(context.Background(), string(client), now)
	if err != nil {
		local := a.fallback(ThrottleBlocked)
		if local == nil {
			return 0, false, fmt.Errorf("ratelimit: auth throttle: blocked: %w", err)
		}
		until, _ = local.Blocked(context.Background(), string(client), now)
	} else if !now.Before(until) && a.usedLocal.Load() {
		// A block imposed locally while the backend failed holds until
		// it ends.
		until, _ = a.local.Blocked(context.Background(), string(client), now)
	}
	retryAfter, blocked = retry(until, now)
	return retryAfter, blocked, nil
}

// Fail records a failed authentication from ip at now. When it is the
// client's MaxFailures-th within Window, the client is blocked for Cooldown
// and Fail reports blocked with the retry-after; since the gateway calls
// Blocked first, blocked true normally means the block starts with this
// failure (the moment to emit an audit event). A failure while already blocked
// is not counted and does not extend the block.
//
// When the backend fails, the failure is recorded by the local throttle if
// failing open, and lost if failing closed (Blocked then refuses until the
// backend is back).
func (a *AuthThrottle) Fail(ip netip.Addr, now time.Time) (retryAfter time.Duration, blocked bool) {
	var buf [clientMax]byte
	client := a.client(buf[:0], ip)
	if a.mem != nil {
		until, _ := a.mem.Fail(context.Background(), string(client), a.maxFailures, a.window, a.cooldown, now)
		return retry(until, now)
	}
	until, err := a.backend.Fail(context.Background(), string(client), a.maxFailures, a.window, a.cooldown, now)
	if err != nil {
		local := a.fallback(ThrottleFail)
		if local == nil {
			return 0, false
		}
		until, _ = local.Fail(context.Background(), string(client), a.maxFailures, a.window, a.cooldown, now)
	}
	return retry(until, now)
}

// Succeed forgets the failures counted for ip's client, so that clients
// sharing an address (behind NAT, say) do not pay for each other's old typos;
// it does not lift a block. Calling it is optional, and a trade-off: an
// attacker who holds one valid key can use it to reset the count between
// guesses. When the backend fails, the local throttle forgets instead if
// failing open; nothing is forgotten if failing closed.
func (a *AuthThrottle) Succeed(ip netip.Addr) {
	var buf [clientMax]byte
	client := a.client(buf[:0], ip)
	if a.mem != nil {
		_ = a.mem.Succeed(context.Background(), string(client))
		return
	}
	if err := a.backend.Succeed(context.Background(), string(client)); err != nil {
		if local := a.fallback(ThrottleSucceed); local != nil {
			_ = local.Succeed(context.Background(), string(client))
		}
	}
}

// Mode returns the fail mode in force when the backend fails.
func (a *AuthThrottle) Mode() FailMode { return a.mode }

// Fallbacks returns how many operations the backend failed since
// NewAuthThrottle, whatever the mode applied: each was done on the local
// throttle (failing open) or not at all (failing closed).
func (a *AuthThrottle) Fallbacks() uint64 { return a.fallbacks.Load() }

// Len returns the number of clients tracked: by the backend's Len method if
// it has one (a [MemoryThrottle] does), otherwise 0, since a shared backend
// holds the clients of every replica. The local throttle used while the
// backend fails is not counted.
func (a *AuthThrottle) Len() int {
	if l, ok := a.backend.(interface{ Len() int }); ok {
		return l.Len()
	}
	return 0
}
