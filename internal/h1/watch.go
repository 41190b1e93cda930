package h1

import "time"

// watchEvery is how often a Transport checks its calls in progress for a
// context that has ended and an answer's head that is late
// (ResponseHeaderTimeout): a call is interrupted within that much of
// either. Polling costs a call two short critical sections and no
// allocation, where a context.AfterFunc and a deadline set and reset cost
// three allocations, a lock of the caller's context and two timer updates.
// The calls sit in the Transport's inflight.Set from roundTrip to finish.
const watchEvery = 10 * time.Millisecond

// now is the time on the Transport's clock: the time since it was made,
// on the monotonic clock, so that a step of the wall clock moves no
// deadline.
func (t *Transport) now() int64 { return int64(time.Since(t.epoch)) }

// check is the watch's visit of c: it interrupts c's call once its context
// has ended or its head is late. The call stays in the set until finish.
func (c *conn) check(int64) bool {
	if c.interrupted.Load() {
		return false
	}
	if by := c.headBy.Load(); by != 0 && c.t.now() >= by {
		c.headLate = true // read by the call once its read fails
		c.interrupt()
	} else if c.ctx.Err() != nil {
		c.interrupt()
	}
	return false
}
