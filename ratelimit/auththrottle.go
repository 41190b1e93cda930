package ratelimit

import (
	"cmp"
	"errors"
	"hash/maphash"
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
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
	// MaxClients bounds the number of clients tracked, least recently seen
	// first out. Zero means DefaultAuthMaxClients (100,000).
	MaxClients int
	// IPv4Prefix is the prefix length by which IPv4 addresses are grouped
	// into one client. Zero means DefaultAuthIPv4Prefix (32: each address
	// alone).
	IPv4Prefix int
	// IPv6Prefix is the prefix length by which IPv6 addresses are grouped
	// into one client, since one subscriber usually holds a whole /64 and
	// could otherwise rotate through it. Zero means DefaultAuthIPv6Prefix (64).
	IPv6Prefix int
}

// AuthThrottle blocks client addresses that fail authentication too often,
// against credential stuffing and key guessing. The gateway calls Blocked
// before any key hashing or store lookup, answering 429 with the retry-after
// when it reports true, and Fail after each failed authentication.
//
// Addresses are grouped into clients: IPv4-mapped IPv6 addresses count as
// IPv4, zones are ignored, and each family is grouped by its configured prefix
// (IPv6 by /64 unless set otherwise). The zero netip.Addr (an unknown
// address) is one client.
//
// State is bounded by an LRU of MaxClients clients. An attacker with more
// addresses than that can push clients out, and with them their counts and
// blocks; size MaxClients well above the number of attacking prefixes
// expected. Clients are spread over up to 16 shards, each with its own lock
// and an equal share of MaxClients, by a hash of the whole client address
// seeded per process, so the LRU order is per shard: a client is pushed out
// by about MaxClients others (by chance a few percent fewer), however alike
// their addresses. AuthThrottle never starts a goroutine. Use
// [NewAuthThrottle]; the zero AuthThrottle is not usable. It is safe for
// concurrent use.
type AuthThrottle struct {
	maxFailures int32
	window      time.Duration
	cooldown    time.Duration
	v4bits      int
	v6bits      int
	seed        maphash.Seed
	mask        uint64
	shards      []authShard
}

type authShard struct {
	mu  sync.Mutex
	lru *simplelru.LRU[netip.Addr, *authState]
	_   [48]byte // keep shards on separate cache lines
}

// authState is one client's state, guarded by its shard's mu.
type authState struct {
	start time.Time // start of the current counting window
	until time.Time // blocked before this time
	count int32     // failures in the current window
}

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
	o.MaxClients = cmp.Or(o.MaxClients, DefaultAuthMaxClients)
	o.IPv4Prefix = cmp.Or(o.IPv4Prefix, DefaultAuthIPv4Prefix)
	o.IPv6Prefix = cmp.Or(o.IPv6Prefix, DefaultAuthIPv6Prefix)

	n := shardCount(o.MaxClients)
	a := &AuthThrottle{
		maxFailures: int32(o.MaxFailures),
		window:      o.Window,
		cooldown:    o.Cooldown,
		v4bits:      o.IPv4Prefix,
		v6bits:      o.IPv6Prefix,
		seed:        maphash.MakeSeed(),
		mask:        uint64(n - 1),
		shards:      make([]authShard, n),
	}
	for i := range a.shards {
		var err error
		if a.shards[i].lru, err = simplelru.NewLRU[netip.Addr, *authState](o.MaxClients/n, nil); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// client returns the key of ip's client, and its shard.
func (a *AuthThrottle) client(ip netip.Addr) (netip.Addr, *authShard) {
	ip = ip.Unmap().WithZone("")
	bits := a.v6bits
	if ip.Is4() {
		bits = a.v4bits
	}
	p, _ := ip.Prefix(bits) // cannot fail: bits is within range, no zone
	key := p.Addr()
	// A seeded hash of every byte, so that no range of addresses (one /8,
	// the last octet across /24s, the /64s of a /48) crowds into one shard,
	// where its clients would push each other out long before MaxClients.
	b := key.As16()
	return key, &a.shards[maphash.Bytes(a.seed, b[:])&a.mask]
}

// Blocked reports whether ip's client is blocked at now and, if so, the time
// until the block ends. It allocates nothing and creates no state.
func (a *AuthThrottle) Blocked(ip netip.Addr, now time.Time) (retryAfter time.Duration, blocked bool) {
	key, s := a.client(ip)
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.lru.Get(key)
	if !ok || !now.Before(st.until) {
		return 0, false
	}
	return st.until.Sub(now), true
}

// Fail records a failed authentication from ip at now. When it is the
// client's MaxFailures-th within Window, the client is blocked for Cooldown
// and Fail reports blocked with the retry-after; since the gateway calls
// Blocked first, blocked true normally means the block starts with this
// failure (the moment to emit an audit event). A failure while already blocked
// is not counted and does not extend the block.
func (a *AuthThrottle) Fail(ip netip.Addr, now time.Time) (retryAfter time.Duration, blocked bool) {
	key, s := a.client(ip)
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.lru.Get(key)
	if !ok {
		st = &authState{}
		s.lru.Add(key, st) // may evict the least recently seen client
	}
	if now.Before(st.until) {
		return st.until.Sub(now), true
	}
	if st.count == 0 || now.Sub(st.start) >= a.window {
		st.start, st.count = now, 0
	}
	st.count++
	if st.count < a.maxFailures {
		return 0, false
	}
	st.until, st.count = now.Add(a.cooldown), 0
	return a.cooldown, true
}

// Succeed forgets the failures counted for ip's client, so that clients
// sharing an address (behind NAT, say) do not pay for each other's old typos;
// it does not lift a block. Calling it is optional, and a trade-off: an
// attacker who holds one valid key can use it to reset the count between
// guesses.
func (a *AuthThrottle) Succeed(ip netip.Addr) {
	key, s := a.client(ip)
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.lru.Peek(key); ok {
		st.count = 0
	}
}

// Len returns the number of clients tracked.
func (a *AuthThrottle) Len() int {
	n := 0
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}
