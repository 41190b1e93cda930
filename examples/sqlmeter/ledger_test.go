package sqlmeter_test

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/examples/sqlmeter"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
)

func TestLedgerConformance(t *testing.T) {
	meteringtest.RunLedgerTests(t, func(t *testing.T, cfg meteringtest.LedgerConfig) metering.Ledger {
		return newLedger(t, openDB(t), &sqlmeter.LedgerOptions{TTL: cfg.TTL, Now: cfg.Now})
	})
}

func newLedger(t *testing.T, db *sql.DB, opts *sqlmeter.LedgerOptions) *sqlmeter.Ledger {
	t.Helper()
	l, err := sqlmeter.NewLedger(db, opts)
	if err != nil {
		t.Fatalf("NewLedger: got error %v; want nil", err)
	}
	return l
}

func TestNewLedgerNegativeTTL(t *testing.T) {
	if _, err := sqlmeter.NewLedger(openDB(t), &sqlmeter.LedgerOptions{TTL: -time.Second}); err == nil {
		t.Error("NewLedger with a negative TTL: got nil error; want an error")
	}
}

func TestLedgerForgetsOldReservations(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	clk := meteringtest.NewClock(time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC))
	const ttl = time.Minute
	l := newLedger(t, db, &sqlmeter.LedgerOptions{TTL: ttl, Now: clk.Now})
	a := []metering.Account{{Kind: metering.AccountKey, ID: "k1", Limit: 1000}}

	settled := mustReserve(t, l, a, 100)
	if err := l.Settle(ctx, settled, 40); err != nil {
		t.Fatalf("Settle: got error %v; want nil", err)
	}
	abandoned := mustReserve(t, l, a, 100) // never settled
	if got := count(t, db, "wicket_holds"); got != 1 {
		t.Errorf("holds while one reservation is open: got %d rows; want 1", got)
	}

	clk.Advance(2*ttl + time.Second)
	// Both records are past 2×TTL but not yet swept: a repeat is still
	// recognized, and neither charges.
	for _, id := range []string{settled, abandoned} {
		if err := l.Settle(ctx, id, 500); err != nil {
			t.Errorf("Settle(%s) after 2×TTL, before the sweep: got error %v; want nil", id, err)
		}
	}
	mustReserve(t, l, a, 100) // sweeps
	if got := count(t, db, "wicket_reservations"); got != 1 {
		t.Errorf("reservations after the sweep: got %d rows; want 1", got)
	}
	if got := count(t, db, "wicket_holds"); got != 1 {
		t.Errorf("holds after the sweep: got %d rows; want 1", got)
	}
	for _, id := range []string{settled, abandoned} {
		if err := l.Settle(ctx, id, 500); !errors.Is(err, metering.ErrUnknownReservation) {
			t.Errorf("Settle(%s) after the sweep: got error %v; want ErrUnknownReservation", id, err)
		}
	}
	b, err := l.Balance(ctx, a[0])
	if err != nil {
		t.Fatalf("Balance: got error %v; want nil", err)
	}
	if b.Spent != 40 || b.Reserved != 100 {
		t.Errorf("Balance: got spent %d, reserved %d; want spent 40, reserved 100", b.Spent, b.Reserved)
	}
}

func TestLedgerSaturates(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, openDB(t), nil)
	a := []metering.Account{{Kind: metering.AccountOwner, ID: "o1"}} // no limit
	// MaxCost saturates at math.MaxInt64 for absurd requests; sums of
	// such amounts must neither fail nor turn into floats.
	first := mustReserve(t, l, a, math.MaxInt64)
	second := mustReserve(t, l, a, math.MaxInt64)
	b, err := l.Balance(ctx, a[0])
	if err != nil {
		t.Fatalf("Balance: got error %v; want nil", err)
	}
	if b.Reserved != math.MaxInt64 {
		t.Errorf("Balance.Reserved: got %d; want math.MaxInt64", b.Reserved)
	}
	for _, id := range []string{first, second} {
		if err := l.Settle(ctx, id, math.MaxInt64-1); err != nil {
			t.Fatalf("Settle: got error %v; want nil", err)
		}
	}
	if b, err = l.Balance(ctx, a[0]); err != nil {
		t.Fatalf("Balance: got error %v; want nil", err)
	}
	if b.Spent != math.MaxInt64 || b.Reserved != 0 {
		t.Errorf("Balance: got spent %d, reserved %d; want spent math.MaxInt64, reserved 0", b.Spent, b.Reserved)
	}
}

// TestLedgerSharedByTwoHandles races two *sql.DB on one file, as two
// processes would: SQLite's file locks, _txlock=immediate and
// busy_timeout keep them from overspending or failing.
func TestLedgerSharedByTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	ledgers := []*sqlmeter.Ledger{
		newLedger(t, openFile(t, path), nil),
		newLedger(t, openFile(t, path), nil),
	}
	a := []metering.Account{{Kind: metering.AccountKey, ID: "shared", Limit: 50 * 1000, Period: metering.PeriodDaily}}
	const goroutines = 200
	var (
		wg       sync.WaitGroup
		admitted atomic.Int64
	)
	for g := range goroutines {
		wg.Go(func() {
			_, err := ledgers[g%2].Reserve(ctx, a, 1000)
			switch {
			case err == nil:
				admitted.Add(1)
			case !errors.Is(err, metering.ErrBudgetExceeded):
				t.Errorf("Reserve: got error %v; want nil or ErrBudgetExceeded", err)
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != 50 {
		t.Errorf("admitted %d reservations of 1000 against a budget of 50000; want 50", got)
	}
	for i, l := range ledgers {
		b, err := l.Balance(ctx, a[0])
		if err != nil {
			t.Fatalf("Balance through handle %d: got error %v; want nil", i, err)
		}
		if b.Reserved != 50*1000 {
			t.Errorf("Balance.Reserved through handle %d: got %d; want 50000", i, b.Reserved)
		}
	}
}

func mustReserve(t *testing.T, l *sqlmeter.Ledger, accounts []metering.Account, amount int64) string {
	t.Helper()
	id, err := l.Reserve(context.Background(), accounts, amount)
	if err != nil {
		t.Fatalf("Reserve(%d): got error %v; want nil", amount, err)
	}
	return id
}
