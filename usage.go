package wicket

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
)

// usageCounters keeps per-key-account request and token counts for the current
// period, in this process, for the admin API's usage view. It is bounded:
// the least recently used keys are forgotten first.
type usageCounters struct {
	cache *lru.Cache[string, *keyCount]
}

type keyCount struct {
	mu       sync.Mutex
	start    time.Time // the period the counts belong to
	requests int64
	usage    metering.Usage
}

func newUsageCounters(size int) *usageCounters {
	c, _ := lru.New[string, *keyCount](size) // size > 0 by construction
	return &usageCounters{cache: c}
}

// KeyUsage implements keys.UsageSource: a key's spend and remaining budget
// for the current period from the Ledger (shared by every replica that
// shares it), the same for every other budget its calls are charged to
// (Usage.Budgets: its model budgets and Config.BudgetScopes', asked with
// an empty model), and its request and token counts from this process. A
// rotated key and its successors share one account (keys.Record.Account),
// so they show the same usage.
func (g *Gateway) KeyUsage(ctx context.Context, rec *keys.Record) (keys.Usage, error) {
	acct := keyAccount(rec)
	bal, err := g.ledger.Balance(ctx, acct)
	if err != nil {
		return keys.Usage{}, err
	}
	u := keys.Usage{
		Period:         keys.Period(acct.Period.String()),
		PeriodStart:    bal.Start,
		PeriodEnd:      bal.End,
		SpentMicros:    bal.Spent,
		ReservedMicros: bal.Reserved,
	}
	if acct.Limit > 0 {
		rem := bal.Remaining()
		u.RemainingMicros = &rem
	}
	accounts, err := g.appendAccounts(ctx, nil, rec, "")
	if err != nil {
		return keys.Usage{}, err
	}
	u.Budgets = make([]keys.BudgetUsage, 0, len(accounts))
	for i, a := range accounts {
		b := bal
		if i > 0 {
			if b, err = g.ledger.Balance(ctx, a); err != nil {
				return keys.Usage{}, err
			}
		}
		bu := keys.BudgetUsage{Kind: string(a.Kind), ID: a.ID, Period: keys.Period(a.Period.String()),
			PeriodStart: b.Start, PeriodEnd: b.End, LimitMicros: a.Limit, SpentMicros: b.Spent, ReservedMicros: b.Reserved}
		if a.Kind == metering.AccountKeyModel {
			bu.Model = modelPattern(rec, a)
		}
		if a.Limit > 0 {
			rem := b.Remaining()
			bu.RemainingMicros = &rem
		}
		u.Budgets = append(u.Budgets, bu)
	}
	if c, ok := g.usage.cache.Get(acct.ID); ok {
		start, _ := acct.Period.Bounds(g.cfg.Now())
		c.mu.Lock()
		if c.start.Equal(start) {
			u.Requests, u.InputTokens, u.OutputTokens = c.requests, c.usage.InputTokens, c.usage.OutputTokens
		}
		c.mu.Unlock()
	}
	return u, nil
}
