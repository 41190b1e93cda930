package h1

import (
	"sync"
	"time"
)

// watchEvery is how often a Transport checks its calls in progress for a
// context that has ended and an answer's head that is late
// (ResponseHeaderTimeout): a call is interrupted within that much of
// either. Polling costs a call two short critical sections and no
// allocation, where a context.AfterFunc and a deadline set and reset cost
// three allocations, a lock of the caller's context and two timer updates.
const watchEvery = 10 * time.Millisecond

// watch holds a Transport's calls in progress, in a list through their
// conns, and runs one goroutine while the list is not empty that
// interrupts those whose context has ended or whose head is late.
type watch struct {
	// epoch is when the watch began: times are kept as durations since,
	// on the monotonic clock, so that a step of the wall clock moves no
	// deadline.
	epoch   time.Time
	mu      sync.Mutex
	head    *conn
	running bool
}

// now is the time on the watch's clock.
func (w *watch) now() int64 { return int64(time.Since(w.epoch)) }

// add puts c's call on the list; c.ctx and c.headBy (on the watch's
// clock) are set.
func (w *watch) add(c *conn) {
	w.mu.Lock()
	c.wprev, c.wnext, c.watched = nil, w.head, true
	if w.head != nil {
		w.head.wprev = c
	}
	w.head = c
	start := !w.running
	w.running = true
	w.mu.Unlock()
	if start {
		go w.run()
	}
}

// remove takes c's call off the list, if it is on it: once it returns, c
// is not interrupted any more.
func (w *watch) remove(c *conn) {
	w.mu.Lock()
	if c.watched {
		if c.wprev != nil {
			c.wprev.wnext = c.wnext
		} else {
			w.head = c.wnext
		}
		if c.wnext != nil {
			c.wnext.wprev = c.wprev
		}
		c.wprev, c.wnext, c.watched = nil, nil, false
	}
	w.mu.Unlock()
}

// run checks the calls every watchEvery until it finds none.
func (w *watch) run() {
	for {
		time.Sleep(watchEvery)
		now := w.now()
		w.mu.Lock()
		if w.head == nil {
			w.running = false
			w.mu.Unlock()
			return
		}
		for c := w.head; c != nil; c = c.wnext {
			if c.interrupted.Load() {
				continue
			}
			if by := c.headBy.Load(); by != 0 && now >= by {
				c.headLate = true // read by the call once its read fails
				c.interrupt()
			} else if c.ctx.Err() != nil {
				c.interrupt()
			}
		}
		w.mu.Unlock()
	}
}
