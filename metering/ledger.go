package metering

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Ledger keeps budgets: it tracks what accounts spend, in integer
// micro-dollars, and refuses a request whose worst-case cost its budgets
// cannot cover. MemoryLedger is the in-process implementation; backends
// for a fleet of replicas implement Ledger and prove it with
// meteringtest.RunLedgerTests.
//
// The gateway calls Reserve with the worst-case cost before forwarding a
// request, then Settle with the exact cost once it is known, or Release if
// the request failed before costing anything. Implementations must be safe
// for concurrent use and keep this contract:
//
//   - Reserve covers every account in its list, atomically: it holds the
//     amount against all of them, or against none and returns an error. It
//     never admits a reservation that would make an account's spend plus
//     reservations exceed its limit; a *BudgetError (matching
//     ErrBudgetExceeded) names the first account, in list order, that
//     could not cover the amount. Accounts with a zero Limit have no cap
//     but still track spend. The limit is the one passed to this call; a
//     Ledger does not store limits.
//   - A reservation belongs, for each account, to the period in force when
//     Reserve was called. Settle charges that period even if a new period
//     has begun since, so work reserved on one day is paid from that day's
//     budget and never escapes every budget.
//   - Settle charges the actual cost and ends the reservation. The cost may
//     exceed the amount reserved (the account's spend may then exceed its
//     limit, and later reservations are refused until the period ends).
//     Release ends the reservation and charges nothing.
//   - The first Settle or Release of a reservation decides its outcome;
//     a later Settle or Release with the same ID does nothing and returns
//     nil, so retries never charge twice. (After 2×TTL a ledger may
//     instead return ErrUnknownReservation; it still charges nothing.)
//   - A reservation neither settled nor released within the ledger's TTL
//     expires: its amount stops counting against the accounts. A Settle
//     that arrives within a further TTL after expiry still charges the
//     cost (into the reservation's period, as above). Later than that, a
//     ledger may have forgotten the reservation: Settle and Release then
//     charge nothing and return nil or ErrUnknownReservation.
//   - Settle and Release of an ID the ledger never issued return
//     ErrUnknownReservation.
//
// Amounts and costs are non-negative micro-dollars; invalid arguments (no
// accounts, an account listed twice, an empty Kind or ID, a negative limit,
// amount or cost) return an error and change nothing.
type Ledger interface {
	// Reserve holds amount against every account and returns the
	// reservation's ID.
	Reserve(ctx context.Context, accounts []Account, amount int64) (id string, err error)
	// Settle charges cost to the accounts of reservation id and ends it.
	Settle(ctx context.Context, id string, cost int64) error
	// Release ends reservation id without charging anything.
	Release(ctx context.Context, id string) error
	// Balance returns the account's spend and reservations in its current
	// period. An account never charged has a zero Balance.
	Balance(ctx context.Context, a Account) (Balance, error)
}

// AccountKind names the kind of thing that has a budget. Applications may
// use kinds of their own (a team, a project). The empty kind is invalid.
type AccountKind string

// The account kinds the gateway uses.
const (
	AccountKey   AccountKind = "key"   // an API key, by key ID
	AccountOwner AccountKind = "owner" // the owner of keys, by owner ID
	// AccountKeyModel is a key's budget for some models, by the key's
	// account ID and the models' pattern ("key_abc:gpt-4o*").
	AccountKeyModel AccountKind = "key_model"
)

// Account is a budget: an account identified by Kind and ID, limited to
// Limit micro-dollars per Period. Kind, ID and Period identify the spend;
// an account may have several periods (a daily and a monthly budget) as
// separate Accounts. A zero Limit means no cap: spend is tracked but never
// refused. The zero Account is invalid, since Kind and ID are required.
// Account is a plain value, safe to copy and share.
type Account struct {
	Kind   AccountKind
	ID     string
	Limit  int64
	Period Period
}

func (a Account) validate() error {
	switch {
	case a.Kind == "":
		return errors.New("metering: account has no kind")
	case a.ID == "":
		return errors.New("metering: account has no ID")
	case a.Limit < 0:
		return errors.New("metering: account has a negative limit")
	case !a.Period.Valid():
		return fmt.Errorf("metering: account has unknown period %d", uint8(a.Period))
	}
	return nil
}

// Period is how often a budget starts again from zero. Periods are aligned
// to the UTC calendar. The zero value is PeriodTotal.
type Period uint8

const (
	// PeriodTotal never resets; it is the zero value.
	PeriodTotal Period = iota
	// PeriodDaily resets at 00:00 UTC.
	PeriodDaily
	// PeriodMonthly resets at 00:00 UTC on the first day of each month.
	PeriodMonthly
	// PeriodWeekly resets at 00:00 UTC each Monday (ISO 8601 weeks).
	PeriodWeekly

	numPeriods = iota
)

var periodNames = [numPeriods]string{"total", "daily", "monthly", "weekly"}

// Valid reports whether p is one of the periods above.
func (p Period) Valid() bool { return p < numPeriods }

// String returns "total", "daily", "monthly" or "weekly".
func (p Period) String() string {
	if p.Valid() {
		return periodNames[p]
	}
	return fmt.Sprintf("Period(%d)", uint8(p))
}

// ParsePeriod returns the period named s, as String names it.
func ParsePeriod(s string) (Period, bool) {
	for i, n := range periodNames {
		if n == s {
			return Period(i), true
		}
	}
	return 0, false
}

// MarshalText returns p.String().
func (p Period) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("metering: unknown period %d", uint8(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText parses a period as String names it; empty means total.
func (p *Period) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = PeriodTotal
		return nil
	}
	v, ok := ParsePeriod(string(b))
	if !ok {
		return errors.New("metering: unknown period")
	}
	*p = v
	return nil
}

// Bounds returns the start and end, in UTC, of the period containing t.
// PeriodTotal has no bounds: both are the zero time. Ledger backends use
// Bounds to name the period a reservation belongs to.
func (p Period) Bounds(t time.Time) (start, end time.Time) {
	t = t.UTC()
	switch p {
	case PeriodDaily:
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1)
	case PeriodMonthly:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	case PeriodWeekly:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		start = time.Date(t.Year(), t.Month(), t.Day()-back, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 7)
	}
	return time.Time{}, time.Time{}
}

// Balance is an account's state in its current period, as returned by
// Ledger.Balance. It is a plain value; the zero Balance is an account with
// no limit, no period bounds and nothing spent.
type Balance struct {
	// Account is the account asked about, limit included.
	Account Account
	// Start and End bound the current period; both are zero for
	// PeriodTotal.
	Start, End time.Time
	// Spent is the micro-dollars settled in the period.
	Spent int64
	// Reserved is the micro-dollars held by reservations not yet settled,
	// released or expired.
	Reserved int64
}

// Remaining returns what the account may still reserve in its period: its
// limit minus spend and reservations, never below zero. It returns
// math.MaxInt64 for an account without a cap.
func (b Balance) Remaining() int64 {
	if b.Account.Limit == 0 {
		return math.MaxInt64
	}
	return remaining(b.Account.Limit, b.Spent, b.Reserved)
}

// remaining returns limit-spent-reserved, floored at zero, for non-negative
// arguments, without overflow.
func remaining(limit, spent, reserved int64) int64 {
	r := limit - spent // limit, spent >= 0: no overflow
	if r <= 0 {
		return 0
	}
	return max(r-reserved, 0)
}

// An AccountEraser is a Ledger that can forget accounts, so that erasing
// a user (the gateway's EraseOwner) leaves no spend or budget state behind.
// EraseAccounts forgets every period of each account given (by Kind and ID;
// Limit and Period are ignored) and returns how many of them it held.
// Reservations in flight against them still settle or release without
// error, charging no account that remains.
type AccountEraser interface {
	EraseAccounts(ctx context.Context, accounts []Account) (int, error)
}
