package ratelimit

import (
	"context"
	"errors"
	"time"

	"github.com/wicket-gw/wicket/internal/shardlru"
)

// MemoryThrottleOptions configures a [MemoryThrottle]. The zero value uses the
// defaults.
type MemoryThrottleOptions struct {
	// MaxClients bounds the number of clients tracked, least recently seen
	// first out. Zero means DefaultAuthMaxClients (100,000); negative is
	// invalid.
	MaxClients int
}

// MemoryThrottle is the in-process [ThrottleBackend]: per-client failure
// counts and blocks in memory, bounded by an LRU of at most MaxClients
// clients.
//
// When MemoryThrottle is full, a new client pushes out the least recently
// seen one (Blocked and Fail count as seeing it, Succeed does not), and with
// it its count and block, whatever they are. Clients are spread over up to 16
// shards, each with its own lock and an equal share of MaxClients, by a hash
// of the whole client seeded per process, so the LRU order is per shard: a
// client is pushed out by about MaxClients others (by chance a few percent
// fewer), however alike their names.
//
// MemoryThrottle never starts a goroutine and never returns an error. Use
// [NewMemoryThrottle]; the zero MemoryThrottle is not usable. It is safe for
// concurrent use.
type MemoryThrottle struct {
	table *shardlru.Table[*clientState]
}

// clientState is one client's state, guarded by its shard's lock.
type clientState struct {
	start time.Time // start of the current counting window
	until time.Time // blocked before this time
	count int32     // failures in the current window
}

// NewMemoryThrottle returns an empty MemoryThrottle. opts may be nil.
func NewMemoryThrottle(opts *MemoryThrottleOptions) (*MemoryThrottle, error) {
	var o MemoryThrottleOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxClients < 0 {
		return nil, errors.New("ratelimit: negative MaxClients")
	}
	if o.MaxClients == 0 {
		o.MaxClients = DefaultAuthMaxClients
	}
	table, err := shardlru.New[*clientState](o.MaxClients)
	if err != nil {
		return nil, err
	}
	return &MemoryThrottle{table: table}, nil
}

// Len returns the number of clients tracked.
func (m *MemoryThrottle) Len() int { return m.table.Len() }

// Blocked implements [ThrottleBackend]. It allocates nothing and creates no
// state.
func (m *MemoryThrottle) Blocked(ctx context.Context, client string, now time.Time) (time.Time, error) {
	s := m.table.Lock(client)
	defer s.Unlock()
	st, ok := s.Get(client)
	if !ok || !now.Before(st.until) {
		return time.Time{}, nil
	}
	return st.until, nil
}

// Fail implements [ThrottleBackend].
func (m *MemoryThrottle) Fail(ctx context.Context, client string, maxFailures int, window, cooldown time.Duration, now time.Time) (time.Time, error) {
	s := m.table.Lock(client)
	defer s.Unlock()
	st, ok := s.Get(client)
	if !ok {
		st = &clientState{}
		s.Add(client, st, nil) // may push out the least recently seen client
	}
	if now.Before(st.until) {
		return st.until, nil
	}
	if st.count == 0 || now.Sub(st.start) >= window {
		st.start, st.count = now, 0
	}
	st.count++
	if int(st.count) < maxFailures {
		return time.Time{}, nil
	}
	st.until, st.count = now.Add(cooldown), 0
	return st.until, nil
}

// Succeed implements [ThrottleBackend].
func (m *MemoryThrottle) Succeed(ctx context.Context, client string) error {
	s := m.table.Lock(client)
	defer s.Unlock()
	if st, ok := s.Peek(client); ok {
		st.count = 0
	}
	return nil
}
