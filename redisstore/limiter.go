package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/ratelimit"
)

// DefaultLimiterPrefix is the key prefix of a [LimiterBackend] when
// [LimiterOptions].Prefix is empty.
const DefaultLimiterPrefix = "wicket:rl:"

// DefaultLeaseTTL is the lifetime of a concurrency slot's lease when
// [LimiterOptions].LeaseTTL is zero.
const DefaultLeaseTTL = 10 * time.Minute

// LimiterOptions configures a [LimiterBackend]. The zero value uses the
// defaults.
type LimiterOptions struct {
	// Prefix is prepended to every key the backend writes. Empty means
	// DefaultLimiterPrefix. Backends that share a prefix (the replicas of one
	// gateway) share their subjects' state.
	Prefix string

	// LeaseTTL is how long a concurrency slot is held when the replica that
	// took it never gives it back (it died mid-request). Zero means
	// DefaultLeaseTTL; it must otherwise be at least a millisecond. Set it
	// above the longest request the gateway lets run: a request outliving
	// its lease stops counting against its subject's MaxConcurrent.
	LeaseTTL time.Duration

	// Timeout bounds each call to Redis, so that no request waits on an
	// unreachable server for longer (the Limiter's fail modes then apply;
	// see ratelimit.Failover). Zero means DefaultTimeout (100 ms); it must
	// otherwise be at least a millisecond.
	// A client with ContextTimeoutEnabled (go-redis) is cut off at the
	// deadline by the client itself; for any other, each call runs in a
	// goroutine of its own and is abandoned at the deadline (see doc.go).
	Timeout time.Duration
}

// LimiterBackend is a [ratelimit.Backend] on Redis: every replica that uses
// the same server and prefix sees the same buckets and slots.
//
// Each operation is one round trip: a Lua script (sent by EVALSHA, loaded on
// first use) for the buckets and for Acquire, a ZREM for Release. The request
// and token buckets are GCRA buckets (one hash per subject and bucket) driven
// by the time each call passes, never the server's clock, so that replicas
// and the conformance suite agree; a full bucket has no key, and a bucket's
// key expires once it would be full. A token bucket runs at most about 52
// days of refill into debt (see AdjustTokens). A change of limit keeps the
// tokens a bucket has used, to within one token.
//
// Concurrency slots are leases: a sorted set per subject whose members are
// lease IDs scored by their expiry (the Acquire's time plus LeaseTTL).
// Acquire first drops the expired leases, then adds one if fewer than the
// limit remain. The Backend interface gives Release no lease, so the
// LimiterBackend remembers, per subject, the leases it granted and not yet
// gave back, and Release removes the oldest of its own. Leases are
// interchangeable for counting, so the count stays exact; and since a request
// that is still running started no earlier than any request that ended
// before it, keeping the newest leases keeps every running request covered
// for at least LeaseTTL from its start. A replica that dies leaves its leases
// behind, and they expire LeaseTTL after they were taken; so does a lease
// whose Release failed (Redis unreachable) or whose Acquire returned an error
// after Redis had granted it. What the backend remembers is bounded by the
// requests in flight.
//
// Since the buckets run on the callers' clocks, the replicas' clocks should
// agree (NTP): a replica whose clock runs ahead sees buckets fuller by the
// difference. The client should have read and write time-outs (go-redis has
// them by default), since the Limiter passes the request's context and that
// may have no deadline. Every error of the client or the server is returned,
// wrapped, for [ratelimit.Failover] to apply its fail modes. Use [NewLimiterBackend]; the zero LimiterBackend is
// not usable. It is safe for concurrent use and starts no goroutine.
type LimiterBackend struct {
	client   redis.UniversalClient
	prefix   string
	leaseTTL time.Duration
	timeout  time.Duration
	aware    bool // the client bounds its reads by the context's deadline
	// instance makes this backend's lease IDs unique among replicas.
	instance string
	seq      atomic.Uint64

	// mu guards leases: per subject, the IDs of the leases this backend
	// granted and not yet released, oldest first.
	mu     sync.Mutex
	leases map[string][]string
}

var _ ratelimit.Backend = (*LimiterBackend)(nil)

// NewLimiterBackend returns a LimiterBackend that keeps its state on client.
// opts may be nil.
func NewLimiterBackend(client redis.UniversalClient, opts *LimiterOptions) (*LimiterBackend, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	var o LimiterOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.LeaseTTL < 0:
		return nil, errors.New("redisstore: LimiterOptions.LeaseTTL is negative")
	case o.LeaseTTL == 0:
		o.LeaseTTL = DefaultLeaseTTL
	case o.LeaseTTL < time.Millisecond:
		return nil, errors.New("redisstore: LimiterOptions.LeaseTTL is under a millisecond")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultLimiterPrefix
	}
	t, err := timeout(o.Timeout, "LimiterOptions.Timeout")
	if err != nil {
		return nil, err
	}
	return &LimiterBackend{
		client:   client,
		prefix:   o.Prefix,
		leaseTTL: o.LeaseTTL,
		timeout:  t,
		aware:    honoursDeadlines(client),
		instance: rand.Text(),
		leases:   make(map[string][]string),
	}, nil
}

// key returns the key of subject's state of the given kind ("r" for the
// request bucket, "t" for the token bucket, "c" for the slots). The subject is
// a hash tag, so that a cluster keeps a subject's keys on one shard.
func (b *LimiterBackend) key(subject, kind string) string {
	return b.prefix + "{" + subject + "}:" + kind
}

// TakeRequests implements [ratelimit.Backend].
func (b *LimiterBackend) TakeRequests(ctx context.Context, subject string, limit, n int64, now time.Time) (ratelimit.Quota, bool, error) {
	key := b.key(subject, "r")
	switch {
	case n <= 0: // a give-back (or nothing to take)
		return b.runBucket(ctx, key, limit, opAdjust, signedSpan(n, limit), now)
	case n > limit: // never granted: report the bucket as it is
		q, _, err := b.runBucket(ctx, key, limit, opAdjust, 0, now)
		return q, false, err
	}
	return b.runBucket(ctx, key, limit, opTake, tokenSpan(n, limit), now)
}

// TakeTokens implements [ratelimit.Backend].
func (b *LimiterBackend) TakeTokens(ctx context.Context, subject string, limit, n int64, now time.Time) (ratelimit.Quota, bool, error) {
	key := b.key(subject, "t")
	if n > limit { // never granted: report the bucket as it is
		q, _, err := b.runBucket(ctx, key, limit, opAdjust, 0, now)
		return q, false, err
	}
	return b.runBucket(ctx, key, limit, opTake, tokenSpan(max(n, 0), limit), now)
}

// AdjustTokens implements [ratelimit.Backend]. A charge stops at about 52
// days of refill of debt (2^52 ns), a bound that keeps the script's
// arithmetic exact.
func (b *LimiterBackend) AdjustTokens(ctx context.Context, subject string, limit, delta int64, now time.Time) (ratelimit.Quota, error) {
	q, _, err := b.runBucket(ctx, b.key(subject, "t"), limit, opAdjust, signedSpan(delta, limit), now)
	return q, err
}
