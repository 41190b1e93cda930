package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/ratelimit/ratelimittest"
	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// newThrottle returns a ThrottleBackend on c under prefix (empty: a fresh
// one), its Timeout roomyTimeout.
func newThrottle(t *testing.T, c redis.UniversalClient, prefix string) *redisstore.ThrottleBackend {
	t.Helper()
	if prefix == "" {
		prefix = redistest.Prefix(t)
	}
	b, err := redisstore.NewThrottleBackend(c, &redisstore.ThrottleOptions{Prefix: prefix, Timeout: roomyTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestThrottleBackendConformance(t *testing.T) {
	c := newClient(t)
	ratelimittest.RunThrottleBackendTests(t, func(t *testing.T) ratelimit.ThrottleBackend { return newThrottle(t, c, "") })
}

func TestNewThrottleBackendOptions(t *testing.T) {
	c := newClient(t)
	for _, tc := range []struct {
		name    string
		client  redis.UniversalClient
		opts    *redisstore.ThrottleOptions
		wantErr string // in the error; "" for none
	}{
		{"nil options", c, nil, ""},
		{"defaults", c, &redisstore.ThrottleOptions{}, ""},
		{"timeout of a millisecond", c, &redisstore.ThrottleOptions{Timeout: time.Millisecond}, ""},
		{"nil client", nil, nil, "nil client"},
		{"negative timeout", c, &redisstore.ThrottleOptions{Timeout: -time.Second}, "ThrottleOptions.Timeout"},
		{"timeout under a millisecond", c, &redisstore.ThrottleOptions{Timeout: time.Microsecond}, "ThrottleOptions.Timeout"},
	} {
		b, err := redisstore.NewThrottleBackend(tc.client, tc.opts)
		switch {
		case tc.wantErr == "" && (err != nil || b == nil):
			t.Errorf("%s: got %v, %v; want a backend", tc.name, b, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: got error %v; want one naming %q", tc.name, err, tc.wantErr)
		}
	}
}

// TestThrottleTimeout: against a server that accepts connections and never
// answers, every call returns the deadline's error once Timeout has passed.
func TestThrottleTimeout(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: hangingServer(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	const timeout = 50 * time.Millisecond
	b, err := redisstore.NewThrottleBackend(c, &redisstore.ThrottleOptions{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	checkTimeout(t, "Blocked", timeout, func() error { _, err := b.Blocked(ctx, "x", t0); return err })
	checkTimeout(t, "Fail", timeout, func() error { _, err := b.Fail(ctx, "x", 1, time.Minute, time.Minute, t0); return err })
	checkTimeout(t, "Succeed", timeout, func() error { return b.Succeed(ctx, "x") })
}

// TestThrottleShared: a client blocked on one replica is blocked on all, to
// the nanosecond.
func TestThrottleShared(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	prefix := redistest.Prefix(t)
	a, b := newThrottle(t, c, prefix), newThrottle(t, c, prefix)
	now := t0.Add(123_456_789)
	const cooldown = 90*time.Second + 7
	if until, err := a.Fail(ctx, "203.0.113.7/32", 2, time.Minute, cooldown, now); err != nil || !until.IsZero() {
		t.Fatalf("a: first failure = %v, %v; want not blocked", until, err)
	}
	end := now.Add(cooldown)
	if until, err := b.Fail(ctx, "203.0.113.7/32", 2, time.Minute, cooldown, now.Add(1)); err != nil || !until.Equal(end.Add(1)) {
		t.Fatalf("b: second failure = %v, %v; want blocked until %v", until, err, end.Add(1))
	}
	if until, err := a.Blocked(ctx, "203.0.113.7/32", end); err != nil || !until.Equal(end.Add(1)) {
		t.Fatalf("a: Blocked a nanosecond before the end = %v, %v; want %v", until, err, end.Add(1))
	}
	if until, err := a.Blocked(ctx, "203.0.113.7/32", end.Add(1)); err != nil || !until.IsZero() {
		t.Fatalf("a: Blocked at the end = %v, %v; want not blocked", until, err)
	}
}

// TestThrottleKeys: a client's key lives as long as its window or block, and
// Succeed creates none.
func TestThrottleKeys(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	prefix := redistest.Prefix(t)
	b := newThrottle(t, c, prefix)
	if err := b.Succeed(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Blocked(ctx, "x", t0); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, prefix+"x").Val(); n != 0 {
		t.Errorf("key exists = %d after Succeed and Blocked on a new client; want none", n)
	}
	if _, err := b.Fail(ctx, "x", 2, time.Minute, time.Hour, t0); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(ctx, prefix+"x").Val(); ttl <= 59*time.Second || ttl > 61*time.Second {
		t.Errorf("PTTL in a window of a minute = %v; want about 61s", ttl)
	}
	if _, err := b.Fail(ctx, "x", 2, time.Minute, time.Hour, t0); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(ctx, prefix+"x").Val(); ttl <= 59*time.Minute || ttl > time.Hour+time.Second {
		t.Errorf("PTTL in a block of an hour = %v; want about an hour", ttl)
	}
}

func TestThrottleUnreachable(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	b := newThrottle(t, c, "")
	if _, err := b.Blocked(ctx, "x", t0); err == nil {
		t.Error("Blocked: no error; want one")
	}
	if _, err := b.Fail(ctx, "x", 1, time.Minute, time.Minute, t0); err == nil {
		t.Error("Fail: no error; want one")
	}
	if err := b.Succeed(ctx, "x"); err == nil {
		t.Error("Succeed: no error; want one")
	}
}
