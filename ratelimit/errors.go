package ratelimit

import (
	"errors"
	"strconv"
	"time"
)

var (
	// ErrLimited is wrapped by the [*LimitError] of a request refused because a
	// limit is exhausted for now; errors.As gives the Decision and its
	// RetryAfter.
	ErrLimited = errors.New("ratelimit: limit exceeded")

	// ErrTooLarge is wrapped by the [*LimitError] of a request whose cost
	// exceeds the limit itself, such as a token estimate above
	// TokensPerMinute: it can never pass, so its Decision has no RetryAfter.
	ErrTooLarge = errors.New("ratelimit: request exceeds limit")

	// ErrCapacity is returned when a backend has no room for state of another
	// subject: every subject it could evict still holds state that eviction
	// would reset. The gateway answers 503 with a short retry-after.
	ErrCapacity = errors.New("ratelimit: too many active subjects")

	// ErrCanceled is returned by ReserveTokens on a Permit that Cancel gave
	// back.
	ErrCanceled = errors.New("ratelimit: permit canceled")

	// ErrInvalidLimits is returned for Limits with a negative field or a
	// per-minute limit above MaxPerMinute (see Limits.Validate).
	ErrInvalidLimits = errors.New("ratelimit: invalid limits")
)

// LimitError is the error of a refused request. It wraps [ErrLimited] or
// [ErrTooLarge] and carries the [Decision], whose Refused field names the
// dimension that refused. A LimitError with a nil Err counts as wrapping
// ErrLimited.
type LimitError struct {
	Decision Decision
	// Err is ErrLimited or ErrTooLarge.
	Err error
}

// Error returns a message naming the dimension, such as
// "ratelimit: limit exceeded: requests per minute".
func (e *LimitError) Error() string {
	return e.Unwrap().Error() + ": " + e.Decision.Refused.String()
}

// Unwrap returns Err, or ErrLimited if Err is nil.
func (e *LimitError) Unwrap() error {
	if e.Err == nil {
		return ErrLimited
	}
	return e.Err
}

// message is the client-facing text of e, for the JSON error body.
func (e *LimitError) message() string {
	d := e.Decision
	if e.Err == ErrTooLarge {
		return "Request too large for " + d.Refused.String() + "."
	}
	msg := "Rate limit reached for " + d.Refused.String() + "."
	if ra := d.RetryAfter(); ra > 0 {
		msg += " Please try again in " + strconv.FormatInt(retryAfterSeconds(ra), 10) + "s."
	}
	return msg
}

// retryAfterSeconds rounds d up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
