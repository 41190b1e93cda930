package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
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
	return m.verifyDigest(ctx, m.hasher.Digest(key), key, clientIP)
}

// verifyDigest is Verify for a well-formed key whose digest is d.
func (m *Manager) verifyDigest(ctx context.Context, d Digest, key string, clientIP netip.Addr) (*Record, error) {
	now := m.opts.Now()
	rec, ok := m.cached(d, now)
	if !ok {
		var err error
		if rec, err = m.load(ctx, d, key); err != nil {
			return nil, err
		}
	}
	if err := admit(rec, d, now, clientIP); err != nil {
		return nil, err
	}
	return rec, nil
}

// verifyCached is Verify without the Store: it reports whether key is well
// formed, held in this process's cache and would pass Verify's checks. It
// never touches the Store, so it costs nothing that a client could abuse.
// It also returns the key's digest, when the key is well formed (parsed),
// for a verifyDigest that follows, so that the key is hashed once.
func (m *Manager) verifyCached(key string, clientIP netip.Addr) (rec *Record, d Digest, parsed, ok bool) {
	if m.format.Parse(key) != nil {
		return nil, d, false, false
	}
	d = m.hasher.Digest(key)
	now := m.opts.Now()
	rec, ok = m.cached(d, now)
	if !ok || admit(rec, d, now, clientIP) != nil {
		return nil, d, true, false
	}
	return rec, d, true, true
}

// cached returns the cached record for digest d, if it is fresh at now.
func (m *Manager) cached(d Digest, now time.Time) (*Record, bool) {
	e, ok := m.cache.Get(d)
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.rec, true
}

// admit refuses a record that does not belong to digest d, is revoked or
// expired at now, is suspended, or does not allow the client IP (a
// *ForbiddenError).
func admit(rec *Record, d Digest, now time.Time, clientIP netip.Addr) error {
	if !rec.Digest.Equal(d) {
		return ErrUnknown
	}
	if err := rec.check(now); err != nil {
		return err
	}
	if !rec.AllowsIP(clientIP) {
		return &ForbiddenError{KeyID: rec.ID, Why: "client IP not allowed for this key"}
	}
	return nil
}

// load fetches the record for digest d, sharing one Store lookup among
// concurrent callers, and caches it. A caller joins a flight only if no
// invalidation happened since the flight began; otherwise it starts a new
// one, so that nothing read before a Revoke (say) answers a Verify that
// started after it returned.
func (m *Manager) load(ctx context.Context, d Digest, key string) (*Record, error) {
	m.flightMu.Lock()
	m.mu.Lock()
	epoch := m.epoch
	m.mu.Unlock()
	f, ok := m.flights[d]
	if !ok || f.epoch < epoch {
		// A flight that ended between the caller's cache miss and now has
		// filled the cache (it fills before it leaves the map), unless an
		// invalidation came between.
		if rec, hit := m.cached(d, m.opts.Now()); hit {
			m.flightMu.Unlock()
			return rec, nil
		}
		f = &flight{done: make(chan struct{}), epoch: epoch}
		m.flights[d] = f // replaces a stale flight, which then leaves the map alone
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
		if m.flights[d] == f { // a newer flight may have replaced this one
			delete(m.flights, d)
		}
		m.flightMu.Unlock()
		close(f.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, m.opts.LookupTimeout)
	defer cancel()

	cacheable := true
	rec, err := m.store.Lookup(ctx, d)
	if errors.Is(err, ErrNotFound) {
		rec, cacheable, err = m.lookupPrevious(ctx, d, key)
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
			r.Digest = rec.Digest // after a failed rehash, the store still has the old one
			rec = r
		}
	}
	f.rec = rec
	m.mu.Lock()
	// Fill only if no invalidation came since the flight began: the record
	// may have been read before it.
	if cacheable && m.epoch == f.epoch {
		m.cache.Add(d, cacheEntry{rec: rec, expires: now.Add(m.opts.CacheTTL)})
	}
	m.mu.Unlock()
}

// lookupPrevious tries the previous peppers and, on a hit, rehashes the
// record under the current pepper so the next lookup is direct. cacheable
// is false when the rehash failed: the store then still indexes the record
// by its old digest, which is what a revocation would invalidate, so a
// record cached under the new digest would outlive it.
func (m *Manager) lookupPrevious(ctx context.Context, d Digest, key string) (rec *Record, cacheable bool, err error) {
	for _, p := range m.hasher.previous {
		old := p.digest(key)
		rec, err := m.store.Lookup(ctx, old)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, false, err
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
			return rec, false, nil
		}
		// The cache is keyed by current digests only, so nothing to drop.
		return updated, true, nil
	}
	return nil, false, ErrNotFound
}
