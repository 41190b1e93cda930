// Package metering counts, prices and budgets the model calls that pass
// through the gateway, and hands one Event per request to the application's
// storage. It imports no other package of this module but internal/asyncq,
// the bounded delivery queue that Meter shares with package audit.
//
// # Pieces
//
//   - Usage counts the tokens of one call; Event describes one request
//     (who, which model, tokens, cost, status, timings) and by construction
//     holds no prompt or completion content.
//   - Recorder is the one-method interface a metering backend implements
//     (BatchRecorder optionally); Meter sits in front of it: Record queues
//     an event without allocating, a background goroutine delivers batches
//     with retries, and Close flushes.
//   - PriceTable maps model names to Prices in integer micro-dollars per
//     million tokens. DefaultPrices embeds dated list prices for OpenAI,
//     Anthropic and Gemini models; Cost prices a Usage, rounding up, and
//     MaxCost gives the worst case to reserve.
//   - Ledger keeps budgets per account (an API key, its owner) and period;
//     MemoryLedger is the in-process implementation.
//
// Package meteringtest holds the conformance suites that Recorder and Ledger
// implementations run, an in-memory Recorder and a fake clock.
//
// # Money
//
// Money is an int64 count of micro-dollars: 1 USD is 1,000,000. Prices are
// micro-dollars per million tokens, so a token costs price/1,000,000
// micro-dollars and costs are rounded up to the next micro-dollar once per
// call. No float is ever involved.
//
// # The walk of a budgeted request
//
// Before forwarding, the gateway checks that the model can be priced
// (PriceTable.CheckPriced), computes the worst case with MaxCost and
// reserves it against the key's and the owner's accounts in one
// Ledger.Reserve call. After the response it computes the exact Cost and
// calls Ledger.Settle, or Ledger.Release if the request failed before the
// upstream charged anything, and passes one Event to Meter.Record:
//
//	worst, _ := prices.MaxCost(model, estimatedInput, maxOutput)
//	id, err := ledger.Reserve(ctx, []metering.Account{
//		{Kind: metering.AccountKey, ID: keyID, Limit: keyBudget, Period: metering.PeriodMonthly},
//		{Kind: metering.AccountOwner, ID: owner, Limit: ownerBudget, Period: metering.PeriodMonthly},
//	}, worst)
//	if errors.Is(err, metering.ErrBudgetExceeded) { /* 429 or 402 */ }
//	// ... forward ...
//	cost, known := prices.Cost(servedModel, usage)
//	_ = ledger.Settle(context.WithoutCancel(ctx), id, cost)
//	_ = meter.Record(context.WithoutCancel(ctx), metering.Event{..., CostMicros: cost, PriceUnknown: !known})
package metering
