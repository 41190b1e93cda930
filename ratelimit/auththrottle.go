package ratelimit

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
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
	// MaxClients bounds the number of clients tracked by the in-memory
	// backend, least recently seen first out. Zero means
	// DefaultAuthMaxClients (100,000). It is ignored when Backend is set.
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
}

// AuthThrottle blocks client addresses that fail authentication too often,
// against credential stuffing and key guessing. The gateway calls Blocked
// before any key hashing or store lookup, answering 429 with the retry-after
// when it reports true, and Fail after each failed authentication.
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
// The methods take no context and return no error (they implement the keys
// package's Throttle), so AuthThrottle calls its backend with
// context.Background() and, when the backend fails, lets the client through
// as not blocked and counts the error (see Errors). Choosing to fail closed
// instead is not yet possible.
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
	mem  *MemoryThrottle
	errs atomic.Uint64
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
	}
	if a.backend == nil {
		m, err := NewMemoryThrottle(&MemoryThrottleOptions{MaxClients: o.MaxClients})
		if err != nil {
			return nil, err
		}
		a.backend = m
	}
	a.mem, _ = a.backend.(*MemoryThrottle)
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

// failed counts a backend error, after which the client is let through.
func (a *AuthThrottle) failed(err error) bool {
	if err == nil {
		return false
	}
	a.errs.Add(1)
	return true
}

// Blocked reports whether ip's client is blocked at now and, if so, the time
// until the block ends. It creates no state.
func (a *AuthThrottle) Blocked(ip netip.Addr, now time.Time) (retryAfter time.Duration, blocked bool) {
	var buf [clientMax]byte
	client := a.client(buf[:0], ip)
	var until time.Time
	var err error
	// Two conversions: the one passed to the interface escapes and is
	// copied to the heap, the other stays on the stack.
	if a.mem != nil {
		until, err = a.mem.Blocked(context.Background(), string(client), now)
	} else {
		until, err = a.backend.Blocked(context.Background(), string(client), now)
	}
	if a.failed(err) || !now.Before(until) {
		return 0, false
	}
	return until.Sub(now), true
}

// Fail records a failed authentication from ip at now. When it is the
// client's MaxFailures-th within Window, the client is blocked for Cooldown
// and Fail reports blocked with the retry-after; since the gateway calls
// Blocked first, blocked true normally means the block starts with this
// failure (the moment to emit an audit event). A failure while already blocked
// is not counted and does not extend the block.
func (a *AuthThrottle) Fail(ip netip.Addr, now time.Time) (retryAfter time.Duration, blocked bool) {
	var buf [clientMax]byte
	client := a.client(buf[:0], ip)
	var until time.Time
	var err error
	if a.mem != nil {
		until, err = a.mem.Fail(context.Background(), string(client), a.maxFailures, a.window, a.cooldown, now)
	} else {
		until, err = a.backend.Fail(context.Background(), string(client), a.maxFailures, a.window, a.cooldown, now)
	}
	if a.failed(err) || !now.Before(until) {
		return 0, false
	}
	return until.Sub(now), true
}

// Succeed forgets the failures counted for ip's client, so that clients
// sharing an address (behind NAT, say) do not pay for each other's old typos;
// it does not lift a block. Calling it is optional, and a trade-off: an
// attacker who holds one valid key can use it to reset the count between
// guesses.
func (a *AuthThrottle) Succeed(ip netip.Addr) {
	var buf [clientMax]byte
	client := a.client(buf[:0], ip)
	var err error
	if a.mem != nil {
		err = a.mem.Succeed(context.Background(), string(client))
	} else {
		err = a.backend.Succeed(context.Background(), string(client))
	}
	a.failed(err)
}

// Errors returns the number of backend errors so far, each of which let a
// client through (or left a failure or success unrecorded).
func (a *AuthThrottle) Errors() uint64 { return a.errs.Load() }

// Len returns the number of clients tracked: by the backend's Len method if
// it has one (a [MemoryThrottle] does), otherwise 0, since a shared backend
// holds the clients of every replica.
func (a *AuthThrottle) Len() int {
	if l, ok := a.backend.(interface{ Len() int }); ok {
		return l.Len()
	}
	return 0
}
