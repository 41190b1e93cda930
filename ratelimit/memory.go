package ratelimit

import (
	"context"
	"errors"
	"time"

	"github.com/wicket-gw/wicket/internal/shardlru"
	"golang.org/x/time/rate"
)

// DefaultMaxSubjects is the number of subjects a [Memory] keeps state for
// when [MemoryOptions].MaxSubjects is zero.
const DefaultMaxSubjects = 100_000

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
	base  time.Time
	table *shardlru.Table[*subjectState]
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
	table, err := shardlru.New[*subjectState](o.MaxSubjects)
	if err != nil {
		return nil, err
	}
	return &Memory{base: time.Now(), table: table}, nil
}

// Len returns the number of subjects Memory holds state for.
func (m *Memory) Len() int { return m.table.Len() }

// lock locks subject's shard and returns it with now as an offset from
// m.base.
func (m *Memory) lock(subject string, now time.Time) (*memShard, int64) {
	return m.table.Lock(subject), int64(now.Sub(m.base))
}

// memShard is a shard of Memory's table.
type memShard = shardlru.Shard[*subjectState]

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
	if st, ok := s.Get(subject); ok {
		return st, nil
	}
	if !create {
		return nil, nil
	}
	st := &subjectState{last: off, tokTAT: off}
	// Only idle subjects are evicted: a busy one would get a fresh bucket.
	if !s.Add(subject, st, func(st *subjectState) bool { return st.idle(now, off) }) {
		return nil, ErrCapacity
	}
	return st, nil
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
	defer s.Unlock()
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
	defer s.Unlock()
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
	defer s.Unlock()
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
	defer s.Unlock()
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
	s := m.table.Lock(subject)
	defer s.Unlock()
	if st, ok := s.Peek(subject); ok && st.slots > 0 {
		st.slots--
	}
	return nil
}
