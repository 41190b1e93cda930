package ratelimit

import (
	"fmt"
	"time"
)

// Limits are the limits applied to one subject on one call. The gateway passes
// them on every call (its defaults, or the overrides in the key's record), so
// a change takes effect on the subject's next request.
//
// A field of zero means unlimited: that dimension is neither checked nor
// tracked, and its headers are omitted. Negative values are invalid. The zero
// Limits is valid and limits nothing.
type Limits struct {
	// RequestsPerMinute is the size of the subject's request bucket, refilled
	// continuously at that many requests per minute.
	RequestsPerMinute int64
	// TokensPerMinute is the size of the subject's token bucket, refilled
	// continuously at that many tokens per minute.
	TokensPerMinute int64
	// MaxConcurrent is the number of requests the subject may have in flight.
	MaxConcurrent int64
}

// MaxPerMinute is the largest requests- or tokens-per-minute limit: one per
// nanosecond. Zero, not a huge number, means unlimited.
const MaxPerMinute = 60_000_000_000

// Validate reports, naming the field, a negative limit or a per-minute
// limit above MaxPerMinute, wrapping ErrInvalidLimits. Check configured
// limits with it when they are set: the Limiter refuses invalid ones on
// every call.
func (l Limits) Validate() error {
	for _, f := range [...]struct {
		name string
		v    int64
		max  int64
	}{
		{"RequestsPerMinute", l.RequestsPerMinute, MaxPerMinute},
		{"TokensPerMinute", l.TokensPerMinute, MaxPerMinute},
		{"MaxConcurrent", l.MaxConcurrent, 0},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s is negative", ErrInvalidLimits, f.name)
		}
		// Buckets keep time in nanoseconds: above one per nanosecond a
		// single request or token would cost no time at all.
		if f.max > 0 && f.v > f.max {
			return fmt.Errorf("%w: %s is above %d, one per nanosecond; use zero for unlimited", ErrInvalidLimits, f.name, f.max)
		}
	}
	return nil
}

// Dimension names one of the three limits. The zero Dimension names none.
type Dimension uint8

// The dimensions, in the order the Limiter checks them.
const (
	Concurrency Dimension = iota + 1 // concurrent requests
	Requests                         // requests per minute
	Tokens                           // tokens per minute
)

// String returns the dimension's name as used in error messages, such as
// "requests per minute".
func (d Dimension) String() string {
	switch d {
	case Concurrency:
		return "concurrent requests"
	case Requests:
		return "requests per minute"
	case Tokens:
		return "tokens per minute"
	}
	return "none"
}

// Quota is the state of one dimension of one subject as seen by a decision.
// The zero Quota means the dimension is unlimited or was not checked.
type Quota struct {
	// Limit is the dimension's limit; zero when unlimited or not checked.
	Limit int64
	// Remaining is what is left: requests or tokens in the bucket (rounded
	// down), or free concurrency slots. A token bucket in debt has a
	// negative Remaining.
	Remaining int64
	// Reset is the time until the bucket is full again; zero when it is
	// full, and always zero for concurrency.
	Reset time.Duration
	// RetryAfter is set when this dimension refused the request: how long to
	// wait before the same request could pass. It is zero otherwise, and
	// also for a request that can never pass ([ErrTooLarge]).
	RetryAfter time.Duration
}

// Decision is the outcome of the limit checks for one request, with what
// the gateway needs for the rate-limit headers. The zero Decision allows the
// request and carries no limits.
type Decision struct {
	Concurrency Quota
	Requests    Quota
	Tokens      Quota
	// Refused names the dimension that refused the request; zero when the
	// request was allowed.
	Refused Dimension
}

// Allowed reports whether the request was allowed.
func (d Decision) Allowed() bool { return d.Refused == 0 }

// RetryAfter returns the longest RetryAfter of the three dimensions: zero when
// the request was allowed, or when it can never pass.
func (d Decision) RetryAfter() time.Duration {
	return max(d.Concurrency.RetryAfter, d.Requests.RetryAfter, d.Tokens.RetryAfter)
}
