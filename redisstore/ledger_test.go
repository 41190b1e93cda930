package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// taggedPrefix returns a key prefix no other test uses that is a Redis
// Cluster hash tag, as a Ledger's must be (and as a KeyStore's must be on a
// cluster): "{test:<name>:<random>}:".
func taggedPrefix(tb testing.TB) string {
	return "{" + strings.TrimSuffix(redistest.Prefix(tb), ":") + "}:"
}

// roomyTimeout bounds each Redis call of the ledgers and throttles most
// tests make: generous, since the suites press a 2-core machine with a
// thousand calls at once under the race detector, which queue for the
// client's pooled connections. TestLedgerTimeout and TestThrottleTimeout
// check short ones.
const roomyTimeout = 10 * time.Second

// newLedger returns a Ledger on c with opts (nil: the defaults), its
// Timeout roomyTimeout unless opts sets one.
func newLedger(t testing.TB, c redis.UniversalClient, opts *redisstore.LedgerOptions) *redisstore.Ledger {
	t.Helper()
	var o redisstore.LedgerOptions
	if opts != nil {
		o = *opts
	}
	if o.Timeout == 0 {
		o.Timeout = roomyTimeout
	}
	l, err := redisstore.NewLedger(c, &o)
	if err != nil {
		t.Fatalf("NewLedger: %v", err)
	}
	return l
}

func TestLedgerConformance(t *testing.T) {
	c := newClient(t)
	meteringtest.RunLedgerTests(t, func(t *testing.T, cfg meteringtest.LedgerConfig) metering.Ledger {
		return newLedger(t, c, &redisstore.LedgerOptions{Prefix: taggedPrefix(t), TTL: cfg.TTL, Now: cfg.Now})
	})
}

func TestNewLedgerOptions(t *testing.T) {
	c := newClient(t)
	for _, tc := range []struct {
		name    string
		client  redis.UniversalClient
		opts    *redisstore.LedgerOptions
		wantErr string // in the error; "" for none
	}{
		{"nil options", c, nil, ""},
		{"defaults", c, &redisstore.LedgerOptions{}, ""},
		{"one millisecond", c, &redisstore.LedgerOptions{TTL: time.Millisecond}, ""},
		{"nil client", nil, nil, "client"},
		{"negative TTL", c, &redisstore.LedgerOptions{TTL: -time.Second}, "LedgerOptions.TTL"},
		{"TTL under a millisecond", c, &redisstore.LedgerOptions{TTL: time.Microsecond}, "LedgerOptions.TTL"},
		{"timeout of a millisecond", c, &redisstore.LedgerOptions{Timeout: time.Millisecond}, ""},
		{"negative timeout", c, &redisstore.LedgerOptions{Timeout: -time.Second}, "LedgerOptions.Timeout"},
		{"timeout under a millisecond", c, &redisstore.LedgerOptions{Timeout: time.Microsecond}, "LedgerOptions.Timeout"},
		{"tagged prefix", c, &redisstore.LedgerOptions{Prefix: "{b}:"}, ""},
		{"tag inside the prefix", c, &redisstore.LedgerOptions{Prefix: "app:{budgets}:x:"}, ""},
		{"tag after an unmatched close", c, &redisstore.LedgerOptions{Prefix: "}a{b}"}, ""},
		{"tag holding an open", c, &redisstore.LedgerOptions{Prefix: "{{}"}, ""},
		{"prefix without a tag", c, &redisstore.LedgerOptions{Prefix: "wicket:ledger:"}, "LedgerOptions.Prefix"},
		{"empty tag", c, &redisstore.LedgerOptions{Prefix: "{}:"}, "LedgerOptions.Prefix"},
		{"empty first tag", c, &redisstore.LedgerOptions{Prefix: "{}{a}:"}, "LedgerOptions.Prefix"},
		{"unclosed tag", c, &redisstore.LedgerOptions{Prefix: "{ledger:"}, "LedgerOptions.Prefix"},
		{"close before open", c, &redisstore.LedgerOptions{Prefix: "a}{"}, "LedgerOptions.Prefix"},
	} {
		l, err := redisstore.NewLedger(tc.client, tc.opts)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: got error %v; want nil", tc.name, err)
		case tc.wantErr == "" && l == nil:
			t.Errorf("%s: got a nil Ledger", tc.name)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: got error %v; want one naming %q", tc.name, err, tc.wantErr)
		}
	}
}

// TestLedgerReplicasNeverOverspend runs two Ledger values, as two replicas
// would, against one budget.
func TestLedgerReplicasNeverOverspend(t *testing.T) {
	c1, c2 := newClient(t), newClient(t)
	prefix := taggedPrefix(t)
	clk := meteringtest.NewClock(t0)
	opts := &redisstore.LedgerOptions{Prefix: prefix, TTL: time.Minute, Now: clk.Now}
	ledgers := []*redisstore.Ledger{newLedger(t, c1, opts), newLedger(t, c2, opts)}
	k := metering.Account{Kind: metering.AccountKey, ID: "k", Limit: 50_000, Period: metering.PeriodDaily}
	o := metering.Account{Kind: metering.AccountOwner, ID: "o", Limit: 70_000, Period: metering.PeriodMonthly}
	ctx := context.Background()
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		admitted atomic.Int64
		mu       sync.Mutex
		ids      = make(map[string]bool)
	)
	for g := range 200 {
		wg.Go(func() {
			<-start
			id, err := ledgers[g%2].Reserve(ctx, []metering.Account{k, o}, 1_000)
			if err != nil {
				if !errors.Is(err, metering.ErrBudgetExceeded) {
					t.Errorf("Reserve: got error %v; want nil or ErrBudgetExceeded", err)
				}
				return
			}
			admitted.Add(1)
			mu.Lock()
			defer mu.Unlock()
			if ids[id] {
				t.Errorf("Reserve: ID %q issued twice", id)
			}
			ids[id] = true
		})
	}
	close(start)
	wg.Wait()
	if got := admitted.Load(); got != 50 {
		t.Fatalf("admitted %d reservations of 1000 against a budget of 50000; want exactly 50", got)
	}
	for _, l := range ledgers {
		b, err := l.Balance(ctx, k)
		if err != nil || b.Reserved != 50_000 || b.Spent != 0 {
			t.Errorf("Balance: got %+v, %v; want reserved 50000", b, err)
		}
	}
	// Settling through the other replica works too.
	n := 0
	for id := range ids {
		if err := ledgers[n%2].Settle(ctx, id, 500); err != nil {
			t.Fatalf("Settle: %v", err)
		}
		n++
	}
	b, err := ledgers[0].Balance(ctx, o)
	if err != nil || b.Spent != 25_000 || b.Reserved != 0 {
		t.Errorf("owner Balance: got %+v, %v; want spent 25000, reserved 0", b, err)
	}
}

func TestLedgerBudgetErrorNamesAccount(t *testing.T) {
	clk := meteringtest.NewClock(t0)
	l := newLedger(t, newClient(t), &redisstore.LedgerOptions{Prefix: taggedPrefix(t), Now: clk.Now})
	ctx := context.Background()
	k := metering.Account{Kind: metering.AccountKey, ID: "k", Limit: 1000, Period: metering.PeriodDaily}
	o := metering.Account{Kind: metering.AccountOwner, ID: "o", Limit: 300, Period: metering.PeriodMonthly}
	if _, err := l.Reserve(ctx, []metering.Account{k, o}, 100); err != nil {
		t.Fatal(err)
	}
	_, err := l.Reserve(ctx, []metering.Account{k, o}, 250)
	var be *metering.BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("Reserve: got error %v; want a *metering.BudgetError", err)
	}
	_, wantReset := metering.PeriodMonthly.Bounds(clk.Now())
	if be.Account != o || be.Remaining != 200 || !be.Reset.Equal(wantReset) {
		t.Errorf("BudgetError: got %+v; want the owner account, 200 left, reset %v", be, wantReset)
	}
	if strings.Contains(err.Error(), "\"o\"") {
		t.Errorf("error %q names the account ID", err)
	}
	// The refusal held nothing against the key account.
	if b, err := l.Balance(ctx, k); err != nil || b.Reserved != 100 {
		t.Errorf("key Balance after refusal: got %+v, %v; want reserved 100", b, err)
	}
}

func TestLedgerLimitTooLarge(t *testing.T) {
	l := newLedger(t, newClient(t), &redisstore.LedgerOptions{Prefix: taggedPrefix(t)})
	a := metering.Account{Kind: metering.AccountKey, ID: "k", Limit: redisstore.MaxLedgerLimit + 1}
	if _, err := l.Reserve(context.Background(), []metering.Account{a}, 1); err == nil {
		t.Fatal("Reserve with a limit above MaxLedgerLimit: got nil error")
	}
	a.Limit = redisstore.MaxLedgerLimit
	if _, err := l.Reserve(context.Background(), []metering.Account{a}, redisstore.MaxLedgerLimit); err != nil {
		t.Fatalf("Reserve of MaxLedgerLimit: %v", err)
	}
	if _, err := l.Reserve(context.Background(), []metering.Account{a}, 1); !errors.Is(err, metering.ErrBudgetExceeded) {
		t.Fatalf("Reserve past MaxLedgerLimit: got %v; want ErrBudgetExceeded", err)
	}
}

func TestLedgerEraseAccounts(t *testing.T) {
	clk := meteringtest.NewClock(t0)
	c := newClient(t)
	prefix := taggedPrefix(t)
	l := newLedger(t, c, &redisstore.LedgerOptions{Prefix: prefix, Now: clk.Now})
	ctx := context.Background()
	daily := metering.Account{Kind: metering.AccountKey, ID: "k", Limit: 1000, Period: metering.PeriodDaily}
	total := metering.Account{Kind: metering.AccountKey, ID: "k"}
	other := metering.Account{Kind: metering.AccountKey, ID: "k:daily:1"} // a stem-alike ID
	id, err := l.Reserve(ctx, []metering.Account{daily, total, other}, 100)
	if err != nil {
		t.Fatal(err)
	}
	n, err := l.EraseAccounts(ctx, []metering.Account{{Kind: metering.AccountKey, ID: "k"}, {Kind: metering.AccountOwner, ID: "none"}})
	if err != nil || n != 1 {
		t.Fatalf("EraseAccounts: got %d, %v; want 1, nil", n, err)
	}
	if err := l.Settle(ctx, id, 70); err != nil {
		t.Fatalf("Settle after erasure: %v", err)
	}
	for _, a := range []metering.Account{daily, total} {
		if b, err := l.Balance(ctx, a); err != nil || b.Spent != 0 || b.Reserved != 0 {
			t.Errorf("Balance of erased account: got %+v, %v; want zero", b, err)
		}
	}
	if b, err := l.Balance(ctx, other); err != nil || b.Spent != 70 {
		t.Errorf("Balance of the other account: got %+v, %v; want spent 70", b, err)
	}
	keys, err := c.Keys(ctx, prefix+"a:*").Result()
	if err != nil || len(keys) != 1 {
		t.Errorf("account keys left: %q, %v; want only the other account's", keys, err)
	}
}

// A key's model budget has an ID made of the key's account and a model
// pattern, with ':' and glob characters: erasing it forgets it alone.
func TestLedgerEraseModelBudgetAccounts(t *testing.T) {
	c := newClient(t)
	l := newLedger(t, c, &redisstore.LedgerOptions{Prefix: taggedPrefix(t), Now: meteringtest.NewClock(t0).Now})
	ctx := context.Background()
	pattern := metering.Account{Kind: metering.AccountKeyModel, ID: "key_k:gpt-4o*", Limit: 1000, Period: metering.PeriodWeekly}
	sibling := metering.Account{Kind: metering.AccountKeyModel, ID: "key_k:gpt-4o-mini", Limit: 1000, Period: metering.PeriodWeekly}
	id, err := l.Reserve(ctx, []metering.Account{pattern, sibling}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Settle(ctx, id, 10); err != nil {
		t.Fatal(err)
	}
	if n, err := l.EraseAccounts(ctx, []metering.Account{{Kind: metering.AccountKeyModel, ID: "key_k:gpt-4o*"}}); err != nil || n != 1 {
		t.Fatalf("EraseAccounts: got %d, %v; want 1, nil", n, err)
	}
	if b, err := l.Balance(ctx, pattern); err != nil || b.Spent != 0 {
		t.Errorf("erased account: %+v, %v; want zero", b, err)
	}
	if b, err := l.Balance(ctx, sibling); err != nil || b.Spent != 10 {
		t.Errorf("sibling account: %+v, %v; want spent 10", b, err)
	}
}

// TestLedgerKeysExpire checks that a daily account's key carries an expiry
// and a total one does not.
func TestLedgerKeysExpire(t *testing.T) {
	clk := meteringtest.NewClock(t0)
	c := newClient(t)
	prefix := taggedPrefix(t)
	l := newLedger(t, c, &redisstore.LedgerOptions{Prefix: prefix, Now: clk.Now, TTL: time.Minute})
	ctx := context.Background()
	daily := metering.Account{Kind: metering.AccountKey, ID: "k", Period: metering.PeriodDaily}
	total := metering.Account{Kind: metering.AccountOwner, ID: "o"}
	if _, err := l.Reserve(ctx, []metering.Account{daily, total}, 1); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Keys(ctx, prefix+"a:*").Result()
	if err != nil || len(keys) != 2 {
		t.Fatalf("account keys: %q, %v; want 2", keys, err)
	}
	_, end := metering.PeriodDaily.Bounds(t0)
	for _, k := range keys {
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(k, ":daily:") {
			want := end.Sub(t0) + 2*time.Minute + 24*time.Hour
			if ttl <= 0 || ttl > want || ttl < want-time.Minute {
				t.Errorf("daily key PTTL: got %v; want about %v", ttl, want)
			}
		} else if ttl != -1 {
			t.Errorf("total key PTTL: got %v; want none (-1)", ttl)
		}
	}
}

// TestLedgerSweepBacklog checks that a backlog of expired reservations
// larger than one call's sweep is worked off by the following calls, and
// that reservations are forgotten two TTLs after Reserve.
func TestLedgerSweepBacklog(t *testing.T) {
	clk := meteringtest.NewClock(t0)
	c := newClient(t)
	prefix := taggedPrefix(t)
	l := newLedger(t, c, &redisstore.LedgerOptions{Prefix: prefix, Now: clk.Now, TTL: time.Minute})
	ctx := context.Background()
	a := metering.Account{Kind: metering.AccountKey, ID: "k", Limit: 300}
	var first string
	for i := range 300 {
		id, err := l.Reserve(ctx, []metering.Account{a}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = id
		}
	}
	clk.Advance(time.Minute)
	var reserved []int64
	for range 3 {
		b, err := l.Balance(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		reserved = append(reserved, b.Reserved)
	}
	if reserved[0] != 300-128 || reserved[1] != 300-256 || reserved[2] != 0 {
		t.Errorf("Reserved over three calls after expiry: got %v; want [172 44 0]", reserved)
	}
	clk.Advance(time.Minute)
	for range 3 {
		if _, err := l.Balance(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Settle(ctx, first, 1); !errors.Is(err, metering.ErrUnknownReservation) {
		t.Errorf("Settle two TTLs after Reserve: got %v; want ErrUnknownReservation", err)
	}
	if n, err := c.Keys(ctx, prefix+"r:*").Result(); err != nil || len(n) != 0 {
		t.Errorf("reservation keys left: %d, %v; want none", len(n), err)
	}
	if n, err := c.ZCard(ctx, prefix+"timers").Result(); err != nil || n != 0 {
		t.Errorf("timers left: %d, %v; want none", n, err)
	}
	if b, err := l.Balance(ctx, a); err != nil || b.Spent != 0 || b.Reserved != 0 {
		t.Errorf("Balance: got %+v, %v; want zero", b, err)
	}
}

func TestLedgerUnreachable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	l := newLedger(t, c, nil)
	ctx := context.Background()
	a := metering.Account{Kind: metering.AccountKey, ID: "k"}
	if _, err := l.Reserve(ctx, []metering.Account{a}, 1); err == nil || errors.Is(err, metering.ErrBudgetExceeded) {
		t.Errorf("Reserve: got %v; want a connection error", err)
	}
	if err := l.Settle(ctx, "x", 1); err == nil || errors.Is(err, metering.ErrUnknownReservation) {
		t.Errorf("Settle: got %v; want a connection error", err)
	}
	if _, err := l.Balance(ctx, a); err == nil {
		t.Error("Balance: got nil error")
	}
}

// TestLedgerTimeout: against a server that accepts connections and never
// answers, every call returns the deadline's error once Timeout has passed,
// rather than waiting on the server.
func TestLedgerTimeout(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: hangingServer(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	const timeout = 50 * time.Millisecond
	l := newLedger(t, c, &redisstore.LedgerOptions{Timeout: timeout})
	ctx := context.Background()
	a := metering.Account{Kind: metering.AccountKey, ID: "k", Limit: 10}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Reserve", func() error { _, err := l.Reserve(ctx, []metering.Account{a}, 1); return err }},
		{"Settle", func() error { return l.Settle(ctx, "x", 1) }},
		{"Release", func() error { return l.Release(ctx, "x") }},
		{"Balance", func() error { _, err := l.Balance(ctx, a); return err }},
		{"EraseAccounts", func() error { _, err := l.EraseAccounts(ctx, []metering.Account{a}); return err }},
	} {
		checkTimeout(t, tc.name, timeout, tc.call)
	}
}

// checkTimeout checks that call fails with context.DeadlineExceeded, no
// sooner than timeout and within a second.
func checkTimeout(t *testing.T, name string, timeout time.Duration, call func() error) {
	t.Helper()
	start := time.Now()
	err := call()
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: got error %v; want one wrapping context.DeadlineExceeded", name, err)
	}
	if took < timeout || took > time.Second {
		t.Errorf("%s: returned after %v; want between the timeout (%v) and 1s", name, took, timeout)
	}
}

func BenchmarkLedgerReserveSettle(b *testing.B) {
	l := newLedger(b, newClient(b), &redisstore.LedgerOptions{Prefix: taggedPrefix(b)})
	ctx := context.Background()
	accounts := []metering.Account{
		{Kind: metering.AccountKey, ID: "k", Limit: 1_000_000, Period: metering.PeriodDaily},
		{Kind: metering.AccountOwner, ID: "o", Limit: 0, Period: metering.PeriodMonthly},
	}
	for b.Loop() {
		id, err := l.Reserve(ctx, accounts, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Settle(ctx, id, 0); err != nil {
			b.Fatal(err)
		}
	}
}
