package wicket_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// dedupRecorder keeps one event per RequestID, as recorders are told to
// (examples/sqlmeter does): what it keeps is what gets billed.
type dedupRecorder struct {
	mu  sync.Mutex
	evs map[string]metering.Event
}

func (r *dedupRecorder) Record(_ context.Context, e metering.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.evs == nil {
		r.evs = map[string]metering.Event{}
	}
	if _, dup := r.evs[e.RequestID]; !dup {
		r.evs[e.RequestID] = e
	}
	return nil
}

// A client's request ID header never becomes the event's ID: five calls
// sending the same one are five requests, all billed.
func TestClientRequestIDDoesNotMergeBilling(t *testing.T) {
	rec := &dedupRecorder{}
	ledger, _ := metering.NewMemoryLedger(nil)
	e := newEnv(t, scriptedModels(&scripted{}), func(c *wicket.Config) {
		c.Recorder, c.Ledger, c.Prices = rec, ledger, perOutputToken(t)
	})
	for _, header := range []string{"X-Request-Id", "X-Client-Request-Id", "X-Request-Id", "X-Request-Id", "X-Client-Request-Id"} {
		resp := e.do(t, "POST", "/v1/chat/completions", `{"model":"ok","max_tokens":7}`,
			map[string]string{"Authorization": "Bearer " + e.key, header: "same-id-1"})
		readAll(t, resp)
		if got := resp.Header.Get("X-Client-Request-Id"); got != "same-id-1" {
			t.Errorf("X-Client-Request-Id echoed %q; want same-id-1", got)
		}
		if got := resp.Header.Get("X-Request-Id"); got == "same-id-1" || !strings.HasPrefix(got, "req_") {
			t.Errorf("X-Request-Id %q; want the gateway's own", got)
		}
	}
	if err := e.gw.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var billed int64
	for id, ev := range rec.evs {
		billed += ev.CostMicros
		if ev.ClientRequestID != "same-id-1" || id == "same-id-1" {
			t.Errorf("event %q has client request ID %q", id, ev.ClientRequestID)
		}
	}
	bal, _ := ledger.Balance(t.Context(), metering.Account{Kind: metering.AccountKey, ID: e.rec.ID, Period: metering.PeriodMonthly})
	if len(rec.evs) != 5 || billed != 5*7 || bal.Spent != billed {
		t.Errorf("%d distinct events billing %d µ$, ledger spent %d; want 5 events, 35 µ$ both", len(rec.evs), billed, bal.Spent)
	}
}

// When the upstream reports no usage, the gateway's estimate of the output
// never exceeds the output cap that was reserved, so a budget holds.
func TestEstimateWithinReservation(t *testing.T) {
	long := strings.Repeat("lorem ipsum ", 40) // ~480 bytes: ~120 tokens by bytes/4
	noUsage := newUpstream(t, func(w http.ResponseWriter, r *http.Request, b []byte) {
		if strings.Contains(string(b), `"stream":true`) {
			w.Header().Set("Content-Type", "text/event-stream")
			for range 50 { // 50 events, no usage chunk although asked
				io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"x"}}]}`+"\n\n")
			}
			io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"`+long+`"}}]}`)
	})
	pt := metering.DefaultPrices()
	pt.Set("m", metering.Price{Rates: metering.Rates{Output: 1_000_000}}) // 1 µ$ per output token, input free
	rec := &meteringtestRecorder{}
	ledger, _ := metering.NewMemoryLedger(nil)
	e := newEnv(t, single("m", noUsage.provider(t, "nousage"), ""), func(c *wicket.Config) {
		c.Prices, c.Ledger, c.Recorder = pt, ledger, rec
	})
	key, k, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: 4}})
	for _, body := range []string{`{"model":"m","max_tokens":1}`, `{"model":"m","max_tokens":1,"stream":true}`, `{"model":"m","max_tokens":2}`} {
		resp := e.do(t, "POST", "/v1/chat/completions", body, map[string]string{"Authorization": "Bearer " + key})
		if b := readAll(t, resp); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
		}
	}
	if err := e.gw.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, ev := range rec.events() {
		if !ev.UsageEstimated {
			t.Errorf("event %+v; want an estimate", ev)
		}
		sum += ev.CostMicros
	}
	bal, _ := ledger.Balance(t.Context(), metering.Account{Kind: metering.AccountKey, ID: k.ID, Limit: 4, Period: metering.PeriodTotal})
	if bal.Spent != 4 || sum != bal.Spent || bal.Reserved != 0 {
		t.Errorf("spent %d (events %d, reserved %d); want exactly the caps 1+1+2 = 4", bal.Spent, sum, bal.Reserved)
	}
}

// A model name is the client's text: outcomes bound it as events do.
func TestLongModelNameBoundedInOutcome(t *testing.T) {
	e := newEnv(t, []providers.Model{{Name: "*", Deployments: []providers.Deployment{{Provider: newUpstream(t, okUpstream).provider(t, "any")}}}}, nil)
	name := strings.Repeat("é", 1<<19) // 1 MiB
	for _, body := range []string{`{"model":"` + name + `"}`} {
		readAll(t, e.post(t, "/v1/chat/completions", body))
		o := <-e.outcome
		if len(o.Model) > metering.MaxIDLen || len(o.ServedModel) > metering.MaxIDLen || !strings.HasPrefix(name, o.Model) || o.Model == "" {
			t.Errorf("outcome model %d bytes, upstream model %d bytes; want a prefix of at most %d", len(o.Model), len(o.ServedModel), metering.MaxIDLen)
		}
	}
}

// An API never redirects: paths that are not canonical get 404 in the
// caller's dialect.
func TestNoRedirects(t *testing.T) {
	e := newEnv(t, single("m", newUpstream(t, okUpstream).provider(t, "p"), ""), nil)
	for _, p := range []string{"//v1//chat/completions", "/v1/../v1/chat/completions", "/v1/./chat/completions", "/v1/chat/completions/.", "/v1//models"} {
		req, _ := http.NewRequest("POST", e.srv.URL, strings.NewReader(`{"model":"m"}`))
		req.URL.Path = p
		req.Header.Set("Authorization", "Bearer "+e.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.srv.Client().Transport.RoundTrip(req) // no redirect following
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != 404 || resp.Header.Get("Location") != "" || !strings.Contains(body, `"code":"unknown_url"`) {
			t.Errorf("%s: %d (Location %q) %s; want 404 unknown_url", p, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
}

// A rotated key's successor shares its budget and usage: rotation neither
// resets the spend nor doubles the budget during the grace period.
func TestRotationKeepsTheBudget(t *testing.T) {
	ledger, _ := metering.NewMemoryLedger(nil)
	e := newEnv(t, scriptedModels(&scripted{}), func(c *wicket.Config) { c.Ledger, c.Prices = ledger, perOutputToken(t) })
	old, rec, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: 30, Period: keys.PeriodTotal}})
	const call = `{"model":"ok","max_tokens":10}` // 10 µ$ each: 3 calls fit
	if w := serve(e.gw, old, call); w.Code != 200 {
		t.Fatalf("first call: %d %s", w.Code, w.Body)
	}
	next, nrec, _, err := e.km.Rotate(t.Context(), rec.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	admitted := 1
	for i := range 6 {
		key := old
		if i%2 == 0 {
			key = next
		}
		if w := serve(e.gw, key, call); w.Code == 200 {
			admitted++
		} else if w.Code != 429 {
			t.Fatalf("call %d: %d %s", i, w.Code, w.Body)
		}
	}
	if admitted != 3 {
		t.Errorf("calls admitted across the key and its successor: %d; want 3 (30 µ$ budget)", admitted)
	}
	for _, r := range []*keys.Record{rec, nrec} {
		u, err := e.gw.KeyUsage(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		if u.SpentMicros != 30 || u.RemainingMicros == nil || *u.RemainingMicros != 0 || u.Requests != 7 {
			t.Errorf("usage of %s: spent %d remaining %v requests %d; want 30, 0, 7 (shared)", r.ID, u.SpentMicros, u.RemainingMicros, u.Requests)
		}
	}
}

// Images are bounded per part at their model's ceiling, not by their
// bytes, and inputs whose cost cannot be bounded are refused for budgeted
// keys. The reported case: 195 bytes with one image_url, 2,841 prompt
// tokens billed by gpt-4o-mini.
func TestImagesAndUnboundedInputsUnderBudgets(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"a cat"}}],"usage":{"prompt_tokens":2841,"completion_tokens":3}}`)
	})
	ledger, _ := metering.NewMemoryLedger(nil)
	pt := metering.DefaultPrices()
	pt.Set("no-ceiling", metering.Price{Rates: metering.Rates{Input: 150_000, Output: 600_000}})
	e := newEnv(t, []providers.Model{
		{Name: "gpt-4o-mini", Deployments: []providers.Deployment{{Provider: up.provider(t, "openai")}}},
		{Name: "no-ceiling", Deployments: []providers.Deployment{{Provider: up.provider(t, "openai")}}},
	}, func(c *wicket.Config) { c.Ledger, c.Prices = ledger, pt })
	image := `{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`
	small, srec, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: 1_000}})
	if w := serve(e.gw, small, image); w.Code != 429 || !strings.Contains(w.Body.String(), "insufficient_quota") {
		t.Errorf("image against a 1,000 µ$ budget: %d %s; want 429 insufficient_quota (an image may cost up to its ceiling)", w.Code, w.Body)
	}
	big, brec, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "o", Budget: keys.Budget{LimitMicros: 20_000}})
	if w := serve(e.gw, big, image); w.Code != 200 {
		t.Fatalf("image against a 20,000 µ$ budget: %d %s; want 200", w.Code, w.Body)
	}
	for _, tc := range []struct{ rec *keys.Record }{{srec}, {brec}} {
		bal, _ := ledger.Balance(t.Context(), metering.Account{Kind: metering.AccountKey, ID: tc.rec.ID, Period: metering.PeriodTotal})
		if bal.Spent > tc.rec.Budget.LimitMicros || bal.Reserved != 0 {
			t.Errorf("key %s: spent %d of %d, reserved %d", tc.rec.ID, bal.Spent, tc.rec.Budget.LimitMicros, bal.Reserved)
		}
	}
	bal, _ := ledger.Balance(t.Context(), metering.Account{Kind: metering.AccountKey, ID: brec.ID, Period: metering.PeriodTotal})
	if want, _ := pt.Cost("gpt-4o-mini", metering.Usage{InputTokens: 2841, OutputTokens: 3}); bal.Spent != want {
		t.Errorf("spent %d; want the exact cost %d", bal.Spent, want)
	}
	// A model without an image ceiling, and inputs the gateway cannot see
	// the cost of, are refused for budgeted keys, naming the parameter.
	for _, tc := range []struct{ body, param string }{
		{strings.Replace(image, "gpt-4o-mini", "no-ceiling", 1), "model"},
		{`{"model":"gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`, "input_audio"},
		{`{"model":"gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, "file"},
		{`{"model":"gpt-4o-mini","max_tokens":5,"web_search_options":{},"messages":[]}`, "web_search_options"},
	} {
		w := serve(e.gw, big, tc.body)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"param":"`+tc.param+`"`) || !strings.Contains(w.Body.String(), "unsupported_with_budget") {
			t.Errorf("%s: %d %s; want 400 unsupported_with_budget naming %s", tc.body, w.Code, w.Body, tc.param)
		}
	}
	// Keys without a budget are not refused.
	if w := serve(e.gw, e.key, strings.Replace(image, "gpt-4o-mini", "no-ceiling", 1)); w.Code != 200 {
		t.Errorf("unbudgeted key, image on a model without a ceiling: %d %s; want 200", w.Code, w.Body)
	}
}
