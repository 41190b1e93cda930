package metering

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MemoryLedgerOptions configures a MemoryLedger. A nil *MemoryLedgerOptions
// means the defaults.
type MemoryLedgerOptions struct {
	// TTL is how long a reservation may stay unsettled before it expires.
	// Set it above the longest request the gateway lets run. Zero means 30
	// minutes.
	TTL time.Duration
	// Now returns the current time. If nil, time.Now is used. Tests inject
	// a fake clock.
	Now func() time.Time
}

// MemoryLedger is a Ledger held in the memory of one process. It suits a
// single replica; a fleet shares a ledger in a store such as Redis.
//
// Expiry is processed lazily, by whichever call comes next; no goroutine
// runs in the background. Memory stays bounded: the ledger keeps one entry
// per account active in its current period (an account whose period ended
// is dropped, at the latest by the first call after the next 00:00 UTC,
// and with it what it spent in the ended period), plus one entry per
// reservation in flight or expired less than TTL ago. Settled and released
// reservations are dropped at once: reservation IDs carry a sequence
// number, so a repeated Settle or Release is recognized without a record.
// Accounts with PeriodTotal and a non-zero spend are kept for good, so
// their number is bounded by the accounts the application creates.
//
// The zero MemoryLedger is ready to use with the defaults. A MemoryLedger is
// safe for concurrent use; every call holds one mutex briefly. Its methods
// ignore ctx: they never block on anything but that mutex.
type MemoryLedger struct {
	ttl time.Duration
	now func() time.Time

	// mu guards everything below.
	mu        sync.Mutex
	prefix    string // starts every reservation ID of this ledger
	seq       uint64 // sequence number of the last reservation issued
	accounts  map[accountKey]*bucket
	resv      map[string]*reservation // in flight or expired
	timers    timerHeap               // one per entry of resv
	nextSweep time.Time
}

var _ Ledger = (*MemoryLedger)(nil)

type accountKey struct {
	kind   AccountKind
	id     string
	period Period
}

// bucket is one account's state in one period.
type bucket struct {
	end      time.Time // zero for PeriodTotal
	start    time.Time
	spent    int64
	reserved int64
	refs     int // reservation records that point here
}

func (b *bucket) ended(now time.Time) bool {
	return !b.end.IsZero() && !now.Before(b.end)
}

// reservation is a reservation in flight, or expired and awaiting a late
// Settle.
type reservation struct {
	id      string
	buckets []*bucket
	inline  [2]*bucket // backs buckets for the usual key and owner
	amount  int64
	expired bool
	at      time.Time // when the timer fires: expiry, then forgetting
	index   int       // in timers
}

// NewMemoryLedger returns an empty MemoryLedger configured by opts (nil
// means defaults). It returns an error for a negative TTL.
func NewMemoryLedger(opts *MemoryLedgerOptions) (*MemoryLedger, error) {
	l := new(MemoryLedger)
	if opts != nil {
		if opts.TTL < 0 {
			return nil, errors.New("metering: new memory ledger: negative TTL")
		}
		l.ttl, l.now = opts.TTL, opts.Now
	}
	return l, nil
}

// lockedNow takes the mutex, initializes a zero ledger, processes expiry
// and returns the current time.
func (l *MemoryLedger) lockedNow() time.Time {
	l.mu.Lock()
	if l.accounts == nil {
		l.accounts = make(map[accountKey]*bucket)
		l.resv = make(map[string]*reservation)
		// IDs of another ledger, or of an earlier process, must not pass
		// for finished reservations of this one.
		l.prefix = "r" + strconv.FormatUint(uint64(rand.Uint32()), 36) + "-"
	}
	var now time.Time
	if l.now != nil {
		now = l.now()
	} else {
		now = time.Now()
	}
	l.expireLocked(now)
	return now
}

func (l *MemoryLedger) ttlValue() time.Duration {
	if l.ttl == 0 {
		return 30 * time.Minute
	}
	return l.ttl
}

// Reserve holds amount against every account, atomically; see Ledger. It
// returns a *BudgetError if an account cannot cover the amount.
func (l *MemoryLedger) Reserve(ctx context.Context, accounts []Account, amount int64) (string, error) {
	if err := validateReserve(accounts, amount); err != nil {
		return "", err
	}
	now := l.lockedNow()
	defer l.mu.Unlock()
	r := &reservation{amount: amount, at: now.Add(l.ttlValue())}
	r.buckets = r.inline[:0]
	for _, a := range accounts {
		b := l.bucketLocked(a, now, true)
		if a.Limit > 0 {
			if left := remaining(a.Limit, b.spent, b.reserved); amount > left {
				return "", &BudgetError{Account: a, Remaining: left, Reset: b.end}
			}
		}
		// An uncapped account still must not overflow: releasing a
		// saturated sum would drive it negative.
		if b.reserved > math.MaxInt64-amount {
			return "", fmt.Errorf("metering: reserve: amount overflows the %s account's reservations", a.Kind)
		}
		r.buckets = append(r.buckets, b)
	}
	for _, b := range r.buckets {
		b.reserved += amount
		b.refs++
	}
	l.seq++
	var buf [40]byte // the prefix (at most 9 bytes) and a uint64
	r.id = string(strconv.AppendUint(append(buf[:0], l.prefix...), l.seq, 10))
	l.resv[r.id] = r
	l.timers.push(r)
	return r.id, nil
}

func validateReserve(accounts []Account, amount int64) error {
	if amount < 0 {
		return errors.New("metering: reserve: negative amount")
	}
	if len(accounts) == 0 {
		return errors.New("metering: reserve: no accounts")
	}
	for i, a := range accounts {
		if err := a.validate(); err != nil {
			return fmt.Errorf("metering: reserve: %w", err)
		}
		for _, b := range accounts[:i] {
			if a.Kind == b.Kind && a.ID == b.ID && a.Period == b.Period {
				return errors.New("metering: reserve: account listed twice")
			}
		}
	}
	return nil
}

// Settle charges cost to the accounts of reservation id, in the periods the
// reservation was made in; see Ledger.
func (l *MemoryLedger) Settle(ctx context.Context, id string, cost int64) error {
	if cost < 0 {
		return errors.New("metering: settle: negative cost")
	}
	l.lockedNow()
	defer l.mu.Unlock()
	r := l.resv[id]
	if r == nil {
		if l.issuedLocked(id) { // already settled, released or forgotten
			return nil
		}
		return fmt.Errorf("metering: settle: %w", ErrUnknownReservation)
	}
	for _, b := range r.buckets {
		if !r.expired { // a late settle still pays, but holds nothing
			b.reserved -= r.amount
		}
		b.spent = satAdd(b.spent, cost)
	}
	l.forgetLocked(r)
	return nil
}

// Release ends reservation id without charging; see Ledger.
func (l *MemoryLedger) Release(ctx context.Context, id string) error {
	l.lockedNow()
	defer l.mu.Unlock()
	r := l.resv[id]
	if r == nil {
		if l.issuedLocked(id) {
			return nil
		}
		return fmt.Errorf("metering: release: %w", ErrUnknownReservation)
	}
	if !r.expired {
		for _, b := range r.buckets {
			b.reserved -= r.amount
		}
	}
	l.forgetLocked(r)
	return nil
}

// issuedLocked reports whether id was issued by this ledger.
func (l *MemoryLedger) issuedLocked(id string) bool {
	n, ok := strings.CutPrefix(id, l.prefix)
	if !ok {
		return false
	}
	seq, err := strconv.ParseUint(n, 10, 64)
	return err == nil && seq >= 1 && seq <= l.seq && strconv.FormatUint(seq, 10) == n
}

// forgetLocked drops r from the ledger.
func (l *MemoryLedger) forgetLocked(r *reservation) {
	for _, b := range r.buckets {
		b.refs--
	}
	l.timers.remove(r.index)
	delete(l.resv, r.id)
}

// Balance returns the account's spend and reservations in its current
// period. It does not create an entry for an account it does not know.
func (l *MemoryLedger) Balance(ctx context.Context, a Account) (Balance, error) {
	if err := a.validate(); err != nil {
		return Balance{}, fmt.Errorf("metering: balance: %w", err)
	}
	now := l.lockedNow()
	defer l.mu.Unlock()
	bal := Balance{Account: a}
	if b := l.bucketLocked(a, now, false); b != nil {
		bal.Start, bal.End, bal.Spent, bal.Reserved = b.start, b.end, b.spent, b.reserved
	} else {
		bal.Start, bal.End = a.Period.Bounds(now)
	}
	return bal, nil
}

// bucketLocked returns the account's bucket for the period containing now,
// starting a new one if the previous period ended and create is set; else
// it returns nil for a missing bucket.
func (l *MemoryLedger) bucketLocked(a Account, now time.Time, create bool) *bucket {
	k := accountKey{a.Kind, a.ID, a.Period}
	if b := l.accounts[k]; b != nil && !b.ended(now) {
		return b
	}
	if !create {
		return nil
	}
	// A bucket whose period ended leaves the map; reservations made in it
	// still point to it, so their settlements land in their own period.
	b := new(bucket)
	b.start, b.end = a.Period.Bounds(now)
	l.accounts[k] = b
	return b
}

// expireLocked processes the timers due at now and, once a day, drops
// accounts that hold nothing.
func (l *MemoryLedger) expireLocked(now time.Time) {
	for len(l.timers) > 0 && !now.Before(l.timers[0].at) {
		r := l.timers[0]
		if r.expired { // expired a TTL ago: too late to settle
			l.forgetLocked(r)
			continue
		}
		for _, b := range r.buckets {
			b.reserved -= r.amount
		}
		r.expired = true
		r.at = r.at.Add(l.ttlValue())
		l.timers.fix(0)
	}
	if now.Before(l.nextSweep) {
		return
	}
	for k, b := range l.accounts {
		if b.ended(now) || (b.spent == 0 && b.reserved == 0 && b.refs == 0) {
			delete(l.accounts, k)
		}
	}
	_, l.nextSweep = PeriodDaily.Bounds(now)
}

// timerHeap is a min-heap of reservations by their timer, each knowing its
// index so that a settled one leaves at once. (container/heap would box
// every push and pop in an interface.)
type timerHeap []*reservation

func (h *timerHeap) push(r *reservation) {
	r.index = len(*h)
	*h = append(*h, r)
	h.up(r.index)
}

// remove takes out the reservation at index i.
func (h *timerHeap) remove(i int) {
	s := *h
	n := len(s) - 1
	if i != n {
		h.swap(i, n)
	}
	s[n] = nil
	*h = s[:n]
	if i != n {
		h.fix(i)
	}
}

// fix restores the heap after the timer at index i changed.
func (h *timerHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].at.Before(h[p].at) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down moves the timer at i down and reports whether it moved.
func (h timerHeap) down(i int) bool {
	start := i
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && h[c+1].at.Before(h[c].at) {
			c++
		}
		if !h[c].at.Before(h[i].at) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}

var _ AccountEraser = (*MemoryLedger)(nil)

// EraseAccounts implements AccountEraser.
func (l *MemoryLedger) EraseAccounts(ctx context.Context, accounts []Account) (int, error) {
	l.lockedNow()
	defer l.mu.Unlock()
	n := 0
	for _, a := range accounts {
		held := false
		for k := range l.accounts {
			if k.kind == a.Kind && k.id == a.ID {
				delete(l.accounts, k)
				held = true
			}
		}
		if held {
			n++
		}
	}
	return n, nil
}
