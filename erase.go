package wicket

import (
	"context"
	"fmt"
	"github.com/wicket-gw/wicket/audit"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
)

// An OwnerEraser is a store of the application's that can erase what it
// holds for an owner: a metering.Recorder, an audit sink, or any other
// the gateway is configured with. EraseOwner calls the configured ones
// that implement it and returns how many items each erased.
type OwnerEraser interface {
	EraseOwner(ctx context.Context, owner string) (int, error)
}

// Erasure reports what EraseOwner erased.
type Erasure struct {
	// Owner is the owner erased.
	Owner string `json:"owner"`
	// Keys counts the key records deleted (rotated predecessors included).
	Keys int `json:"keys"`
	// LedgerAccounts counts the ledger accounts (the keys' and the
	// owner's) the Ledger forgot; -1 when the Ledger cannot erase
	// (it does not implement metering.AccountEraser).
	LedgerAccounts int `json:"ledger_accounts"`
	// UsageCounts counts the per-key usage counts this process dropped.
	UsageCounts int `json:"usage_counts"`
	// Recorder counts what the Recorder erased; -1 when it cannot (it
	// does not implement OwnerEraser) or there is none.
	Recorder int `json:"recorder"`
	// AuditSink counts the audit events the keys.Manager's Auditor's sink
	// erased; -1 when it does not opt in (implement OwnerEraser), as audit
	// trails usually must be kept, or there is none.
	AuditSink int `json:"audit_sink"`
}

// EraseOwner erases everything the gateway's stores hold for owner: its
// keys (which fail at once in this process, and in others as their caches
// expire or revocation reaches them), the ledger accounts of those keys and
// of the owner, this process's usage counts, and what the Recorder and the
// audit sink hold when they implement OwnerEraser (an audit sink opts in:
// audit trails must often be kept). It is how an application honours a
// user's right to erasure. It returns what it erased; on an error it stops
// and reports what it erased before.
func (g *Gateway) EraseOwner(ctx context.Context, owner string) (er Erasure, err error) {
	er = Erasure{Owner: owner, LedgerAccounts: -1, Recorder: -1, AuditSink: -1}
	if owner == "" {
		return er, fmt.Errorf("wicket: erase owner: empty owner")
	}
	defer func() {
		e := audit.Event{Action: audit.ActionOwnerErased, Outcome: audit.OutcomeAllowed, Subject: owner, Owner: owner}
		if err != nil {
			e.Outcome, e.Reason = audit.OutcomeFailed, audit.ReasonInternal
		}
		if rec, ok := keys.PrincipalFrom(ctx); ok { // an admin API call
			e.ActorKeyID, e.ActorKeyHint = rec.ID, rec.Hint
		}
		g.audit(nil, e)
	}()
	// The accounts of the owner's keys: a rotated key's successor shares
	// its predecessor's, so collect them before the records go.
	accounts := []metering.Account{{Kind: metering.AccountOwner, ID: owner}}
	seen := map[string]bool{}
	for rec, err := range g.cfg.Keys.All(ctx, keys.ListQuery{Owner: owner}) {
		if err != nil {
			return er, fmt.Errorf("wicket: erase owner: listing keys: %w", err)
		}
		if id := rec.Account(); !seen[id] {
			seen[id] = true
			accounts = append(accounts, metering.Account{Kind: metering.AccountKey, ID: id})
		}
		for _, mb := range rec.ModelBudgets {
			// A key_model ID holds a ':' that no key ID does, so it
			// shares seen with them.
			if a := modelAccount(rec, mb); !seen[a.ID] {
				seen[a.ID] = true
				accounts = append(accounts, a)
			}
		}
	}
	n, err := g.cfg.Keys.DeleteOwner(ctx, owner)
	if err != nil {
		return er, fmt.Errorf("wicket: erase owner: deleting keys: %w", err)
	}
	er.Keys = n
	if ae, ok := g.ledger.(metering.AccountEraser); ok {
		if er.LedgerAccounts, err = ae.EraseAccounts(ctx, accounts); err != nil {
			return er, fmt.Errorf("wicket: erase owner: ledger: %w", err)
		}
	}
	for _, a := range accounts[1:] {
		if g.usage.cache.Remove(a.ID) {
			er.UsageCounts++
		}
	}
	if oe, ok := g.cfg.Recorder.(OwnerEraser); ok {
		if er.Recorder, err = oe.EraseOwner(ctx, owner); err != nil {
			return er, fmt.Errorf("wicket: erase owner: recorder: %w", err)
		}
	}
	if oe, ok := g.cfg.Keys.Auditor().Sink().(OwnerEraser); ok {
		if er.AuditSink, err = oe.EraseOwner(ctx, owner); err != nil {
			return er, fmt.Errorf("wicket: erase owner: audit sink: %w", err)
		}
	}
	return er, nil
}
