// Package shardlru is a string-keyed LRU table split into shards, each with
// its own lock and an equal share of the capacity, for the in-memory state
// of package ratelimit (the Limiter's Memory backend and the failed-auth
// throttle's). It is written once here so that both shard and evict alike.
package shardlru

import (
	"errors"
	"hash/maphash"
	"strings"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// MaxShards is the most shards a Table has.
const MaxShards = 16

// minPerShard is the fewest entries a shard holds when a Table has more than
// one shard.
const minPerShard = 256

// EvictScan is how many of a shard's least recently used entries Add
// examines, at most, to find one it may evict.
const EvictScan = 16

// Table is an LRU of at most max entries keyed by string, spread over
// ShardCount(max) shards by a hash of the whole key seeded per Table (so per
// process), so that no family of alike keys crowds into one shard. The LRU
// order, and thus the choice of what to evict, is per shard. Use [New]; the
// zero Table is not usable. Every method but Lock and Len requires the
// caller to hold the shard's lock.
type Table[V any] struct {
	seed   maphash.Seed
	mask   uint64
	shards []Shard[V]
}

// Shard is one shard of a [Table]: a lock and an LRU of the Table's max
// divided by the number of shards.
type Shard[V any] struct {
	mu sync.Mutex
	// lru never evicts on its own: Add makes room before adding.
	lru *simplelru.LRU[string, V]
	max int
	_   [40]byte // keep shards on separate cache lines
}

// New returns an empty Table of at most max entries (max >= 1).
func New[V any](max int) (*Table[V], error) {
	if max < 1 {
		return nil, errors.New("shardlru: capacity below 1")
	}
	n := ShardCount(max)
	t := &Table[V]{
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]Shard[V], n),
	}
	for i := range t.shards {
		s := &t.shards[i]
		s.max = max / n
		var err error
		if s.lru, err = simplelru.NewLRU[string, V](s.max, nil); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// ShardCount returns the number of shards (a power of two, at most
// MaxShards) of a Table of max entries, keeping at least 256 entries a shard.
func ShardCount(max int) int {
	n := MaxShards
	for n > 1 && max/n < minPerShard {
		n /= 2
	}
	return n
}

// Lock locks key's shard and returns it.
func (t *Table[V]) Lock(key string) *Shard[V] {
	s := &t.shards[maphash.String(t.seed, key)&t.mask]
	s.mu.Lock()
	return s
}

// Len returns the number of entries held, locking each shard in turn.
func (t *Table[V]) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

// Lens returns the number of entries held by each shard.
func (t *Table[V]) Lens() []int {
	lens := make([]int, len(t.shards))
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		lens[i] = s.lru.Len()
		s.mu.Unlock()
	}
	return lens
}

// Unlock unlocks s.
func (s *Shard[V]) Unlock() { s.mu.Unlock() }

// Get returns key's value and marks it the most recently used.
func (s *Shard[V]) Get(key string) (V, bool) { return s.lru.Get(key) }

// Peek returns key's value without changing the LRU order.
func (s *Shard[V]) Peek(key string) (V, bool) { return s.lru.Peek(key) }

// Add adds key, which s must not hold, with v as the most recently used, and
// reports whether it did. When s is full it makes room first: with idle nil
// it evicts the least recently used entry; otherwise it examines up to
// EvictScan of the least recently used entries, evicting the first for which
// idle reports true and moving each other one to the front (so that the
// scan does not meet it again soon), and if none is idle adds nothing and
// reports false. Add stores a copy of key, which may point into a larger
// buffer.
func (s *Shard[V]) Add(key string, v V, idle func(V) bool) bool {
	if s.lru.Len() >= s.max && !s.evict(idle) {
		return false
	}
	s.lru.Add(strings.Clone(key), v)
	return true
}

// evict removes an entry as Add describes and reports whether it did.
func (s *Shard[V]) evict(idle func(V) bool) bool {
	if idle == nil {
		_, _, ok := s.lru.RemoveOldest()
		return ok
	}
	for range min(EvictScan, s.lru.Len()) {
		key, v, ok := s.lru.GetOldest()
		if !ok {
			return false
		}
		if idle(v) {
			s.lru.Remove(key)
			return true
		}
		s.lru.Get(key) // busy: move to the front
	}
	return false
}
