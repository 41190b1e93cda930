package redisstore_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/redisstore"
)

// The replicas of a gateway share their rate limits through one Redis, and
// fall back to limiting on their own while it is unreachable. (It needs a
// server on localhost:6379, so it is compiled but not run.)
func ExampleNewLimiterBackend() {
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer client.Close()

	shared, err := redisstore.NewLimiterBackend(client, nil)
	if err != nil {
		panic(err)
	}
	backend, err := ratelimit.Failover(shared, &ratelimit.FailoverOptions{
		Concurrency: ratelimit.FailClosed, // refuse rather than overrun MaxConcurrent
	})
	if err != nil {
		panic(err)
	}
	l, err := ratelimit.New(&ratelimit.Options{Backend: backend})
	if err != nil {
		panic(err)
	}

	p, err := l.Admit(context.Background(), "key_1", ratelimit.Limits{RequestsPerMinute: 60, MaxConcurrent: 4})
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	defer p.Release()
	fmt.Println("admitted,", p.Decision().Requests.Remaining, "requests left")
}

// Failed authentications counted on one replica block the client on all.
// (It needs a server on localhost:6379, so it is compiled but not run.)
func ExampleNewThrottleBackend() {
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer client.Close()

	backend, err := redisstore.NewThrottleBackend(client, nil)
	if err != nil {
		panic(err)
	}
	throttle, err := ratelimit.NewAuthThrottle(&ratelimit.AuthThrottleOptions{Backend: backend})
	if err != nil {
		panic(err)
	}
	ip := netip.MustParseAddr("203.0.113.7")
	if retryAfter, blocked := throttle.Fail(ip, time.Now()); blocked {
		fmt.Println("blocked for", retryAfter)
	}
}
