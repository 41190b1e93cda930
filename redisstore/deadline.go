package redisstore

import (
	"context"
	"errors"
	"time"
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
