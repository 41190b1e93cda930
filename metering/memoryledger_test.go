package metering_test

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
)

func TestMemoryLedgerConformance(t *testing.T) {
	meteringtest.RunLedgerTests(t, func(t *testing.T, cfg meteringtest.LedgerConfig) metering.Ledger {
		l, err := metering.NewMemoryLedger(&metering.MemoryLedgerOptions{TTL: cfg.TTL, Now: cfg.Now})
		if err != nil {
			t.Fatalf("NewMemoryLedger: %v", err)
		}
		return l
	})
}

func TestMemoryLedgerZeroValue(t *testing.T) {
	var l metering.MemoryLedger
	ctx := context.Background()
	a := metering.Account{Kind: metering.AccountKey, ID: "k1", Limit: 100}
	id, err := l.Reserve(ctx, []metering.Account{a}, 60)
	if err != nil {
		t.Fatalf("Reserve: got error %v; want nil", err)
	}
	if err := l.Settle(ctx, id, 50); err != nil {
		t.Fatalf("Settle: got error %v; want nil", err)
	}
	if b, err := l.Balance(ctx, a); err != nil || b.Spent != 50 || b.Remaining() != 50 {
		t.Errorf("Balance: got %+v, %v; want spent 50, remaining 50", b, err)
	}
}

func TestNewMemoryLedgerRejectsNegativeTTL(t *testing.T) {
	if _, err := metering.NewMemoryLedger(&metering.MemoryLedgerOptions{TTL: -1}); err == nil {
		t.Error("NewMemoryLedger with a negative TTL: got nil error; want an error")
	}
	if _, err := metering.NewMemoryLedger(nil); err != nil {
		t.Errorf("NewMemoryLedger(nil): got error %v; want nil", err)
	}
}

func TestBudgetErrorMessage(t *testing.T) {
	err := &metering.BudgetError{
		Account:   metering.Account{Kind: metering.AccountOwner, ID: "alice@example.com", Limit: 10, Period: metering.PeriodDaily},
		Remaining: 3,
	}
	const want = "metering: budget exceeded: owner daily budget has 3 micro-dollars left"
	if got := err.Error(); got != want {
		t.Errorf("Error: got %q; want %q", got, want)
	}
}

func BenchmarkLedgerReserveSettle(b *testing.B) {
	l, _ := metering.NewMemoryLedger(nil)
	ctx := context.Background()
	accounts := []metering.Account{
		{Kind: metering.AccountKey, ID: "key_2b9f", Limit: 1 << 60, Period: metering.PeriodDaily},
		{Kind: metering.AccountOwner, ID: "team-7", Limit: 1 << 60, Period: metering.PeriodMonthly},
	}
	b.ReportAllocs()
	for b.Loop() {
		id, err := l.Reserve(ctx, accounts, 5_000)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Settle(ctx, id, 4_000); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLedgerReserveSettleParallel(b *testing.B) {
	l, _ := metering.NewMemoryLedger(nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			accounts := []metering.Account{
				{Kind: metering.AccountKey, ID: "key-" + strconv.Itoa(i%64), Limit: 1 << 60, Period: metering.PeriodDaily},
				{Kind: metering.AccountOwner, ID: "team-7", Limit: 1 << 60, Period: metering.PeriodMonthly},
			}
			id, err := l.Reserve(ctx, accounts, 5_000)
			if err != nil {
				b.Error(err)
				return
			}
			if err := l.Settle(ctx, id, 4_000); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestMemoryLedgerRefusesOverflow(t *testing.T) {
	l, err := metering.NewMemoryLedger(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	uncapped := metering.Account{Kind: metering.AccountKey, ID: "k", Period: metering.PeriodMonthly}
	id, err := l.Reserve(ctx, []metering.Account{uncapped}, math.MaxInt64-10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve(ctx, []metering.Account{uncapped}, 11); err == nil {
		t.Fatal("a reservation that overflows an uncapped account was admitted")
	}
	if err := l.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	bal, _ := l.Balance(ctx, uncapped)
	if bal.Reserved != 0 {
		t.Errorf("reserved after release: %d; want 0", bal.Reserved)
	}
	// A budget set later sees nothing left over from the overflow attempt.
	capped := uncapped
	capped.Limit = 100
	if _, err := l.Reserve(ctx, []metering.Account{capped}, 101); err == nil {
		t.Error("a capped account admitted more than its limit")
	}
}
