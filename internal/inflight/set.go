// Package inflight keeps calls in progress in a set that one goroutine
// visits every period, and that goroutine runs only while the set is not
// empty. The upstream client's idle watchdog and the HTTP/1.1 transport's
// watch check their calls this way: a timer or a context.AfterFunc per
// call would cost allocations, and a reset or a lock per call.
package inflight

import (
	"sync"
	"sync/atomic"
	"time"
)

// Link is a member's place in a Set; the member embeds it. Its zero value
// is in no set.
type Link[T any] struct {
	prev, next *Link[T]
	member     *T
	in         bool
}

// Set is a set of calls in progress. Its zero value is empty and ready;
// it must not be copied after first use.
type Set[T any] struct {
	ticks   atomic.Int64
	mu      sync.Mutex
	head    *Link[T]
	running bool // the goroutine runs
}

// Tick is how many periods the set's goroutine has counted so far.
func (s *Set[T]) Tick() int64 { return s.ticks.Load() }

// Add puts member, whose Link is l, in the set. If the set's goroutine is
// not running, Add starts it: every period it counts a tick, then calls
// visit with each member and the tick, under the set's lock, and takes
// out those for which visit reports true; it stops once the set is empty.
// A set's callers pass the same every and visit each time; visit must not
// call the set's methods.
func (s *Set[T]) Add(l *Link[T], member *T, every time.Duration, visit func(member *T, tick int64) (drop bool)) {
	s.mu.Lock()
	l.prev, l.next, l.member, l.in = nil, s.head, member, true
	if s.head != nil {
		s.head.prev = l
	}
	s.head = l
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		go s.run(every, visit)
	}
}

// Remove takes l's member out of the set, if it is in: once Remove
// returns, visit is not called with it any more.
func (s *Set[T]) Remove(l *Link[T]) {
	s.mu.Lock()
	s.unlinkLocked(l)
	s.mu.Unlock()
}

func (s *Set[T]) unlinkLocked(l *Link[T]) {
	if !l.in {
		return
	}
	if l.prev != nil {
		l.prev.next = l.next
	} else {
		s.head = l.next
	}
	if l.next != nil {
		l.next.prev = l.prev
	}
	l.prev, l.next, l.member, l.in = nil, nil, nil, false
}

// Len is how many members the set holds.
func (s *Set[T]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for l := s.head; l != nil; l = l.next {
		n++
	}
	return n
}

// Stopped reports whether the set is empty and its goroutine has stopped.
func (s *Set[T]) Stopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head == nil && !s.running
}

// run visits the members every period until the set is empty.
func (s *Set[T]) run(every time.Duration, visit func(*T, int64) bool) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		tick := s.ticks.Add(1)
		s.mu.Lock()
		for l := s.head; l != nil; {
			next := l.next
			if visit(l.member, tick) {
				s.unlinkLocked(l)
			}
			l = next
		}
		if s.head == nil {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}
