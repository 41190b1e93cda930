package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
)

// Verify checks a presented key and returns its record: the format first
// (no store is touched for a malformed key), then this process's cache,
// then the Store (concurrent misses for one key share one lookup). It then
// refuses a revoked or expired key, and a client IP outside the key's
// allowlist (pass the zero netip.Addr when the IP is unknown: only keys
// without an allowlist then pass).
//
// The returned record is shared with the cache and must not be modified.
// On a cache hit Verify does not allocate.
func (m *Manager) Verify(ctx context.Context, key string, clientIP netip.Addr) (*Record, error) {
	if err := m.format.Parse(key); err != nil {
		return nil, err
	}
	d := m.hasher.Digest(key)
	now := m.opts.Now()
	var rec *Record
	if e, ok := m.cache.Get(d); ok && now.Before(e.expires) {
		rec = e.rec
	} else {
		var err error
		if rec, err = m.load(ctx, d, key); err != nil {
			return nil, err
		}
	}
	if !rec.Digest.Equal(d) {
		return nil, ErrUnknown
	}
	if err := rec.check(now); err != nil {
		return nil, err
	}
	if !rec.AllowsIP(clientIP) {
		return nil, fmt.Errorf("%w: client IP not allowed for this key", ErrForbidden)
	}
	return rec, nil
}

// load fetches the record for digest d, sharing one Store lookup among
// concurrent callers, and caches it.
func (m *Manager) load(ctx context.Context, d Digest, key string) (*Record, error) {
	m.flightMu.Lock()
	f, ok := m.flights[d]
	if !ok {
		// A flight that ended between the caller's cache miss and now has
		// filled the cache (it fills before it leaves the map).
		if e, hit := m.cache.Get(d); hit && m.opts.Now().Before(e.expires) {
			m.flightMu.Unlock()
			return e.rec, nil
		}
		f = &flight{done: make(chan struct{})}
		m.flights[d] = f
		m.flightMu.Unlock()
		go m.fetch(context.WithoutCancel(ctx), f, d, key)
	} else {
		m.flightMu.Unlock()
	}
	select {
	case <-f.done:
		return f.rec, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch runs one lookup for load, detached from any one caller so that a
// caller giving up does not fail the others sharing it.
func (m *Manager) fetch(ctx context.Context, f *flight, d Digest, key string) {
	defer func() {
		m.flightMu.Lock()
		delete(m.flights, d)
		m.flightMu.Unlock()
		close(f.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, m.opts.LookupTimeout)
	defer cancel()

	m.mu.Lock()
	epoch := m.epoch
	m.mu.Unlock()

	rec, err := m.store.Lookup(ctx, d)
	if errors.Is(err, ErrNotFound) {
		rec, err = m.lookupPrevious(ctx, d, key)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			f.err = ErrUnknown
		} else {
			m.logError("keys: store lookup failed", slog.String("error", err.Error()))
			f.err = fmt.Errorf("keys: store lookup: %w", err)
		}
		return
	}
	now := m.opts.Now()
	if m.opts.TouchInterval > 0 && now.Sub(rec.LastUsedAt) > m.opts.TouchInterval && rec.check(now) == nil {
		if r, err := m.store.Update(ctx, rec.ID, func(r *Record) error { r.LastUsedAt = now.UTC(); return nil }); err == nil {
			rec = r
		}
	}
	f.rec = rec
	m.mu.Lock()
	if m.epoch == epoch {
		m.cache.Add(d, cacheEntry{rec: rec, expires: now.Add(m.opts.CacheTTL)})
	}
	m.mu.Unlock()
}

// lookupPrevious tries the previous peppers and, on a hit, rehashes the
// record under the current pepper so the next lookup is direct.
func (m *Manager) lookupPrevious(ctx context.Context, d Digest, key string) (*Record, error) {
	for _, p := range m.hasher.previous {
		old := p.digest(key)
		rec, err := m.store.Lookup(ctx, old)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !rec.Digest.Equal(old) {
			continue
		}
		updated, err := m.store.Update(ctx, rec.ID, func(r *Record) error {
			if r.Digest == old {
				r.Digest, r.PepperVersion = d, m.hasher.Version()
			}
			return nil
		})
		if err != nil {
			m.logError("keys: rehash failed", slog.String("key_id", rec.ID), slog.String("error", err.Error()))
			// The key is valid; serve it under the current digest anyway.
			rec.Digest = d
			return rec, nil
		}
		// The cache is keyed by current digests only, so nothing to drop.
		return updated, nil
	}
	return nil, ErrNotFound
}
