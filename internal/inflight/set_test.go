package inflight

import (
	"slices"
	"sync"
	"testing"
	"time"
)

type call struct {
	link    Link[call]
	id      int
	dropAt  int64 // the tick at which visit drops it; 0: never
	visited []int64
}

func visit(c *call, tick int64) bool {
	c.visited = append(c.visited, tick)
	return c.dropAt != 0 && tick >= c.dropAt
}

// TestRemoveAnyOrder: members come out of the list from its middle, tail
// and head, twice over, and the set ends empty.
func TestRemoveAnyOrder(t *testing.T) {
	var s Set[call]
	cs := make([]*call, 5)
	for i := range cs {
		cs[i] = &call{id: i}
		s.mu.Lock() // link without starting the goroutine
		l := &cs[i].link
		l.next, l.member, l.in = s.head, cs[i], true
		if s.head != nil {
			s.head.prev = l
		}
		s.head = l
		s.mu.Unlock()
	}
	for _, i := range []int{2, 0, 4, 4, 1, 3} {
		s.Remove(&cs[i].link)
		if cs[i].link.in || cs[i].link.member != nil {
			t.Fatalf("call %d still linked after Remove", i)
		}
	}
	if s.head != nil {
		t.Fatal("list not empty after removing every member")
	}
}

// TestVisitsDropsAndStops: every member is visited once a tick, with the
// tick; visit's true takes a member out; a removed member is not visited
// again; the goroutine stops once the set is empty and starts again with
// the next member.
func TestVisitsDropsAndStops(t *testing.T) {
	var s Set[call]
	var mu sync.Mutex // the calls' visited slices are read here, written by visit
	locked := func(c *call, tick int64) bool {
		mu.Lock()
		defer mu.Unlock()
		return visit(c, tick)
	}
	const every = 20 * time.Millisecond // a is dropped 60ms in: time to count the set first
	a, b, c := &call{dropAt: 3}, &call{}, &call{}
	for _, x := range []*call{a, b, c} {
		s.Add(&x.link, x, every, locked)
	}
	if n := s.Len(); n != 3 {
		t.Errorf("Len %d after three Adds; want 3", n)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(a.visited) == 3 })
	s.Remove(&b.link)
	mu.Lock()
	bSeen := len(b.visited)
	mu.Unlock()
	s.Remove(&c.link)
	waitFor(t, s.Stopped)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(a.visited, []int64{1, 2, 3}) {
		t.Errorf("a visited at ticks %v; want 1, 2, 3 and dropped at 3", a.visited)
	}
	if len(b.visited) != bSeen {
		t.Errorf("b visited after its Remove: %v", b.visited)
	}
	if a.link.in {
		t.Error("a dropped by visit is still linked")
	}
	tick := s.Tick()
	mu.Unlock()
	d := &call{dropAt: tick + 1}
	s.Add(&d.link, d, every, locked)
	waitFor(t, s.Stopped)
	mu.Lock()
	if !slices.Equal(d.visited, []int64{tick + 1}) {
		t.Errorf("after a restart, visited at %v; want tick %d", d.visited, tick+1)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 3s")
		}
		time.Sleep(time.Millisecond)
	}
}
