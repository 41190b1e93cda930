package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/ratelimit/ratelimittest"
	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newLimiter(t *testing.T, c redis.UniversalClient, opts *redisstore.LimiterOptions) *redisstore.LimiterBackend {
	t.Helper()
	var o redisstore.LimiterOptions
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = redistest.Prefix(t)
	}
	b, err := redisstore.NewLimiterBackend(c, &o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLimiterBackendConformance(t *testing.T) {
	c := newClient(t)
	ratelimittest.RunBackendTests(t, func(t *testing.T) ratelimit.Backend { return newLimiter(t, c, nil) })
}

func TestLimiterBatcherConformance(t *testing.T) {
	c := newClient(t)
	ratelimittest.RunBatcherTests(t, func(t *testing.T) ratelimit.Batcher { return newLimiter(t, c, nil) })
}

func TestNewLimiterBackendOptions(t *testing.T) {
	c := newClient(t)
	tests := []struct {
		name    string
		client  redis.UniversalClient
		opts    *redisstore.LimiterOptions
		wantErr string
	}{
		{"nil options", c, nil, ""},
		{"defaults", c, &redisstore.LimiterOptions{}, ""},
		{"one millisecond", c, &redisstore.LimiterOptions{LeaseTTL: time.Millisecond}, ""},
		{"nil client", nil, nil, "nil client"},
		{"negative LeaseTTL", c, &redisstore.LimiterOptions{LeaseTTL: -time.Second}, "LimiterOptions.LeaseTTL"},
		{"LeaseTTL under a millisecond", c, &redisstore.LimiterOptions{LeaseTTL: time.Microsecond}, "LimiterOptions.LeaseTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := redisstore.NewLimiterBackend(tt.client, tt.opts)
			if tt.wantErr == "" {
				if err != nil || b == nil {
					t.Fatalf("NewLimiterBackend = %v, %v; want a backend", b, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewLimiterBackend error = %v; want one naming %q", err, tt.wantErr)
			}
		})
	}
}

// TestLeaseExpires: a replica that dies holding a slot frees it LeaseTTL
// after it took it, and not before.
func TestLeaseExpires(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	prefix := redistest.Prefix(t)
	opts := &redisstore.LimiterOptions{Prefix: prefix, LeaseTTL: time.Minute}
	dead, alive := newLimiter(t, c, opts), newLimiter(t, c, opts)
	if _, ok, err := dead.Acquire(ctx, "s", 1, t0); err != nil || !ok {
		t.Fatalf("acquire on the replica that dies: %v, %v; want granted", ok, err)
	}
	q, ok, err := alive.Acquire(ctx, "s", 1, t0.Add(time.Minute-time.Millisecond))
	if err != nil || ok || q.Remaining != 0 {
		t.Fatalf("acquire before the lease expires = %+v, %v, %v; want refused", q, ok, err)
	}
	q, ok, err = alive.Acquire(ctx, "s", 1, t0.Add(time.Minute))
	if err != nil || !ok || q.Remaining != 0 {
		t.Fatalf("acquire when the lease expires = %+v, %v, %v; want granted", q, ok, err)
	}
	if err := alive.Release(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, prefix+"{s}:c").Val(); n != 0 {
		t.Errorf("slots key exists = %d after the last lease went; want gone", n)
	}
}

// TestReleaseOwnLease: Release gives back a lease of the backend that took
// it, never another replica's, and only the oldest of its own.
func TestReleaseOwnLease(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	prefix := redistest.Prefix(t)
	opts := &redisstore.LimiterOptions{Prefix: prefix, LeaseTTL: time.Minute}
	a, b := newLimiter(t, c, opts), newLimiter(t, c, opts)
	key := prefix + "{s}:c"
	for i, r := range []*redisstore.LimiterBackend{a, b, a} {
		if _, ok, err := r.Acquire(ctx, "s", 3, t0.Add(time.Duration(i)*time.Second)); err != nil || !ok {
			t.Fatalf("acquire %d: %v, %v; want granted", i, ok, err)
		}
	}
	members := func() []redis.Z { return c.ZRangeWithScores(ctx, key, 0, -1).Val() }
	before := members()
	if len(before) != 3 {
		t.Fatalf("leases = %v; want 3", before)
	}
	if err := b.Release(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if err := b.Release(ctx, "s"); err != nil { // b holds none now
		t.Fatal(err)
	}
	if err := a.Release(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	// Left: a's second lease, the newest.
	if diff := cmp.Diff([]redis.Z{before[2]}, members()); diff != "" {
		t.Errorf("leases after releases (-want +got):\n%s", diff)
	}
	if a.Held("s") != 1 || b.Held("s") != 0 {
		t.Errorf("Held = %d, %d; want 1, 0", a.Held("s"), b.Held("s"))
	}
}

// TestReplicasShareBuckets: two backends on one prefix see one bucket.
func TestReplicasShareBuckets(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	opts := &redisstore.LimiterOptions{Prefix: redistest.Prefix(t)}
	a, b := newLimiter(t, c, opts), newLimiter(t, c, opts)
	if _, ok, err := a.TakeRequests(ctx, "s", 10, 4, t0); err != nil || !ok {
		t.Fatalf("a: take: %v, %v", ok, err)
	}
	q, ok, err := b.TakeRequests(ctx, "s", 10, 6, t0)
	if err != nil || !ok || q.Remaining != 0 {
		t.Fatalf("b: take the rest = %+v, %v, %v; want granted with 0 left", q, ok, err)
	}
	if _, ok, err := a.TakeRequests(ctx, "s", 10, 1, t0); err != nil || ok {
		t.Fatalf("a: take one more = %v, %v; want refused", ok, err)
	}
}

// TestBucketKeys: a bucket's key lives until it would be full, and a full
// bucket has none.
func TestBucketKeys(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	prefix := redistest.Prefix(t)
	b := newLimiter(t, c, &redisstore.LimiterOptions{Prefix: prefix})
	key := prefix + "{s}:t"
	if _, ok, err := b.TakeTokens(ctx, "s", 600, 300, t0); err != nil || !ok {
		t.Fatalf("take: %v, %v", ok, err)
	}
	ttl := c.PTTL(ctx, key).Val()
	if ttl <= 29*time.Second || ttl > 31*time.Second {
		t.Errorf("PTTL after taking half a minute's tokens = %v; want about 31s", ttl)
	}
	if _, err := b.AdjustTokens(ctx, "s", 600, -300, t0); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, key).Val(); n != 0 {
		t.Errorf("key exists = %d after a full refund; want gone", n)
	}
	if _, err := b.AdjustTokens(ctx, "s", 600, 0, t0); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.TakeTokens(ctx, "s", 600, 601, t0); err != nil || ok {
		t.Fatalf("take more than the limit = %v, %v; want refused", ok, err)
	}
	if n := c.Exists(ctx, key).Val(); n != 0 {
		t.Errorf("key exists = %d after a read and a refusal; want none", n)
	}
}

// TestLimitChange: a bucket whose limit changes keeps the tokens used.
func TestLimitChange(t *testing.T) {
	ctx := context.Background()
	b := newLimiter(t, newClient(t), nil)
	if _, ok, err := b.TakeTokens(ctx, "s", 600, 300, t0); err != nil || !ok {
		t.Fatalf("take: %v, %v", ok, err)
	}
	q, err := b.AdjustTokens(ctx, "s", 1200, 0, t0)
	want := ratelimit.Quota{Limit: 1200, Remaining: 900, Reset: 15 * time.Second}
	if err != nil || q != want {
		t.Fatalf("read with a doubled limit = %+v, %v; want %+v", q, err, want)
	}
}

// TestDebtBounded: a huge charge runs the bucket about 52 days into debt,
// no further, and the arithmetic stays exact.
func TestDebtBounded(t *testing.T) {
	ctx := context.Background()
	b := newLimiter(t, newClient(t), nil)
	const maxSpan = time.Duration(1) << 52
	q, err := b.AdjustTokens(ctx, "s", 60, 1<<62, t0)
	if err != nil || q.Reset != maxSpan {
		t.Fatalf("huge charge = %+v, %v; want Reset %v", q, err, maxSpan)
	}
	later := t0.Add(maxSpan - time.Minute + 1)
	q, ok, err := b.TakeTokens(ctx, "s", 60, 1, later)
	want := ratelimit.Quota{Limit: 60, Remaining: 0, Reset: time.Minute - 1, RetryAfter: time.Second - 1}
	if err != nil || ok || q != want {
		t.Fatalf("take near the end of the debt = %+v, %v, %v; want %+v refused", q, ok, err, want)
	}
}

// TestNanosecondTimes: times that are not whole milliseconds keep their
// nanoseconds through Redis.
func TestNanosecondTimes(t *testing.T) {
	ctx := context.Background()
	b := newLimiter(t, newClient(t), nil)
	now := t0.Add(999_999_999)
	if _, ok, err := b.TakeTokens(ctx, "s", 60, 60, now); err != nil || !ok {
		t.Fatalf("take all: %v, %v", ok, err)
	}
	q, ok, err := b.TakeTokens(ctx, "s", 60, 1, now.Add(time.Second-1))
	want := ratelimit.Quota{Limit: 60, Remaining: 0, Reset: time.Minute - time.Second + 1, RetryAfter: 1}
	if err != nil || ok || q != want {
		t.Fatalf("take a nanosecond early = %+v, %v, %v; want %+v refused", q, ok, err, want)
	}
	if _, ok, err := b.TakeTokens(ctx, "s", 60, 1, now.Add(time.Second)); err != nil || !ok {
		t.Fatalf("take on time: %v, %v; want granted", ok, err)
	}
}

// TestScriptFlushed: the scripts are loaded again after the server forgot
// them (a restart, SCRIPT FLUSH).
func TestScriptFlushed(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	b := newLimiter(t, c, nil)
	if _, _, err := b.TakeRequests(ctx, "s", 10, 1, t0); err != nil {
		t.Fatal(err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	q, ok, err := b.TakeRequests(ctx, "s", 10, 1, t0)
	if err != nil || !ok || q.Remaining != 8 {
		t.Fatalf("take after SCRIPT FLUSH = %+v, %v, %v; want granted with 8 left", q, ok, err)
	}
}

// TestUnreachable: every operation reports an unreachable server as an
// error, which ratelimit.Failover acts on.
func TestUnreachable(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	b := newLimiter(t, c, nil)
	check := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.HasPrefix(err.Error(), "redisstore: ") {
			t.Errorf("%s error = %v; want a redisstore error", what, err)
		}
	}
	_, _, err := b.TakeRequests(ctx, "s", 10, 1, t0)
	check("TakeRequests", err)
	_, _, err = b.TakeTokens(ctx, "s", 10, 1, t0)
	check("TakeTokens", err)
	_, err = b.AdjustTokens(ctx, "s", 10, 1, t0)
	check("AdjustTokens", err)
	_, _, err = b.Acquire(ctx, "s", 10, t0)
	check("Acquire", err)
	if b.Held("s") != 0 {
		t.Errorf("Held after a failed Acquire = %d; want 0", b.Held("s"))
	}

	f, err := ratelimit.Failover(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.TakeRequests(ctx, "s", 10, 1, t0); err != nil || !ok {
		t.Fatalf("TakeRequests through Failover = %v, %v; want granted locally", ok, err)
	}
	if n := f.Fallbacks(ratelimit.Requests); n != 1 {
		t.Errorf("Fallbacks = %d; want 1", n)
	}
}
