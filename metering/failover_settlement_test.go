package metering_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/metering"
)

// settlingLedger is a flakyLedger that hands out its settlements.
type settlingLedger struct{ *flakyLedger }

type ledgerSettlement struct {
	l    *settlingLedger
	id   string
	cost int64
}

func (s *ledgerSettlement) Run(ctx context.Context) error {
	if s.cost > 0 {
		return s.l.Settle(ctx, s.id, s.cost)
	}
	return s.l.Release(ctx, s.id)
}

func (l *settlingLedger) Settlement(id string, cost int64) metering.Settlement {
	return &ledgerSettlement{l: l, id: id, cost: cost}
}

// unwrapper is what a carrier looks for in a FailoverLedger's settlement.
type unwrapper interface {
	Unwrap() metering.Settlement
	Report(error) error
}

// FailoverLedger's settlements: the shared ledger's own one, unwrappable
// by a carrier, its failures counted as Settle's are (an unknown
// reservation is not one); a local reservation's settles locally.
func TestFailoverLedgerSettlement(t *testing.T) {
	ctx := context.Background()
	shared := &settlingLedger{newFlakyLedger(t)}
	var told []string
	f, err := metering.NewFailoverLedger(shared, &metering.FailoverLedgerOptions{Mode: metering.FailOpen,
		OnFallback: func(op string, _ metering.FailMode) { told = append(told, op) }})
	if err != nil {
		t.Fatal(err)
	}
	acct := metering.Account{Kind: metering.AccountKey, ID: "k", Limit: 100, Period: metering.PeriodTotal}
	id, err := f.Reserve(ctx, []metering.Account{acct}, 40)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Settlement(id, 30)
	u, ok := s.(unwrapper)
	if !ok {
		t.Fatalf("settlement of a shared reservation is %T; want one a carrier can unwrap", s)
	}
	if _, ok := u.Unwrap().(*ledgerSettlement); !ok {
		t.Fatalf("Unwrap gave %T; want the shared ledger's own settlement", u.Unwrap())
	}
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := f.Balance(ctx, acct); b.Spent != 30 || b.Reserved != 0 {
		t.Errorf("after the settlement: spent %d, reserved %d; want 30, 0", b.Spent, b.Reserved)
	}
	if err := u.Report(metering.ErrUnknownReservation); !errors.Is(err, metering.ErrUnknownReservation) || len(told) != 0 {
		t.Errorf("an unknown reservation reported: %v, told %v; want it returned, no fallback", err, told)
	}
	if err := u.Report(errLedgerDown); !errors.Is(err, errLedgerDown) || f.Fallbacks() != 1 || len(told) != 1 || told[0] != "settle" {
		t.Errorf("a failure reported: %v, fallbacks %d, told %v; want it returned and counted as a settle", err, f.Fallbacks(), told)
	}

	// A reservation made locally while the shared ledger was down settles
	// locally, shared back up or not.
	shared.down.Store(true)
	lid, err := f.Reserve(ctx, []metering.Account{acct}, 20)
	if err != nil {
		t.Fatal(err)
	}
	shared.down.Store(false)
	ls := f.Settlement(lid, 0)
	if _, ok := ls.(unwrapper); ok {
		t.Error("a local reservation's settlement can be unwrapped; want it settled locally only")
	}
	if err := ls.Run(ctx); err != nil {
		t.Fatalf("releasing the local reservation: %v", err)
	}
	if shared.Ledger.(interface {
		Release(context.Context, string) error
	}).Release(ctx, lid) == nil {
		t.Error("the shared ledger knows the local reservation's ID")
	}

	// A shared ledger without settlements: Settle or Release through the
	// failover.
	plain, _ := metering.NewFailoverLedger(newFlakyLedger(t), nil)
	pid, err := plain.Reserve(ctx, []metering.Account{acct}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.Settlement(pid, 5).(unwrapper); ok {
		t.Error("settlement of a ledger without settlements can be unwrapped")
	}
	if err := plain.Settlement(pid, 5).Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// countingLedger is a flakyLedger counting the reservations it is asked for.
type countingLedger struct {
	*flakyLedger
	reserves atomic.Int64
}

func (c *countingLedger) Reserve(ctx context.Context, accounts []metering.Account, amount int64) (string, error) {
	c.reserves.Add(1)
	return c.flakyLedger.Reserve(ctx, accounts, amount)
}

// After three failed reservations in a row the shared ledger is held off:
// Reserve fails closed at once (counted) until the hold ends; settlements
// are still sent.
func TestFailoverLedgerBreaker(t *testing.T) {
	ctx := context.Background()
	shared := &countingLedger{flakyLedger: newFlakyLedger(t)}
	var mu sync.Mutex
	clock := time.Unix(1e9, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	f, err := metering.NewFailoverLedger(shared, &metering.FailoverLedgerOptions{Hold: time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	acct := metering.Account{Kind: metering.AccountKey, ID: "k", Limit: 1000, Period: metering.PeriodTotal}
	id, err := f.Reserve(ctx, []metering.Account{acct}, 10)
	if err != nil {
		t.Fatal(err)
	}
	shared.down.Store(true)
	for i := range 6 {
		_, err := f.Reserve(ctx, []metering.Account{acct}, 10)
		if i >= 3 && !errors.Is(err, metering.ErrLedgerUnavailable) {
			t.Fatalf("reserve %d while held off: %v; want ErrLedgerUnavailable", i+1, err)
		}
	}
	if n := shared.reserves.Load(); n != 4 {
		t.Errorf("reservations reaching the shared ledger: %d; want 4 (1 before, 3 failing, then held off)", n)
	}
	if n := f.Fallbacks(); n != 6 {
		t.Errorf("fallbacks: %d; want 6", n)
	}
	shared.down.Store(false)
	if err := f.Settle(ctx, id, 5); err != nil { // sent though held off: money spent
		t.Fatalf("settle while held off: %v", err)
	}
	// A successful settlement closes the breaker.
	if _, err := f.Reserve(ctx, []metering.Account{acct}, 10); err != nil {
		t.Errorf("reserve after a successful settlement: %v", err)
	}
}
