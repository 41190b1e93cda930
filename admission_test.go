package wicket_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
	"github.com/wicket-gw/wicket/ratelimit"
)

// countingBatcher is an in-process Batcher that counts the calls the
// gateway makes to it, batches and primitive operations apart: each stands
// for a network round trip on a shared backend.
type countingBatcher struct {
	*ratelimit.Memory
	mu    sync.Mutex
	calls map[string]int
}

func newCountingBatcher(t *testing.T) *countingBatcher {
	m, err := ratelimit.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &countingBatcher{Memory: m, calls: map[string]int{}}
}

func (c *countingBatcher) count(op string) {
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
}

func (c *countingBatcher) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.calls
	c.calls = map[string]int{}
	return m
}

func (c *countingBatcher) TakeRequests(ctx context.Context, s string, limit, n int64, now time.Time) (ratelimit.Quota, bool, error) {
	c.count("TakeRequests")
	return c.Memory.TakeRequests(ctx, s, limit, n, now)
}

func (c *countingBatcher) TakeTokens(ctx context.Context, s string, limit, n int64, now time.Time) (ratelimit.Quota, bool, error) {
	c.count("TakeTokens")
	return c.Memory.TakeTokens(ctx, s, limit, n, now)
}

func (c *countingBatcher) AdjustTokens(ctx context.Context, s string, limit, delta int64, now time.Time) (ratelimit.Quota, error) {
	c.count("AdjustTokens")
	return c.Memory.AdjustTokens(ctx, s, limit, delta, now)
}

func (c *countingBatcher) Acquire(ctx context.Context, s string, limit int64, now time.Time) (ratelimit.Quota, bool, error) {
	c.count("Acquire")
	return c.Memory.Acquire(ctx, s, limit, now)
}

func (c *countingBatcher) Release(ctx context.Context, s string) error {
	c.count("Release")
	return c.Memory.Release(ctx, s)
}

func (c *countingBatcher) AdmitAll(ctx context.Context, s string, lim ratelimit.Limits, tokens int64, now time.Time) (ratelimit.Decision, error) {
	c.count("AdmitAll")
	return ratelimit.AdmitSequentially(ctx, c.Memory, s, lim, tokens, now)
}

func (c *countingBatcher) FinishAll(ctx context.Context, s string, lim ratelimit.Limits, f ratelimit.Finish, now time.Time) (ratelimit.Decision, error) {
	c.count("FinishAll")
	return ratelimit.FinishSequentially(ctx, c.Memory, s, lim, f, now)
}

// With a batching backend, the gateway admits a model call (slot, request
// and tokens) in one backend call and finishes it (token correction and
// slot) in one more; a listing is admitted and finished the same way
// without tokens, and a malformed request counts one request, no slot.
func TestAdmissionOneCallEachWay(t *testing.T) {
	clk := meteringtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := newCountingBatcher(t)
	up := newUpstream(t, okUpstream)
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), func(c *wicket.Config) {
		lim, err := ratelimit.New(&ratelimit.Options{Backend: b, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Limiter, c.Now = lim, clk.Now
		c.Limits = ratelimit.Limits{RequestsPerMinute: 10, TokensPerMinute: 10_000, MaxConcurrent: 2}
	})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     map[string]int
	}{
		{"chat", "POST", "/v1/chat/completions", chat("m"), 200, map[string]int{"AdmitAll": 1, "FinishAll": 1}},
		{"models", "GET", "/v1/models", "", 200, map[string]int{"AdmitAll": 1, "FinishAll": 1}},
		{"malformed", "POST", "/v1/chat/completions", `{"model":`, 400, map[string]int{"TakeRequests": 1}},
	} {
		resp := e.do(t, tc.method, tc.path, tc.body, map[string]string{"Authorization": "Bearer " + e.key})
		readAll(t, resp)
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: status %d; want %d", tc.name, resp.StatusCode, tc.status)
		}
		if got := b.take(); !equalCounts(got, tc.want) {
			t.Errorf("%s: backend calls %v; want %v", tc.name, got, tc.want)
		}
	}
	// Every slot came back: two concurrent admissions still fit.
	for i := range 2 {
		if _, ok, err := b.Memory.Acquire(t.Context(), e.rec.ID, 2, clk.Now()); err != nil || !ok {
			t.Fatalf("slot %d after the requests: granted %v, %v; want every slot free", i+1, ok, err)
		}
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Requests answered before their admission (malformed ones) still count
// against the key's request rate.
func TestMalformedRequestsCount(t *testing.T) {
	clk := meteringtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	up := newUpstream(t, okUpstream)
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), withLimits(clk, ratelimit.Limits{RequestsPerMinute: 2}))
	for i, tc := range []struct {
		body   string
		status int
	}{{`{"model":`, 400}, {`not json`, 400}, {chat("m"), 429}} {
		resp := e.post(t, "/v1/chat/completions", tc.body)
		readAll(t, resp)
		if resp.StatusCode != tc.status {
			t.Fatalf("request %d: %d; want %d", i+1, resp.StatusCode, tc.status)
		}
	}
	if n := len(up.requests()); n != 0 {
		t.Errorf("upstream calls %d; want 0", n)
	}
}

func (c *countingBatcher) FinishAllWith(ctx context.Context, s string, lim ratelimit.Limits, f ratelimit.Finish, r ratelimit.Rider, now time.Time) (ratelimit.Decision, error, error) {
	c.count("FinishAllWith")
	d, err := ratelimit.FinishSequentially(ctx, c.Memory, s, lim, f, now)
	return d, err, r.Run(ctx)
}

// settlingLedger is an in-memory ledger that hands out its settlements,
// as a shared one does.
type settlingLedger struct{ *metering.MemoryLedger }

func (l settlingLedger) Settlement(id string, cost int64) metering.Settlement {
	return settlementFunc(func(ctx context.Context) error {
		if cost > 0 {
			return l.Settle(ctx, id, cost)
		}
		return l.Release(ctx, id)
	})
}

type settlementFunc func(context.Context) error

func (f settlementFunc) Run(ctx context.Context) error { return f(ctx) }

// With a limiter backend that carries riders and a ledger that hands out
// settlements, a call ends with one backend call, which settles the budget
// too.
func TestEndOneCall(t *testing.T) {
	clk := meteringtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := newCountingBatcher(t)
	ml, err := metering.NewMemoryLedger(nil)
	if err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t, okUpstream)
	e := newEnv(t, single("gpt-4o-mini", up.provider(t, "openai"), ""), func(c *wicket.Config) {
		lim, err := ratelimit.New(&ratelimit.Options{Backend: b, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Limiter, c.Now, c.Ledger = lim, clk.Now, settlingLedger{ml}
		c.Limits = ratelimit.Limits{RequestsPerMinute: 10, TokensPerMinute: 10_000, MaxConcurrent: 2}
	})
	key, rec, err := e.km.Issue(t.Context(), keys.Spec{Owner: "bob", Budget: keys.Budget{LimitMicros: 1_000_000, Period: keys.PeriodMonthly}})
	if err != nil {
		t.Fatal(err)
	}
	resp := e.do(t, "POST", "/v1/chat/completions", chat("gpt-4o-mini"), map[string]string{"Authorization": "Bearer " + key})
	readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	o := <-e.outcome
	if got, want := b.take(), map[string]int{"AdmitAll": 1, "FinishAllWith": 1}; !equalCounts(got, want) {
		t.Errorf("backend calls %v; want %v", got, want)
	}
	bal, err := ml.Balance(t.Context(), metering.Account{Kind: metering.AccountKey, ID: rec.Account(), Limit: 1_000_000, Period: metering.PeriodMonthly})
	if err != nil {
		t.Fatal(err)
	}
	if bal.Spent != o.CostMicros || o.CostMicros == 0 || bal.Reserved != 0 {
		t.Errorf("ledger: spent %d, reserved %d; want the call's cost %d, nothing reserved", bal.Spent, bal.Reserved, o.CostMicros)
	}
}

// The verified key's record is in the request's context for every step and
// hook after Authenticate (keys.PrincipalFrom), carried by the gateway's own
// context rather than one added per request.
func TestPrincipalInContext(t *testing.T) {
	up := newUpstream(t, okUpstream)
	got := make(chan string, 1)
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), func(c *wicket.Config) {
		c.OnEvent = func(ctx context.Context, _ metering.Event) {
			rec, ok := keys.PrincipalFrom(ctx)
			if !ok {
				got <- ""
				return
			}
			got <- rec.ID
		}
	})
	resp := e.post(t, "/v1/chat/completions", chat("m"))
	readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if id := <-got; id != e.rec.ID {
		t.Errorf("keys.PrincipalFrom in OnEvent's context: %q; want the key's ID %q", id, e.rec.ID)
	}
}
