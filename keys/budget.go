package keys

import (
	"context"
	"fmt"
	"math"

	"github.com/wicket-gw/wicket/audit"
)

// SetBudget replaces the key's budget (a zero Budget removes it; an empty
// period means PeriodTotal). It takes effect at once in this process, and
// in the others sharing the Store as for Revoke. Spend is kept: it lives in
// the gateway's ledger, per period, so a new limit applies to what the
// period has spent so far. SetBudget emits an audit.ActionBudgetChanged
// event.
func (m *Manager) SetBudget(ctx context.Context, id string, b Budget) (*Record, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	if b.LimitMicros > 0 && b.Period == "" {
		b.Period = PeriodTotal
	}
	if b.LimitMicros == 0 {
		b = Budget{}
	}
	return m.changeBudget(ctx, id, func(r *Record) error { r.Budget = b; return nil })
}

// TopUp adds amount micro-dollars to the key's total budget: prepaid
// credit, whose limit is all the credit granted and whose spend all that
// was used. Topping up by the spend so far (the admin API's usage view
// shows it) resets the credit: the whole limit is available again. A key
// without a total budget cannot be topped up (ErrInvalid): it has no credit
// to add to.
// TopUp emits an audit.ActionBudgetChanged event.
func (m *Manager) TopUp(ctx context.Context, id string, amount int64) (*Record, error) {
	if amount <= 0 {
		return nil, fmt.Errorf("%w: a top-up must be positive", ErrInvalid)
	}
	return m.changeBudget(ctx, id, func(r *Record) error {
		if r.Budget.LimitMicros <= 0 || r.Budget.Period != PeriodTotal {
			return fmt.Errorf("%w: only a total budget can be topped up", ErrInvalid)
		}
		if r.Budget.LimitMicros > math.MaxInt64-amount {
			return fmt.Errorf("%w: the top-up would overflow the budget", ErrInvalid)
		}
		r.Budget.LimitMicros += amount
		return nil
	})
}

// changeBudget applies fn to the key's record, drops it from the cache and
// audits the change.
func (m *Manager) changeBudget(ctx context.Context, id string, fn func(*Record) error) (*Record, error) {
	r, err := m.store.Update(ctx, id, fn)
	if err != nil {
		return nil, err
	}
	m.Invalidate(r.Digest)
	m.audit(ctx, audit.Event{Action: audit.ActionBudgetChanged, Outcome: audit.OutcomeAllowed, Subject: r.ID, Owner: r.Owner})
	return r, nil
}
