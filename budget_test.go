package wicket_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/openai"
)

// scripted is an in-process provider whose behaviour the model name picks:
//
//	ok          200 with usage {input 100, output N} where N = max_tokens
//	fail        500 from the upstream
//	timeout     no answer: a time-out
//	disconnect  the client goes away after the first bytes
//	panic       the adapter panics
type scripted struct{ calls atomic.Int64 }

func (p *scripted) Name() string               { return "scripted" }
func (p *scripted) Dialect() providers.Dialect { return providers.DialectOpenAI }

func (p *scripted) Send(ctx context.Context, c *providers.Call) (providers.Response, error) {
	p.calls.Add(1)
	switch c.UpstreamModel {
	case "timeout":
		return nil, providers.NewUpstreamError("scripted", context.DeadlineExceeded)
	case "panic":
		panic("adapter bug")
	case "fail":
		return &scriptedResponse{status: 500, body: `{"error":{"message":"x","type":"server_error","param":null,"code":null}}`}, nil
	}
	out := c.MaxOutputTokens
	return &scriptedResponse{status: 200, usage: metering.Usage{InputTokens: 100, OutputTokens: out},
		body: fmt.Sprintf(`{"usage":{"prompt_tokens":100,"completion_tokens":%d}}`, out), disconnect: c.UpstreamModel == "disconnect", ctx: ctx}, nil
}

type scriptedResponse struct {
	status     int
	body       string
	usage      metering.Usage
	disconnect bool
	ctx        context.Context
}

func (r *scriptedResponse) StatusCode() int { return r.status }
func (r *scriptedResponse) Header() http.Header {
	return http.Header{"Content-Type": {"application/json"}}
}
func (r *scriptedResponse) Close() error { return nil }
func (r *scriptedResponse) Relay(w http.ResponseWriter) (providers.Result, error) {
	if r.disconnect {
		n, _ := io.WriteString(w, r.body[:10])
		cancelOf(r.ctx)()
		return providers.Result{FirstByte: nowish(), BytesWritten: int64(n)}, context.Canceled
	}
	n, _ := io.WriteString(w, r.body)
	res := providers.Result{FirstByte: nowish(), BytesWritten: int64(n)}
	if r.status < 300 {
		res.Usage, res.UsageKnown = r.usage, true
	}
	return res, nil
}

// A test request's context carries its cancel func, so that the scripted
// provider can act out a client leaving.
type cancelKey struct{}

func cancelOf(ctx context.Context) context.CancelFunc {
	if c, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		return c
	}
	return func() {}
}

// perOutputToken prices every output token at 1 µ$ and input at nothing,
// so a call's worst case is exactly its max_tokens in micro-dollars.
func perOutputToken(t testing.TB) *metering.PriceTable {
	t.Helper()
	pt := metering.DefaultPrices()
	for _, m := range []string{"ok", "fail", "timeout", "disconnect", "panic"} {
		if err := pt.Set(m, metering.Price{Rates: metering.Rates{Output: 1_000_000}}); err != nil {
			t.Fatal(err)
		}
	}
	return pt
}

func scriptedModels(p providers.Provider) []providers.Model {
	var ms []providers.Model
	for _, m := range []string{"ok", "fail", "timeout", "disconnect", "panic"} {
		ms = append(ms, providers.Model{Name: m, Deployments: []providers.Deployment{{Provider: p}}})
	}
	return ms
}

// serve sends one request straight into the gateway's handler.
func serve(gw http.Handler, key, body string) *httptest.ResponseRecorder {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := httptest.NewRequestWithContext(context.WithValue(ctx, cancelKey{}, cancel), "POST", "/v1/chat/completions", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	func() {
		defer func() { recover() }() // ErrAbortHandler for aborted answers
		gw.ServeHTTP(w, r)
	}()
	return w
}

func TestBudgetRaceNeverOverspends(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			p := &scripted{}
			ledger, _ := metering.NewMemoryLedger(nil)
			e := newEnv(t, scriptedModels(p), func(c *wicket.Config) { c.Prices, c.Ledger = perOutputToken(t), ledger })
			key, rec, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "racer", Budget: keys.Budget{LimitMicros: 1_000_000, Period: keys.PeriodMonthly}})
			const n = 1000
			var wg sync.WaitGroup
			var admitted, refused atomic.Int64
			for range n {
				wg.Go(func() {
					w := serve(e.gw, key, `{"model":"ok","max_tokens":10000}`)
					switch w.Code {
					case 200:
						admitted.Add(1)
					case 429:
						if !strings.Contains(w.Body.String(), `"insufficient_quota"`) {
							t.Errorf("refusal body %s", w.Body)
						}
						refused.Add(1)
					default:
						t.Errorf("status %d %s", w.Code, w.Body)
					}
				})
			}
			wg.Wait()
			bal, _ := ledger.Balance(t.Context(), metering.Account{Kind: metering.AccountKey, ID: rec.ID, Limit: 1_000_000, Period: metering.PeriodMonthly})
			if bal.Spent > 1_000_000 || bal.Reserved != 0 {
				t.Errorf("spent %d reserved %d; want spent ≤ 1,000,000 and nothing reserved", bal.Spent, bal.Reserved)
			}
			if a := admitted.Load(); a > 100 || a+refused.Load() != n {
				t.Errorf("admitted %d, refused %d; want at most 100 admitted of %d", a, refused.Load(), n)
			}
			if c := p.calls.Load(); c != admitted.Load() {
				t.Errorf("upstream calls %d; want %d (= admitted)", c, admitted.Load())
			}
			if bal.Spent != admitted.Load()*10_000 {
				t.Errorf("spent %d; want %d × 10,000", bal.Spent, admitted.Load())
			}
		})
	}
}

func TestLedgerBalancesAfterMixedOutcomes(t *testing.T) {
	p := &scripted{}
	ledger, _ := metering.NewMemoryLedger(nil)
	rec := &meteringtestRecorder{}
	e := newEnv(t, scriptedModels(p), func(c *wicket.Config) {
		c.Prices, c.Ledger, c.Recorder = perOutputToken(t), ledger, rec
		c.MeterOptions = &metering.MeterOptions{QueueSize: 4096}
		c.RetryBackoff = time.Microsecond // the failing model is retried: don't wait for real
	})
	key, k, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "mixer", Budget: keys.Budget{LimitMicros: 1 << 40, Period: keys.PeriodTotal}})
	models := []string{"ok", "fail", "timeout", "disconnect", "panic"}
	const n = 2000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			serve(e.gw, key, fmt.Sprintf(`{"model":"%s","max_tokens":%d}`, models[i%len(models)], 10+i%7))
		})
	}
	wg.Wait()
	if err := e.gw.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	bal, _ := ledger.Balance(t.Context(), metering.Account{Kind: metering.AccountKey, ID: k.ID, Limit: 1 << 40, Period: metering.PeriodTotal})
	var sum int64
	byID := map[string]int{}
	e.mu.Lock()
	for _, o := range e.outcomes {
		sum += o.CostMicros
	}
	outcomes := len(e.outcomes)
	e.mu.Unlock()
	events := rec.events()
	for _, ev := range events {
		byID[ev.RequestID]++
	}
	if bal.Reserved != 0 {
		t.Errorf("left reserved: %d µ$; want 0", bal.Reserved)
	}
	if bal.Spent != sum || sum == 0 {
		t.Errorf("spent %d; want the sum of the calls' costs %d", bal.Spent, sum)
	}
	if outcomes != n || len(events) != n || len(byID) != n {
		t.Errorf("outcomes %d, events %d, distinct request IDs %d; want %d each", outcomes, len(events), len(byID), n)
	}
	classes := map[metering.ErrorClass]int{}
	for _, ev := range events {
		classes[ev.ErrorClass]++
	}
	want := map[metering.ErrorClass]int{"": n / 5, metering.ClassUpstreamError: n / 5, metering.ClassTimeout: n / 5, metering.ClassClientDisconnect: n / 5, metering.ClassInternal: n / 5}
	if fmt.Sprint(classes) != fmt.Sprint(want) {
		t.Errorf("error classes %v; want %v", classes, want)
	}
}

// meteringtestRecorder collects events.
type meteringtestRecorder struct {
	mu  sync.Mutex
	evs []metering.Event
}

func (r *meteringtestRecorder) Record(_ context.Context, e metering.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
	return nil
}

func (r *meteringtestRecorder) events() []metering.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]metering.Event(nil), r.evs...)
}

// closedEvents closes gw, so that every queued event is delivered, and
// returns the events, failing unless there is one for each of n requests.
func (r *meteringtestRecorder) closedEvents(t *testing.T, gw *wicket.Gateway, n int) []metering.Event {
	t.Helper()
	if err := gw.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs := r.events()
	if len(evs) != n {
		t.Fatalf("%d events for %d requests; want one each", len(evs), n)
	}
	return evs
}

func TestStreamDisconnectStillMetered(t *testing.T) {
	up := httptest.NewServer(fake.Handler(&fake.Options{Chunks: 50, ChunkDelay: 0}))
	defer up.Close()
	p, _ := openai.New(&openai.Options{BaseURL: up.URL + "/v1"})
	rec := &meteringtestRecorder{}
	e := newEnv(t, single("fake-echo", p, ""), func(c *wicket.Config) { c.Recorder = rec })

	// A client that did not ask for usage is still metered exactly.
	resp := e.post(t, "/v1/chat/completions", `{"model":"fake-echo","stream":true,"messages":[{"role":"user","content":"one two three"}]}`)
	body := readAll(t, resp)
	if strings.Contains(body, `"choices":[]`) {
		t.Errorf("the usage chunk reached a client that did not ask for it")
	}
	<-e.outcome

	// A client that leaves after 5 chunks.
	slow := httptest.NewServer(fake.Handler(&fake.Options{Chunks: 50, ChunkDelay: 5e6}))
	defer slow.Close()
	p2, _ := openai.New(&openai.Options{BaseURL: slow.URL + "/v1"})
	e2 := newEnv(t, single("fake-echo", p2, ""), func(c *wicket.Config) { c.Recorder = rec })
	resp = e2.post(t, "/v1/chat/completions", `{"model":"fake-echo","stream":true,"messages":[{"role":"user","content":"one two three"}]}`)
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 512)
	for bytes.Count(buf, []byte("data: ")) < 5 {
		n, err := resp.Body.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			t.Fatal(err)
		}
	}
	resp.Body.Close()
	e2.srv.CloseClientConnections()
	o := <-e2.outcome
	if err := e.gw.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e2.gw.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs := rec.events()
	if len(evs) != 2 {
		t.Fatalf("events %d; want 2 (one per request)", len(evs))
	}
	exact := evs[0]
	if exact.UsageEstimated || exact.Usage != (metering.Usage{InputTokens: fake.PromptTokens(len("one two three")), OutputTokens: 50}) {
		t.Errorf("complete stream: usage %+v estimated %v; want the exact 4+50", exact.Usage, exact.UsageEstimated)
	}
	left := evs[1]
	if !left.UsageEstimated || left.Usage.OutputTokens < 5 || left.ErrorClass != metering.ClassClientDisconnect || o.ErrorClass != metering.ClassClientDisconnect {
		t.Errorf("disconnected stream: usage %+v estimated %v class %q; want ≥5 output tokens, estimated, client_disconnect", left.Usage, left.UsageEstimated, left.ErrorClass)
	}
	if left.RequestID == exact.RequestID || left.RequestID == "" {
		t.Errorf("request IDs %q and %q", exact.RequestID, left.RequestID)
	}
}

func TestUnpricedModelAndBudgets(t *testing.T) {
	p := &scripted{}
	e := newEnv(t, []providers.Model{{Name: "mystery", Deployments: []providers.Deployment{{Provider: p, Model: "ok"}}}},
		func(c *wicket.Config) { c.Prices = metering.DefaultPrices() })
	budgeted, _, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "b", Budget: keys.Budget{LimitMicros: 1_000_000}})
	if w := serve(e.gw, budgeted, `{"model":"mystery","max_tokens":5}`); w.Code != 403 || !strings.Contains(w.Body.String(), "model_not_priced") {
		t.Errorf("budgeted key on an unpriced model: %d %s; want 403 model_not_priced", w.Code, w.Body)
	}
	if w := serve(e.gw, e.key, `{"model":"mystery","max_tokens":5}`); w.Code != 200 {
		t.Errorf("unbudgeted key on an unpriced model: %d %s; want 200", w.Code, w.Body)
	}
	o := <-e.outcome
	for o.Status != 200 {
		o = <-e.outcome
	}
	if !o.PriceUnknown {
		t.Errorf("outcome %+v; want PriceUnknown", o)
	}
	// With a fallback price, the budgeted key may use it.
	pt := metering.DefaultPrices()
	pt.SetFallback(metering.Price{Rates: metering.Rates{Input: 1_000_000, Output: 1_000_000}})
	e2 := newEnv(t, []providers.Model{{Name: "mystery", Deployments: []providers.Deployment{{Provider: p, Model: "ok"}}}},
		func(c *wicket.Config) { c.Prices = pt })
	budgeted2, _, _ := e2.km.Issue(t.Context(), keys.Spec{Owner: "b", Budget: keys.Budget{LimitMicros: 1_000_000}})
	if w := serve(e2.gw, budgeted2, `{"model":"mystery","max_tokens":5}`); w.Code != 200 {
		t.Errorf("with a fallback price: %d %s; want 200", w.Code, w.Body)
	}
}

func TestOwnerBudgetAndUsageView(t *testing.T) {
	p := &scripted{}
	ledger, _ := metering.NewMemoryLedger(nil)
	e := newEnv(t, scriptedModels(p), func(c *wicket.Config) {
		c.Prices, c.Ledger = perOutputToken(t), ledger
		c.BudgetScopes = ownerBudget(func(owner string) (int64, metering.Period) {
			if owner == "team" {
				return 25, metering.PeriodDaily
			}
			return 0, 0
		})
	})
	k1, r1, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "team", Budget: keys.Budget{LimitMicros: 100, Period: keys.PeriodMonthly}})
	k2, _, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "team"})
	if w := serve(e.gw, k1, `{"model":"ok","max_tokens":20}`); w.Code != 200 {
		t.Fatalf("first call: %d %s", w.Code, w.Body)
	}
	// The owner's daily 25 µ$ has 5 left: another key of the same owner is refused.
	if w := serve(e.gw, k2, `{"model":"ok","max_tokens":10}`); w.Code != 429 || !strings.Contains(w.Body.String(), "owner") {
		t.Errorf("second key past the owner's budget: %d %s; want 429 naming the owner budget", w.Code, w.Body)
	}
	admin := httptest.NewServer(e.gw.Admin(nil))
	defer admin.Close()
	req, _ := http.NewRequest("GET", admin.URL+"/keys/"+r1.ID+"/usage", nil)
	req.Header.Set("Authorization", "Bearer "+k1)
	resp, err := admin.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var u keys.Usage
	json.NewDecoder(resp.Body).Decode(&u)
	resp.Body.Close()
	if resp.StatusCode != 200 || u.SpentMicros != 20 || u.RemainingMicros == nil || *u.RemainingMicros != 80 || u.Requests != 1 || u.OutputTokens != 20 || u.Period != keys.PeriodMonthly {
		t.Errorf("usage view: %d %+v; want 20 spent, 80 remaining, 1 request, 20 output tokens", resp.StatusCode, u)
	}
}
