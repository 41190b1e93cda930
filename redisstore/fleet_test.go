package redisstore_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/redisstore"
)

// replica is one gateway of a fleet whose state is on the shared Redis.
type replica struct {
	gw *wicket.Gateway
	km *keys.Manager
	// send, if set, runs when the gateway sends a call upstream.
	send *atomic.Pointer[func()]
}

// newFleet starts n gateways sharing one Redis (under one prefix): key
// store with revocation broadcast, limiter backend, throttle and ledger.
func newFleet(t *testing.T, n int, limits ratelimit.Limits, prices *metering.PriceTable) []replica {
	t.Helper()
	return newFleetOn(t, n, limits, prices, func(tb testing.TB) redis.UniversalClient { return newClient(tb) })
}

// fleetPrefix is the key prefix of a test's fleet: a hash tag, so that
// every store's keys may share a slot.
func fleetPrefix(tb testing.TB) string { return "{" + strings.TrimSuffix(tb.Name(), "/") + "}:" }

// fleetTimeout bounds each Redis call of a fleet's stores: generous, since
// the fleet tests press a 2-core machine with a thousand requests at once
// under the race detector (the outage tests use short ones).
const fleetTimeout = 10 * time.Second

// newFleetOn is newFleet with each replica's client made by newClient.
func newFleetOn(tb testing.TB, n int, limits ratelimit.Limits, prices *metering.PriceTable, newClient func(testing.TB) redis.UniversalClient) []replica {
	tb.Helper()
	prefix := fleetPrefix(tb)
	var fleet []replica
	for range n {
		client := newClient(tb)
		store, err := redisstore.NewKeyStore(client, &redisstore.KeyStoreOptions{Prefix: prefix + "keys:", Timeout: fleetTimeout})
		if err != nil {
			tb.Fatal(err)
		}
		h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{3}, 32)})
		if err != nil {
			tb.Fatal(err)
		}
		km, err := keys.NewManager(store, h, &keys.Options{CacheTTL: time.Hour})
		if err != nil {
			tb.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		tb.Cleanup(cancel)
		if err := store.Subscribe(ctx, km); err != nil {
			tb.Fatal(err)
		}
		lb, err := redisstore.NewLimiterBackend(client, &redisstore.LimiterOptions{Prefix: prefix + "rl:", Timeout: fleetTimeout})
		if err != nil {
			tb.Fatal(err)
		}
		limiter, err := ratelimit.New(&ratelimit.Options{Backend: lb})
		if err != nil {
			tb.Fatal(err)
		}
		ledger, err := redisstore.NewLedger(client, &redisstore.LedgerOptions{Prefix: prefix + "ledger:", Timeout: fleetTimeout})
		if err != nil {
			tb.Fatal(err)
		}
		tb2, err := redisstore.NewThrottleBackend(client, &redisstore.ThrottleOptions{Prefix: prefix + "at:", Timeout: fleetTimeout})
		if err != nil {
			tb.Fatal(err)
		}
		throttle, err := ratelimit.NewAuthThrottle(&ratelimit.AuthThrottleOptions{Backend: tb2})
		if err != nil {
			tb.Fatal(err)
		}
		send := new(atomic.Pointer[func()])
		gw, err := wicket.New(wicket.Config{Keys: km, Router: fakeRouter(tb, send), Limiter: limiter, Ledger: ledger, Limits: limits, Prices: prices, AuthThrottle: throttle})
		if err != nil {
			tb.Fatal(err)
		}
		fleet = append(fleet, replica{gw: gw, km: km, send: send})
	}
	return fleet
}

// fakeRouter routes the model fake-echo to the in-process fake upstream,
// running *send (if set) on each call.
func fakeRouter(tb testing.TB, send *atomic.Pointer[func()]) *providers.Router {
	var p providers.Provider = fake.NewProvider(nil)
	if send != nil {
		p = atSend{Provider: p, f: func() {
			if f := send.Load(); f != nil {
				(*f)()
			}
		}}
	}
	router, err := providers.NewRouter([]providers.Model{{Name: "fake-echo", Deployments: []providers.Deployment{{Provider: p}}}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return router
}

func call(gw http.Handler, key string) int {
	r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"model":"fake-echo","max_tokens":4,"messages":[{"role":"user","content":"hello fleet"}]}`))
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	gw.ServeHTTP(w, r)
	return w.Code
}

// TestFleetSharesLimits: two gateways on one Redis hold a key's request
// rate together: of many calls spread over both within a minute, exactly
// the limit is admitted.
func TestFleetSharesLimits(t *testing.T) {
	fleet := newFleet(t, 2, ratelimit.Limits{RequestsPerMinute: 10}, nil)
	key, _, err := fleet[0].km.Issue(t.Context(), keys.Spec{Owner: "o"})
	if err != nil {
		t.Fatal(err)
	}
	admitted := 0
	for i := range 30 {
		if call(fleet[i%2].gw, key) == 200 {
			admitted++
		}
	}
	if admitted < 10 || admitted > 11 { // ±1: the bucket refills while the test runs
		t.Errorf("%d of 30 calls admitted across two replicas; want the limit, 10", admitted)
	}
}

// TestFleetNeverOverspends: 1,000 concurrent requests split across two
// gateways never overspend a budget they share, and the spend equals the
// sum of what was charged.
func TestFleetNeverOverspends(t *testing.T) {
	prices := metering.DefaultPrices()
	if err := prices.Set("fake-echo", metering.Price{Rates: metering.Rates{Input: 1_000_000, Output: 1_000_000}}); err != nil { // 1 µ$ a token
		t.Fatal(err)
	}
	fleet := newFleet(t, 2, ratelimit.Limits{}, prices)
	const budget = 5_000
	key, rec, err := fleet[0].km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: budget, Period: keys.PeriodTotal}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 1000 {
		wg.Go(func() {
			c := call(fleet[i%2].gw, key)
			mu.Lock()
			codes[c]++
			mu.Unlock()
		})
	}
	wg.Wait()
	ledger, err := redisstore.NewLedger(newClient(t), &redisstore.LedgerOptions{Prefix: fleetPrefix(t) + "ledger:"})
	if err != nil {
		t.Fatal(err)
	}
	bal, err := ledger.Balance(t.Context(), metering.Account{Kind: metering.AccountKey, ID: rec.Account(), Limit: budget, Period: metering.PeriodTotal})
	if err != nil {
		t.Fatal(err)
	}
	if bal.Spent > budget || bal.Reserved != 0 || codes[200] == 0 || codes[429] == 0 {
		t.Errorf("spent %d of %d, reserved %d, statuses %v; want the budget pressed, never exceeded, nothing held", bal.Spent, budget, bal.Reserved, codes)
	}
	t.Logf("statuses %v; spent %d of %d µ$", codes, bal.Spent, budget)
}

// TestFleetRevocation: a key revoked through one gateway's manager is
// refused by the other, which had it cached, within 100 ms.
func TestFleetRevocation(t *testing.T) {
	fleet := newFleet(t, 2, ratelimit.Limits{}, nil)
	key, rec, err := fleet[0].km.Issue(t.Context(), keys.Spec{Owner: "o"})
	if err != nil {
		t.Fatal(err)
	}
	if c := call(fleet[1].gw, key); c != 200 { // now cached on replica 1 for an hour
		t.Fatalf("before revocation: %d", c)
	}
	if _, err := fleet[0].km.Revoke(t.Context(), rec.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		if call(fleet[1].gw, key) == http.StatusUnauthorized {
			break
		}
		if time.Since(start) > 100*time.Millisecond {
			t.Fatalf("replica 1 still serves the revoked key after %v", time.Since(start))
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("replica 1 refused the revoked key after %v", time.Since(start))
}
