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

func TestMemoryLedgerEraseAccounts(t *testing.T) {
	l, err := metering.NewMemoryLedger(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	key := metering.Account{Kind: metering.AccountKey, ID: "k1", Limit: 100, Period: metering.PeriodTotal}
	keyMonthly := metering.Account{Kind: metering.AccountKey, ID: "k1", Period: metering.PeriodMonthly}
	other := metering.Account{Kind: metering.AccountKey, ID: "k2", Period: metering.PeriodTotal}
	owner := metering.Account{Kind: metering.AccountOwner, ID: "k1", Period: metering.PeriodTotal} // same ID, other kind
	for _, accts := range [][]metering.Account{{key, owner}, {keyMonthly}, {other}} {
		id, err := l.Reserve(ctx, accts, 10)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Settle(ctx, id, 10); err != nil {
			t.Fatal(err)
		}
	}
	inFlight, err := l.Reserve(ctx, []metering.Account{key}, 5)
	if err != nil {
		t.Fatal(err)
	}
	n, err := l.EraseAccounts(ctx, []metering.Account{{Kind: metering.AccountKey, ID: "k1"}, {Kind: metering.AccountKey, ID: "never"}})
	if err != nil || n != 1 {
		t.Fatalf("EraseAccounts = %d, %v; want 1 (k1, every period)", n, err)
	}
	for _, a := range []metering.Account{key, keyMonthly} {
		if bal, _ := l.Balance(ctx, a); bal.Spent != 0 || bal.Reserved != 0 {
			t.Errorf("%+v after erasure: %+v; want nothing", a, bal)
		}
	}
	for _, a := range []metering.Account{other, owner} {
		if bal, _ := l.Balance(ctx, a); bal.Spent != 10 {
			t.Errorf("%+v: spent %d; want 10, untouched", a, bal.Spent)
		}
	}
	if err := l.Settle(ctx, inFlight, 5); err != nil {
		t.Errorf("settling a reservation of an erased account: %v", err)
	}
	if bal, _ := l.Balance(ctx, key); bal.Spent != 0 {
		t.Errorf("the erased account was charged again: %+v", bal)
	}
}
