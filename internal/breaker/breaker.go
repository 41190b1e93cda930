// Package breaker is the circuit breaker of the core's failover wrappers
// (ratelimit.Failover, metering.NewFailoverLedger): after a few failures
// of a shared store in a row, the wrapper stops calling it for a short
// hold and applies its fail mode at once, so that an outage costs each
// request nothing rather than a time-out per call; after the hold, calls go
// to the store again, and the first failure holds it off again.
package breaker

import (
	"sync/atomic"
	"time"
)

// Defaults of a Breaker's options.
const (
	DefaultTripAfter = 3
	DefaultHold      = time.Second
)

// Breaker counts a store's consecutive failures. Its zero value never
// trips; use New. It is safe for concurrent use and allocates nothing.
type Breaker struct {
	tripAfter int64
	hold      time.Duration
	now       func() time.Time

	failures  atomic.Int64 // in a row
	downUntil atomic.Int64 // Unix nanoseconds; 0 while closed
}

// New returns a Breaker that trips after tripAfter consecutive failures
// and then holds the store off for hold. hold < 0 disables it; zero values
// mean the defaults. now nil means time.Now.
func New(tripAfter int, hold time.Duration, now func() time.Time) *Breaker {
	if hold == 0 {
		hold = DefaultHold
	}
	if tripAfter <= 0 {
		tripAfter = DefaultTripAfter
	}
	if now == nil {
		now = time.Now
	}
	return &Breaker{tripAfter: int64(tripAfter), hold: hold, now: now}
}

// Allow reports whether to call the store: false while it is held off.
func (b *Breaker) Allow() bool {
	if b == nil || b.hold < 0 {
		return true
	}
	until := b.downUntil.Load()
	return until == 0 || b.now().UnixNano() >= until
}

// Success records a call that succeeded: the count starts again.
func (b *Breaker) Success() {
	if b == nil {
		return
	}
	if b.failures.Load() != 0 {
		b.failures.Store(0)
	}
	if b.downUntil.Load() != 0 {
		b.downUntil.Store(0)
	}
}

// Failure records a call that failed; the tripAfter-th in a row, or any
// failure once the breaker has tripped (a probe after the hold), holds the
// store off for the hold.
func (b *Breaker) Failure() {
	if b == nil || b.hold < 0 {
		return
	}
	if n := b.failures.Add(1); n >= b.tripAfter || b.downUntil.Load() != 0 {
		b.downUntil.Store(b.now().Add(b.hold).UnixNano())
	}
}
