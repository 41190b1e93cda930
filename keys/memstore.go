package keys

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// MemoryStore is the in-memory Store: the default for a single process and
// for tests. Its zero value is ready to use and it is safe for concurrent
// use. It holds what the application issues, so its size is the
// application's to bound.
type MemoryStore struct {
	mu       sync.RWMutex
	byID     map[string]*Record
	byDigest map[Digest]string
	byOwner  map[string]map[string]struct{}
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

func (s *MemoryStore) initLocked() {
	if s.byID == nil {
		s.byID = map[string]*Record{}
		s.byDigest = map[Digest]string{}
		s.byOwner = map[string]map[string]struct{}{}
	}
}

// Create implements Store.
func (s *MemoryStore) Create(ctx context.Context, r *Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	if _, ok := s.byID[r.ID]; ok {
		return ErrExists
	}
	if _, ok := s.byDigest[r.Digest]; ok {
		return ErrExists
	}
	s.putLocked(r.Clone())
	return nil
}

func (s *MemoryStore) putLocked(r *Record) {
	s.byID[r.ID] = r
	s.byDigest[r.Digest] = r.ID
	ids := s.byOwner[r.Owner]
	if ids == nil {
		ids = map[string]struct{}{}
		s.byOwner[r.Owner] = ids
	}
	ids[r.ID] = struct{}{}
}

func (s *MemoryStore) removeLocked(r *Record) {
	delete(s.byID, r.ID)
	delete(s.byDigest, r.Digest)
	ids := s.byOwner[r.Owner]
	delete(ids, r.ID)
	if len(ids) == 0 {
		delete(s.byOwner, r.Owner)
	}
}

// Lookup implements Store.
func (s *MemoryStore) Lookup(ctx context.Context, d Digest) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byDigest[d]
	if !ok {
		return nil, ErrNotFound
	}
	return s.byID[id].Clone(), nil
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, id string) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.byID[id]
	if !ok {
		return nil, ErrNotFound
	}
	return r.Clone(), nil
}

// Update implements Store.
func (s *MemoryStore) Update(ctx context.Context, id string, fn func(*Record) error) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.byID[id]
	if !ok {
		return nil, ErrNotFound
	}
	r := old.Clone()
	if err := fn(r); err != nil {
		return nil, err
	}
	r.ID, r.Owner = old.ID, old.Owner
	if r.Digest != old.Digest {
		if _, taken := s.byDigest[r.Digest]; taken {
			return nil, ErrExists
		}
	}
	s.removeLocked(old)
	s.putLocked(r)
	return r.Clone(), nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok {
		return ErrNotFound
	}
	s.removeLocked(r)
	return nil
}

// List implements Store.
func (s *MemoryStore) List(ctx context.Context, q ListQuery) ([]*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	if q.Owner != "" {
		ids = slices.Collect(maps.Keys(s.byOwner[q.Owner]))
	} else {
		ids = slices.Collect(maps.Keys(s.byID))
	}
	slices.Sort(ids)
	if q.After != "" {
		i, found := slices.BinarySearch(ids, q.After)
		if found {
			i++
		}
		ids = ids[i:]
	}
	ids = ids[:min(len(ids), q.PageSize())]
	out := make([]*Record, len(ids))
	for i, id := range ids {
		out[i] = s.byID[id].Clone()
	}
	return out, nil
}

// DeleteOwner implements Store.
func (s *MemoryStore) DeleteOwner(ctx context.Context, owner string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.byOwner[owner]
	n := len(ids)
	for id := range ids {
		s.removeLocked(s.byID[id])
	}
	return n, nil
}
