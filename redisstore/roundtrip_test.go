package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/ratelimit"
)

// tripCounter is a go-redis hook that counts round trips: each command,
// and each pipeline, is one.
type tripCounter struct{ n atomic.Int64 }

func (c *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// countedClient returns a client of srv whose round trips c counts, with
// ContextTimeoutEnabled, as the package recommends.
func countedClient(tb testing.TB, c *tripCounter) redis.UniversalClient {
	cl := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	tb.Cleanup(func() { cl.Close() })
	cl.AddHook(c)
	return cl
}

// atSend is a Provider that runs a function when the gateway sends it a
// call: the moment the request is admitted.
type atSend struct {
	providers.Provider
	f func()
}

func (p atSend) Send(ctx context.Context, c *providers.Call) (providers.Response, error) {
	p.f()
	return p.Provider.Send(ctx, c)
}

// fleetPrices prices the fake model at 1 µ$ a token, so that a budget is
// reserved and settled on every call.
func fleetPrices(t testing.TB) *metering.PriceTable {
	prices := metering.DefaultPrices()
	if err := prices.Set("fake-echo", metering.Price{Rates: metering.Rates{Input: 1_000_000, Output: 1_000_000}}); err != nil {
		t.Fatal(err)
	}
	return prices
}

// TestRoundTripsPerRequest counts, with a go-redis hook, the Redis round
// trips of a model call on a gateway whose limits (requests, tokens,
// concurrency), budget, key store and failed-auth throttle are all on
// Redis: at most two before the call goes upstream (the limits in one
// script, the budget in another) and one at its end (the limits' token
// correction and slot, and the budget's settlement, in one pipeline).
func TestRoundTripsPerRequest(t *testing.T) {
	var trips tripCounter
	fleet := newFleetOn(t, 1, ratelimit.Limits{RequestsPerMinute: 1000, TokensPerMinute: 1_000_000, MaxConcurrent: 10}, fleetPrices(t),
		func(tb testing.TB) redis.UniversalClient { return countedClient(tb, &trips) })
	gw := fleet[0].gw
	key, _, err := fleet[0].km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: 1_000_000, Period: keys.PeriodMonthly}})
	if err != nil {
		t.Fatal(err)
	}
	var admission atomic.Int64
	at := func() { admission.Store(trips.n.Load()) }
	fleet[0].send.Store(&at)
	for range 3 { // load the scripts, cache the key
		if c := call(gw, key); c != 200 {
			t.Fatalf("warm-up call: %d", c)
		}
	}
	var maxBefore, maxAfter int64
	for i := range 20 {
		trips.n.Store(0)
		admission.Store(-1)
		if c := call(gw, key); c != 200 {
			t.Fatalf("call %d: %d", i, c)
		}
		before := admission.Load()
		after := trips.n.Load() - before
		maxBefore, maxAfter = max(maxBefore, before), max(maxAfter, after)
	}
	t.Logf("round trips per request: %d before the upstream call, %d after it (most over 20 calls)", maxBefore, maxAfter)
	if maxBefore > 2 || maxAfter > 1 {
		t.Errorf("round trips: %d before the upstream call, %d after; want at most 2 and 1", maxBefore, maxAfter)
	}
	if maxBefore < 2 {
		t.Errorf("round trips before the upstream call: %d; want 2 (limits, budget): is the hook counting?", maxBefore)
	}
}

// BenchmarkGateway measures a model call through a whole gateway in
// process (no client network), its state in memory or on Redis, with
// limits on all three dimensions and a budget: the difference is the
// latency the Redis backends add per request. trips/op counts Redis round
// trips.
func BenchmarkGateway(b *testing.B) {
	limits := ratelimit.Limits{RequestsPerMinute: 1_000_000_000, TokensPerMinute: 60_000_000_000, MaxConcurrent: 1000}
	budget := keys.Budget{LimitMicros: 1 << 50, Period: keys.PeriodMonthly}
	body := `{"model":"fake-echo","max_tokens":4,"messages":[{"role":"user","content":"hello fleet"}]}`
	run := func(b *testing.B, gw http.Handler, key string, trips *tripCounter) {
		serve := func() {
			r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+key)
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		serve()
		if trips != nil {
			trips.n.Store(0)
		}
		b.ReportAllocs()
		for b.Loop() {
			serve()
		}
		if trips != nil {
			b.ReportMetric(float64(trips.n.Load())/float64(b.N), "trips/op")
		}
	}
	b.Run("memory", func(b *testing.B) {
		gw, key := memoryGateway(b, limits, budget)
		run(b, gw, key, nil)
	})
	b.Run("redis", func(b *testing.B) {
		var trips tripCounter
		fleet := newFleetOn(b, 1, limits, fleetPrices(b), func(tb testing.TB) redis.UniversalClient { return countedClient(tb, &trips) })
		key, _, err := fleet[0].km.Issue(b.Context(), keys.Spec{Owner: "o", Budget: budget})
		if err != nil {
			b.Fatal(err)
		}
		run(b, fleet[0].gw, key, &trips)
	})
}

// memoryGateway is the in-memory counterpart of a one-replica fleet.
func memoryGateway(b *testing.B, limits ratelimit.Limits, budget keys.Budget) (*wicket.Gateway, string) {
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	km, err := keys.NewManager(keys.NewMemoryStore(), h, nil)
	if err != nil {
		b.Fatal(err)
	}
	router := fakeRouter(b, nil)
	gw, err := wicket.New(wicket.Config{Keys: km, Router: router, Limits: limits, Prices: fleetPrices(b), DisableAuthThrottle: true})
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := km.Issue(b.Context(), keys.Spec{Owner: "o", Budget: budget})
	if err != nil {
		b.Fatal(err)
	}
	return gw, key
}
