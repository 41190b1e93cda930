package audit

import (
	"context"
	"sync"
)

// DefaultMemoryMax is how many events a MemorySink keeps when its Max is
// zero.
const DefaultMemoryMax = 10_000

// MemorySink is a Sink and BatchSink that keeps the latest events in
// memory, for tests and examples. It is bounded: beyond Max events, the
// oldest are forgotten (and counted by Forgotten), so that a flood of
// failed authentications cannot grow it without limit. A call whose
// context is already done stores nothing and returns the context's error.
//
// The zero MemorySink is empty and ready to use; it is safe for concurrent
// use. Set Max before first use.
type MemorySink struct {
	// Max is how many events are kept. Zero means DefaultMemoryMax.
	Max int

	// mu guards events and forgotten.
	mu        sync.Mutex
	events    []Event // the kept events are the last max() of these
	forgotten uint64
}

// Write stores e.
func (s *MemorySink) Write(ctx context.Context, e Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	s.trimLocked()
	return nil
}

// WriteBatch stores every event of events, in order.
func (s *MemorySink) WriteBatch(ctx context.Context, events []Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, events...)
	s.trimLocked()
	return nil
}

func (s *MemorySink) max() int {
	if s.Max <= 0 {
		return DefaultMemoryMax
	}
	return s.Max
}

// trimLocked forgets the oldest events beyond max. It moves the kept ones
// only once twice as many have piled up, so that storing stays amortized
// O(1).
func (s *MemorySink) trimLocked() {
	m := s.max()
	if len(s.events) < 2*m {
		return
	}
	over := len(s.events) - m
	n := copy(s.events, s.events[over:])
	clear(s.events[n:])
	s.events = s.events[:n]
	s.forgotten += uint64(over)
}

// Events returns a copy of the events kept, oldest first.
func (s *MemorySink) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.events
	if over := len(kept) - s.max(); over > 0 {
		kept = kept[over:]
	}
	return append([]Event(nil), kept...)
}

// Len returns the number of events kept.
func (s *MemorySink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return min(len(s.events), s.max())
}

// Forgotten returns the number of events stored and then forgotten because
// more than Max arrived.
func (s *MemorySink) Forgotten() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forgotten + uint64(max(len(s.events)-s.max(), 0))
}
