package metering_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
)

var errLedgerDown = errors.New("ledger unreachable")

// flakyLedger is a Ledger that fails every operation while down.
type flakyLedger struct {
	metering.Ledger
	down atomic.Bool
}

func (f *flakyLedger) Reserve(ctx context.Context, accounts []metering.Account, amount int64) (string, error) {
	if f.down.Load() {
		return "", errLedgerDown
	}
	return f.Ledger.Reserve(ctx, accounts, amount)
}

func (f *flakyLedger) Settle(ctx context.Context, id string, cost int64) error {
	if f.down.Load() {
		return errLedgerDown
	}
	return f.Ledger.Settle(ctx, id, cost)
}

func (f *flakyLedger) Release(ctx context.Context, id string) error {
	if f.down.Load() {
		return errLedgerDown
	}
	return f.Ledger.Release(ctx, id)
}

func (f *flakyLedger) Balance(ctx context.Context, a metering.Account) (metering.Balance, error) {
	if f.down.Load() {
		return metering.Balance{}, errLedgerDown
	}
	return f.Ledger.Balance(ctx, a)
}

func newFlakyLedger(t *testing.T) *flakyLedger {
	m, err := metering.NewMemoryLedger(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &flakyLedger{Ledger: m}
}

// A healthy shared ledger behind the failover passes the ledger suite.
func TestFailoverLedgerConformance(t *testing.T) {
	meteringtest.RunLedgerTests(t, func(t *testing.T, cfg meteringtest.LedgerConfig) metering.Ledger {
		m, err := metering.NewMemoryLedger(&metering.MemoryLedgerOptions{Now: cfg.Now, TTL: cfg.TTL})
		if err != nil {
			t.Fatal(err)
		}
		f, err := metering.NewFailoverLedger(m, &metering.FailoverLedgerOptions{Mode: metering.FailOpen})
		if err != nil {
			t.Fatal(err)
		}
		return f
	})
}

func TestFailoverLedgerClosed(t *testing.T) {
	shared := newFlakyLedger(t)
	f, err := metering.NewFailoverLedger(shared, nil)
	if err != nil {
		t.Fatal(err)
	}
	acct := []metering.Account{{Kind: metering.AccountKey, ID: "k", Limit: 100, Period: metering.PeriodTotal}}
	if _, err := f.Reserve(t.Context(), acct, 150); !errors.Is(err, metering.ErrBudgetExceeded) || f.Fallbacks() != 0 {
		t.Errorf("a budget refusal: %v, %d fallbacks; want the refusal, not counted as a failure", err, f.Fallbacks())
	}
	shared.down.Store(true)
	if _, err := f.Reserve(t.Context(), acct, 10); !errors.Is(err, errLedgerDown) || f.Fallbacks() != 1 || f.Mode() != metering.FailClosed {
		t.Errorf("Reserve while down: %v, %d fallbacks, mode %v; want the error (fail closed by default)", err, f.Fallbacks(), f.Mode())
	}
}

func TestFailoverLedgerOpen(t *testing.T) {
	shared := newFlakyLedger(t)
	var ops []string
	f, err := metering.NewFailoverLedger(shared, &metering.FailoverLedgerOptions{Mode: metering.FailOpen,
		OnFallback: func(op string, mode metering.FailMode) { ops = append(ops, op+"/"+mode.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	a := metering.Account{Kind: metering.AccountKey, ID: "k", Limit: 100, Period: metering.PeriodTotal}
	shared.down.Store(true)
	id, err := f.Reserve(ctx, []metering.Account{a}, 60)
	if err != nil || !strings.HasPrefix(id, "local:") {
		t.Fatalf("Reserve while down: %q, %v; want a local reservation", id, err)
	}
	// The budget still holds, locally.
	if _, err := f.Reserve(ctx, []metering.Account{a}, 60); !errors.Is(err, metering.ErrBudgetExceeded) {
		t.Errorf("a second 60 of 100: %v; want the local budget refusal", err)
	}
	shared.down.Store(false) // settling goes to the ledger that holds the reservation
	if err := f.Settle(ctx, id, 40); err != nil {
		t.Fatal(err)
	}
	if bal, _ := shared.Balance(ctx, a); bal.Spent != 0 {
		t.Errorf("the shared ledger was charged a local reservation: %+v", bal)
	}
	id2, err := f.Reserve(ctx, []metering.Account{a}, 60)
	if err != nil || strings.HasPrefix(id2, "local:") {
		t.Fatalf("Reserve once the shared ledger is back: %q, %v; want a shared reservation", id2, err)
	}
	if err := f.Release(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if want := []string{"reserve/open", "reserve/open"}; strings.Join(ops, ",") != strings.Join(want, ",") || f.Fallbacks() != 2 {
		t.Errorf("fallbacks %v (%d); want %v", ops, f.Fallbacks(), want)
	}
}
