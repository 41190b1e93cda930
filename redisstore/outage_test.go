package redisstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// outageDeadline is the Timeout of every store in the outage tests.
const outageDeadline = 100 * time.Millisecond

// outageGateway is a gateway whose state is on a Redis that the test stops
// and starts, behind the core's fail modes.
type outageGateway struct {
	gw        *wicket.Gateway
	km        *keys.Manager
	limits    *ratelimit.FailoverBackend
	ledger    *metering.FailoverLedger
	fallbacks atomic.Int64 // told to the OnFallback callbacks
}

// newOutageGateway builds a gateway on srv's Redis under prefix, its limits
// failing with modes, its budgets closed.
func newOutageGateway(t *testing.T, srv *redistest.Server, prefix string, modes ratelimit.FailoverOptions) *outageGateway {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })
	og := &outageGateway{}
	store, err := redisstore.NewKeyStore(client, &redisstore.KeyStoreOptions{Prefix: prefix + "keys:", Timeout: outageDeadline})
	if err != nil {
		t.Fatal(err)
	}
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{5}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if og.km, err = keys.NewManager(store, h, &keys.Options{CacheTTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_ = store.Subscribe(ctx, og.km) // may fail while Redis is down; the cache TTL then bounds staleness
	lb, err := redisstore.NewLimiterBackend(client, &redisstore.LimiterOptions{Prefix: prefix + "rl:", Timeout: outageDeadline})
	if err != nil {
		t.Fatal(err)
	}
	modes.OnFallback = func(ratelimit.Fallback) { og.fallbacks.Add(1) }
	if og.limits, err = ratelimit.Failover(lb, &modes); err != nil {
		t.Fatal(err)
	}
	limiter, err := ratelimit.New(&ratelimit.Options{Backend: og.limits})
	if err != nil {
		t.Fatal(err)
	}
	rl, err := redisstore.NewLedger(client, &redisstore.LedgerOptions{Prefix: prefix + "ledger:", Timeout: outageDeadline})
	if err != nil {
		t.Fatal(err)
	}
	if og.ledger, err = metering.NewFailoverLedger(rl, &metering.FailoverLedgerOptions{OnFallback: func(string, metering.FailMode) { og.fallbacks.Add(1) }}); err != nil {
		t.Fatal(err)
	}
	og.gw, err = wicket.New(wicket.Config{Keys: og.km, Router: fakeRouter(t, nil), Limiter: limiter, Ledger: og.ledger,
		Limits: ratelimit.Limits{RequestsPerMinute: 5, MaxConcurrent: 4}, Prices: fleetPrices(t), DisableAuthThrottle: true})
	if err != nil {
		t.Fatal(err)
	}
	return og
}

// timedCall makes one call and returns its status, its error code, and how
// long it took.
func timedCall(gw http.Handler, key string) (int, string, time.Duration) {
	r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"model":"fake-echo","max_tokens":4,"messages":[{"role":"user","content":"hello outage"}]}`))
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	start := time.Now()
	gw.ServeHTTP(w, r)
	took := time.Since(start)
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &e)
	return w.Code, e.Error.Code, took
}

// TestOutage: Redis stopped (connections refused) or frozen (nothing
// answered) mid-run. Each limit does what its mode says: requests failing
// open are limited by the replica alone (5 a minute, then 429); failing
// closed they are refused with 503; a budget fails closed with 503. No
// request waits much beyond the deadline of its calls, and once a store's
// breaker has tripped its fail mode applies at once. When Redis is back
// (restarted with its data, or thawed), the same gateways recover without
// restarting, and a gateway started while Redis was down serves once it is
// back.
func TestOutage(t *testing.T) {
	srv, err := redistest.StartWith("--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	prefix := "{" + t.Name() + "}:"
	open := newOutageGateway(t, srv, prefix, ratelimit.FailoverOptions{})
	closed := newOutageGateway(t, srv, prefix, ratelimit.FailoverOptions{Requests: ratelimit.FailClosed, Concurrency: ratelimit.FailClosed})
	free, _, err := open.km.Issue(t.Context(), keys.Spec{Owner: "o"})
	if err != nil {
		t.Fatal(err)
	}
	budgeted, _, err := open.km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: 1_000_000, Period: keys.PeriodMonthly}})
	if err != nil {
		t.Fatal(err)
	}
	// Both gateways verify and cache both keys while Redis is up.
	for _, g := range []*outageGateway{open, closed} {
		for _, k := range []string{free, budgeted} {
			if c, code, _ := timedCall(g.gw, k); c != 200 {
				t.Fatalf("before the outage: %d %s", c, code)
			}
		}
	}

	// The bound on one request: a few calls, each cut at the deadline,
	// with generous slack for a loaded machine under the race detector.
	const bound = 8 * outageDeadline
	type want struct {
		name   string
		g      *outageGateway
		key    string
		status []int // one per call
		code   string
	}
	check := func(t *testing.T, phase string, cases []want) {
		t.Helper()
		var slowest time.Duration
		defer func() {
			t.Logf("%s: slowest request %v (deadline per call %v)", phase, slowest.Round(time.Millisecond), outageDeadline)
		}()
		for _, w := range cases {
			for i, status := range w.status {
				got, code, took := timedCall(w.g.gw, w.key)
				slowest = max(slowest, took)
				if got != status {
					t.Errorf("%s, %s, call %d: %d %s; want %d", phase, w.name, i+1, got, code, status)
				}
				if status == 503 && code != "service_unavailable" {
					t.Errorf("%s, %s, call %d: code %q; want service_unavailable", phase, w.name, i+1, code)
				}
				if took > bound {
					t.Errorf("%s, %s, call %d took %v; want at most %v", phase, w.name, i+1, took, bound)
				}
				// By the fifth call each store's breaker has tripped (3
				// failures in a row): the fail mode applies at once.
				if i >= 4 && took >= outageDeadline {
					t.Errorf("%s, %s, call %d took %v; want it under the deadline (breaker open)", phase, w.name, i+1, took)
				}
			}
		}
	}
	// One request was already counted by Redis for each key and gateway
	// pair; the local buckets start full: five more, then 429.
	down := []want{
		{"requests fail open: limited locally", open, free, []int{200, 200, 200, 200, 200, 429, 429}, ""},
		{"requests fail closed", closed, free, []int{503, 503, 503, 503, 503}, ""},
		{"budget fails closed", open, budgeted, []int{503, 503, 503, 503, 503}, ""},
	}
	t.Run("Stopped", func(t *testing.T) {
		srv.Stop()
		before := open.fallbacks.Load()
		check(t, "stopped", down)
		if open.fallbacks.Load() == before || open.limits.Fallbacks(ratelimit.Requests) == 0 || open.ledger.Fallbacks() == 0 {
			t.Errorf("fallbacks while stopped: callback %d, requests %d, ledger %d; want each counted",
				open.fallbacks.Load()-before, open.limits.Fallbacks(ratelimit.Requests), open.ledger.Fallbacks())
		}
		// A gateway started while Redis is down.
		late := newOutageGateway(t, srv, prefix, ratelimit.FailoverOptions{})
		if c, _, _ := timedCall(late.gw, free); c != http.StatusServiceUnavailable && c != http.StatusUnauthorized {
			t.Errorf("new gateway, Redis down, key never seen: %d; want 503 (store unreachable) or 401", c)
		}
		if err := srv.Restart(); err != nil {
			t.Fatal(err)
		}
		waitServing(t, late, free)
		waitServing(t, closed, free)
		waitServing(t, open, budgeted)
	})
	t.Run("Frozen", func(t *testing.T) {
		if err := srv.Pause(); err != nil {
			t.Fatal(err)
		}
		resumed := false
		defer func() {
			if !resumed {
				srv.Resume()
			}
		}()
		// The open gateway's local buckets refilled nothing in the
		// meantime: its key is still limited locally.
		check(t, "frozen", []want{
			{"requests fail closed", closed, free, []int{503, 503, 503, 503, 503}, ""},
			{"budget fails closed", open, budgeted, []int{503, 503, 503, 503, 503}, ""},
		})
		if err := srv.Resume(); err != nil {
			t.Fatal(err)
		}
		resumed = true
		waitServing(t, closed, free)
		waitServing(t, open, budgeted)
	})
}

// waitServing waits until g answers key through Redis again (a 200, or a
// 429 from the shared request bucket, which the poll itself may empty),
// failing the test after 10 s.
func waitServing(t *testing.T, g *outageGateway, key string) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for {
		c, code, _ := timedCall(g.gw, key)
		if c == 200 || (c == 429 && g.limits.Mode(ratelimit.Requests) == ratelimit.FailClosed) {
			t.Logf("served again %v after Redis came back", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery within 10s after Redis came back: %d %s", c, code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
