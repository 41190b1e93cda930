package shardlru

import (
	"strconv"
	"testing"
)

func TestShardCount(t *testing.T) {
	for _, tt := range []struct{ max, want int }{
		{1, 1}, {511, 1}, {512, 2}, {1023, 2}, {1024, 4}, {4096, 16}, {1 << 22, 16},
	} {
		if got := ShardCount(tt.max); got != tt.want {
			t.Errorf("ShardCount(%d) = %d; want %d", tt.max, got, tt.want)
		}
	}
}

func TestNewInvalid(t *testing.T) {
	if _, err := New[int](0); err == nil {
		t.Fatal("New(0) succeeded; want an error")
	}
}

// fill adds keys "0".."n-1" with values 0..n-1 to a one-shard table.
func fill(t *testing.T, n int) *Table[int] {
	t.Helper()
	tab, err := New[int](n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		s := tab.Lock(strconv.Itoa(i))
		if !s.Add(strconv.Itoa(i), i, nil) {
			t.Fatalf("Add(%d) refused below capacity", i)
		}
		s.Unlock()
	}
	return tab
}

func has(tab *Table[int], key string) bool {
	s := tab.Lock(key)
	defer s.Unlock()
	_, ok := s.Peek(key)
	return ok
}

func TestAddEvictsOldest(t *testing.T) {
	tab := fill(t, 3)
	s := tab.Lock("0")
	s.Get("0") // "1" is now the oldest
	if !s.Add("new", 9, nil) {
		t.Fatal("Add with idle nil refused")
	}
	s.Unlock()
	if has(tab, "1") || !has(tab, "0") || !has(tab, "new") {
		t.Fatalf("after Add: has 0, 1, new = %v, %v, %v; want true, false, true", has(tab, "0"), has(tab, "1"), has(tab, "new"))
	}
	if n := tab.Len(); n != 3 {
		t.Fatalf("Len = %d; want 3", n)
	}
}

func TestAddEvictsIdleOnly(t *testing.T) {
	tab := fill(t, 4)
	s := tab.Lock("x")
	// Only 2 is idle: 0 and 1 are examined first and moved to the front.
	var seen []int
	if !s.Add("x", 10, func(v int) bool { seen = append(seen, v); return v == 2 }) {
		t.Fatal("Add refused with an idle entry")
	}
	if len(seen) != 3 || seen[0] != 0 || seen[1] != 1 || seen[2] != 2 {
		t.Fatalf("idle examined %v; want [0 1 2]", seen)
	}
	// Now the oldest is 3, then 0, 1, x; none idle: refused, nothing changes.
	if s.Add("y", 11, func(int) bool { return false }) {
		t.Fatal("Add succeeded with no idle entry")
	}
	k, _, _ := s.lru.GetOldest()
	s.Unlock()
	if k != "3" {
		t.Fatalf("oldest after a refused Add = %q; want %q", k, "3")
	}
	if has(tab, "y") || has(tab, "2") || tab.Len() != 4 {
		t.Fatalf("after the refusal: has y %v, has 2 %v, Len %d; want false, false, 4", has(tab, "y"), has(tab, "2"), tab.Len())
	}
}

// TestAddClonesKey: the key stored does not share the caller's bytes.
func TestAddClonesKey(t *testing.T) {
	tab, err := New[int](10)
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("abc")
	s := tab.Lock(string(buf))
	s.Add(string(buf), 1, nil)
	s.Unlock()
	copy(buf, "xyz")
	if !has(tab, "abc") || has(tab, "xyz") {
		t.Fatal("the stored key changed with the caller's buffer")
	}
}

func TestLens(t *testing.T) {
	tab, err := New[int](4096)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		s := tab.Lock(strconv.Itoa(i))
		s.Add(strconv.Itoa(i), i, nil)
		s.Unlock()
	}
	lens, sum := tab.Lens(), 0
	for _, n := range lens {
		sum += n
	}
	if len(lens) != 16 || sum != 1000 || tab.Len() != 1000 {
		t.Fatalf("Lens = %v (sum %d), Len = %d; want 16 shards, 1000 entries", lens, sum, tab.Len())
	}
}
