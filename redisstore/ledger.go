package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/metering"
)

// DefaultLedgerPrefix is the key prefix of a [Ledger] when
// [LedgerOptions].Prefix is empty. Its hash tag, "{wicket:ledger}", puts
// every key of the ledger in one Redis Cluster slot (see [Ledger]).
const DefaultLedgerPrefix = "{wicket:ledger}:"

// DefaultLedgerTTL is the lifetime of an unsettled reservation when
// [LedgerOptions].TTL is zero.
const DefaultLedgerTTL = 2 * time.Hour

// MaxLedgerLimit bounds an account's Limit in a [Ledger]: limits must be
// below 2^53 micro-dollars (about 9 billion dollars), the range in which the
// scripts' float64 comparisons are exact.
const MaxLedgerLimit = int64(1)<<53 - 1

// LedgerOptions configures a [Ledger]. The zero value uses the defaults.
type LedgerOptions struct {
	// Prefix is prepended to every key the ledger writes. Empty means
	// DefaultLedgerPrefix. Ledgers that share a prefix (the replicas of one
	// gateway) share their accounts and reservations.
	//
	// It must hold a Redis Cluster hash tag: a "{", then a "}" after it
	// with at least one character between, the first such pair, as in
	// "{wicket:ledger}:" or "app:{budgets}:". The tag puts all of the
	// ledger's keys in one slot, which its scripts need on a cluster
	// (see [Ledger]); NewLedger refuses a Prefix without one, on a
	// single server too, so that a ledger moves to a cluster unchanged.
	Prefix string

	// TTL is how long a reservation may stay unsettled before it expires.
	// Zero means DefaultLedgerTTL; it must otherwise be at least a
	// millisecond. Set it above the longest request the gateway lets run.
	TTL time.Duration

	// Now returns the current time; nil means time.Now. Periods and expiry
	// follow this clock, never the server's.
	Now func() time.Time

	// Timeout bounds each call the ledger makes to Redis (one per Reserve,
	// Settle, Release and Balance), on top of the caller's context. Zero
	// means DefaultTimeout; it must otherwise be at least a millisecond.
	// A client with ContextTimeoutEnabled (go-redis) is cut off at the
	// deadline by the client itself; for any other, each call runs in a
	// goroutine of its own and is abandoned at the deadline (see doc.go).
	Timeout time.Duration
}

// Ledger is a [metering.Ledger] on Redis: every replica that uses the same
// server and prefix shares the same budgets.
//
// Each call is one round trip running one Lua script, so Reserve is atomic
// over all its accounts. An account in one period is a hash ("spent",
// "reserved") whose key names its kind, ID, period and the period's start;
// a daily or monthly one expires (in Redis's time) a day plus twice the TTL
// after its period ends, so ended periods leave nothing behind, while a
// PeriodTotal account is kept for good. A reservation is a hash holding the
// amount and the account keys it holds, remembered until twice the TTL
// after Reserve, so that a repeated Settle or Release does nothing. (Its
// key also carries a Redis expiry of three TTLs plus a day, a backstop for a
// ledger abandoned with reservations in flight; replicas whose clocks run
// that far behind Redis's would lose reservations' records early.)
//
// Expiry follows the Now of the options: every script first processes the
// reservations whose timer is due (at most 128 per call; a larger backlog is
// worked off by the next calls, and until then the reservations it holds
// still count, which can only refuse, never overspend). Replicas' clocks
// should therefore agree (NTP).
//
// Amounts are integer micro-dollars. Spend and reservations are summed by
// Redis in int64, exactly; limits must not exceed MaxLedgerLimit (2^53-1),
// which keeps every comparison the scripts make in float64 exact.
// Reservation IDs are a random prefix of the Ledger value and a counter of
// that value, so they are unique across replicas.
//
// On Redis Cluster (and Valkey, which runs the same scripts), a script may
// only touch keys of one slot. A reserve is atomic across accounts, and the
// scripts also touch keys they cannot name in advance (the reservations whose
// timers are due, and the account keys a reservation holds), so every key of
// a ledger must hash to one slot: the Prefix holds a hash tag, which NewLedger
// requires. The whole ledger therefore lives on one shard: its throughput is
// that of one Redis node (one core running its scripts) whatever the size
// of the cluster, and adding shards does not raise it. A fleet that needs
// more can split its accounts over several Ledgers with different tags,
// provided that no Reserve spans two of them. The limiter's and the
// throttle's keys, which have no such need, spread over the shards.
//
// Use [NewLedger]; the zero Ledger is not usable. A Ledger is safe for
// concurrent use and starts no goroutine. Errors of the client or the
// server, and calls cut off by the Timeout, are returned wrapped and change
// nothing, unless the server ran the script before the connection failed.
type Ledger struct {
	client  redis.UniversalClient
	prefix  string
	ttl     time.Duration
	timeout time.Duration
	aware   bool // the client bounds its reads by the context's deadline
	now     func() time.Time
	idStart string        // prefix of this value's reservation IDs
	seq     atomic.Uint64 // numbers this value's reservations
}

var (
	_ metering.Ledger        = (*Ledger)(nil)
	_ metering.AccountEraser = (*Ledger)(nil)
)

// NewLedger returns a Ledger that keeps its state on client. opts may be
// nil. It returns an error naming the field for invalid options.
func NewLedger(client redis.UniversalClient, opts *LedgerOptions) (*Ledger, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	var o LedgerOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.TTL < 0:
		return nil, errors.New("redisstore: LedgerOptions.TTL is negative")
	case o.TTL == 0:
		o.TTL = DefaultLedgerTTL
	case o.TTL < time.Millisecond:
		return nil, errors.New("redisstore: LedgerOptions.TTL is under a millisecond")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultLedgerPrefix
	}
	if !hasHashTag(o.Prefix) {
		return nil, errors.New(`redisstore: LedgerOptions.Prefix holds no hash tag (such as "{wicket:ledger}"), which keeps a ledger's keys in one slot`)
	}
	d, err := timeout(o.Timeout, "LedgerOptions.Timeout")
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Ledger{
		client:  client,
		prefix:  o.Prefix,
		ttl:     o.TTL,
		timeout: d,
		aware:   honoursDeadlines(client),
		now:     o.Now,
		idStart: rand.Text()[:16] + "-",
	}, nil
}

// hasHashTag reports whether a key beginning with prefix has its Redis
// Cluster slot set by prefix alone: prefix holds a "{" and, after the first
// "{", a "}" that is not right after it (Redis hashes only what lies between
// the first "{" and the first "}" after it, when that is not empty).
func hasHashTag(prefix string) bool {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		return false
	}
	return strings.IndexByte(prefix[i+1:], '}') > 0
}

// accountKey returns the key of account a in the period starting at start.
// The kind is length-prefixed and the period and start end the key, so that
// no two accounts share a key whatever their kinds and IDs hold.
func (l *Ledger) accountKey(a metering.Account, start time.Time) string {
	var s int64
	if !start.IsZero() {
		s = start.Unix()
	}
	return l.accountStem(a) + a.Period.String() + ":" + strconv.FormatInt(s, 10)
}

// accountStem is the part of an account's keys before the period.
func (l *Ledger) accountStem(a metering.Account) string {
	return l.prefix + "a:" + strconv.Itoa(len(a.Kind)) + ":" + string(a.Kind) + ":" + a.ID + ":"
}

// common returns the keys and arguments every script begins with.
func (l *Ledger) common(now time.Time) (keys []string, args []any) {
	return []string{l.prefix + "timers"},
		[]any{now.UnixMilli(), l.ttl.Milliseconds(), l.prefix + "r:"}
}

// reservationKey returns the key of reservation id.
func (l *Ledger) reservationKey(id string) string { return l.prefix + "r:" + id }

// Reserve implements [metering.Ledger]: it holds amount against every
// account, atomically, or returns a *metering.BudgetError naming the first
// account that cannot cover it.
func (l *Ledger) Reserve(ctx context.Context, accounts []metering.Account, amount int64) (string, error) {
	if err := validateReserve(accounts, amount); err != nil {
		return "", err
	}
	now := l.now()
	id := l.idStart + strconv.FormatUint(l.seq.Add(1), 10)
	keys, args := l.common(now)
	keys = append(keys, l.reservationKey(id))
	args = append(args, strconv.FormatInt(amount, 10), id)
	ends := make([]time.Time, len(accounts))
	for i, a := range accounts {
		start, end := a.Period.Bounds(now)
		ends[i] = end
		keys = append(keys, l.accountKey(a, start))
		var life int64
		if !end.IsZero() {
			life = max(end.Sub(now).Milliseconds(), 0) + (2*l.ttl + 24*time.Hour).Milliseconds()
		}
		args = append(args, a.Limit, life)
	}
	res, err := boundedCall(ctx, l.timeout, l.aware, func(ctx context.Context) ([]any, error) {
		return ledgerReserveScript.Run(ctx, l.client, keys, args...).Slice()
	})
	if err != nil {
		return "", wrapErr(err)
	}
	if len(res) == 0 {
		return "", errReply
	}
	code, ok := res[0].(int64)
	if !ok {
		return "", errReply
	}
	switch code {
	case 1:
		return id, nil
	case 0, -1:
		if len(res) < 2 {
			return "", errReply
		}
		i, ok := res[1].(int64)
		if !ok || i < 1 || int(i) > len(accounts) {
			return "", errReply
		}
		a := accounts[i-1]
		if code == -1 {
			return "", fmt.Errorf("redisstore: reserve: amount overflows the %s account's reservations", a.Kind)
		}
		var left int64
		if len(res) == 3 {
			left, _ = res[2].(int64)
		}
		return "", &metering.BudgetError{Account: a, Remaining: left, Reset: ends[i-1]}
	}
	return "", errReply
}

// validateReserve checks Reserve's arguments as metering.MemoryLedger does,
// and the limits against MaxLedgerLimit.
func validateReserve(accounts []metering.Account, amount int64) error {
	if amount < 0 {
		return errors.New("redisstore: reserve: negative amount")
	}
	if len(accounts) == 0 {
		return errors.New("redisstore: reserve: no accounts")
	}
	for i, a := range accounts {
		if err := validateAccount(a); err != nil {
			return fmt.Errorf("redisstore: reserve: %w", err)
		}
		if a.Limit > MaxLedgerLimit {
			return errors.New("redisstore: reserve: account limit above MaxLedgerLimit")
		}
		for _, b := range accounts[:i] {
			if a.Kind == b.Kind && a.ID == b.ID && a.Period == b.Period {
				return errors.New("redisstore: reserve: account listed twice")
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

// Settle implements [metering.Ledger]: it charges cost to the accounts of
// reservation id, in the periods the reservation was made in.
func (l *Ledger) Settle(ctx context.Context, id string, cost int64) error {
	if cost < 0 {
		return errors.New("redisstore: settle: negative cost")
	}
	return l.end(ctx, "settle", id, strconv.FormatInt(cost, 10))
}

// Release implements [metering.Ledger]: it ends reservation id without
// charging anything.
func (l *Ledger) Release(ctx context.Context, id string) error {
	return l.end(ctx, "release", id, "-")
}

func (l *Ledger) end(ctx context.Context, op, id, cost string) error {
	keys, args := l.endArgs(id, cost)
	n, err := boundedCall(ctx, l.timeout, l.aware, func(ctx context.Context) (int64, error) {
		return ledgerEndScript.Run(ctx, l.client, keys, args...).Int64()
	})
	return endResult(op, n, err)
}

// endArgs returns the keys and arguments of ledgerEndScript for
// reservation id and cost ("-" to release).
func (l *Ledger) endArgs(id, cost string) ([]string, []any) {
	keys, args := l.common(l.now())
	keys = append(keys, l.reservationKey(id))
	return keys, append(args, id, cost)
}

// endResult turns ledgerEndScript's reply into Settle's or Release's error.
func endResult(op string, n int64, err error) error {
	if err != nil {
		return wrapErr(err)
	}
	if n == 0 {
		return fmt.Errorf("redisstore: %s: %w", op, metering.ErrUnknownReservation)
	}
	return nil
}

var _ metering.SettlementLedger = (*Ledger)(nil)

// Settlement implements [metering.SettlementLedger]: a [LimiterBackend] on
// the same client carries it in the pipeline that ends a request's limits,
// so that the gateway ends a request in one round trip.
func (l *Ledger) Settlement(id string, cost int64) metering.Settlement {
	s := &settlement{l: l, id: id, op: "release", cost: "-"}
	switch {
	case cost > 0:
		s.op, s.cost = "settle", strconv.FormatInt(cost, 10)
	case cost < 0:
		s.err = errors.New("redisstore: settle: negative cost")
	}
	return s
}

// settlement is a Ledger's settlement or release of one reservation, not
// yet made.
type settlement struct {
	l            *Ledger
	id, op, cost string // cost "-" releases
	err          error  // set for a call that must not be made
}

// Run makes the call on its own.
func (s *settlement) Run(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	return s.l.end(ctx, s.op, s.id, s.cost)
}

// Balance implements [metering.Ledger]: it returns the account's spend and
// reservations in its current period. It writes nothing for an account it
// does not know.
func (l *Ledger) Balance(ctx context.Context, a metering.Account) (metering.Balance, error) {
	if err := validateAccount(a); err != nil {
		return metering.Balance{}, fmt.Errorf("redisstore: balance: %w", err)
	}
	now := l.now()
	start, end := a.Period.Bounds(now)
	keys, args := l.common(now)
	keys = append(keys, l.accountKey(a, start))
	res, err := boundedCall(ctx, l.timeout, l.aware, func(ctx context.Context) ([]string, error) {
		return ledgerBalanceScript.Run(ctx, l.client, keys, args...).StringSlice()
	})
	if err != nil {
		return metering.Balance{}, wrapErr(err)
	}
	if len(res) != 2 {
		return metering.Balance{}, errReply
	}
	spent, err1 := strconv.ParseInt(res[0], 10, 64)
	reserved, err2 := strconv.ParseInt(res[1], 10, 64)
	if err1 != nil || err2 != nil {
		return metering.Balance{}, errReply
	}
	return metering.Balance{Account: a, Start: start, End: end, Spent: spent, Reserved: reserved}, nil
}

// EraseAccounts implements [metering.AccountEraser]: it deletes every
// period of each account (by Kind and ID) and returns how many accounts it
// held. It finds the keys with SCAN, so it reads the whole keyspace of the
// server holding the ledger (on a cluster, the master serving the ledger's
// slot) once per account: erasure is rare. Each SCAN and DEL is bounded by
// the Timeout on its own. Reservations in flight against an erased account
// still settle or release without error and charge no erased key.
func (l *Ledger) EraseAccounts(ctx context.Context, accounts []metering.Account) (int, error) {
	n := 0
	for _, a := range accounts {
		if a.Kind == "" || a.ID == "" {
			continue
		}
		found, err := l.periodKeys(ctx, a)
		if err != nil {
			return n, err
		}
		if len(found) == 0 {
			continue
		}
		dctx, cancel := bounded(ctx, l.timeout)
		err = l.client.Del(dctx, found...).Err()
		cancel()
		if err != nil {
			return n, wrapErr(err)
		}
		n++
	}
	return n, nil
}

// periodKeys returns the keys of every period of account a, found by SCAN.
func (l *Ledger) periodKeys(ctx context.Context, a metering.Account) ([]string, error) {
	stem := l.accountStem(a)
	node, err := l.scanNode(ctx, stem)
	if err != nil {
		return nil, err
	}
	var found []string
	var cursor uint64
	for {
		sctx, cancel := bounded(ctx, l.timeout)
		page, next, err := node.Scan(sctx, cursor, globEscape(stem)+"*", 1000).Result()
		cancel()
		if err != nil {
			return nil, wrapErr(err)
		}
		for _, k := range page {
			if isPeriodSuffix(strings.TrimPrefix(k, stem)) {
				found = append(found, k)
			}
		}
		if next == 0 {
			return found, nil
		}
		cursor = next
	}
}

// scanNode returns the client to SCAN for the ledger's keys: on a cluster,
// the master serving the slot of key, which is that of every key of the
// ledger. (A cluster client sends SCAN to the slot of its pattern's hash
// tag, which escaping the pattern may change, or else to any master.)
func (l *Ledger) scanNode(ctx context.Context, key string) (redis.Cmdable, error) {
	cluster, ok := l.client.(interface {
		MasterForKey(ctx context.Context, key string) (*redis.Client, error)
	})
	if !ok {
		return l.client, nil
	}
	ctx, cancel := bounded(ctx, l.timeout)
	defer cancel()
	node, err := cluster.MasterForKey(ctx, key)
	if err != nil {
		return nil, wrapErr(err)
	}
	return node, nil
}

// isPeriodSuffix reports whether s is "<period>:<digits>", the end of an
// account key after its stem (so that the stem of ID "a" does not match the
// keys of ID "a:b").
func isPeriodSuffix(s string) bool {
	p, start, ok := strings.Cut(s, ":")
	if _, known := metering.ParsePeriod(p); !ok || !known || start == "" {
		return false
	}
	for _, c := range []byte(start) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// globEscape escapes the characters special to a SCAN MATCH pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}
