package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/ratelimit"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a fake clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newLimiter returns a Limiter on a Memory with the given capacity (0 for the
// default) and a fake clock.
func newLimiter(t testing.TB, maxSubjects int) (*ratelimit.Limiter, *ratelimit.Memory, *clock) {
	t.Helper()
	m, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{MaxSubjects: maxSubjects})
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	l, err := ratelimit.New(&ratelimit.Options{Backend: m, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return l, m, c
}

// failingBackend fails every operation with err.
type failingBackend struct{ err error }

func (f failingBackend) TakeRequests(context.Context, string, int64, int64, time.Time) (ratelimit.Quota, bool, error) {
	return ratelimit.Quota{}, false, f.err
}

func (f failingBackend) TakeTokens(context.Context, string, int64, int64, time.Time) (ratelimit.Quota, bool, error) {
	return ratelimit.Quota{}, false, f.err
}

func (f failingBackend) AdjustTokens(context.Context, string, int64, int64, time.Time) (ratelimit.Quota, error) {
	return ratelimit.Quota{}, f.err
}

func (f failingBackend) Acquire(context.Context, string, int64, time.Time) (ratelimit.Quota, bool, error) {
	return ratelimit.Quota{}, false, f.err
}

func (f failingBackend) Release(context.Context, string) error { return f.err }
