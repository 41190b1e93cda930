package keys

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/wicket-gw/wicket/audit"
	"io"
	"iter"
	"log/slog"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Options configures a Manager. A nil *Options, and every zero field, means
// the default documented on the field.
type Options struct {
	// Prefix is the key prefix (see NewFormat). Default "wk".
	Prefix string
	// CacheSize is how many verified keys a process keeps in memory.
	// Default 10,000.
	CacheSize int
	// CacheTTL is how long a verified key is trusted without asking the
	// Store again. It bounds how long a key revoked by another process (one
	// that does not broadcast revocations) keeps working here. Default 30s.
	CacheTTL time.Duration
	// LookupTimeout bounds one Store lookup made on a cache miss, which
	// runs detached from the caller's cancellation because concurrent
	// callers share it. Default 5s.
	LookupTimeout time.Duration
	// TouchInterval is how stale Record.LastUsedAt may become: a cache miss
	// writes it when older than this. Default 1 minute; negative disables.
	TouchInterval time.Duration
	// Rand is the source of key and ID randomness. Default crypto/rand.
	Rand io.Reader
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger receives store failures and rehash events, with key IDs only.
	// Nil means silent.
	Logger *slog.Logger
	// Auditor receives the audit events of the Manager (keys issued,
	// rotated, revoked, deleted), of its middleware (failed
	// authentications, addresses the failed-auth throttle blocks) and of
	// its admin API (every call, allowed or refused), with identifiers and
	// key hints only. The gateway emits its own (budgets, rate limits,
	// erasure) through the same one. Nil means none.
	Auditor *audit.Auditor
}

// Manager issues, verifies, rotates and revokes API keys against a Store,
// keeping a bounded cache of verified keys. It is safe for concurrent use.
// Revoke, Rotate, Delete and DeleteOwner drop the affected keys from this
// process's cache before they return, and no Verify that starts after they
// return is answered with anything read from the Store before; other
// processes drop them when their CacheTTL passes or when Invalidate is
// called (a revocation broadcast).
type Manager struct {
	store  Store
	hasher *Hasher
	format Format
	opts   Options

	// mu orders cache fills against invalidations: a fill that started
	// before an invalidation must not store what it read.
	mu    sync.Mutex
	epoch uint64
	cache *lru.Cache[Digest, cacheEntry]

	// flightMu guards flights; load takes it before mu, never after.
	flightMu sync.Mutex
	flights  map[Digest]*flight
}

type cacheEntry struct {
	rec     *Record
	expires time.Time
}

// flight is one Store lookup shared by concurrent cache misses for a key.
type flight struct {
	done chan struct{}
	// epoch is the invalidation epoch when the flight was created: a caller
	// that finds a flight older than the current epoch must not join it,
	// since it may have read the store before the invalidation.
	epoch uint64
	rec   *Record
	err   error
}

// NewManager returns a Manager over store, hashing keys with hasher.
func NewManager(store Store, hasher *Hasher, opts *Options) (*Manager, error) {
	if store == nil || hasher == nil {
		return nil, fmt.Errorf("%w: store and hasher are required", ErrInvalid)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = "wk"
	}
	if o.CacheSize < 0 || o.CacheTTL < 0 || o.LookupTimeout < 0 {
		return nil, fmt.Errorf("%w: negative cache size, cache TTL or lookup timeout", ErrInvalid)
	}
	if o.CacheSize == 0 {
		o.CacheSize = 10_000
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 30 * time.Second
	}
	if o.LookupTimeout == 0 {
		o.LookupTimeout = 5 * time.Second
	}
	if o.TouchInterval == 0 {
		o.TouchInterval = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	f, err := NewFormat(o.Prefix)
	if err != nil {
		return nil, err
	}
	c, err := lru.New[Digest, cacheEntry](o.CacheSize)
	if err != nil {
		return nil, fmt.Errorf("keys: cache: %w", err)
	}
	return &Manager{store: store, hasher: hasher, format: f, opts: o, cache: c, flights: map[Digest]*flight{}}, nil
}

// Format returns the key format the Manager issues and accepts.
func (m *Manager) Format() Format { return m.format }

// Store returns the Manager's store.
func (m *Manager) Store() Store { return m.store }

// Issue creates a key from spec and returns its plaintext, which exists
// nowhere else and cannot be recovered later, together with its record. The
// record's AccountID is its own ID.
func (m *Manager) Issue(ctx context.Context, spec Spec) (string, *Record, error) {
	key, rec, err := m.issue(ctx, spec, "")
	if err == nil {
		m.audit(ctx, audit.Event{Action: audit.ActionKeyIssued, Outcome: audit.OutcomeAllowed, Subject: rec.ID, Owner: rec.Owner})
	}
	return key, rec, err
}

// issue is Issue charging the key to account; an empty account means the
// key's own ID.
func (m *Manager) issue(ctx context.Context, spec Spec, account string) (string, *Record, error) {
	if err := spec.Validate(); err != nil {
		return "", nil, err
	}
	if spec.Role == "" {
		spec.Role = RoleUser
	}
	if spec.Budget.LimitMicros > 0 && spec.Budget.Period == "" {
		spec.Budget.Period = PeriodTotal
	}
	s := spec.clone()
	for i := range s.ModelBudgets {
		s.ModelBudgets[i].Period = cmp.Or(s.ModelBudgets[i].Period, PeriodTotal)
	}
	for attempt := 0; ; attempt++ {
		key, err := m.format.Generate(m.opts.Rand)
		if err != nil {
			return "", nil, err
		}
		id, err := m.newID()
		if err != nil {
			return "", nil, err
		}
		r := &Record{
			ID: id, AccountID: cmp.Or(account, id), Digest: m.hasher.Digest(key), PepperVersion: m.hasher.Version(), Hint: m.format.Hint(key),
			Owner: s.Owner, Name: s.Name, Role: s.Role, Scopes: s.Scopes, AllowedIPs: s.AllowedIPs,
			ExpiresAt: s.ExpiresAt, Limits: s.Limits, Budget: s.Budget, ModelBudgets: s.ModelBudgets, Metadata: s.Metadata,
			CreatedAt: m.opts.Now().UTC(),
		}
		err = m.store.Create(ctx, r)
		if errors.Is(err, ErrExists) && attempt < 3 {
			continue // an ID collision: astronomically unlikely, but cheap to survive
		}
		if err != nil {
			return "", nil, fmt.Errorf("keys: creating key: %w", err)
		}
		return key, r.Clone(), nil
	}
}

func (s Spec) clone() Spec {
	r := (&Record{Scopes: s.Scopes, AllowedIPs: s.AllowedIPs, Metadata: s.Metadata, ModelBudgets: s.ModelBudgets}).Clone()
	s.Scopes, s.AllowedIPs, s.Metadata, s.ModelBudgets = r.Scopes, r.AllowedIPs, r.Metadata, r.ModelBudgets
	return s
}

// idLen base62 characters make IDs of about 119 random bits.
const idLen = 20

func (m *Manager) newID() (string, error) {
	b, err := appendRandom62([]byte("key_"), m.opts.Rand, idLen)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Get returns the record with the ID.
func (m *Manager) Get(ctx context.Context, id string) (*Record, error) {
	return m.store.Get(ctx, id)
}

// List returns records as Store.List does.
func (m *Manager) List(ctx context.Context, q ListQuery) ([]*Record, error) {
	return m.store.List(ctx, q)
}

// All returns every record q selects (q.Owner, after q.After), in
// ascending ID order, reading the Store a page (q.PageSize records) at a
// time. A page that cannot be read is yielded as the error, once, and ends
// the walk.
func (m *Manager) All(ctx context.Context, q ListQuery) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		for {
			page, err := m.store.List(ctx, q)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
			}
			if len(page) < q.PageSize() {
				return
			}
			q.After = page[len(page)-1].ID
		}
	}
}

// Revoke marks the key revoked. The key fails verification in this process
// as soon as Revoke returns. Revoking a revoked key keeps its first
// revocation time.
func (m *Manager) Revoke(ctx context.Context, id string) (*Record, error) {
	now := m.opts.Now().UTC()
	r, err := m.store.Update(ctx, id, func(r *Record) error {
		if r.RevokedAt.IsZero() {
			r.RevokedAt = now
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.Invalidate(r.Digest)
	m.audit(ctx, audit.Event{Action: audit.ActionKeyRevoked, Outcome: audit.OutcomeAllowed, Subject: r.ID, Owner: r.Owner})
	return r, nil
}

// Rotate issues a successor to the key with the same attributes and keeps
// the old key working until now+grace (or its own earlier expiry); a grace
// of zero or less ends it at once. The successor is charged to the old key's
// account (Record.Account), so that it keeps its spend and budget. It
// returns the successor's plaintext and record and the old key's updated
// record. A revoked key cannot be rotated.
func (m *Manager) Rotate(ctx context.Context, id string, grace time.Duration) (string, *Record, *Record, error) {
	old, err := m.store.Get(ctx, id)
	if err != nil {
		return "", nil, nil, err
	}
	now := m.opts.Now().UTC()
	// A suspended key may be rotated: replacing it is how a leaked key's
	// owner gets back to work. The successor is not suspended.
	if err := old.check(now); err != nil && !errors.Is(err, ErrSuspended) {
		return "", nil, nil, fmt.Errorf("%w: cannot rotate a revoked or expired key", ErrInvalid)
	}
	key, next, err := m.issue(ctx, old.Spec(), old.Account())
	if err != nil {
		return "", nil, nil, err
	}
	deadline := now.Add(max(grace, 0))
	prev, err := m.store.Update(ctx, id, func(r *Record) error {
		if r.ExpiresAt.IsZero() || deadline.Before(r.ExpiresAt) {
			r.ExpiresAt = deadline
		}
		r.ReplacedBy = next.ID
		return nil
	})
	if err != nil {
		// Leave no orphan successor behind.
		_ = m.store.Delete(context.WithoutCancel(ctx), next.ID)
		return "", nil, nil, err
	}
	m.Invalidate(prev.Digest)
	m.audit(ctx, audit.Event{Action: audit.ActionKeyRotated, Outcome: audit.OutcomeAllowed, Subject: prev.ID, ReplacedBy: next.ID, Owner: prev.Owner})
	return key, next, prev, nil
}

// Delete removes the key's record.
func (m *Manager) Delete(ctx context.Context, id string) error {
	r, err := m.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := m.store.Delete(ctx, id); err != nil {
		return err
	}
	m.Invalidate(r.Digest)
	m.audit(ctx, audit.Event{Action: audit.ActionKeyDeleted, Outcome: audit.OutcomeAllowed, Subject: r.ID, Owner: r.Owner})
	return nil
}

// DeleteOwner removes every key of an owner and returns how many it removed.
func (m *Manager) DeleteOwner(ctx context.Context, owner string) (int, error) {
	var digests []Digest
	var ids []string
	for r, err := range m.All(ctx, ListQuery{Owner: owner}) {
		if err != nil {
			return 0, err
		}
		digests = append(digests, r.Digest)
		ids = append(ids, r.ID)
	}
	n, err := m.store.DeleteOwner(ctx, owner)
	if err != nil {
		return 0, err
	}
	m.Invalidate(digests...)
	for _, id := range ids {
		m.audit(ctx, audit.Event{Action: audit.ActionKeyDeleted, Outcome: audit.OutcomeAllowed, Subject: id, Owner: owner})
	}
	return n, nil
}

// Invalidate drops keys from this process's cache, so that their next
// verification reads the Store: a Verify that starts after Invalidate
// returns neither hits the old entries nor joins a Store lookup that began
// before. A revocation broadcast (from another replica) calls it.
func (m *Manager) Invalidate(digests ...Digest) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch++
	for _, d := range digests {
		m.cache.Remove(d)
	}
}

// InvalidateAll empties this process's cache, with the same guarantee as
// Invalidate: every key's next verification reads the Store. A replica
// that may have missed revocations (its broadcast subscription was down)
// calls it to resynchronise.
func (m *Manager) InvalidateAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch++
	m.cache.Purge()
}

// InvalidateID drops the key with the given ID from this process's cache,
// with the same guarantee as Invalidate. It scans the cache, which is fine
// for the rare event it serves.
func (m *Manager) InvalidateID(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch++
	for _, d := range m.cache.Keys() {
		if e, ok := m.cache.Peek(d); ok && e.rec.ID == id {
			m.cache.Remove(d)
		}
	}
}

func (m *Manager) logError(msg string, attrs ...any) {
	if m.opts.Logger != nil {
		m.opts.Logger.Error(msg, attrs...)
	}
}
