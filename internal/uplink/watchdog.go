package uplink

// watchTicks is how many ticks of its watchdog make a Client's Idle: a
// call is ended after between Idle and Idle+Idle/watchTicks without a byte.
const watchTicks = 8

// The watchdog ends the calls of one Client whose body has been idle too
// long. Instead of a timer per call (two allocations, and a timer reset per
// read), the calls in progress sit in the Client's inflight.Set, whose
// goroutine counts a tick every Idle/watchTicks; each read records the
// current tick, and checkIdle ends the calls that have not read for more
// than watchTicks ticks.

// checkIdle is the watchdog's visit of x at tick: it ends x, and takes it
// out of the set, once x has read nothing for more than watchTicks ticks.
// Closing the body ends a Read blocked on it (net/http's bodies and h1's
// allow a Close during a Read), which then reports a time-out.
func (x *Exchange) checkIdle(tick int64) bool {
	if tick-x.seen.Load() <= watchTicks {
		return false
	}
	x.idled.Store(true)
	x.Response.Body.Close()
	return true
}
