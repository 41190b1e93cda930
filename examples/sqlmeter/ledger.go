package sqlmeter

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/wicket-gw/wicket/metering"
)

// LedgerOptions configures a Ledger. A nil *LedgerOptions means the
// defaults.
type LedgerOptions struct {
	// TTL is how long a reservation may stay unsettled before it expires.
	// Set it above the longest request the gateway lets run. Zero means 30
	// minutes.
	TTL time.Duration
	// Now returns the current time. If nil, time.Now is used. Tests inject
	// a fake clock. Expiry times are stored in Unix nanoseconds, so Now
	// must stay within the years 1678 to 2262.
	Now func() time.Time
}

// Ledger is a metering.Ledger kept in SQL tables (see the package
// documentation), so that it survives restarts and can be shared by every
// process that opens the same database. It keeps the contract documented
// on metering.Ledger, as metering.MemoryLedger does, with one allowed
// difference: a reservation's record is deleted 2×TTL after Reserve, after
// which a repeated Settle or Release returns
// metering.ErrUnknownReservation (and still charges nothing).
//
// Every call is one transaction; with SQLite, configure the database as
// the package documentation says so that concurrent calls wait their turn.
// Expired reservations need no background job: an account's reserved
// amount sums only the holds whose expiry has not passed, and records
// older than 2×TTL are deleted by Reserve, at most once per TTL.
//
// A Ledger is safe for concurrent use. Create one with NewLedger; the zero
// Ledger is not usable.
type Ledger struct {
	db  *sql.DB
	ttl time.Duration
	now func() time.Time

	// mu guards nextSweep.
	mu        sync.Mutex
	nextSweep time.Time // when Reserve next deletes forgotten reservations
}

var _ metering.Ledger = (*Ledger)(nil)

// Reservation states, in wicket_reservations.state.
const (
	stateHeld     = "held"
	stateSettled  = "settled"
	stateReleased = "released"
)

// NewLedger returns a Ledger that keeps its state in db, whose tables
// Migrate has created, configured by opts (nil means defaults). It returns
// an error if db is nil or the TTL is negative.
func NewLedger(db *sql.DB, opts *LedgerOptions) (*Ledger, error) {
	if db == nil {
		return nil, errors.New("sqlmeter: new ledger: nil *sql.DB")
	}
	l := &Ledger{db: db, ttl: 30 * time.Minute, now: time.Now}
	if opts != nil {
		if opts.TTL < 0 {
			return nil, errors.New("sqlmeter: new ledger: negative TTL")
		}
		if opts.TTL > 0 {
			l.ttl = opts.TTL
		}
		if opts.Now != nil {
			l.now = opts.Now
		}
	}
	return l, nil
}

// bucket names what an account spends in one period: the key of a
// wicket_spend row, and of the account's holds in that period.
type bucket struct {
	kind, id, period string
	start, end       int64 // Unix seconds; 0 for PeriodTotal
}

// bucketOf returns the bucket of a for the period containing now.
func bucketOf(a metering.Account, now time.Time) bucket {
	b := bucket{kind: string(a.Kind), id: a.ID, period: a.Period.String()}
	if start, end := a.Period.Bounds(now); !start.IsZero() {
		b.start, b.end = start.Unix(), end.Unix()
	}
	return b
}

// Reserve holds amount against every account, atomically; see
// metering.Ledger. It returns a *metering.BudgetError if an account cannot
// cover the amount.
func (l *Ledger) Reserve(ctx context.Context, accounts []metering.Account, amount int64) (string, error) {
	if err := validateReserve(accounts, amount); err != nil {
		return "", err
	}
	id := "rsv_" + rand.Text()
	err := l.inTx(ctx, func(tx *sql.Tx, now time.Time) error {
		nowNS, expiresNS := now.UnixNano(), now.Add(l.ttl).UnixNano()
		buckets := make([]bucket, len(accounts))
		for i, a := range accounts {
			buckets[i] = bucketOf(a, now)
			if a.Limit == 0 {
				continue
			}
			// A port to a database that runs writers concurrently locks
			// the bucket's wicket_spend row here; see the package
			// documentation.
			spent, reserved, err := bucketState(ctx, tx, buckets[i], nowNS)
			if err != nil {
				return err
			}
			if left := remaining(a.Limit, spent, reserved); amount > left {
				_, reset := a.Period.Bounds(now)
				return &metering.BudgetError{Account: a, Remaining: left, Reset: reset}
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO wicket_reservations
			(id, amount, state, expires_ns, forget_ns) VALUES (?, ?, ?, ?, ?)`,
			id, amount, stateHeld, expiresNS, now.Add(2*l.ttl).UnixNano()); err != nil {
			return err
		}
		for _, b := range buckets {
			if _, err := tx.ExecContext(ctx, `INSERT INTO wicket_holds
				(kind, account_id, period, period_start, period_end, reservation_id, amount, expires_ns)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				b.kind, b.id, b.period, b.start, b.end, id, amount, expiresNS); err != nil {
				return err
			}
		}
		if l.sweepDue(now) {
			return sweep(ctx, tx, nowNS)
		}
		return nil
	})
	if err != nil {
		if be, ok := errors.AsType[*metering.BudgetError](err); ok {
			return "", be
		}
		return "", fmt.Errorf("sqlmeter: reserve: %w", err)
	}
	return id, nil
}

// Settle charges cost to the accounts of reservation id, in the periods
// the reservation was made in; see metering.Ledger.
func (l *Ledger) Settle(ctx context.Context, id string, cost int64) error {
	if cost < 0 {
		return errors.New("sqlmeter: settle: negative cost")
	}
	if err := l.finish(ctx, id, stateSettled, sql.NullInt64{Int64: cost, Valid: true}); err != nil {
		return fmt.Errorf("sqlmeter: settle: %w", err)
	}
	return nil
}

// Release ends reservation id without charging; see metering.Ledger.
func (l *Ledger) Release(ctx context.Context, id string) error {
	if err := l.finish(ctx, id, stateReleased, sql.NullInt64{}); err != nil {
		return fmt.Errorf("sqlmeter: release: %w", err)
	}
	return nil
}

// finish ends reservation id in state, charging cost to its buckets if
// cost is valid.
func (l *Ledger) finish(ctx context.Context, id, state string, cost sql.NullInt64) error {
	return l.inTx(ctx, func(tx *sql.Tx, now time.Time) error {
		// Compare-and-set: of concurrent or repeated calls, one finds the
		// reservation held; the others change nothing. A reservation
		// expired more than a TTL ago can no longer be settled.
		res, err := tx.ExecContext(ctx, `UPDATE wicket_reservations SET state = ?, cost = ?
			WHERE id = ? AND state = ? AND forget_ns > ?`,
			state, cost, id, stateHeld, now.UnixNano())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var found int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM wicket_reservations WHERE id = ?`, id).Scan(&found)
			if errors.Is(err, sql.ErrNoRows) {
				return metering.ErrUnknownReservation
			}
			return err // nil: finished before, or too late
		}
		if cost.Valid {
			buckets, err := holdBuckets(ctx, tx, id)
			if err != nil {
				return err
			}
			for _, b := range buckets {
				if err := charge(ctx, tx, b, cost.Int64); err != nil {
					return err
				}
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM wicket_holds WHERE reservation_id = ?`, id)
		return err
	})
}

// holdBuckets returns the buckets that reservation id holds money in. It
// reads them all before the caller writes: a connection may not run
// another statement while a query's rows are open.
func holdBuckets(ctx context.Context, tx *sql.Tx, id string) ([]bucket, error) {
	rows, err := tx.QueryContext(ctx, `SELECT kind, account_id, period, period_start, period_end
		FROM wicket_holds WHERE reservation_id = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var buckets []bucket
	for rows.Next() {
		var b bucket
		if err := rows.Scan(&b.kind, &b.id, &b.period, &b.start, &b.end); err != nil {
			return nil, err
		}
		buckets = append(buckets, b)
	}
	return buckets, rows.Err()
}

// charge adds cost to the spend of bucket b, saturating at math.MaxInt64:
// SQLite would turn an overflowing sum into a float, PostgreSQL fail.
func charge(ctx context.Context, tx *sql.Tx, b bucket, cost int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO wicket_spend
		(kind, account_id, period, period_start, period_end, spent) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, account_id, period, period_start) DO UPDATE SET spent =
			CASE WHEN wicket_spend.spent > 9223372036854775807 - excluded.spent
			THEN 9223372036854775807 ELSE wicket_spend.spent + excluded.spent END`,
		b.kind, b.id, b.period, b.start, b.end, cost)
	return err
}

// Balance returns the account's spend and reservations in its current
// period.
func (l *Ledger) Balance(ctx context.Context, a metering.Account) (metering.Balance, error) {
	if err := validateAccount(a); err != nil {
		return metering.Balance{}, fmt.Errorf("sqlmeter: balance: %w", err)
	}
	now := l.now()
	bal := metering.Balance{Account: a}
	bal.Start, bal.End = a.Period.Bounds(now)
	var err error
	bal.Spent, bal.Reserved, err = bucketState(ctx, l.db, bucketOf(a, now), now.UnixNano())
	if err != nil {
		return metering.Balance{}, fmt.Errorf("sqlmeter: balance: %w", err)
	}
	return bal, nil
}

// querier is what *sql.DB and *sql.Tx have in common that bucketState
// needs.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// bucketState returns what bucket b has spent and what the holds that
// have not expired at nowNS reserve in it. It reads both in one statement,
// so they come from one snapshot even outside a transaction. The holds are
// summed here rather than with SUM, which fails when the sum overflows:
// amounts may be as large as math.MaxInt64 on an account without a limit.
func bucketState(ctx context.Context, q querier, b bucket, nowNS int64) (spent, reserved int64, err error) {
	rows, err := q.QueryContext(ctx, `SELECT 0, spent FROM wicket_spend
		WHERE kind = ? AND account_id = ? AND period = ? AND period_start = ?
		UNION ALL
		SELECT 1, amount FROM wicket_holds
		WHERE kind = ? AND account_id = ? AND period = ? AND period_start = ? AND expires_ns > ?`,
		b.kind, b.id, b.period, b.start,
		b.kind, b.id, b.period, b.start, nowNS)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var held bool
		var v int64
		if err := rows.Scan(&held, &v); err != nil {
			return 0, 0, err
		}
		if held {
			reserved = satAdd(reserved, v)
		} else {
			spent = v
		}
	}
	return spent, reserved, rows.Err()
}

// sweepDue reports whether Reserve should delete forgotten reservations
// now, and if so schedules the next sweep a TTL later.
func (l *Ledger) sweepDue(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.nextSweep) {
		return false
	}
	l.nextSweep = now.Add(l.ttl)
	return true
}

// sweep deletes the reservations made more than 2×TTL before nowNS, and
// their holds if they were never settled or released.
func sweep(ctx context.Context, tx *sql.Tx, nowNS int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM wicket_holds WHERE reservation_id IN
		(SELECT id FROM wicket_reservations WHERE forget_ns <= ?)`, nowNS); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM wicket_reservations WHERE forget_ns <= ?`, nowNS)
	return err
}

// inTx runs f in a transaction with the ledger's current time, and
// commits if f returns nil. The time is read once BEGIN has returned, so
// under SQLite with _txlock=immediate, which takes the write lock at
// BEGIN, transactions read the clock in the order they commit.
func (l *Ledger) inTx(ctx context.Context, f func(tx *sql.Tx, now time.Time) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if err := f(tx, l.now()); err != nil {
		return err
	}
	return tx.Commit()
}

func validateReserve(accounts []metering.Account, amount int64) error {
	if amount < 0 {
		return errors.New("sqlmeter: reserve: negative amount")
	}
	if len(accounts) == 0 {
		return errors.New("sqlmeter: reserve: no accounts")
	}
	for i, a := range accounts {
		if err := validateAccount(a); err != nil {
			return fmt.Errorf("sqlmeter: reserve: %w", err)
		}
		for _, b := range accounts[:i] {
			if a.Kind == b.Kind && a.ID == b.ID && a.Period == b.Period {
				return errors.New("sqlmeter: reserve: account listed twice")
			}
		}
	}
	return nil
}

func validateAccount(a metering.Account) error {
	switch {
	case a.Kind == "":
		return errors.New("account has no kind")
	case a.ID == "":
		return errors.New("account has no ID")
	case a.Limit < 0:
		return errors.New("account has a negative limit")
	case !a.Period.Valid():
		return fmt.Errorf("account has unknown period %d", uint8(a.Period))
	}
	return nil
}

// remaining returns limit-spent-reserved, floored at zero, for
// non-negative arguments, without overflow.
func remaining(limit, spent, reserved int64) int64 {
	r := limit - spent
	if r <= 0 {
		return 0
	}
	return max(r-reserved, 0)
}

// satAdd returns a+b for non-negative a and b, saturating at
// math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
