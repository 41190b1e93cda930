package metering

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/internal/breaker"
)

// FailMode says what budgets do when the shared Ledger fails (errors or
// times out).
type FailMode uint8

// Fail modes.
const (
	// FailClosed refuses: the ledger's error reaches the gateway, which
	// answers 503 in the client's dialect. The zero FailMode: a budget is
	// money, and is not spent blind.
	FailClosed FailMode = iota
	// FailOpen reserves against a local, in-process ledger while the
	// shared one fails: each replica then holds every budget on its own,
	// from zero, so a fleet of N replicas may spend up to N times a budget
	// on top of what the shared ledger had recorded.
	FailOpen
)

// String returns "closed" or "open".
func (m FailMode) String() string {
	if m == FailOpen {
		return "open"
	}
	return "closed"
}

// FailoverLedgerOptions configures NewFailoverLedger.
type FailoverLedgerOptions struct {
	// Mode is the fail mode. The zero value fails closed.
	Mode FailMode
	// Local is the ledger used while the shared one fails, with FailOpen.
	// Nil means a new MemoryLedger with its defaults.
	Local Ledger
	// OnFallback, if set, is told of each operation the shared ledger
	// failed ("reserve", "settle", "release", "balance") and the mode
	// applied. It runs on the request's goroutine: keep it quick.
	OnFallback func(op string, mode FailMode)
	// TripAfter and Hold make a circuit breaker for reservations and
	// balances: after TripAfter failures of the shared ledger in a row, it
	// is not asked for Hold, and each Reserve applies the fail mode at once
	// (counted and told as any fallback), so that an outage does not cost
	// each request a time-out. Settlements and releases are always sent:
	// they are money already spent. Zero values mean 3 and 1 second; a
	// negative Hold disables the breaker.
	TripAfter int
	Hold      time.Duration
	// Now is the breaker's clock. Nil means time.Now.
	Now func() time.Time
}

// ErrLedgerUnavailable is returned by a FailoverLedger failing closed while
// its breaker holds the shared ledger off.
var ErrLedgerUnavailable = errors.New("metering: shared ledger unavailable")

// localPrefix starts the IDs of reservations the local ledger holds.
const localPrefix = "local:"

// FailoverLedger is a Ledger in front of a shared one that applies a fail
// mode when the shared one fails; see NewFailoverLedger.
type FailoverLedger struct {
	shared, local Ledger
	br            *breaker.Breaker
	mode          FailMode
	onFallback    func(string, FailMode)
	fallbacks     atomic.Uint64
}

var _ Ledger = (*FailoverLedger)(nil)

// NewFailoverLedger returns shared behind a fail mode: with FailClosed a
// failure of shared is returned as it is (a budget refusal, a
// *BudgetError, is not a failure); with FailOpen a reservation that shared
// cannot make is made on the local ledger, and its settlement or release
// goes there too (its ID says so). Every failure is counted (Fallbacks)
// and told to OnFallback.
func NewFailoverLedger(shared Ledger, opts *FailoverLedgerOptions) (*FailoverLedger, error) {
	if shared == nil {
		return nil, errors.New("metering: new failover ledger: nil shared ledger")
	}
	var o FailoverLedgerOptions
	if opts != nil {
		o = *opts
	}
	if o.Mode > FailOpen {
		return nil, errors.New("metering: new failover ledger: unknown FailoverLedgerOptions.Mode")
	}
	if o.Local == nil {
		m, err := NewMemoryLedger(nil)
		if err != nil {
			return nil, err
		}
		o.Local = m
	}
	if o.TripAfter < 0 {
		return nil, errors.New("metering: new failover ledger: FailoverLedgerOptions.TripAfter is negative")
	}
	return &FailoverLedger{shared: shared, local: o.Local, mode: o.Mode, onFallback: o.OnFallback,
		br: breaker.New(o.TripAfter, o.Hold, o.Now)}, nil
}

// Mode returns the fail mode in force.
func (f *FailoverLedger) Mode() FailMode { return f.mode }

// Fallbacks returns how many operations the shared ledger failed.
func (f *FailoverLedger) Fallbacks() uint64 { return f.fallbacks.Load() }

// ended counts and tells a failed settlement or release of the shared
// ledger (an unknown reservation is not one), tells the breaker how it
// went, and returns err.
func (f *FailoverLedger) ended(ctx context.Context, op string, err error) error {
	if err != nil && !errors.Is(err, ErrUnknownReservation) {
		if ctx.Err() == nil {
			f.br.Failure()
		}
		f.failed(op)
	} else {
		f.br.Success()
	}
	return err
}

// record tells the breaker how a call to the shared ledger went; a budget
// refusal is an answer, not a failure.
//
// A call cut short by its caller's context (a client that went away) says
// nothing about the ledger, and is not counted.
func (f *FailoverLedger) record(ctx context.Context, err error) {
	switch {
	case err == nil || errors.Is(err, ErrBudgetExceeded):
		f.br.Success()
	case ctx.Err() == nil:
		f.br.Failure()
	}
}

// failed counts and tells a failure, and reports whether to go on locally.
func (f *FailoverLedger) failed(op string) bool {
	f.fallbacks.Add(1)
	if f.onFallback != nil {
		f.onFallback(op, f.mode)
	}
	return f.mode == FailOpen
}

// Reserve implements Ledger.
func (f *FailoverLedger) Reserve(ctx context.Context, accounts []Account, amount int64) (string, error) {
	id, err := "", ErrLedgerUnavailable
	if f.br.Allow() {
		id, err = f.shared.Reserve(ctx, accounts, amount)
		f.record(ctx, err)
	}
	if err == nil || errors.Is(err, ErrBudgetExceeded) || !f.failed("reserve") {
		return id, err
	}
	id, err = f.local.Reserve(ctx, accounts, amount)
	if err != nil {
		return "", err
	}
	return localPrefix + id, nil
}

// Settle implements Ledger.
func (f *FailoverLedger) Settle(ctx context.Context, id string, cost int64) error {
	if local, ok := strings.CutPrefix(id, localPrefix); ok {
		return f.local.Settle(ctx, local, cost)
	}
	return f.ended(ctx, "settle", f.shared.Settle(ctx, id, cost))
}

// Release implements Ledger.
func (f *FailoverLedger) Release(ctx context.Context, id string) error {
	if local, ok := strings.CutPrefix(id, localPrefix); ok {
		return f.local.Release(ctx, local)
	}
	return f.ended(ctx, "release", f.shared.Release(ctx, id))
}

// Balance implements Ledger: the shared ledger's, or with FailOpen the
// local one's while the shared one fails.
func (f *FailoverLedger) Balance(ctx context.Context, a Account) (Balance, error) {
	var b Balance
	err := ErrLedgerUnavailable
	if f.br.Allow() {
		b, err = f.shared.Balance(ctx, a)
		f.record(ctx, err)
	}
	if err != nil && f.failed("balance") {
		return f.local.Balance(ctx, a)
	}
	return b, err
}

// A Settlement is the settlement or release of one reservation as a call
// not yet made: its Run makes it. A ledger on a shared server hands them
// out (see SettlementLedger) so that the gateway can have one carried in
// the round trip that ends the request's rate limits
// (ratelimit.Carrier), which knows the ledger's own Settlements.
type Settlement interface {
	Run(ctx context.Context) error
}

// A SettlementLedger is a Ledger that hands out its settlements as calls.
type SettlementLedger interface {
	Ledger
	// Settlement returns the call that settles reservation id at cost
	// (cost > 0) or releases it (cost == 0), as Settle and Release do,
	// without making it.
	Settlement(id string, cost int64) Settlement
}

var _ SettlementLedger = (*FailoverLedger)(nil)

// Settlement implements SettlementLedger: the local ledger's settlement of
// a reservation made there; the shared ledger's own Settlement, if it hands
// them out, wrapped so that its failure is counted and told as Settle's and
// Release's are (a carrier that recognizes it unwraps it with Unwrap and
// reports its outcome through Report); else a call of Settle or Release.
func (f *FailoverLedger) Settlement(id string, cost int64) Settlement {
	if _, local := strings.CutPrefix(id, localPrefix); !local {
		if sl, ok := f.shared.(SettlementLedger); ok {
			op := "release"
			if cost > 0 {
				op = "settle"
			}
			return &failoverSettlement{inner: sl.Settlement(id, cost), f: f, op: op}
		}
	}
	return settlementFunc(func(ctx context.Context) error {
		if cost > 0 {
			return f.Settle(ctx, id, cost)
		}
		return f.Release(ctx, id)
	})
}

// settlementFunc is a Settlement made of a function.
type settlementFunc func(ctx context.Context) error

func (s settlementFunc) Run(ctx context.Context) error { return s(ctx) }

// failoverSettlement is the shared ledger's Settlement behind a
// FailoverLedger.
type failoverSettlement struct {
	inner Settlement
	f     *FailoverLedger
	op    string
}

// Run makes the call and reports its outcome.
func (s *failoverSettlement) Run(ctx context.Context) error {
	return s.f.ended(ctx, s.op, s.inner.Run(ctx))
}

// Unwrap returns the shared ledger's Settlement, for a carrier that makes
// the call itself; it then passes the outcome to Report.
func (s *failoverSettlement) Unwrap() Settlement { return s.inner }

// Report counts and tells a failure of the call (an unknown reservation is
// not one) and returns err.
func (s *failoverSettlement) Report(err error) error {
	return s.f.ended(context.Background(), s.op, err)
}
