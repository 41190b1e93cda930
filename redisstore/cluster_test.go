package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/keys/keystest"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/ratelimit/ratelimittest"
	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// clusterNodes is the number of masters of the cluster TestCluster starts.
const clusterNodes = 3

// TestCluster runs every backend on a real Redis Cluster of three masters,
// through a go-redis ClusterClient: the conformance suites, and checks that
// the limiter's and the throttle's keys spread over the shards while a
// ledger's stay in one slot. It starts the cluster once, for all of its
// subtests, and stops it at its end.
func TestCluster(t *testing.T) {
	start := time.Now()
	cl, err := redistest.StartCluster(clusterNodes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	t.Logf("%d-node cluster ready in %v", clusterNodes, time.Since(start))
	c := cl.Client(t)

	t.Run("LimiterBackendConformance", func(t *testing.T) {
		ratelimittest.RunBackendTests(t, func(t *testing.T) ratelimit.Backend { return newLimiter(t, c, nil) })
	})
	t.Run("LimiterBatcherConformance", func(t *testing.T) {
		ratelimittest.RunBatcherTests(t, func(t *testing.T) ratelimit.Batcher { return newLimiter(t, c, nil) })
	})
	t.Run("ThrottleBackendConformance", func(t *testing.T) {
		ratelimittest.RunThrottleBackendTests(t, func(t *testing.T) ratelimit.ThrottleBackend { return newThrottle(t, c, "") })
	})
	t.Run("LedgerConformance", func(t *testing.T) {
		meteringtest.RunLedgerTests(t, func(t *testing.T, cfg meteringtest.LedgerConfig) metering.Ledger {
			return newLedger(t, c, &redisstore.LedgerOptions{Prefix: taggedPrefix(t), TTL: cfg.TTL, Now: cfg.Now})
		})
	})
	t.Run("KeyStoreConformance", func(t *testing.T) {
		keystest.RunStoreTests(t, func(t *testing.T) keys.Store { return newKeyStore(t, c, taggedPrefix(t)) })
	})
	t.Run("LimiterSpreads", func(t *testing.T) { testLimiterSpreads(t, c) })
	t.Run("ThrottleSpreads", func(t *testing.T) { testThrottleSpreads(t, c) })
	t.Run("LedgerInOneSlot", func(t *testing.T) { testLedgerInOneSlot(t, c) })
	t.Run("LedgerEraseAccounts", func(t *testing.T) { testClusterEraseAccounts(t, c) })
}

// spreadSubjects is how many subjects or clients the spread tests write:
// enough that each of the three masters gets some, short of a failure of
// the sharding.
const spreadSubjects = 64

// testLimiterSpreads: the limiter's keys, tagged by subject, land on every
// master, so that the limits of a fleet scale with the cluster.
func testLimiterSpreads(t *testing.T, c *redis.ClusterClient) {
	prefix := redistest.Prefix(t)
	b := newLimiter(t, c, &redisstore.LimiterOptions{Prefix: prefix})
	ctx := context.Background()
	for i := range spreadSubjects {
		// A bucket of one request a minute, emptied: its key lives a minute.
		if _, ok, err := b.TakeRequests(ctx, fmt.Sprintf("subject-%d", i), 1, 1, time.Now()); err != nil || !ok {
			t.Fatalf("TakeRequests: got %v, %v; want granted", ok, err)
		}
	}
	checkSpread(t, c, prefix)
}

// testThrottleSpreads: the throttle's keys, one per client, land on every
// master.
func testThrottleSpreads(t *testing.T, c *redis.ClusterClient) {
	prefix := redistest.Prefix(t)
	b := newThrottle(t, c, prefix)
	ctx := context.Background()
	for i := range spreadSubjects {
		if _, err := b.Fail(ctx, fmt.Sprintf("192.0.2.%d/32", i), 5, time.Minute, time.Minute, time.Now()); err != nil {
			t.Fatalf("Fail: %v", err)
		}
	}
	checkSpread(t, c, prefix)
}

// checkSpread checks that the spreadSubjects keys under prefix are all
// there and that every master holds some.
func checkSpread(t *testing.T, c *redis.ClusterClient, prefix string) {
	t.Helper()
	perMaster := keysPerMaster(t, c, prefix)
	total := 0
	for _, ks := range perMaster {
		total += len(ks)
	}
	if total != spreadSubjects || len(perMaster) != clusterNodes {
		counts := make(map[string]int)
		for addr, ks := range perMaster {
			counts[addr] = len(ks)
		}
		t.Errorf("keys per master: got %v; want %d keys spread over all %d masters", counts, spreadSubjects, clusterNodes)
	}
}

// testLedgerInOneSlot: every key of a ledger, accounts of both kinds and
// periods, reservations and timers, hashes to the slot of its prefix's tag,
// on one master.
func testLedgerInOneSlot(t *testing.T, c *redis.ClusterClient) {
	prefix := taggedPrefix(t)
	clk := meteringtest.NewClock(t0)
	l := newLedger(t, c, &redisstore.LedgerOptions{Prefix: prefix, Now: clk.Now, TTL: time.Minute})
	ctx := context.Background()
	var accounts []metering.Account
	for i := range 8 {
		accounts = append(accounts,
			metering.Account{Kind: metering.AccountKey, ID: fmt.Sprintf("key-%d", i), Limit: 1000, Period: metering.PeriodDaily},
			metering.Account{Kind: metering.AccountOwner, ID: fmt.Sprintf("owner-%d", i), Period: metering.PeriodMonthly})
	}
	id, err := l.Reserve(ctx, accounts, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve(ctx, accounts[:3], 200); err != nil {
		t.Fatal(err)
	}
	if err := l.Settle(ctx, id, 40); err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts[:2] {
		b, err := l.Balance(ctx, a)
		if err != nil || b.Spent != 40 || b.Reserved != 200 {
			t.Errorf("Balance: got %+v, %v; want spent 40, reserved 200", b, err)
		}
	}

	perMaster := keysPerMaster(t, c, prefix)
	if len(perMaster) != 1 {
		t.Fatalf("ledger keys on %d masters; want 1", len(perMaster))
	}
	want, err := c.ClusterKeySlot(ctx, prefix).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, ks := range perMaster {
		// 16 accounts, 2 reservations, the timers.
		if len(ks) != len(accounts)+3 {
			t.Errorf("ledger keys: got %d; want %d", len(ks), len(accounts)+3)
		}
		for _, k := range ks {
			if slot, err := c.ClusterKeySlot(ctx, k).Result(); err != nil || slot != want {
				t.Errorf("slot of a ledger key: got %d, %v; want %d, that of the prefix", slot, err, want)
			}
		}
	}
}

// testClusterEraseAccounts: EraseAccounts finds an account's keys on the
// master that holds the ledger, whichever node a SCAN of the client would
// reach.
func testClusterEraseAccounts(t *testing.T, c *redis.ClusterClient) {
	ctx := context.Background()
	// The client sends a SCAN to the slot of its pattern's hash tag, else to
	// the next master in turn. Take a tag with glob characters, which the
	// pattern escapes, such that the escaped tag is served by another master.
	escape := strings.NewReplacer("[", `\[`, "]", `\]`)
	var prefix string
	for i := 0; prefix == "" && i < 100; i++ {
		tag := fmt.Sprintf("erase[%d]", i)
		a, err1 := c.MasterForKey(ctx, "{"+tag+"}")
		b, err2 := c.MasterForKey(ctx, "{"+escape.Replace(tag)+"}")
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if a.Options().Addr != b.Options().Addr {
			prefix = "{" + tag + "}:"
		}
	}
	if prefix == "" {
		t.Fatal("no tag found whose escaped form is on another master")
	}
	clk := meteringtest.NewClock(t0)
	l := newLedger(t, c, &redisstore.LedgerOptions{Prefix: prefix, Now: clk.Now})
	// Several accounts erased one by one, so that SCANs sent to the masters
	// in turn would miss some.
	for i := range 6 {
		daily := metering.Account{Kind: metering.AccountKey, ID: fmt.Sprintf("k%d", i), Limit: 1000, Period: metering.PeriodDaily}
		total := metering.Account{Kind: metering.AccountKey, ID: daily.ID}
		if _, err := l.Reserve(ctx, []metering.Account{daily, total}, 100); err != nil {
			t.Fatal(err)
		}
		n, err := l.EraseAccounts(ctx, []metering.Account{{Kind: metering.AccountKey, ID: daily.ID}})
		if err != nil || n != 1 {
			t.Fatalf("EraseAccounts: got %d, %v; want 1, nil", n, err)
		}
		for _, a := range []metering.Account{daily, total} {
			if b, err := l.Balance(ctx, a); err != nil || b.Spent != 0 || b.Reserved != 0 {
				t.Errorf("Balance of erased account: got %+v, %v; want zero", b, err)
			}
		}
	}
}

// keysPerMaster returns the keys under prefix that each master holding any
// of them holds, by address.
func keysPerMaster(t *testing.T, c *redis.ClusterClient, prefix string) map[string][]string {
	t.Helper()
	var mu sync.Mutex
	found := make(map[string][]string)
	err := c.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		ks, err := m.Keys(ctx, prefix+"*").Result()
		if err != nil || len(ks) == 0 {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		found[m.Options().Addr] = ks
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
