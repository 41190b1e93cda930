package breaker

import (
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTripHoldProbe(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	b := New(3, time.Second, c.now)
	for i := range 2 {
		b.Failure()
		if !b.Allow() {
			t.Fatalf("held off after %d failures; want the third to trip it", i+1)
		}
	}
	b.Failure()
	if b.Allow() {
		t.Fatal("not held off after 3 failures in a row")
	}
	c.add(999 * time.Millisecond)
	if b.Allow() {
		t.Fatal("allowed before the hold ended")
	}
	c.add(time.Millisecond)
	if !b.Allow() {
		t.Fatal("still held off after the hold")
	}
	b.Failure() // the probe fails: held off again at once
	if b.Allow() {
		t.Fatal("a failed probe did not hold the store off again")
	}
	c.add(time.Second)
	b.Success() // a probe that succeeds closes it
	b.Failure()
	b.Failure()
	if !b.Allow() {
		t.Fatal("held off after 2 failures following a success; want the count to start again")
	}
}

func TestSuccessResetsCount(t *testing.T) {
	b := New(2, time.Second, nil)
	b.Failure()
	b.Success()
	b.Failure()
	if !b.Allow() {
		t.Fatal("failures separated by a success tripped the breaker")
	}
}

func TestDisabledAndNil(t *testing.T) {
	b := New(1, -1, nil)
	b.Failure()
	b.Failure()
	if !b.Allow() {
		t.Fatal("a disabled breaker held the store off")
	}
	var nb *Breaker
	nb.Failure()
	nb.Success()
	if !nb.Allow() {
		t.Fatal("a nil breaker held the store off")
	}
}

func TestConcurrent(t *testing.T) {
	b := New(3, time.Hour, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if b.Allow() {
					b.Failure()
				}
			}
		})
	}
	wg.Wait()
	if b.Allow() {
		t.Fatal("not held off after concurrent failures")
	}
}

func TestAllowDoesNotAllocate(t *testing.T) {
	b := New(3, time.Second, nil)
	if n := testing.AllocsPerRun(100, func() { b.Allow(); b.Success(); b.Failure() }); n != 0 {
		t.Fatalf("%v allocations; want 0", n)
	}
}
