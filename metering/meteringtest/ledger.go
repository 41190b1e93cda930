package meteringtest

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/metering"
)

// LedgerConfig is what RunLedgerTests asks of each ledger it creates. The
// suite always sets both fields.
type LedgerConfig struct {
	// Now is the clock the ledger must read, instead of the system clock,
	// for periods and expiry. The suite moves it forward.
	Now func() time.Time
	// TTL is how long the ledger must let a reservation stay unsettled
	// before it expires.
	TTL time.Duration
}

// suiteTTL is the reservation TTL the ledger suite configures.
const suiteTTL = 10 * time.Minute

// RunLedgerTests checks that a metering.Ledger keeps the Ledger contract
// documented in package metering: atomic reservations across accounts that
// never overspend under concurrency, settlement that charges once, release,
// expiry of unsettled reservations, and periods aligned to the UTC
// calendar. newLedger returns a fresh, empty ledger that reads time from
// cfg.Now and expires reservations after cfg.TTL. Each subtest uses its own
// ledger and account IDs.
func RunLedgerTests(t *testing.T, newLedger func(t *testing.T, cfg LedgerConfig) metering.Ledger) {
	t.Helper()
	noon := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	setup := func(t *testing.T, start time.Time) (metering.Ledger, *Clock) {
		clk := NewClock(start)
		return newLedger(t, LedgerConfig{Now: clk.Now, TTL: suiteTTL}), clk
	}
	ctx := context.Background()

	t.Run("ReserveWithinLimit", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		reserve(t, l, 600, a)
		checkBalance(t, l, a, 0, 600)
		if got := balance(t, l, a).Remaining(); got != 400 {
			t.Errorf("Remaining: got %d; want 400", got)
		}
	})

	t.Run("ReserveUpToLimit", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		reserve(t, l, 400, a)
		reserve(t, l, 600, a)
		be := refused(t, l, 1, a)
		if be.Remaining != 0 {
			t.Errorf("BudgetError.Remaining: got %d; want 0", be.Remaining)
		}
		checkBalance(t, l, a, 0, 1000)
	})

	t.Run("ReserveOverLimit", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 1000, metering.PeriodDaily)
		be := refused(t, l, 1001, a)
		if be.Account != a {
			t.Errorf("BudgetError.Account: got %+v; want %+v", be.Account, a)
		}
		if be.Remaining != 1000 {
			t.Errorf("BudgetError.Remaining: got %d; want 1000", be.Remaining)
		}
		if want := time.Date(2025, 6, 16, 0, 0, 0, 0, time.UTC); !be.Reset.Equal(want) {
			t.Errorf("BudgetError.Reset: got %v; want %v", be.Reset, want)
		}
		checkBalance(t, l, a, 0, 0)
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		l, _ := setup(t, noon)
		k1 := key("k1", 10_000, metering.PeriodTotal)
		k2 := key("k2", 10_000, metering.PeriodTotal)
		o := owner("o1", 500, metering.PeriodTotal)
		reserve(t, l, 400, k2, o)
		be := refused(t, l, 200, k1, o)
		if be.Account != o {
			t.Errorf("BudgetError.Account: got %+v; want the owner %+v", be.Account, o)
		}
		checkBalance(t, l, k1, 0, 0) // nothing held on the key that could pay
		checkBalance(t, l, o, 0, 400)
		reserve(t, l, 100, k1, o)
		checkBalance(t, l, k1, 0, 100)
		checkBalance(t, l, o, 0, 500)
	})

	t.Run("FirstFailingAccountReported", func(t *testing.T) {
		l, _ := setup(t, noon)
		k := key("k1", 100, metering.PeriodMonthly)
		o := owner("o1", 50, metering.PeriodMonthly)
		be := refused(t, l, 200, k, o)
		if be.Account != k {
			t.Errorf("BudgetError.Account: got %+v; want the first account %+v", be.Account, k)
		}
		if want := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC); !be.Reset.Equal(want) {
			t.Errorf("BudgetError.Reset: got %v; want %v", be.Reset, want)
		}
	})

	t.Run("SettleChargesEveryAccount", func(t *testing.T) {
		l, _ := setup(t, noon)
		k := key("k1", 1000, metering.PeriodDaily)
		o := owner("o1", 5000, metering.PeriodMonthly)
		id := reserve(t, l, 500, k, o)
		settle(t, l, id, 120)
		checkBalance(t, l, k, 120, 0)
		checkBalance(t, l, o, 120, 0)
	})

	t.Run("SettleAboveReservation", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		id := reserve(t, l, 500, a)
		settle(t, l, id, 1500)
		checkBalance(t, l, a, 1500, 0)
		if be := refused(t, l, 1, a); be.Remaining != 0 {
			t.Errorf("BudgetError.Remaining after overspend: got %d; want 0", be.Remaining)
		}
		if got := balance(t, l, a).Remaining(); got != 0 {
			t.Errorf("Remaining after overspend: got %d; want 0", got)
		}
	})

	t.Run("SettleIdempotent", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		id := reserve(t, l, 500, a)
		settle(t, l, id, 300)
		settle(t, l, id, 300)
		settle(t, l, id, 900)
		if err := l.Release(ctx, id); err != nil {
			t.Fatalf("Release after Settle: got error %v; want nil", err)
		}
		checkBalance(t, l, a, 300, 0)
	})

	t.Run("ReleaseReturnsMoney", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		id := reserve(t, l, 1000, a)
		refused(t, l, 1, a)
		release(t, l, id)
		checkBalance(t, l, a, 0, 0)
		release(t, l, id)
		checkBalance(t, l, a, 0, 0)
		reserve(t, l, 1000, a)
		checkBalance(t, l, a, 0, 1000)
	})

	t.Run("SettleAfterReleaseChargesNothing", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		id := reserve(t, l, 500, a)
		release(t, l, id)
		settle(t, l, id, 500)
		checkBalance(t, l, a, 0, 0)
	})

	t.Run("UnknownReservation", func(t *testing.T) {
		l, _ := setup(t, noon)
		if err := l.Settle(ctx, "no-such-reservation", 1); !errors.Is(err, metering.ErrUnknownReservation) {
			t.Errorf("Settle(unknown): got error %v; want ErrUnknownReservation", err)
		}
		if err := l.Release(ctx, "no-such-reservation"); !errors.Is(err, metering.ErrUnknownReservation) {
			t.Errorf("Release(unknown): got error %v; want ErrUnknownReservation", err)
		}
	})

	t.Run("ReservationIDsUnique", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 0, metering.PeriodTotal)
		seen := make(map[string]bool)
		for range 200 {
			id := reserve(t, l, 1, a)
			if id == "" || seen[id] {
				t.Fatalf("Reserve returned ID %q, empty or seen before", id)
			}
			seen[id] = true
		}
	})

	t.Run("NoLimitTracksSpend", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 0, metering.PeriodMonthly)
		id := reserve(t, l, 1_000_000_000_000_000, a)
		settle(t, l, id, 42)
		checkBalance(t, l, a, 42, 0)
		if got := balance(t, l, a).Remaining(); got != math.MaxInt64 {
			t.Errorf("Remaining without a limit: got %d; want math.MaxInt64", got)
		}
	})

	t.Run("LimitFromEachCall", func(t *testing.T) {
		l, _ := setup(t, noon)
		id := reserve(t, l, 500, key("k1", 1000, metering.PeriodTotal))
		settle(t, l, id, 500)
		refused(t, l, 100, key("k1", 400, metering.PeriodTotal))
		reserve(t, l, 100, key("k1", 600, metering.PeriodTotal))
	})

	t.Run("ZeroAmount", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		id := reserve(t, l, 0, a)
		settle(t, l, id, 0)
		checkBalance(t, l, a, 0, 0)
	})

	t.Run("PeriodsAreSeparateAccounts", func(t *testing.T) {
		l, _ := setup(t, noon)
		daily := key("k1", 100, metering.PeriodDaily)
		monthly := key("k1", 1000, metering.PeriodMonthly)
		id := reserve(t, l, 80, daily, monthly)
		settle(t, l, id, 80)
		if be := refused(t, l, 30, daily, monthly); be.Account != daily {
			t.Errorf("BudgetError.Account: got %+v; want the daily account", be.Account)
		}
		checkBalance(t, l, daily, 80, 0)
		checkBalance(t, l, monthly, 80, 0)
		checkBalance(t, l, key("k1", 0, metering.PeriodTotal), 0, 0)
		checkBalance(t, l, owner("k1", 0, metering.PeriodDaily), 0, 0)
	})

	t.Run("InvalidArguments", func(t *testing.T) {
		l, _ := setup(t, noon)
		good := key("k1", 1000, metering.PeriodTotal)
		for _, tc := range []struct {
			name     string
			accounts []metering.Account
			amount   int64
		}{
			{"no accounts", nil, 1},
			{"negative amount", []metering.Account{good}, -1},
			{"empty kind", []metering.Account{{ID: "k1", Limit: 10}}, 1},
			{"empty ID", []metering.Account{{Kind: metering.AccountKey, Limit: 10}}, 1},
			{"negative limit", []metering.Account{key("k1", -1, metering.PeriodTotal)}, 1},
			{"unknown period", []metering.Account{key("k1", 10, metering.Period(200))}, 1},
			{"account twice", []metering.Account{good, good}, 1},
		} {
			if id, err := l.Reserve(ctx, tc.accounts, tc.amount); err == nil {
				t.Errorf("Reserve with %s: got ID %q and nil error; want an error", tc.name, id)
			}
		}
		checkBalance(t, l, good, 0, 0)
		id := reserve(t, l, 10, good)
		if err := l.Settle(ctx, id, -1); err == nil {
			t.Errorf("Settle with a negative cost: got nil error; want an error")
		}
		checkBalance(t, l, good, 0, 10)
	})

	t.Run("BalanceOfUnknownAccount", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := owner("nobody", 500, metering.PeriodDaily)
		b := balance(t, l, a)
		wantStart, wantEnd := metering.PeriodDaily.Bounds(noon)
		if b.Spent != 0 || b.Reserved != 0 || !b.Start.Equal(wantStart) || !b.End.Equal(wantEnd) {
			t.Errorf("Balance: got %+v; want zero spend in [%v, %v)", b, wantStart, wantEnd)
		}
		if b.Account != a {
			t.Errorf("Balance.Account: got %+v; want %+v", b.Account, a)
		}
		if got := b.Remaining(); got != 500 {
			t.Errorf("Remaining: got %d; want 500", got)
		}
	})

	t.Run("ReservationExpires", func(t *testing.T) {
		l, clk := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		reserve(t, l, 1000, a)
		clk.Advance(suiteTTL - time.Second)
		refused(t, l, 1, a)
		checkBalance(t, l, a, 0, 1000)
		clk.Advance(2 * time.Second)
		checkBalance(t, l, a, 0, 0)
		reserve(t, l, 1000, a)
	})

	t.Run("LateSettleAfterExpiryCharges", func(t *testing.T) {
		l, clk := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		id := reserve(t, l, 500, a)
		clk.Advance(suiteTTL + time.Minute)
		checkBalance(t, l, a, 0, 0)
		settle(t, l, id, 300)
		settle(t, l, id, 300)
		checkBalance(t, l, a, 300, 0)
	})

	t.Run("ReleaseAfterExpiry", func(t *testing.T) {
		l, clk := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		id := reserve(t, l, 500, a)
		clk.Advance(suiteTTL + time.Minute)
		release(t, l, id)
		settle(t, l, id, 300)
		checkBalance(t, l, a, 0, 0)
	})

	t.Run("DailyRollover", func(t *testing.T) {
		l, clk := setup(t, time.Date(2025, 3, 10, 23, 0, 0, 0, time.UTC))
		a := key("k1", 1000, metering.PeriodDaily)
		settle(t, l, reserve(t, l, 1000, a), 1000)
		be := refused(t, l, 1, a)
		if want := time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC); !be.Reset.Equal(want) {
			t.Errorf("BudgetError.Reset: got %v; want %v", be.Reset, want)
		}
		clk.Advance(time.Hour)
		reserve(t, l, 1000, a)
		b := balance(t, l, a)
		if want := time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC); !b.Start.Equal(want) || b.Spent != 0 || b.Reserved != 1000 {
			t.Errorf("Balance on the next day: got %+v; want start %v, spent 0, reserved 1000", b, want)
		}
	})

	t.Run("MonthlyRollover", func(t *testing.T) {
		l, clk := setup(t, time.Date(2025, 1, 31, 23, 59, 0, 0, time.UTC))
		a := owner("o1", 1000, metering.PeriodMonthly)
		settle(t, l, reserve(t, l, 900, a), 900)
		refused(t, l, 200, a)
		clk.Advance(2 * time.Minute)
		b := balance(t, l, a)
		wantStart, wantEnd := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		if !b.Start.Equal(wantStart) || !b.End.Equal(wantEnd) || b.Spent != 0 {
			t.Errorf("Balance in February: got %+v; want [%v, %v) with no spend", b, wantStart, wantEnd)
		}
		reserve(t, l, 1000, a)
	})

	t.Run("WeeklyRollover", func(t *testing.T) {
		// Sunday 2025-03-16 23:30 UTC: the week began on Monday the 10th.
		l, clk := setup(t, time.Date(2025, 3, 16, 23, 30, 0, 0, time.UTC))
		a := key("k1", 1000, metering.PeriodWeekly)
		settle(t, l, reserve(t, l, 700, a), 700)
		b := balance(t, l, a)
		if ws, we := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 17, 0, 0, 0, 0, time.UTC); !b.Start.Equal(ws) || !b.End.Equal(we) || b.Spent != 700 {
			t.Errorf("Balance on Sunday: got %+v; want [%v, %v) with 700 spent", b, ws, we)
		}
		be := refused(t, l, 400, a)
		if want := time.Date(2025, 3, 17, 0, 0, 0, 0, time.UTC); !be.Reset.Equal(want) {
			t.Errorf("BudgetError.Reset: got %v; want Monday %v", be.Reset, want)
		}
		clk.Advance(time.Hour) // Monday 00:30
		reserve(t, l, 1000, a)
		b = balance(t, l, a)
		if want := time.Date(2025, 3, 17, 0, 0, 0, 0, time.UTC); !b.Start.Equal(want) || b.Spent != 0 || b.Reserved != 1000 {
			t.Errorf("Balance on Monday: got %+v; want start %v, spent 0, reserved 1000", b, want)
		}
	})

	t.Run("TotalNeverResets", func(t *testing.T) {
		l, clk := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		settle(t, l, reserve(t, l, 700, a), 700)
		clk.Advance(400 * 24 * time.Hour)
		checkBalance(t, l, a, 700, 0)
		refused(t, l, 301, a)
	})

	t.Run("SettleIntoReservationPeriod", func(t *testing.T) {
		// A reservation made before midnight is paid from that day's
		// budget: it neither holds nor charges the next day's.
		l, clk := setup(t, time.Date(2025, 3, 10, 23, 59, 0, 0, time.UTC))
		daily := key("k1", 1000, metering.PeriodDaily)
		total := key("k1", 0, metering.PeriodTotal)
		late := reserve(t, l, 800, daily, total)
		clk.Advance(2 * time.Minute)
		checkBalance(t, l, daily, 0, 0)
		next := reserve(t, l, 1000, daily)
		settle(t, l, late, 700)
		checkBalance(t, l, daily, 0, 1000)
		checkBalance(t, l, total, 700, 0)
		settle(t, l, next, 600)
		checkBalance(t, l, daily, 600, 0)
	})

	t.Run("ConcurrentReserveNeverOverspends", func(t *testing.T) {
		l, _ := setup(t, noon)
		k := key("k1", 1_000_000, metering.PeriodDaily)
		o := owner("o1", 2_000_000, metering.PeriodMonthly)
		const goroutines, amount = 1000, 10_000
		var (
			start    = make(chan struct{})
			wg       sync.WaitGroup
			admitted atomic.Int64
			mu       sync.Mutex
			ids      []string
			errs     []error
		)
		for range goroutines {
			wg.Go(func() {
				<-start
				id, err := l.Reserve(ctx, []metering.Account{k, o}, amount)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if !errors.Is(err, metering.ErrBudgetExceeded) {
						errs = append(errs, err)
					}
					return
				}
				admitted.Add(1)
				ids = append(ids, id)
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			t.Errorf("Reserve: got error %v; want nil or ErrBudgetExceeded", err)
		}
		if got := admitted.Load(); got > 100 {
			t.Fatalf("admitted %d reservations of %d against a budget of %d; want at most 100 (overspend)", got, amount, k.Limit)
		} else if got != 100 {
			t.Errorf("admitted %d reservations; want exactly 100 (spurious refusals)", got)
		}
		checkBalance(t, l, k, 0, admitted.Load()*amount)
		for _, id := range ids {
			wg.Go(func() {
				if err := l.Settle(ctx, id, 9_000); err != nil {
					t.Errorf("Settle: got error %v; want nil", err)
				}
			})
		}
		wg.Wait()
		checkBalance(t, l, k, admitted.Load()*9_000, 0)
		checkBalance(t, l, o, admitted.Load()*9_000, 0)
	})

	t.Run("ConcurrentSettleChargesOnce", func(t *testing.T) {
		l, _ := setup(t, noon)
		a := key("k1", 1000, metering.PeriodTotal)
		id := reserve(t, l, 1000, a)
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if err := l.Settle(ctx, id, 700); err != nil {
					t.Errorf("Settle: got error %v; want nil", err)
				}
			})
		}
		wg.Wait()
		checkBalance(t, l, a, 700, 0)
	})

	t.Run("ConcurrentMixed", func(t *testing.T) {
		l, _ := setup(t, noon)
		o := owner("o1", 100_000, metering.PeriodDaily)
		var (
			wg      sync.WaitGroup
			charged atomic.Int64
		)
		for g := range 50 {
			k := key("k"+strconv.Itoa(g%5), 30_000, metering.PeriodDaily)
			wg.Go(func() {
				for i := range 20 {
					id, err := l.Reserve(ctx, []metering.Account{k, o}, 1_000)
					if errors.Is(err, metering.ErrBudgetExceeded) {
						continue
					}
					if err != nil {
						t.Errorf("Reserve: got error %v; want nil or ErrBudgetExceeded", err)
						return
					}
					if i%3 == 0 {
						err = l.Release(ctx, id)
					} else {
						cost := int64(100 * (i%10 + 1))
						if err = l.Settle(ctx, id, cost); err == nil {
							charged.Add(cost)
						}
					}
					if err != nil {
						t.Errorf("Settle or Release: got error %v; want nil", err)
					}
				}
			})
		}
		wg.Wait()
		b := balance(t, l, o)
		if b.Spent != charged.Load() || b.Reserved != 0 {
			t.Errorf("owner Balance: got spent %d, reserved %d; want spent %d, reserved 0", b.Spent, b.Reserved, charged.Load())
		}
		if b.Spent > o.Limit {
			t.Errorf("owner spent %d; want at most its limit %d", b.Spent, o.Limit)
		}
	})
}

func key(id string, limit int64, p metering.Period) metering.Account {
	return metering.Account{Kind: metering.AccountKey, ID: id, Limit: limit, Period: p}
}

func owner(id string, limit int64, p metering.Period) metering.Account {
	return metering.Account{Kind: metering.AccountOwner, ID: id, Limit: limit, Period: p}
}

func reserve(t *testing.T, l metering.Ledger, amount int64, accounts ...metering.Account) string {
	t.Helper()
	id, err := l.Reserve(context.Background(), accounts, amount)
	if err != nil {
		t.Fatalf("Reserve(%d): got error %v; want nil", amount, err)
	}
	return id
}

// refused checks that reserving amount fails with a *BudgetError and
// returns it.
func refused(t *testing.T, l metering.Ledger, amount int64, accounts ...metering.Account) *metering.BudgetError {
	t.Helper()
	id, err := l.Reserve(context.Background(), accounts, amount)
	if err == nil {
		t.Fatalf("Reserve(%d): got ID %q and nil error; want ErrBudgetExceeded", amount, id)
	}
	if !errors.Is(err, metering.ErrBudgetExceeded) {
		t.Fatalf("Reserve(%d): got error %v; want ErrBudgetExceeded", amount, err)
	}
	var be *metering.BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("Reserve(%d): got error %v of type %T; want a *metering.BudgetError", amount, err, err)
	}
	return be
}

func settle(t *testing.T, l metering.Ledger, id string, cost int64) {
	t.Helper()
	if err := l.Settle(context.Background(), id, cost); err != nil {
		t.Fatalf("Settle(%q, %d): got error %v; want nil", id, cost, err)
	}
}

func release(t *testing.T, l metering.Ledger, id string) {
	t.Helper()
	if err := l.Release(context.Background(), id); err != nil {
		t.Fatalf("Release(%q): got error %v; want nil", id, err)
	}
}

func balance(t *testing.T, l metering.Ledger, a metering.Account) metering.Balance {
	t.Helper()
	b, err := l.Balance(context.Background(), a)
	if err != nil {
		t.Fatalf("Balance(%+v): got error %v; want nil", a, err)
	}
	return b
}

func checkBalance(t *testing.T, l metering.Ledger, a metering.Account, spent, reserved int64) {
	t.Helper()
	b := balance(t, l, a)
	if b.Spent != spent || b.Reserved != reserved {
		t.Errorf("Balance(%s %s %s): got spent %d, reserved %d; want spent %d, reserved %d",
			a.Kind, a.ID, a.Period, b.Spent, b.Reserved, spent, reserved)
	}
}
