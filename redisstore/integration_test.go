package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// TestLimiterReplicas runs two ratelimit.Limiters, as two replicas would,
// over one Redis: MaxConcurrent and the request bucket hold across both, and
// a released permit frees its slot for either.
func TestLimiterReplicas(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	prefix := redistest.Prefix(t)
	now := func() time.Time { return t0 }
	replica := func() *ratelimit.Limiter {
		shared := newLimiter(t, c, &redisstore.LimiterOptions{Prefix: prefix})
		f, err := ratelimit.Failover(shared, &ratelimit.FailoverOptions{
			Requests: ratelimit.FailClosed, Tokens: ratelimit.FailClosed, Concurrency: ratelimit.FailClosed,
		})
		if err != nil {
			t.Fatal(err)
		}
		l, err := ratelimit.New(&ratelimit.Options{Backend: f, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := replica(), replica()
	lim := ratelimit.Limits{RequestsPerMinute: 3, MaxConcurrent: 2}
	pa, err := a.Admit(ctx, "key_1", lim)
	if err != nil {
		t.Fatalf("a: admit: %v", err)
	}
	pb, err := b.Admit(ctx, "key_1", lim)
	if err != nil {
		t.Fatalf("b: admit: %v", err)
	}
	if _, err := a.Admit(ctx, "key_1", lim); !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("a: third admit with two in flight: %v; want ErrLimited", err)
	}
	pa.Release()
	pc, err := b.Admit(ctx, "key_1", lim)
	if err != nil {
		t.Fatalf("b: admit after a's release: %v", err)
	}
	pb.Release()
	pc.Release()
	if _, err := a.Admit(ctx, "key_1", lim); !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("a: fourth request in the minute: %v; want ErrLimited", err)
	}
}
