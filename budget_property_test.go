package wicket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// chaos is an in-process upstream whose behaviour the upstream model name
// picks, covering every path that settles money:
//
//	exact     200 with usage within the request's bounds
//	nousage   200, a JSON body without usage: the gateway estimates
//	stream    200, 30 streamed events without usage: the gateway estimates
//	inflate   200 with usage far beyond the worst case (a lying upstream)
//	leave     the client leaves after the first bytes: the gateway estimates
//	busy      503 (retryable: the router falls back)
//	fail      500 on the last attempt: relayed, nothing charged
//	vision    200 with the prompt billed at its images' full ceiling
type chaos struct{}

func (chaos) Name() string               { return "chaos" }
func (chaos) Dialect() providers.Dialect { return providers.DialectOpenAI }

func (chaos) Send(ctx context.Context, c *providers.Call) (providers.Response, error) {
	in := int64(len(c.Body)) / 4
	out := max(c.MaxOutputTokens, c.EnforceMaxOutput)
	r := &chaosResponse{status: 200, ctx: ctx, body: strings.Repeat("z", 400)}
	switch c.UpstreamModel {
	case "exact":
		r.usage, r.known = metering.Usage{InputTokens: in, OutputTokens: out/2 + 1}, true
	case "nousage":
	case "stream":
		r.events = 30
	case "inflate":
		r.usage, r.known = metering.Usage{InputTokens: 10 * int64(len(c.Body)), OutputTokens: 100*out + 1000}, true
	case "leave":
		r.leave = true
	case "busy":
		r.status = 503
	case "fail":
		r.status = 500
	case "vision":
		r.usage, r.known = metering.Usage{InputTokens: in + c.Images*visionCeiling, OutputTokens: out}, true
	}
	return r, nil
}

const visionCeiling = 100 // tokens per image for the "vision" model

type chaosResponse struct {
	status int
	body   string
	usage  metering.Usage
	known  bool
	events int64
	leave  bool
	ctx    context.Context
}

func (r *chaosResponse) StatusCode() int { return r.status }
func (r *chaosResponse) Header() http.Header {
	return http.Header{"Content-Type": {"application/json"}}
}
func (r *chaosResponse) Close() error { return nil }
func (r *chaosResponse) Relay(w http.ResponseWriter) (providers.Result, error) {
	res := providers.Result{FirstByte: time.Now()}
	switch {
	case r.leave:
		n, _ := io.WriteString(w, r.body[:10])
		res.BytesWritten = int64(n)
		cancelOf(r.ctx)()
		return res, context.Canceled
	case r.events > 0:
		for range r.events {
			n, _ := io.WriteString(w, "data: {}\n\n")
			res.BytesWritten += int64(n)
			res.Events++
		}
		return res, nil
	}
	n, _ := io.WriteString(w, r.body)
	res.BytesWritten = int64(n)
	res.Usage, res.UsageKnown = r.usage, r.known && r.status < 300
	return res, nil
}

// Spend never exceeds any budget and always equals the sum of the events'
// costs, across every path that settles money at once: exact usage,
// estimates (no usage, streams, disconnects), inflated usage, images,
// fallbacks, upstream failures, key rotation, concurrent requests, and a
// key budget and an owner budget on every call.
func TestBudgetPropertyEveryPath(t *testing.T) {
	pt := metering.DefaultPrices()
	modes := []string{"exact", "nousage", "stream", "inflate", "leave", "fail", "vision"}
	for _, m := range append(modes, "busy") {
		p := metering.Price{Rates: metering.Rates{Input: 1_000_000, Output: 2_000_000}} // 1 µ$ in, 2 µ$ out per token
		if m == "vision" {
			p.ImageInputTokens = visionCeiling
		}
		if err := pt.Set(m, p); err != nil {
			t.Fatal(err)
		}
	}
	var models []providers.Model
	for _, m := range modes {
		models = append(models, providers.Model{Name: m, Deployments: []providers.Deployment{{Provider: chaos{}, Model: m}}})
	}
	models = append(models, providers.Model{Name: "fallback", Deployments: []providers.Deployment{
		{Provider: chaos{}, Model: "busy"}, {Provider: chaos{}, Model: "exact"},
	}})
	const ownerLimit = 120_000
	rec := &meteringtestRecorder{}
	ledger, _ := metering.NewMemoryLedger(nil)
	e := newEnv(t, models, func(c *wicket.Config) {
		c.Prices, c.Ledger, c.Recorder, c.RetryBackoff = pt, ledger, rec, time.Microsecond
		c.MeterOptions = &metering.MeterOptions{QueueSize: 4096}
		c.BudgetScopes = ownerBudget(func(owner string) (int64, metering.Period) {
			if owner == "team" {
				return ownerLimit, metering.PeriodTotal
			}
			return 0, 0
		})
	})

	type key struct {
		mu     sync.Mutex
		plains []string // the key and, once rotated, its successor
		rec    *keys.Record
	}
	var ks []*key
	for _, limit := range []int64{30_000, 30_000, 20_000, 60_000} {
		plain, r, err := e.km.Issue(t.Context(), keys.Spec{Owner: "team", Budget: keys.Budget{LimitMicros: limit, Period: keys.PeriodTotal}})
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, &key{plains: []string{plain}, rec: r})
	}
	idOf := map[string]string{} // key ID → account
	for _, k := range ks {
		idOf[k.rec.ID] = k.rec.Account()
	}
	var idMu sync.Mutex

	const n = 800
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	statuses := make([]int, n)
	for i := range n {
		if i == n/4 { // rotate two keys mid-run; both keys stay valid
			wg.Wait()
			for _, k := range ks[:2] {
				plain, next, _, err := e.km.Rotate(t.Context(), k.rec.ID, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				k.mu.Lock()
				k.plains = append(k.plains, plain)
				k.mu.Unlock()
				idMu.Lock()
				idOf[next.ID] = next.Account()
				idMu.Unlock()
			}
		}
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		k := ks[rng.IntN(len(ks))]
		k.mu.Lock()
		plain := k.plains[rng.IntN(len(k.plains))]
		k.mu.Unlock()
		model := append(modes, "fallback")[rng.IntN(len(modes)+1)]
		body := chaosBody(rng, model)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			statuses[i] = serve(e.gw, plain, body).Code
		})
	}
	wg.Wait()
	evs := rec.closedEvents(t, e.gw, n)
	byAccount := map[string]int64{}
	var total int64
	for _, ev := range evs {
		acct, ok := idOf[ev.KeyID]
		if !ok {
			t.Fatalf("event for unknown key %q", ev.KeyID)
		}
		byAccount[acct] += ev.CostMicros
		total += ev.CostMicros
	}
	for _, k := range ks {
		a := metering.Account{Kind: metering.AccountKey, ID: k.rec.Account(), Limit: k.rec.Budget.LimitMicros, Period: metering.PeriodTotal}
		bal, err := ledger.Balance(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		if bal.Spent > a.Limit || bal.Reserved != 0 || bal.Spent != byAccount[a.ID] {
			t.Errorf("key account %s: spent %d of %d, reserved %d, events' costs %d; want spent ≤ limit, nothing reserved, spent = events", a.ID, bal.Spent, a.Limit, bal.Reserved, byAccount[a.ID])
		}
	}
	bal, _ := ledger.Balance(t.Context(), metering.Account{Kind: metering.AccountOwner, ID: "team", Limit: ownerLimit, Period: metering.PeriodTotal})
	if bal.Spent > ownerLimit || bal.Reserved != 0 || bal.Spent != total {
		t.Errorf("owner: spent %d of %d, reserved %d, events' costs %d", bal.Spent, ownerLimit, bal.Reserved, total)
	}
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	// The run must have pressed on the budgets: some calls refused, most
	// of the owner's budget spent.
	if count[429] == 0 || bal.Spent < ownerLimit/2 {
		t.Errorf("statuses %v, owner spent %d of %d: the budgets were never pressed", count, bal.Spent, ownerLimit)
	}
	t.Logf("statuses %v; owner spent %d of %d µ$", count, bal.Spent, ownerLimit)
}

// chaosBody makes a request for model with a random output cap, padding
// and, for the vision model, up to two images.
func chaosBody(rng *rand.Rand, model string) string {
	var parts []string
	parts = append(parts, fmt.Sprintf(`{"type":"text","text":%q}`, strings.Repeat("p", rng.IntN(400))))
	if model == "vision" {
		for range rng.IntN(3) {
			parts = append(parts, `{"type":"image_url","image_url":{"url":"https://example.com/i.png"}}`)
		}
	}
	stream := ""
	if model == "stream" {
		stream = `"stream":true,`
	}
	capField := fmt.Sprintf(`"max_tokens":%d,`, 1+rng.IntN(40))
	if rng.IntN(4) == 0 {
		capField = "" // no cap: the gateway reserves and enforces the default
	}
	return fmt.Sprintf(`{"model":%q,%s%s"messages":[{"role":"user","content":[%s]}]}`, model, stream, capField, strings.Join(parts, ","))
}

// coin is an in-process upstream that fails about half of its attempts
// (503, or an error as if the connection dropped) and otherwise answers
// with exact usage, so that a model whose first deployment it is falls
// back about every other request.
type coin struct{ rng func() uint64 }

func (coin) Name() string               { return "coin" }
func (coin) Dialect() providers.Dialect { return providers.DialectOpenAI }

func (c coin) Send(ctx context.Context, call *providers.Call) (providers.Response, error) {
	switch c.rng() % 4 {
	case 0:
		return &chaosResponse{status: 503, ctx: ctx, body: `{"error":{"message":"busy","type":"server_error"}}`}, nil
	case 1:
		return nil, providers.NewUpstreamError("coin", errors.New("connection reset by peer"))
	}
	return chaos{}.Send(ctx, call)
}

// Spend never exceeds a budget and equals the sum of the events' costs
// when 1,000 concurrent requests fall back about half the time: each
// request's reservation covers whichever deployment serves it, and is
// settled or released once, whatever its attempts did.
func TestBudgetPropertyWithFallbacks(t *testing.T) {
	pt := metering.DefaultPrices()
	for _, m := range []string{"exact", "coin-first"} {
		if err := pt.Set(m, metering.Price{Rates: metering.Rates{Input: 1_000_000, Output: 2_000_000}}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(11, 13))
	flip := func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		return rng.Uint64()
	}
	var attempts, failed atomic.Int64
	router, err := providers.NewRouter([]providers.Model{{Name: "flaky", Deployments: []providers.Deployment{
		{Provider: coin{flip}, Model: "exact"}, {Provider: chaos{}, Model: "exact"},
	}}}, &providers.RouterOptions{CoolDown: providers.CoolDown{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &meteringtestRecorder{}
	ledger, _ := metering.NewMemoryLedger(nil)
	e := newEnv(t, nil, func(c *wicket.Config) {
		c.Router, c.Prices, c.Ledger, c.Recorder, c.RetryBackoff = router, pt, ledger, rec, time.Microsecond
		c.MeterOptions = &metering.MeterOptions{QueueSize: 4096}
		c.OnAttempt = func(_ context.Context, a wicket.Attempt) {
			attempts.Add(1)
			if a.Failure != providers.FailureNone {
				failed.Add(1)
			}
		}
	})
	type key struct {
		plain string
		rec   *keys.Record
	}
	var ks []key
	for _, limit := range []int64{15_000, 20_000, 25_000, 40_000} {
		plain, r, err := e.km.Issue(t.Context(), keys.Spec{Owner: "team", Budget: keys.Budget{LimitMicros: limit, Period: keys.PeriodTotal}})
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, key{plain, r})
	}
	const n = 1000
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		r := rand.New(rand.NewPCG(uint64(i), 3))
		k := ks[r.IntN(len(ks))]
		body := chaosBody(r, "flaky")
		wg.Go(func() {
			<-start
			statuses[i] = serve(e.gw, k.plain, body).Code
		})
	}
	close(start)
	wg.Wait()
	evs := rec.closedEvents(t, e.gw, n)
	byKey := map[string]int64{}
	for _, ev := range evs {
		byKey[ev.KeyID] += ev.CostMicros
	}
	for _, k := range ks {
		a := metering.Account{Kind: metering.AccountKey, ID: k.rec.Account(), Limit: k.rec.Budget.LimitMicros, Period: metering.PeriodTotal}
		bal, err := ledger.Balance(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		if bal.Spent > a.Limit || bal.Reserved != 0 || bal.Spent != byKey[k.rec.ID] {
			t.Errorf("key %s: spent %d of %d, reserved %d, events' costs %d; want spent ≤ limit, nothing reserved, spent = events", k.rec.ID, bal.Spent, a.Limit, bal.Reserved, byKey[k.rec.ID])
		}
	}
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	// The run must have fallen back often and pressed on the budgets.
	if f, a := failed.Load(), attempts.Load(); f < a/4 || count[429] == 0 || count[200] == 0 {
		t.Errorf("%d of %d attempts failed, statuses %v: the run did not exercise fallbacks and budgets", f, a, count)
	}
	t.Logf("%d of %d attempts failed; statuses %v", failed.Load(), attempts.Load(), count)
}
