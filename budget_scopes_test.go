package wicket_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/internal/glob"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// orgScopes is a Config.BudgetScopes that charges each call to its key's
// team (the key's "team" metadata) and to the organisation "acme".
func orgScopes(teamLimits map[string]int64, orgLimit int64) func(context.Context, *keys.Record, string, []metering.Account) ([]metering.Account, error) {
	return func(_ context.Context, rec *keys.Record, _ string, accounts []metering.Account) ([]metering.Account, error) {
		team := rec.Metadata["team"]
		return append(accounts,
			metering.Account{Kind: "team", ID: team, Limit: teamLimits[team], Period: metering.PeriodMonthly},
			metering.Account{Kind: "org", ID: "acme", Limit: orgLimit, Period: metering.PeriodWeekly},
		), nil
	}
}

// With scopes org ⊃ team ⊃ key and a budget per model on each key, 1,000
// concurrent requests across the keys of two teams, over every path that
// settles money (exact usage, estimates, streams, inflated usage, clients
// that leave, failures), never overspend any scope; at the end nothing is
// reserved and each scope's spend equals the sum of the costs of its
// events.
func TestBudgetScopesProperty(t *testing.T) {
	modes := []string{"exact", "nousage", "stream", "inflate", "leave", "fail"}
	pt := metering.DefaultPrices()
	var models []providers.Model
	for _, family := range []string{"big-", "small-"} {
		for _, m := range modes {
			if err := pt.Set(m, metering.Price{Rates: metering.Rates{Input: 1_000_000, Output: 2_000_000}}); err != nil {
				t.Fatal(err)
			}
			models = append(models, providers.Model{Name: family + m, Deployments: []providers.Deployment{{Provider: chaos{}, Model: m}}})
		}
	}
	teamLimits := map[string]int64{"red": 80_000, "blue": 20_000}
	const orgLimit = 50_000
	const modelPattern = "big-*"
	rec := &meteringtestRecorder{}
	ledger, _ := metering.NewMemoryLedger(&metering.MemoryLedgerOptions{Now: func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }})
	e := newEnv(t, models, func(c *wicket.Config) {
		c.Prices, c.Ledger, c.Recorder, c.DefaultMaxOutputTokens = pt, ledger, rec, 100
		c.MeterOptions = &metering.MeterOptions{QueueSize: 4096}
		c.BudgetScopes = orgScopes(teamLimits, orgLimit)
	})
	type key struct {
		plain string
		rec   *keys.Record
	}
	var ks []key
	for i, spec := range []struct {
		team  string
		limit int64
	}{{"red", 10_000}, {"red", 30_000}, {"red", 30_000}, {"blue", 30_000}, {"blue", 30_000}, {"blue", 30_000}} {
		plain, r, err := e.km.Issue(t.Context(), keys.Spec{Owner: "acme", Metadata: map[string]string{"team": spec.team},
			Budget:       keys.Budget{LimitMicros: spec.limit, Period: keys.PeriodTotal},
			ModelBudgets: []keys.ModelBudget{{Model: modelPattern, LimitMicros: 4_000 + int64(i)*500, Period: keys.PeriodDaily}}})
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, key{plain, r})
	}
	const n = 1000
	statuses := make([]int, n)
	refusals := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 24)
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 17))
		k := ks[rng.IntN(len(ks))]
		family := []string{"big-", "small-"}[rng.IntN(2)]
		mode := modes[rng.IntN(len(modes))]
		body := chaosBody(rng, mode)
		body = strings.Replace(body, `"model":"`+mode+`"`, `"model":"`+family+mode+`"`, 1)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			w := serve(e.gw, k.plain, body)
			statuses[i] = w.Code
			if w.Code == 429 {
				refusals[i] = w.Body.String()
			}
		})
	}
	wg.Wait()
	evs := rec.closedEvents(t, e.gw, n)
	team := map[string]string{} // key ID → team
	for _, k := range ks {
		team[k.rec.ID] = k.rec.Metadata["team"]
	}
	spent := map[metering.Account]int64{}
	for _, ev := range evs {
		if _, ok := team[ev.KeyID]; !ok {
			t.Fatalf("event for unknown key %q", ev.KeyID)
		}
		spent[metering.Account{Kind: metering.AccountKey, ID: ev.KeyID}] += ev.CostMicros
		if glob.Match(modelPattern, ev.Model) {
			spent[metering.Account{Kind: metering.AccountKeyModel, ID: ev.KeyID + ":" + modelPattern}] += ev.CostMicros
		}
		spent[metering.Account{Kind: "team", ID: team[ev.KeyID]}] += ev.CostMicros
		spent[metering.Account{Kind: "org", ID: "acme"}] += ev.CostMicros
	}
	check := func(a metering.Account) {
		t.Helper()
		bal, err := ledger.Balance(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		want := spent[metering.Account{Kind: a.Kind, ID: a.ID}]
		if bal.Spent > a.Limit || bal.Reserved != 0 || bal.Spent != want {
			t.Errorf("%s %s: spent %d of %d, reserved %d, events' costs %d; want spent ≤ limit, nothing reserved, spent = events", a.Kind, a.ID, bal.Spent, a.Limit, bal.Reserved, want)
		}
	}
	for i, k := range ks {
		check(metering.Account{Kind: metering.AccountKey, ID: k.rec.ID, Limit: k.rec.Budget.LimitMicros, Period: metering.PeriodTotal})
		check(metering.Account{Kind: metering.AccountKeyModel, ID: k.rec.ID + ":" + modelPattern, Limit: 4_000 + int64(i)*500, Period: metering.PeriodDaily})
	}
	for name, limit := range teamLimits {
		check(metering.Account{Kind: "team", ID: name, Limit: limit, Period: metering.PeriodMonthly})
	}
	check(metering.Account{Kind: "org", ID: "acme", Limit: orgLimit, Period: metering.PeriodWeekly})

	// Every kind of scope must have refused some calls, each naming itself.
	named := map[string]int{}
	for _, body := range refusals {
		switch {
		case body == "":
		case strings.Contains(body, `budget for models matching \"big-*\"`):
			named["model"]++
		case strings.Contains(body, "this API key's total budget"):
			named["key"]++
		case strings.Contains(body, `budget of team \"blue\"`), strings.Contains(body, `budget of team \"red\"`):
			named["team"]++
		case strings.Contains(body, `budget of org \"acme\"`):
			named["org"]++
		case strings.Contains(body, "rate_limit"):
		default:
			t.Errorf("a 429 names no scope: %s", body)
		}
	}
	for _, kind := range []string{"model", "key", "team", "org"} {
		if named[kind] == 0 {
			t.Errorf("no refusal named a %s budget (refusals by scope: %v): the scopes were not all pressed", kind, named)
		}
	}
	t.Logf("refusals by scope %v; org spent %d of %d µ$", named, spent[metering.Account{Kind: "org", ID: "acme"}], orgLimit)
}

// A refusal names the exhausted scope by kind and ID, in the caller's
// dialect, with an audit event; the other scopes' reservations are
// released at once; and a failing BudgetScopes refuses with 503.
func TestBudgetScopeRefusal(t *testing.T) {
	p := &scripted{}
	ledger, _ := metering.NewMemoryLedger(nil)
	sink := &audit.MemorySink{}
	var fail bool
	var mu sync.Mutex
	scopes := orgScopes(map[string]int64{"red": 1_000_000}, 30)
	gw, km, aud := auditEnv(t, sink, &audit.Options{MaxWait: time.Millisecond}, func(c *wicket.Config) {
		router, err := providers.NewRouter(scriptedModels(p), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Router = router
		c.Prices, c.Ledger = perOutputToken(t), ledger
		c.BudgetScopes = func(ctx context.Context, rec *keys.Record, model string, accounts []metering.Account) ([]metering.Account, error) {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return nil, errors.New("teams table unavailable")
			}
			return scopes(ctx, rec, model, accounts)
		}
	})
	key, krec, err := km.Issue(t.Context(), keys.Spec{Owner: "acme", Metadata: map[string]string{"team": "red"},
		Budget: keys.Budget{LimitMicros: 1_000, Period: keys.PeriodMonthly}})
	if err != nil {
		t.Fatal(err)
	}
	// 20 output tokens at 1 µ$ each: the org's 30 µ$ cover one call, not two.
	body := `{"model":"ok","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`
	if w := serve(gw, key, body); w.Code != 200 {
		t.Fatalf("first call: %d %s", w.Code, w.Body)
	}
	w := serve(gw, key, body)
	var answer struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &answer)
	if w.Code != 429 || answer.Error.Code != "insufficient_quota" || !strings.Contains(answer.Error.Message, `the weekly budget of org "acme"`) {
		t.Fatalf("second call: %d %s; want 429 insufficient_quota naming org \"acme\"", w.Code, w.Body)
	}
	for _, a := range []metering.Account{
		{Kind: metering.AccountKey, ID: krec.ID, Limit: 1_000, Period: metering.PeriodMonthly},
		{Kind: "team", ID: "red", Limit: 1_000_000, Period: metering.PeriodMonthly},
		{Kind: "org", ID: "acme", Limit: 30, Period: metering.PeriodWeekly},
	} {
		bal, err := ledger.Balance(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		if bal.Reserved != 0 || bal.Spent != 20 {
			t.Errorf("%s %s after the refusal: spent %d, reserved %d; want 20 spent, nothing reserved", a.Kind, a.ID, bal.Spent, bal.Reserved)
		}
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	if w := serve(gw, key, body); w.Code != 503 || strings.Contains(w.Body.String(), "teams table") {
		t.Errorf("failing BudgetScopes: %d %s; want 503 without the error's text", w.Code, w.Body)
	}
	if err := aud.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var exhausted []audit.Event
	for _, ev := range sink.Events() {
		if ev.Action == audit.ActionBudgetExhausted {
			exhausted = append(exhausted, ev)
		}
	}
	if len(exhausted) != 1 || exhausted[0].Reason != audit.ReasonScopeBudget || exhausted[0].Subject != "acme" || exhausted[0].ActorKeyID != krec.ID {
		t.Errorf("budget.exhausted events %+v; want one scope_budget for acme by %s", exhausted, krec.ID)
	}
}

// A key's model budget holds only for the models its pattern matches, and
// its refusal names the pattern; other models still draw on the key's
// budget.
func TestModelBudget(t *testing.T) {
	p := &scripted{}
	pt := perOutputToken(t)
	if err := pt.Set("ok-mini", metering.Price{Rates: metering.Rates{Output: 1_000_000}}); err != nil {
		t.Fatal(err)
	}
	models := append(scriptedModels(p), providers.Model{Name: "ok-mini", Deployments: []providers.Deployment{{Provider: p, Model: "ok"}}})
	ledger, _ := metering.NewMemoryLedger(nil)
	e := newEnv(t, models, func(c *wicket.Config) { c.Prices, c.Ledger = pt, ledger })
	key, rec, err := e.km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: 100, Period: keys.PeriodMonthly},
		ModelBudgets: []keys.ModelBudget{{Model: "ok-*", LimitMicros: 25, Period: keys.PeriodWeekly}}})
	if err != nil {
		t.Fatal(err)
	}
	mini := `{"model":"ok-mini","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`
	plain := `{"model":"ok","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`
	if w := serve(e.gw, key, mini); w.Code != 200 {
		t.Fatalf("first ok-mini call: %d %s", w.Code, w.Body)
	}
	if w := serve(e.gw, key, mini); w.Code != 429 || !strings.Contains(w.Body.String(), `this API key's weekly budget for models matching \"ok-*\"`) {
		t.Fatalf("second ok-mini call: %d %s; want 429 naming the model budget", w.Code, w.Body)
	}
	for i := range 4 { // 20 + 4×20: the key's 100
		if w := serve(e.gw, key, plain); w.Code != 200 {
			t.Fatalf("ok call %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := serve(e.gw, key, plain); w.Code != 429 || !strings.Contains(w.Body.String(), "this API key's monthly budget") {
		t.Fatalf("sixth call: %d %s; want 429 naming the key's budget", w.Code, w.Body)
	}

	// The usage view shows both budgets.
	admin := e.gw.Admin(nil)
	adminKey, _, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "ops", Role: keys.RoleAdmin})
	r := httptest.NewRequest("GET", "/keys/"+rec.ID+"/usage", nil)
	r.Header.Set("Authorization", "Bearer "+adminKey)
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, r)
	var u keys.Usage
	if err := json.Unmarshal(w.Body.Bytes(), &u); err != nil || w.Code != 200 {
		t.Fatalf("usage: %d %s", w.Code, w.Body)
	}
	if len(u.Budgets) != 2 {
		t.Fatalf("usage budgets %+v; want the key's and its model budget", u.Budgets)
	}
	kb, mb := u.Budgets[0], u.Budgets[1]
	if kb.Kind != "key" || kb.LimitMicros != 100 || kb.SpentMicros != 100 || kb.RemainingMicros == nil || *kb.RemainingMicros != 0 || kb.Period != keys.PeriodMonthly {
		t.Errorf("key budget %+v", kb)
	}
	if mb.Kind != "key_model" || mb.Model != "ok-*" || mb.LimitMicros != 25 || mb.SpentMicros != 20 || *mb.RemainingMicros != 5 || mb.Period != keys.PeriodWeekly {
		t.Errorf("model budget %+v", mb)
	}
}

// A total budget is prepaid credit: once spent, calls are refused until an
// administrator tops it up through the admin API.
func TestTopUpThroughAdminAPI(t *testing.T) {
	p := &scripted{}
	ledger, _ := metering.NewMemoryLedger(nil)
	e := newEnv(t, scriptedModels(p), func(c *wicket.Config) { c.Prices, c.Ledger = perOutputToken(t), ledger })
	key, rec, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: 20, Period: keys.PeriodTotal}})
	adminKey, _, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "ops", Role: keys.RoleAdmin})
	admin := e.gw.Admin(nil)
	call := func(path, body string) (int, string) {
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+adminKey)
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	body := `{"model":"ok","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`
	if w := serve(e.gw, key, body); w.Code != 200 {
		t.Fatalf("first call: %d", w.Code)
	}
	if w := serve(e.gw, key, body); w.Code != 429 {
		t.Fatalf("with the credit spent: %d; want 429", w.Code)
	}
	if st, b := call("/keys/"+rec.ID+"/budget/top_up", `{"amount_micros":40}`); st != 200 || !strings.Contains(b, `"limit_micros":60`) {
		t.Fatalf("top-up: %d %s", st, b)
	}
	for i := range 2 {
		if w := serve(e.gw, key, body); w.Code != 200 {
			t.Fatalf("call %d after the top-up: %d %s", i, w.Code, w.Body)
		}
	}
	if w := serve(e.gw, key, body); w.Code != 429 {
		t.Fatalf("after spending the top-up: %d; want 429", w.Code)
	}
	// A periodic budget cannot be topped up; it can be set.
	if st, b := call("/keys/"+rec.ID+"/budget", `{"limit_micros":1000,"period":"daily"}`); st != 200 {
		t.Fatalf("set budget: %d %s", st, b)
	}
	if st, _ := call("/keys/"+rec.ID+"/budget/top_up", `{"amount_micros":40}`); st != 400 {
		t.Errorf("top-up of a daily budget: %d; want 400", st)
	}
	if w := serve(e.gw, key, body); w.Code != 200 {
		t.Errorf("under the new daily budget: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest("POST", "/keys/"+rec.ID+"/budget/top_up", strings.NewReader(`{"amount_micros":40}`))
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, r)
	if w.Code != 403 {
		t.Errorf("a user key tops itself up: %d; want 403", w.Code)
	}
}
