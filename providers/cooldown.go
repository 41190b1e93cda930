package providers

import (
	"sync"
	"time"
)

// CoolDown configures how the Router takes deployments and upstream
// credentials that keep failing out of rotation (circuit breaking): after
// Failures failed attempts within Window, a deployment (or every
// deployment of a provider, for failures of its credential's account) is
// skipped for Period; each trip in a row doubles the period, up to
// MaxPeriod. When the period ends, one request is let through as a probe:
// if it succeeds the deployment is back in rotation, if it fails the
// cool-down starts again, longer. The gateway never skips the deployment
// of a model that has only one: it has nowhere else to send the request.
// The zero value means the defaults.
type CoolDown struct {
	// Failures within Window trip the cool-down. Default 3.
	Failures int
	// Window is the span in which failures are counted. Default 30s.
	Window time.Duration
	// Period is the first cool-down. Default 10s.
	Period time.Duration
	// MaxPeriod caps a cool-down however often it trips. Default 5 minutes.
	MaxPeriod time.Duration
	// Disabled turns cool-downs off: every deployment is always tried.
	Disabled bool
}

// withDefaults returns c with its zero fields set to the defaults.
func (c CoolDown) withDefaults() CoolDown {
	if c.Failures <= 0 {
		c.Failures = 3
	}
	if c.Window <= 0 {
		c.Window = 30 * time.Second
	}
	if c.Period <= 0 {
		c.Period = 10 * time.Second
	}
	if c.MaxPeriod <= 0 {
		c.MaxPeriod = 5 * time.Minute
	}
	c.MaxPeriod = max(c.MaxPeriod, c.Period)
	return c
}

// breaker is the cool-down state of one deployment or one provider. Its
// zero value is closed (in rotation).
type breaker struct {
	mu       sync.Mutex
	failures int       // failures in the current window
	window   time.Time // when the current window began
	trips    int       // cool-downs in a row, without a success between
	until    time.Time // the end of the current cool-down; zero when none
	probing  time.Time // when a probe was let through; zero when none is out
}

// admit reports whether an attempt may go now, and whether it is the probe
// that ends a cool-down. While a probe is out, no other attempt goes,
// unless the probe has been out for a whole window (its outcome was lost).
func (b *breaker) admit(now time.Time, c *CoolDown) (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.trips == 0 {
		return true, false
	}
	if now.Before(b.until) {
		return false, false
	}
	if !b.probing.IsZero() && now.Sub(b.probing) < c.Window {
		return false, false
	}
	b.probing = now
	return true, true
}

// report records an attempt's outcome; entered and left tell whether it
// started a cool-down or ended one, until is when a cool-down it started
// ends.
func (b *breaker) report(now time.Time, failed bool, c *CoolDown) (entered, left bool, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !failed {
		left = b.trips > 0
		b.failures, b.window, b.trips, b.until, b.probing = 0, time.Time{}, 0, time.Time{}, time.Time{}
		return false, left, time.Time{}
	}
	if b.trips > 0 {
		if now.Before(b.until) {
			return false, false, time.Time{} // an attempt admitted before the trip
		}
		// The probe (or an attempt admitted as the period ended) failed:
		// cool down again, longer.
		b.trip(now, c)
		return true, false, b.until
	}
	if b.window.IsZero() || now.Sub(b.window) >= c.Window {
		b.window, b.failures = now, 0
	}
	b.failures++
	if b.failures < c.Failures {
		return false, false, time.Time{}
	}
	b.trip(now, c)
	return true, false, b.until
}

// trip starts a cool-down, twice as long as the one before.
func (b *breaker) trip(now time.Time, c *CoolDown) {
	b.trips++
	d := c.Period
	for i := 1; i < b.trips && d < c.MaxPeriod; i++ {
		d *= 2
	}
	b.until = now.Add(min(d, c.MaxPeriod))
	b.probing = time.Time{}
	b.failures, b.window = 0, time.Time{}
}

// coolingUntil returns the end of the cool-down, or the zero time when the
// breaker is in rotation or its period is over.
func (b *breaker) coolingUntil(now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.trips > 0 && now.Before(b.until) {
		return b.until
	}
	return time.Time{}
}

// tripNow starts a cool-down at once, whatever the count: a refused
// credential does not heal by itself.
func (b *breaker) tripNow(now time.Time, c *CoolDown) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.trips > 0 && now.Before(b.until) {
		return time.Time{} // already cooling down
	}
	b.trip(now, c)
	return b.until
}

// release forgets a probe that was admitted but not sent.
func (b *breaker) release() {
	b.mu.Lock()
	b.probing = time.Time{}
	b.mu.Unlock()
}
