package keys

import (
	"errors"
	"net/netip"
	"time"
)

// Throttle counts failed authentications per client address and blocks
// addresses that fail too often. *ratelimit.AuthThrottle implements it.
type Throttle interface {
	// Blocked reports whether ip is blocked at now, and for how long. A
	// non-nil err means the throttle cannot tell (its shared store failed)
	// and fails closed: the middleware then refuses what it would refuse a
	// blocked address, with ErrThrottleUnavailable (503).
	Blocked(ip netip.Addr, now time.Time) (retryAfter time.Duration, blocked bool, err error)
	// Fail records one failed authentication from ip at now, and reports
	// whether it blocked ip. A throttle that cannot record it (its store
	// failed) reports not blocked.
	Fail(ip netip.Addr, now time.Time) (retryAfter time.Duration, blocked bool)
}

// ErrThrottleUnavailable means the Throttle could not tell whether the
// client address is blocked and fails closed. Manager.Middleware refuses
// such a request as it refuses one from a blocked address (keys it has
// already verified and cached still pass), before any store lookup; the
// error it passes its ErrorHandler wraps both ErrThrottleUnavailable and the
// Throttle's error (errors.Is(err, context.DeadlineExceeded) tells a
// time-out), but its message is ErrThrottleUnavailable's alone. StatusCode
// gives 503 and SetErrorHeaders a Retry-After of 1 second.
var ErrThrottleUnavailable = errors.New("keys: failed-auth throttle unavailable")

// throttleUnavailableError is the error of a request refused because the
// Throttle failed closed. Its message does not include the cause's, which
// may name the throttle's store (its network address, say).
type throttleUnavailableError struct{ cause error }

// Error returns ErrThrottleUnavailable's message.
func (e *throttleUnavailableError) Error() string { return ErrThrottleUnavailable.Error() }

// Unwrap returns ErrThrottleUnavailable and the Throttle's error.
func (e *throttleUnavailableError) Unwrap() []error {
	return []error{ErrThrottleUnavailable, e.cause}
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
