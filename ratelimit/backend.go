package ratelimit

import (
	"context"
	"time"
)

// Backend stores the buckets and slots of every subject. [Memory] is the
// in-process implementation; a distributed one (the redisstore module) gives
// every replica the same view. A Backend provides primitive operations only:
// the [Limiter] decides their order and undoes earlier steps when a later one
// refuses.
//
// Every limit passed to a Backend is at least 1 (the Limiter does not call a
// Backend for an unlimited dimension). A bucket of limit L holds at most L and
// refills continuously at L per minute; a subject a Backend has no state for
// has full buckets and no held slots, and the limit passed on each call
// applies from that call on.
//
// now is the time of the call, from the Limiter's clock. A Backend must use it
// rather than its own clock for bucket arithmetic, so that the conformance
// suite (package ratelimittest) can drive time.
//
// The boolean result reports whether the operation was granted. A refusal
// changes no state and returns the current [Quota] with RetryAfter set to the
// time until the same operation would be granted (zero if it never would, as
// for n > limit; the Limiter does not ask for that). An error means the backend
// could not decide (it is unreachable, or [ErrCapacity]).
//
// Implementations must be safe for concurrent use, and each operation must be
// atomic for its subject.
type Backend interface {
	// TakeRequests takes n requests from subject's request bucket if it holds
	// at least n (1 <= n <= limit), or, for n < 0, gives back -n requests
	// (the bucket never exceeds limit; giving back is always granted and
	// creates no state). The Quota is the bucket after the operation.
	TakeRequests(ctx context.Context, subject string, limit, n int64, now time.Time) (Quota, bool, error)

	// TakeTokens takes n tokens (1 <= n <= limit) from subject's token bucket
	// if it holds at least n. The Quota is the bucket after the operation.
	TakeTokens(ctx context.Context, subject string, limit, n int64, now time.Time) (Quota, bool, error)

	// AdjustTokens unconditionally charges delta tokens to subject's token
	// bucket (delta > 0), which may drive it below zero, or refunds -delta
	// (delta < 0), never above limit. It returns the bucket after the change;
	// with delta 0 it only reads the bucket. Only a charge creates state.
	AdjustTokens(ctx context.Context, subject string, limit, delta int64, now time.Time) (Quota, error)

	// Acquire takes one of subject's concurrency slots if fewer than limit
	// are held. The Quota's Remaining is the number of free slots after the
	// operation; on a refusal its RetryAfter may be zero, since a slot frees
	// when some request ends.
	Acquire(ctx context.Context, subject string, limit int64, now time.Time) (Quota, bool, error)

	// Release returns one of subject's slots; with none held it does nothing.
	// The Limiter calls it at most once per granted Acquire.
	Release(ctx context.Context, subject string) error
}
