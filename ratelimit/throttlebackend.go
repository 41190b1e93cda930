package ratelimit

import (
	"context"
	"time"
)

// ThrottleBackend stores the failure counts and blocks of an [AuthThrottle]'s
// clients. [MemoryThrottle] is the in-process implementation. A
// ThrottleBackend provides primitive operations only: the AuthThrottle groups
// addresses into clients and decides what to do with the results.
//
// A client is an opaque string naming a group of addresses (the AuthThrottle
// passes the text form of the client's prefix, such as "203.0.113.7/32" or
// "2001:db8:1:2::/64", or "unknown" for an unknown address); a backend never
// parses it. A client the backend has no state for has no failures counted
// and is not blocked.
//
// now is the time of the call, from the caller's clock. A ThrottleBackend must
// use it rather than its own clock, so that the conformance suite
// (ratelimittest.RunThrottleBackendTests) can drive time. A returned until is
// the end of a block, the zero time when there is none.
//
// An error means the backend could not decide (it is unreachable, say); the
// AuthThrottle then applies its FailMode (see AuthThrottleOptions).
//
// Implementations must be safe for concurrent use, and each operation must be
// atomic for its client.
type ThrottleBackend interface {
	// Blocked returns the end of client's block if one is in force at now
	// (until after now), or the zero time. It changes no count or block.
	Blocked(ctx context.Context, client string, now time.Time) (until time.Time, err error)

	// Fail records one failed authentication from client at now
	// (maxFailures >= 1, window > 0 and cooldown > 0) and returns the end of
	// client's block, or the zero time if it is not blocked.
	//
	// If client is blocked at now, the failure is not counted and the block
	// is not extended. Otherwise it is counted in client's current window,
	// which starts at the first failure counted in it and ends window later
	// (a failure at or after its end starts a new window with a count of
	// one). The failure that brings the count to maxFailures blocks client
	// from now until now+cooldown and resets the count, so that the first
	// failure after the block starts a new window.
	Fail(ctx context.Context, client string, maxFailures int, window, cooldown time.Duration, now time.Time) (until time.Time, err error)

	// Succeed forgets the failures counted for client in its current window
	// (the next failure starts a new one). It does not lift a block, and with
	// no state for client it does nothing.
	Succeed(ctx context.Context, client string) error
}
