package wicket_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/ratelimit"
)

func TestUsageCountersRollOver(t *testing.T) {
	clk := meteringtest.NewClock(time.Date(2028, 2, 29, 23, 59, 59, 0, time.UTC))
	p := &scripted{}
	e := newEnv(t, scriptedModels(p), func(c *wicket.Config) { c.Prices, c.Now = perOutputToken(t), clk.Now })
	key, rec, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "d", Budget: keys.Budget{LimitMicros: 1000, Period: keys.PeriodDaily}})
	for range 2 {
		serve(e.gw, key, `{"model":"ok","max_tokens":3}`)
	}
	clk.Advance(2 * time.Second) // 1 March: a new day and a new month
	if w := serve(e.gw, key, `{"model":"ok","max_tokens":4}`); w.Code != 200 {
		t.Fatalf("first call of the new period: %d", w.Code)
	}
	u, err := e.gw.KeyUsage(t.Context(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if u.Requests != 1 || u.OutputTokens != 4 {
		t.Errorf("usage after the rollover: %+v; want 1 request and 4 output tokens", u)
	}
}

func TestUpstreamErrorCostsNoTokens(t *testing.T) {
	clk := meteringtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := &scripted{}
	e := newEnv(t, scriptedModels(p), func(c *wicket.Config) {
		withLimits(clk, ratelimit.Limits{TokensPerMinute: 30_000})(c)
		c.RetryBackoff = time.Microsecond
	})
	for range 5 {
		if w := serve(e.gw, e.key, `{"model":"fail","max_tokens":10000}`); w.Code != 500 {
			t.Fatalf("status %d; want the upstream's 500", w.Code)
		}
	}
	w := serve(e.gw, e.key, `{"model":"ok","max_tokens":29000}`)
	if w.Code != 200 {
		t.Errorf("after five upstream failures, a 29,000-token call: %d; want 200 (failures cost nothing)", w.Code)
	}
}

func TestClientLeavingBeforeTheAnswerStillPaysThePrompt(t *testing.T) {
	// The upstream works on the call; the client leaves before any byte
	// comes back. The upstream bills the prompt, so the gateway does too.
	p := &blockingProvider{started: make(chan struct{})}
	ledger, _ := metering.NewMemoryLedger(nil)
	pt := metering.DefaultPrices()
	pt.Set("slow", metering.Price{Rates: metering.Rates{Input: 1_000_000, Output: 1_000_000}})
	e := newEnv(t, []providers.Model{{Name: "slow", Deployments: []providers.Deployment{{Provider: p}}}},
		func(c *wicket.Config) { c.Prices, c.Ledger = pt, ledger })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"slow","max_tokens":5,"messages":[{"role":"user","content":"`+strings.Repeat("a", 400)+`"}]}`))
		r.Header.Set("Authorization", "Bearer "+e.key)
		if resp, err := e.srv.Client().Do(r); err == nil {
			resp.Body.Close()
		}
	}()
	<-p.started
	cancel()
	<-done
	o := <-e.outcome
	if o.ErrorClass != metering.ClassClientDisconnect || !o.UsageEstimated || o.Usage.InputTokens < 100 || o.CostMicros == 0 {
		t.Errorf("outcome %+v; want client_disconnect with the prompt estimated and charged", o)
	}
	bal, _ := ledger.Balance(t.Context(), metering.Account{Kind: metering.AccountKey, ID: e.rec.ID, Period: metering.PeriodMonthly})
	if bal.Spent != o.CostMicros || bal.Reserved != 0 {
		t.Errorf("ledger spent %d reserved %d; want %d and 0", bal.Spent, bal.Reserved, o.CostMicros)
	}
}

// blockingProvider waits in Send until the caller gives up.
type blockingProvider struct{ started chan struct{} }

func (p *blockingProvider) Name() string               { return "blocking" }
func (p *blockingProvider) Dialect() providers.Dialect { return providers.DialectOpenAI }
func (p *blockingProvider) Send(ctx context.Context, _ *providers.Call) (providers.Response, error) {
	close(p.started)
	<-ctx.Done()
	return nil, providers.NewUpstreamError("blocking", ctx.Err())
}

func TestBudgetWorstCaseIsABound(t *testing.T) {
	var sent atomic.Value
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		sent.Store(string(body))
		okUpstream(w, r, body)
	})
	pt := metering.DefaultPrices()
	pt.Set("m", metering.Price{Rates: metering.Rates{Output: 1_000_000}}) // 1 µ$ per output token
	e := newEnv(t, []providers.Model{{Name: "m", MaxOutputTokens: 1000, Deployments: []providers.Deployment{{Provider: up.provider(t, "openai")}}}},
		func(c *wicket.Config) { c.Prices = pt; c.MaxOutputTokens = 50_000 })
	key, _, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: 5_000}})

	// n choices each may use the whole cap: 3 × 2000 > 5000.
	if w := serve(e.gw, key, `{"model":"m","n":3,"max_tokens":2000,"messages":[]}`); w.Code != 429 {
		t.Errorf("n=3 × 2000 against 5000: %d; want 429", w.Code)
	}
	if w := serve(e.gw, key, `{"model":"m","n":2,"max_tokens":2000,"messages":[]}`); w.Code != 200 {
		t.Errorf("n=2 × 2000 against 5000: %d %s; want 200", w.Code, w.Body)
	}
	// Without a cap, the model's maximum is reserved and enforced upstream.
	if w := serve(e.gw, key, `{"model":"m","messages":[]}`); w.Code != 200 {
		t.Fatalf("no cap: %d %s", w.Code, w.Body)
	}
	var body map[string]json.RawMessage
	json.Unmarshal([]byte(sent.Load().(string)), &body)
	if string(body["max_completion_tokens"]) != "1000" {
		t.Errorf("upstream body %s; want max_completion_tokens 1000 added", sent.Load())
	}
	// A key without a budget is not capped.
	readAll(t, e.post(t, "/v1/chat/completions", `{"model":"m","messages":[]}`))
	if strings.Contains(sent.Load().(string), "max_completion_tokens") {
		t.Errorf("unbudgeted request was capped: %s", sent.Load())
	}
	// Output caps beyond the gateway's limit are refused.
	if w := serve(e.gw, e.key, `{"model":"m","max_tokens":50001}`); w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_value") {
		t.Errorf("max_tokens over the limit: %d %s; want 400", w.Code, w.Body)
	}
}

func TestStoredContextRefusedForBudgets(t *testing.T) {
	up := newUpstream(t, okUpstream)
	pt := metering.DefaultPrices()
	pt.Set("m", metering.Price{Rates: metering.Rates{Input: 1, Output: 1}})
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), func(c *wicket.Config) { c.Prices = pt })
	key, _, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: 1_000_000}})
	r := func(k, body string) (int, string) {
		resp := e.do(t, "POST", "/v1/responses", body, map[string]string{"Authorization": "Bearer " + k})
		return resp.StatusCode, readAll(t, resp)
	}
	if code, body := r(key, `{"model":"m","input":"x","previous_response_id":"resp_1"}`); code != 400 || !strings.Contains(body, "unsupported_with_budget") {
		t.Errorf("budgeted key with previous_response_id: %d %s; want 400", code, body)
	}
	if code, _ := r(e.key, `{"model":"m","input":"x","previous_response_id":"resp_1"}`); code != 200 {
		t.Errorf("unbudgeted key with previous_response_id: %d; want 200", code)
	}
}
