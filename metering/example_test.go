package metering_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
)

func ExampleNewMeter() {
	// A backend: here, print each event. A real one writes to a database
	// and implements metering.BatchRecorder to write many at once.
	rec := metering.RecorderFunc(func(ctx context.Context, e metering.Event) error {
		fmt.Printf("%s %s: %d tokens, %d micro-dollars\n", e.RequestID, e.Model, e.Usage.Total(), e.CostMicros)
		return nil
	})
	m, err := metering.NewMeter(rec, &metering.MeterOptions{Overflow: metering.OverflowDrop})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	// On the request path: cheap, never waits for the backend.
	m.Record(ctx, metering.Event{RequestID: "req-1", Model: "gpt-4o", Usage: metering.Usage{InputTokens: 900, OutputTokens: 100}, CostMicros: 3250})
	m.Record(ctx, metering.Event{RequestID: "req-2", Model: "gpt-4o-mini", Usage: metering.Usage{InputTokens: 50, OutputTokens: 10}, CostMicros: 14})

	// At shutdown: deliver what is queued.
	shutdown, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.Close(shutdown); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", m.Stats())
	// Output:
	// req-1 gpt-4o: 1000 tokens, 3250 micro-dollars
	// req-2 gpt-4o-mini: 60 tokens, 14 micro-dollars
	// {Recorded:2 Retried:0 Dropped:0 Failed:0 Queued:0}
}

func ExampleDefaultPrices() {
	prices := metering.DefaultPrices()
	fmt.Println("as of", prices.AsOf().Format(time.DateOnly))

	// A dated snapshot costs as its model: 800 plain input tokens at $2.50/M,
	// 200 cached at $1.25/M, 500 output at $10/M.
	cost, known := prices.Cost("gpt-4o-2024-08-06", metering.Usage{InputTokens: 1000, CachedInputTokens: 200, OutputTokens: 500})
	fmt.Println(cost, known)

	// The worst case to reserve: 10,000 input tokens at most, each at the
	// dearest input rate (a 1-hour cache write, $6/M), and max_tokens 1024
	// at $15/M.
	worst, _ := prices.MaxCost("claude-sonnet-4-5-20250929", 10_000, 1024)
	fmt.Println(worst)

	// A model without a price is refused for budgeted keys...
	fmt.Println(prices.CheckPriced("my-llama"))
	// ...unless it is given one, or the table a fallback.
	prices.Set("my-llama", metering.Price{Rates: metering.Rates{Input: 100_000, Output: 100_000}})
	fmt.Println(prices.CheckPriced("my-llama"))
	// Output:
	// as of 2025-11-01
	// 7250 true
	// 75360
	// metering: model has no price
	// <nil>
}

func ExampleMemoryLedger() {
	clock := meteringtest.NewClock(time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC))
	ledger, err := metering.NewMemoryLedger(&metering.MemoryLedgerOptions{Now: clock.Now})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	key := metering.Account{Kind: metering.AccountKey, ID: "key_2b9f", Limit: 5_000_000, Period: metering.PeriodDaily}      // $5 a day
	team := metering.Account{Kind: metering.AccountOwner, ID: "team-7", Limit: 100_000_000, Period: metering.PeriodMonthly} // $100 a month

	// Before forwarding: reserve the worst case against both budgets.
	id, err := ledger.Reserve(ctx, []metering.Account{key, team}, 4_000_000)
	if err != nil {
		panic(err)
	}
	// A second request does not fit in what is left of the key's day.
	_, err = ledger.Reserve(ctx, []metering.Account{key, team}, 2_000_000)
	var be *metering.BudgetError
	if errors.As(err, &be) {
		fmt.Println(err)
		fmt.Println("resets at", be.Reset.Format(time.RFC3339))
	}
	// After the response: charge the exact cost; a repeat charges nothing.
	ledger.Settle(ctx, id, 1_250_000)
	ledger.Settle(ctx, id, 1_250_000)

	b, _ := ledger.Balance(ctx, key)
	fmt.Println("key spent", b.Spent, "remaining", b.Remaining())
	b, _ = ledger.Balance(ctx, team)
	fmt.Println("team spent", b.Spent, "remaining", b.Remaining())
	// Output:
	// metering: budget exceeded: key daily budget has 1000000 micro-dollars left
	// resets at 2025-06-16T00:00:00Z
	// key spent 1250000 remaining 3750000
	// team spent 1250000 remaining 98750000
}
