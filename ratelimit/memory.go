package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// DefaultMaxSubjects is the number of subjects a [Memory] keeps state for
// when [MemoryOptions].MaxSubjects is zero.
const DefaultMaxSubjects = 100_000

// evictScan is how many of the least recently used subjects Memory examines,
// at most, to find an idle one to evict when it is full.
const evictScan = 16

// MemoryOptions configures a [Memory]. The zero value uses the defaults.
type MemoryOptions struct {
	// MaxSubjects bounds the number of subjects whose state is kept.
	// Zero means DefaultMaxSubjects; negative is invalid.
	//
	// Only idle state is evicted, so MaxSubjects should exceed the number of
	// subjects active within about a minute (the time a used bucket takes to
	// refill) plus those holding slots; past that, new subjects are refused
	// with ErrCapacity. Subjects are verified key IDs, so only holders of
	// valid keys can use this room.
	MaxSubjects int
}

// Memory is the in-process [Backend]: per-subject buckets and slots in memory,
// bounded by an LRU of at most MaxSubjects subjects.
//
// Memory evicts only idle subjects: both buckets full (the state a new subject
// would get) and no slot held. A subject recently used, in token debt or
// holding a slot is never evicted, since that would hand it a fresh bucket.
// When Memory is full and a new subject arrives, it examines up to 16 of the
// least recently used subjects, evicting the first idle one and moving each
// busy one to the front (so the scan does not meet it again soon); if none is
// idle, the new subject is refused with [ErrCapacity] and nothing changes.
// Subjects are spread over up to 16 shards, each with its own lock and LRU
// (MaxSubjects is divided among them), so the LRU order, and thus the choice
// of what to evict, is per shard.
//
// Request buckets are golang.org/x/time/rate Limiters, created for a subject
// on its first request. Memory never starts a goroutine. Use [NewMemory]; the
// zero Memory is not usable. Memory is safe for concurrent use.
type Memory struct {
	base   time.Time
	seed   maphash.Seed
	mask   uint64
	shards []memShard
}

type memShard struct {
	mu sync.Mutex
	// lru never evicts on its own: Memory makes room before adding.
	lru *simplelru.LRU[string, *subjectState]
	max int
	_   [40]byte // keep shards on separate cache lines
}

// subjectState is one subject's state, guarded by its shard's mu.
type subjectState struct {
	// last is the latest time (after Memory.base) of a call for the subject,
	// so that calls that raced for the lock never move time backwards (a
	// rate.Limiter would count the overlap twice).
	last     int64
	req      *rate.Limiter // nil until the first request is taken
	reqLimit int64
	tokTAT   int64 // nanoseconds after Memory.base when the token bucket is full
	tokLimit int64
	slots    int64
}

// NewMemory returns an empty Memory. opts may be nil.
func NewMemory(opts *MemoryOptions) (*Memory, error) {
	var o MemoryOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxSubjects < 0 {
		return nil, errors.New("ratelimit: negative MaxSubjects")
	}
	if o.MaxSubjects == 0 {
		o.MaxSubjects = DefaultMaxSubjects
	}
	n := shardCount(o.MaxSubjects)
	m := &Memory{
		base:   time.Now(),
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]memShard, n),
	}
	for i := range m.shards {
		s := &m.shards[i]
		s.max = o.MaxSubjects / n
		var err error
		if s.lru, err = simplelru.NewLRU[string, *subjectState](s.max, nil); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// shardCount returns the number of shards (a power of two, at most 16) for a
// table of max entries, keeping at least 256 entries per shard.
func shardCount(max int) int {
	n := 16
	for n > 1 && max/n < 256 {
		n /= 2
	}
	return n
}

// Len returns the number of subjects Memory holds state for.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

// lock locks subject's shard and returns it with now as an offset from
// m.base.
func (m *Memory) lock(subject string, now time.Time) (*memShard, int64) {
	s := &m.shards[maphash.String(m.seed, subject)&m.mask]
	s.mu.Lock()
	return s, int64(now.Sub(m.base))
}

// at returns the time of a call for st, never before that of an earlier call.
func (m *Memory) at(st *subjectState, now time.Time, off int64) (time.Time, int64) {
	if off < st.last {
		return m.base.Add(time.Duration(st.last)), st.last
	}
	st.last = off
	return now, off
}

// getLocked returns subject's state, creating it when create is set (and
// returning nil, nil when it is not and there is none).
func (m *Memory) getLocked(s *memShard, subject string, now time.Time, off int64, create bool) (*subjectState, error) {
	if st, ok := s.lru.Get(subject); ok {
		return st, nil
	}
	if !create {
		return nil, nil
	}
	if s.lru.Len() >= s.max && !m.evictLocked(s, now, off) {
		return nil, ErrCapacity
	}
	st := &subjectState{last: off, tokTAT: off}
	// Clone: subject may point into a larger buffer (a request's bytes).
	s.lru.Add(strings.Clone(subject), st)
	return st, nil
}

// evictLocked removes the first idle subject among the least recently used
// ones, moving busy ones to the front, and reports whether it removed one.
func (m *Memory) evictLocked(s *memShard, now time.Time, off int64) bool {
	for range min(evictScan, s.lru.Len()) {
		key, st, ok := s.lru.GetOldest()
		if !ok {
			return false
		}
		if st.idle(now, off) {
			s.lru.Remove(key)
			return true
		}
		s.lru.Get(key) // busy: move to the front
	}
	return false
}

// idle reports whether st is the same as a new subject's state: full buckets
// and no slots held.
func (st *subjectState) idle(now time.Time, off int64) bool {
	return st.slots == 0 &&
		st.tokTAT <= off &&
		(st.req == nil || st.req.TokensAt(now) >= float64(st.reqLimit))
}

// requests returns st's request bucket set to limit.
func (st *subjectState) requests(limit int64, now time.Time) *rate.Limiter {
	switch {
	case st.req == nil:
		st.req = rate.NewLimiter(perMinute(limit), int(limit))
	case st.reqLimit != limit:
		st.req.SetLimitAt(now, perMinute(limit))
		st.req.SetBurstAt(now, int(limit))
	}
	st.reqLimit = limit
	return st.req
}

// tokens sets st's token bucket to limit, keeping the tokens used.
func (st *subjectState) tokens(limit, off int64) {
	if st.tokLimit != 0 && st.tokLimit != limit {
		st.tokTAT = rescaleTokens(st.tokTAT, off, st.tokLimit, limit)
	}
	st.tokLimit = limit
}

// TakeRequests implements [Backend].
func (m *Memory) TakeRequests(ctx context.Context, subject string, limit, n int64, now time.Time) (Quota, bool, error) {
	s, off := m.lock(subject, now)
	defer s.mu.Unlock()
	st, err := m.getLocked(s, subject, now, off, n > 0)
	if err != nil {
		return Quota{}, false, err
	}
	if st == nil { // giving back to a subject without state: it is full
		return Quota{Limit: limit, Remaining: limit}, true, nil
	}
	now, _ = m.at(st, now, off)
	lim := st.requests(limit, now)
	tokens := lim.TokensAt(now)
	if n < 0 {
		// rate.Limiter has no way to add tokens but this: a negative n
		// adds -n, and every later read caps the bucket at its burst.
		// TestRateLimiterGiveBack pins that behaviour of x/time/rate.
		lim.AllowN(now, int(n))
		return requestQuota(lim.TokensAt(now), limit), true, nil
	}
	need := float64(n)
	if n > limit { // never granted
		return requestQuota(tokens, limit), false, nil
	}
	if tokens < need {
		q := requestQuota(tokens, limit)
		wait := refillTime(need-tokens, limit)
		// Float rounding must not make the wait a nanosecond short.
		for i := 0; i < 1000 && lim.TokensAt(now.Add(wait)) < need; i++ {
			wait++
		}
		q.RetryAfter = wait
		return q, false, nil
	}
	lim.AllowN(now, int(n)) // granted: tokens >= n at now, under s.mu
	return requestQuota(tokens-need, limit), true, nil
}

// TakeTokens implements [Backend].
func (m *Memory) TakeTokens(ctx context.Context, subject string, limit, n int64, now time.Time) (Quota, bool, error) {
	s, off := m.lock(subject, now)
	defer s.mu.Unlock()
	st, err := m.getLocked(s, subject, now, off, true)
	if err != nil {
		return Quota{}, false, err
	}
	_, off = m.at(st, now, off)
	st.tokens(limit, off)
	if n > limit { // never granted
		return tokenQuota(st.tokTAT, off, limit), false, nil
	}
	tat, wait, ok := takeTokens(st.tokTAT, off, limit, n)
	st.tokTAT = tat
	q := tokenQuota(tat, off, limit)
	q.RetryAfter = wait
	return q, ok, nil
}

// AdjustTokens implements [Backend].
func (m *Memory) AdjustTokens(ctx context.Context, subject string, limit, delta int64, now time.Time) (Quota, error) {
	s, off := m.lock(subject, now)
	defer s.mu.Unlock()
	st, err := m.getLocked(s, subject, now, off, delta > 0)
	if err != nil {
		return Quota{}, err
	}
	if st == nil { // refund to a subject without state: it is full
		return Quota{Limit: limit, Remaining: limit}, nil
	}
	_, off = m.at(st, now, off)
	st.tokens(limit, off)
	st.tokTAT = adjustTokens(st.tokTAT, off, limit, delta)
	return tokenQuota(st.tokTAT, off, limit), nil
}

// Acquire implements [Backend].
func (m *Memory) Acquire(ctx context.Context, subject string, limit int64, now time.Time) (Quota, bool, error) {
	s, off := m.lock(subject, now)
	defer s.mu.Unlock()
	st, err := m.getLocked(s, subject, now, off, true)
	if err != nil {
		return Quota{}, false, err
	}
	if st.slots >= limit {
		return Quota{Limit: limit, Remaining: 0}, false, nil
	}
	st.slots++
	return Quota{Limit: limit, Remaining: limit - st.slots}, true, nil
}

// Release implements [Backend].
func (m *Memory) Release(ctx context.Context, subject string) error {
	s := &m.shards[maphash.String(m.seed, subject)&m.mask]
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.lru.Peek(subject); ok && st.slots > 0 {
		st.slots--
	}
	return nil
}
