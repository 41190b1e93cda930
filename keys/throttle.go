package keys

import (
	"net/netip"
	"time"
)

// Throttle counts failed authentications per client address and blocks
// addresses that fail too often. *ratelimit.AuthThrottle implements it.
type Throttle interface {
	// Blocked reports whether ip is blocked at now, and for how long.
	Blocked(ip netip.Addr, now time.Time) (retryAfter time.Duration, blocked bool)
	// Fail records one failed authentication from ip at now.
	Fail(ip netip.Addr, now time.Time) (retryAfter time.Duration, blocked bool)
}

// ThrottledError is the error Manager.Middleware refuses a request with
// when its client address is blocked by the Throttle. It wraps
// ErrThrottled.
type ThrottledError struct {
	// RetryAfter is how long the address stays blocked.
	RetryAfter time.Duration
}

// Error returns ErrThrottled's message.
func (e *ThrottledError) Error() string { return ErrThrottled.Error() }

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// retryAfterSeconds returns d in whole seconds, rounded up, at least 1: the
// value of a Retry-After header.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
