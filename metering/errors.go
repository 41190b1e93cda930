package metering

import (
	"errors"
	"fmt"
	"time"
)

// Errors that callers branch on. Functions return them wrapped; test with
// errors.Is.
var (
	// ErrQueueFull reports that Meter.Record dropped an event because the
	// queue was full (OverflowDrop) or stayed full until the wait ended
	// (OverflowBlock).
	ErrQueueFull = errors.New("metering: queue full")
	// ErrClosed reports that Meter.Record was called after Meter.Close.
	ErrClosed = errors.New("metering: meter closed")
	// ErrBudgetExceeded reports that a reservation would exceed an
	// account's limit. The error is a *BudgetError carrying the account.
	ErrBudgetExceeded = errors.New("metering: budget exceeded")
	// ErrUnknownReservation reports that a Ledger does not know the
	// reservation ID given to Settle or Release (never issued, or forgotten
	// long after it expired).
	ErrUnknownReservation = errors.New("metering: unknown reservation")
	// ErrUnpriced reports that a model has no price and the table has no
	// fallback price.
	ErrUnpriced = errors.New("metering: model has no price")
)

// BudgetError is the error a Ledger returns when a reservation would take an
// account over its limit. It matches ErrBudgetExceeded with errors.Is. Its
// message names the account's kind and period, never its ID (which may be
// personal data). It is a plain value; a nil *BudgetError must not be used.
type BudgetError struct {
	// Account is the first account, in the order given to Reserve, that
	// could not cover the amount.
	Account Account
	// Remaining is what the account could still have covered, in
	// micro-dollars: its limit minus spend and reservations, never below 0.
	Remaining int64
	// Reset is when the account's period ends and its spend starts again
	// from zero; the zero time for PeriodTotal.
	Reset time.Time
}

// Error returns a message without the account ID.
func (e *BudgetError) Error() string {
	return fmt.Sprintf("metering: budget exceeded: %s %s budget has %d micro-dollars left",
		e.Account.Kind, e.Account.Period, e.Remaining)
}

// Unwrap returns ErrBudgetExceeded.
func (e *BudgetError) Unwrap() error { return ErrBudgetExceeded }
