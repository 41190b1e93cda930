package wicket

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
)

// eventOf makes the metering event for an outcome: the same identifiers
// and counts, never content.
func eventOf(o *Outcome) metering.Event {
	e := metering.Event{
		RequestID: o.RequestID, ClientRequestID: o.ClientRequestID, KeyID: o.KeyID, Owner: o.Owner, Model: o.Model, ServedModel: o.UpstreamModel,
		Provider: o.Provider, Endpoint: o.Endpoint, Stream: o.Stream, Usage: o.Usage, CostMicros: o.CostMicros,
		Status: o.Status, ErrorClass: o.Err, Start: o.Start, Latency: o.End.Sub(o.Start),
		UsageEstimated: o.UsageEstimated, PriceUnknown: o.PriceUnknown,
	}
	if !o.FirstByte.IsZero() {
		e.TimeToFirstToken = o.FirstByte.Sub(o.Start)
	}
	return e
}

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

// countUsage adds the finished call to its key's counts.
func (g *Gateway) countUsage(s *state) {
	o := &s.outcome
	if o.KeyID == "" {
		return
	}
	rec, ok := s.principal()
	if !ok {
		return
	}
	acct := keyAccount(rec)
	start, _ := acct.Period.Bounds(g.cfg.Now())
	c, ok := g.usage.cache.Get(acct.ID)
	if !ok {
		c = &keyCount{start: start}
		if prev, found, _ := g.usage.cache.PeekOrAdd(acct.ID, c); found {
			c = prev
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.start.Equal(start) { // a new period: start counting again
		c.start, c.requests, c.usage = start, 0, metering.Usage{}
	}
	c.requests++
	c.usage = c.usage.Add(o.Usage)
}

// KeyUsage implements keys.UsageSource: a key's spend and remaining budget
// for the current period from the Ledger (shared by every replica that
// shares it), and its request and token counts from this process. A
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
