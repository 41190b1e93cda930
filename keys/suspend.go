package keys

import (
	"context"
	"fmt"
	"time"

	"github.com/wicket-gw/wicket/audit"
)

// Suspension holds a key out of use without revoking it: a suspended key is
// refused with 403 (ErrSuspended) until the suspension lapses at Until or
// is lifted (Manager.Unsuspend), and then works again as before. A secret
// scanner's report pending review, or an abuse policy's cool-off, suspends
// a key. The zero Suspension means none.
type Suspension struct {
	// Reason says why, as a word fit for an audit event's Reason: 1 to
	// MaxSuspensionReasonLen bytes of lower-case ASCII letters, digits,
	// '.', '_' and '-', such as "leaked" or "rate_jump".
	Reason string `json:"reason"`
	// At is when the key was suspended.
	At time.Time `json:"at"`
	// Until is when the suspension lapses by itself; zero means it lasts
	// until lifted.
	Until time.Time `json:"until,omitzero"`
}

// MaxSuspensionReasonLen bounds Suspension.Reason: it is an audit word.
const MaxSuspensionReasonLen = audit.MaxWordLen

// Active reports whether s holds its key out of use at now.
func (s Suspension) Active(now time.Time) bool {
	return !s.At.IsZero() && (s.Until.IsZero() || now.Before(s.Until))
}

// Suspend holds the key out of use for d (zero or less: until lifted), for
// the reason given (see Suspension.Reason). The key fails verification in
// this process as soon as Suspend returns, and in every process sharing the
// Store once its cache entry is invalidated (a store that broadcasts
// changes, such as redisstore's, does that at once) or expires.
//
// An active suspension is never shortened: suspending a suspended key keeps
// its reason and start and extends its end to the later of the two (an
// indefinite one stays indefinite). A revoked key cannot be suspended
// (ErrInvalid). Suspend emits an audit.ActionKeySuspended event.
func (m *Manager) Suspend(ctx context.Context, id, reason string, d time.Duration) (*Record, error) {
	if !validReason(reason) {
		return nil, fmt.Errorf("%w: a suspension's reason must be 1 to %d bytes of lower-case ASCII letters, digits, '.', '_' and '-'", ErrInvalid, MaxSuspensionReasonLen)
	}
	now := m.opts.Now().UTC()
	next := Suspension{Reason: reason, At: now}
	if d > 0 {
		next.Until = now.Add(d)
	}
	r, err := m.store.Update(ctx, id, func(r *Record) error {
		if !r.RevokedAt.IsZero() {
			return fmt.Errorf("%w: cannot suspend a revoked key", ErrInvalid)
		}
		cur := r.Suspension
		if !cur.Active(now) {
			r.Suspension = next
			return nil
		}
		if !cur.Until.IsZero() && (next.Until.IsZero() || next.Until.After(cur.Until)) {
			r.Suspension.Until = next.Until
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.Invalidate(r.Digest)
	m.audit(ctx, audit.Event{Action: audit.ActionKeySuspended, Outcome: audit.OutcomeAllowed, Reason: audit.Reason(reason), Subject: r.ID, Owner: r.Owner})
	return r, nil
}

// Unsuspend lifts the key's suspension, so that it works again at once in
// this process (and, as for Suspend, in the others sharing the Store). It
// emits an audit.ActionKeyUnsuspended event if the key was suspended; a key
// that was not is returned unchanged.
func (m *Manager) Unsuspend(ctx context.Context, id string) (*Record, error) {
	now := m.opts.Now()
	was := false
	r, err := m.store.Update(ctx, id, func(r *Record) error {
		was = r.Suspension.Active(now)
		r.Suspension = Suspension{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.Invalidate(r.Digest)
	if was {
		m.audit(ctx, audit.Event{Action: audit.ActionKeyUnsuspended, Outcome: audit.OutcomeAllowed, Subject: r.ID, Owner: r.Owner})
	}
	return r, nil
}

// Suspended returns the keys suspended now, in ascending ID order, filtered
// and paged by q as Store.List does (q.Limit of them at most). Stores keep
// no index of suspensions, so it reads every record after q.After (of
// q.Owner, if set) until the page is full: a call for the rare review of
// suspended keys, not for a request path.
func (m *Manager) Suspended(ctx context.Context, q ListQuery) ([]*Record, error) {
	want := q.PageSize()
	q.Limit = MaxListLimit
	now := m.opts.Now()
	var out []*Record
	for r, err := range m.All(ctx, q) {
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return nil, err
		}
		if r.Suspension.Active(now) && r.RevokedAt.IsZero() {
			if out = append(out, r); len(out) == want {
				break
			}
		}
	}
	return out, nil
}

// validReason reports whether s is a valid Suspension.Reason: a non-empty
// audit word.
func validReason(s string) bool { return s != "" && audit.IsWord(s) }

// SuspendLeaked suspends rec's key until lifted, with reason "leaked". It
// fits ScanOptions.Action, for an application that reviews a reported key
// before revoking it:
//
//	h, err := m.SecretScanning(&keys.ScanOptions{Action: m.SuspendLeaked})
func (m *Manager) SuspendLeaked(ctx context.Context, rec *Record) error {
	_, err := m.Suspend(ctx, rec.ID, string(audit.ReasonLeaked), 0)
	return err
}
