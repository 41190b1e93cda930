package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultTimeout bounds each call a backend makes to Redis when its options
// leave Timeout zero: long enough for a round trip on a loaded network,
// short enough that no request waits on an unreachable server for longer
// than a blink before its fail mode applies.
const DefaultTimeout = 100 * time.Millisecond

// timeout checks an options' Timeout, named field in errors, and returns
// the one in force.
func timeout(d time.Duration, field string) (time.Duration, error) {
	switch {
	case d == 0:
		return DefaultTimeout, nil
	case d < 0:
		return 0, errors.New("redisstore: " + field + " is negative")
	case d < time.Millisecond:
		return 0, errors.New("redisstore: " + field + " is under a millisecond")
	}
	return d, nil
}

// bounded returns ctx bounded by d from now (or by ctx's own deadline, if
// that is sooner), and its cancel function, which the caller must call.
func bounded(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// boundedCall runs fn, one call to Redis, with ctx bounded by d, and
// returns by that deadline whatever the client does.
//
// go-redis bounds socket reads and writes by the context's deadline only
// when the client's ContextTimeoutEnabled is set (aware); otherwise by its
// ReadTimeout and WriteTimeout, seconds by default, so that a server that
// accepts a connection and never answers would hold the call that long.
// Unless aware, fn therefore runs in a goroutine of its own: boundedCall
// returns the context's error at the deadline and leaves the goroutine to
// end, its result dropped, when the client gives up. Such goroutines hold
// a pooled connection each, so there are no more of them than the client's
// pool has connections, plus those waiting for one until the deadline.
func boundedCall[T any](ctx context.Context, d time.Duration, aware bool, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := bounded(ctx, d)
	if aware {
		defer cancel()
		return fn(ctx)
	}
	var zero T
	if err := ctx.Err(); err != nil {
		cancel()
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer cancel()
		v, err := fn(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		select {
		case r := <-done: // it finished as the deadline passed: keep its answer
			return r.v, r.err
		default:
			return zero, ctx.Err()
		}
	}
}

// honoursDeadlines reports whether client bounds its socket reads and
// writes by the context's deadline (go-redis: ContextTimeoutEnabled). It
// assumes not for a client it does not know.
func honoursDeadlines(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}
