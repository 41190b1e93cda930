package uplink

import (
	"sync"
	"sync/atomic"
	"time"
)

// watchTicks is how many ticks of its watchdog make a Client's Idle: a
// call is ended after between Idle and Idle+Idle/watchTicks without a byte.
const watchTicks = 8

// watchdog ends the calls of one Client whose body has been idle too long.
// Instead of a timer per call (two allocations, and a timer reset per read),
// the calls in progress sit in a list, each read records the watchdog's
// current tick, and one goroutine, running only while calls are in
// progress, advances the tick every Idle/watchTicks and ends the calls that
// have not read for more than watchTicks ticks.
type watchdog struct {
	tick atomic.Int64

	mu      sync.Mutex
	head    *Exchange // the calls in progress, linked through their prev and next
	running bool      // the goroutine runs
}

// add starts watching x.
func (w *watchdog) add(x *Exchange, period time.Duration) {
	x.seen.Store(w.tick.Load())
	w.mu.Lock()
	x.next, x.prev = w.head, nil
	if w.head != nil {
		w.head.prev = x
	}
	w.head = x
	x.watched = true
	start := !w.running
	w.running = true
	w.mu.Unlock()
	if start {
		go w.run(period)
	}
}

// remove stops watching x; it does nothing if x is not watched.
func (w *watchdog) remove(x *Exchange) {
	w.mu.Lock()
	w.unlinkLocked(x)
	w.mu.Unlock()
}

func (w *watchdog) unlinkLocked(x *Exchange) {
	if !x.watched {
		return
	}
	if x.prev != nil {
		x.prev.next = x.next
	} else {
		w.head = x.next
	}
	if x.next != nil {
		x.next.prev = x.prev
	}
	x.prev, x.next, x.watched = nil, nil, false
}

// run advances the tick every period and ends the calls idle for more
// than watchTicks ticks; it returns once no call is in progress.
func (w *watchdog) run(period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for range t.C {
		now := w.tick.Add(1)
		w.mu.Lock()
		for x := w.head; x != nil; {
			next := x.next
			if now-x.seen.Load() > watchTicks {
				w.unlinkLocked(x)
				x.idle()
			}
			x = next
		}
		if w.head == nil {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}
