package keys

import (
	"context"
	"errors"
	"net/http"
	"net/netip"

	"github.com/wicket-gw/wicket/audit"
)

// Auditor returns the Manager's Auditor (Options.Auditor), or nil.
func (m *Manager) Auditor() *audit.Auditor { return m.opts.Auditor }

// audit emits e through the Manager's Auditor (a nil one does nothing),
// naming as its actor the key the context's caller authenticated with,
// if any (an admin API call).
func (m *Manager) audit(ctx context.Context, e audit.Event) {
	if m.opts.Auditor == nil {
		return
	}
	if rec, ok := PrincipalFrom(ctx); ok && e.ActorKeyID == "" {
		e.ActorKeyID, e.ActorKeyHint = rec.ID, rec.Hint
	}
	m.opts.Auditor.Emit(e)
}

// auditAuthFailure emits an auth.failed event for a refused key: its hint
// when the key is well formed (never the key), the reason, the address.
func (m *Manager) auditAuthFailure(key string, ip netip.Addr, err error) {
	if m.opts.Auditor == nil {
		return
	}
	e := audit.Event{Action: audit.ActionAuthFailed, Outcome: audit.OutcomeRefused, Reason: authReason(err), ClientIP: ip}
	if key != "" && m.format.Parse(key) == nil {
		e.ActorKeyHint = m.format.Hint(key)
	}
	m.opts.Auditor.Emit(e)
}

// authReason names why a key was refused.
func authReason(err error) audit.Reason {
	switch {
	case errors.Is(err, ErrMissing):
		return audit.ReasonMissingKey
	case errors.Is(err, ErrMalformed):
		return audit.ReasonMalformedKey
	case errors.Is(err, ErrUnknown):
		return audit.ReasonUnknownKey
	case errors.Is(err, ErrRevoked):
		return audit.ReasonRevokedKey
	case errors.Is(err, ErrExpired):
		return audit.ReasonExpiredKey
	case errors.Is(err, ErrSuspended):
		return audit.ReasonSuspendedKey
	case errors.Is(err, ErrForbidden):
		return audit.ReasonForbidden
	}
	return audit.ReasonInternal
}

// clientIP returns the caller's address as the options find it.
func (o *MiddlewareOptions) clientIP(r *http.Request) netip.Addr {
	if o.ClientIP != nil {
		return o.ClientIP(r)
	}
	return RemoteIP(r)
}
