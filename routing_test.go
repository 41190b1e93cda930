package wicket_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/redact"
)

// testClock is a settable time source for the router's cool-downs.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// routed builds a gateway over models whose router uses opts, recording
// attempts and cool-downs.
type routed struct {
	*env
	mu        sync.Mutex
	attempts  []wicket.Attempt
	coolDowns []providers.CoolDownEvent
}

func newRouted(t *testing.T, models []providers.Model, opts providers.RouterOptions) *routed {
	t.Helper()
	rt := &routed{}
	opts.OnCoolDown = func(e providers.CoolDownEvent) {
		rt.mu.Lock()
		rt.coolDowns = append(rt.coolDowns, e)
		rt.mu.Unlock()
	}
	router, err := providers.NewRouter(models, &opts)
	if err != nil {
		t.Fatal(err)
	}
	rt.env = newEnv(t, models, func(c *wicket.Config) {
		c.Router, c.RetryBackoff = router, time.Millisecond
		c.OnAttempt = func(_ context.Context, a wicket.Attempt) {
			rt.mu.Lock()
			rt.attempts = append(rt.attempts, a)
			rt.mu.Unlock()
		}
	})
	return rt
}

// takeAttempts returns the attempts recorded since the last call, as
// "deployment reason status" lines.
func (rt *routed) takeAttempts() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []string
	for _, a := range rt.attempts {
		out = append(out, a.Deployment+" "+a.Reason+" "+http.StatusText(a.Status))
	}
	rt.attempts = nil
	return out
}

func (rt *routed) call(t *testing.T) int {
	t.Helper()
	resp := rt.post(t, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	readAll(t, resp)
	<-rt.outcome
	return resp.StatusCode
}

// TestCoolDownSkipsAFailingDeployment: a deployment that keeps failing is
// taken out of rotation after three failures, gets no traffic while it
// cools down, and comes back through one probe.
func TestCoolDownSkipsAFailingDeployment(t *testing.T) {
	var mu sync.Mutex
	healthy := false
	flaky := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		ok := healthy
		mu.Unlock()
		if ok {
			okUpstream(w, r, body)
			return
		}
		errorUpstream(500, `{"error":{"message":"boom","type":"server_error"}}`)(w, r, body)
	})
	good := newUpstream(t, okUpstream)
	clk := &testClock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	rt := newRouted(t, []providers.Model{{Name: "m", Deployments: []providers.Deployment{
		{Name: "flaky", Provider: flaky.provider(t, "flaky")}, {Name: "good", Provider: good.provider(t, "good")},
	}}}, providers.RouterOptions{Now: clk.Now, CoolDown: providers.CoolDown{Failures: 3, Window: time.Minute, Period: 10 * time.Second}})

	for range 3 {
		if st := rt.call(t); st != 200 {
			t.Fatalf("status %d; want the fallback's 200", st)
		}
	}
	want := []string{"flaky first Internal Server Error", "good fallback OK"}
	if got := rt.takeAttempts(); !cmp.Equal(got, append(append(append([]string(nil), want...), want...), want...)) {
		t.Errorf("attempts %q; want flaky then good, three times", got)
	}
	// Cooling down: no traffic to flaky.
	before := len(flaky.requests())
	for range 5 {
		if st := rt.call(t); st != 200 {
			t.Fatalf("status %d while flaky cools down", st)
		}
	}
	if n := len(flaky.requests()) - before; n != 0 {
		t.Errorf("flaky got %d requests while cooling down; want none", n)
	}
	if got := rt.takeAttempts(); len(got) != 5 || got[0] != "good fallback OK" {
		t.Errorf("attempts while cooling %q; want good alone", got)
	}
	// The period ends with the upstream healthy: one probe brings it back.
	mu.Lock()
	healthy = true
	mu.Unlock()
	clk.Advance(10 * time.Second)
	rt.call(t)
	if got := rt.takeAttempts(); !cmp.Equal(got, []string{"flaky probe OK"}) {
		t.Errorf("attempts after the period %q; want one successful probe of flaky", got)
	}
	rt.call(t)
	if got := rt.takeAttempts(); !cmp.Equal(got, []string{"flaky first OK"}) {
		t.Errorf("attempts after the probe %q; want flaky back in rotation", got)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.coolDowns) != 2 || !rt.coolDowns[0].Entered || rt.coolDowns[0].Deployment != "flaky" || rt.coolDowns[0].Cause != providers.FailureModel ||
		!rt.coolDowns[0].Until.Equal(time.Date(2026, 11, 29, 12, 0, 10, 0, time.UTC)) || rt.coolDowns[1].Entered {
		t.Errorf("cool-down events %+v; want flaky entering until 12:00:10, then leaving", rt.coolDowns)
	}
}

// TestKeyPoolRefusedKey: in a pool of upstream keys (deployments on
// providers with different credentials of one upstream), a key the
// upstream refuses is taken out: traffic moves to the others, the
// application hears of it once, and it is not retried until its probe.
func TestKeyPoolRefusedKey(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") == "Bearer sk-revoked" {
			errorUpstream(401, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)(w, r, body)
			return
		}
		okUpstream(w, r, body)
	})
	keyed := func(name, key string) providers.Provider {
		p, err := openai.New(&openai.Options{Name: name, BaseURL: up.srv.URL + "/v1", APIKey: redact.NewSecret(key)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	clk := &testClock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	var refusals int
	var mu sync.Mutex
	router, _ := providers.NewRouter([]providers.Model{{Name: "m", Strategy: providers.Weighted, Deployments: []providers.Deployment{
		{Name: "key-a", Provider: keyed("acct-a", "sk-revoked"), Weight: 1},
		{Name: "key-b", Provider: keyed("acct-b", "sk-good-b"), Weight: 1},
		{Name: "key-c", Provider: keyed("acct-c", "sk-good-c"), Weight: 1},
	}}}, &providers.RouterOptions{Now: clk.Now})
	e := newEnv(t, nil, func(c *wicket.Config) {
		c.Router, c.RetryBackoff = router, time.Millisecond
		c.OnUpstreamRefusal = func(context.Context, wicket.UpstreamRefusal) {
			mu.Lock()
			refusals++
			mu.Unlock()
		}
	})
	revokedHits := func() int {
		n := 0
		for _, r := range up.requests() {
			if r.Header.Get("Authorization") == "Bearer sk-revoked" {
				n++
			}
		}
		return n
	}
	for i := range 60 {
		resp := e.post(t, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
		if body := readAll(t, resp); resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s; want 200 from a good key", i, resp.StatusCode, body)
		}
		<-e.outcome
	}
	if n := revokedHits(); n != 1 {
		t.Errorf("the refused key was tried %d times in 60 calls; want once", n)
	}
	mu.Lock()
	if refusals != 1 {
		t.Errorf("OnUpstreamRefusal heard %d refusals; want 1", refusals)
	}
	mu.Unlock()
	// After its cool-down, one probe; refused again, it cools down longer.
	clk.Advance(10 * time.Second)
	for range 30 {
		resp := e.post(t, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
		readAll(t, resp)
		<-e.outcome
	}
	if n := revokedHits(); n != 2 {
		t.Errorf("after the period the refused key was tried %d times in all; want 2 (one probe)", n)
	}
}

// TestEveryDeploymentCooling: when every deployment of a model is cooling
// down, the client gets 503 in its dialect with retry-after, and no
// upstream is called.
func TestEveryDeploymentCooling(t *testing.T) {
	bad := newUpstream(t, errorUpstream(503, `{"error":{"message":"overloaded","type":"server_error"}}`))
	clk := &testClock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	rt := newRouted(t, []providers.Model{{Name: "m", Deployments: []providers.Deployment{
		{Name: "one", Provider: bad.provider(t, "one")}, {Name: "two", Provider: bad.provider(t, "two")},
	}}}, providers.RouterOptions{Now: clk.Now, CoolDown: providers.CoolDown{Failures: 2, Window: time.Minute, Period: 30 * time.Second}})
	rt.call(t) // each deployment fails twice in this call (3 attempts)…
	rt.call(t) // …and trips by the next
	before := len(bad.requests())
	resp := rt.do(t, "POST", "/v1/messages", `{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`, anthropicHeader(rt.key))
	body := readAll(t, resp)
	<-rt.outcome
	if resp.StatusCode != 503 || !strings.Contains(body, `"type":"overloaded_error"`) && !strings.Contains(body, `"type":"api_error"`) {
		t.Errorf("got %d %s; want 503 in Anthropic's shape", resp.StatusCode, body)
	}
	if !strings.HasPrefix(body, `{"type":"error"`) {
		t.Errorf("body %s; want Anthropic's error shape", body)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("retry-after %q; want the seconds until a probe", ra)
	}
	if n := len(bad.requests()) - before; n != 0 {
		t.Errorf("%d upstream calls while every deployment cools down; want none", n)
	}
}

// TestEachFailureFallsBack: the first deployment answering 429 (with and
// without retry-after), 500, resetting the connection or hanging each
// leads to the second, whose answer the client gets; the attempts are
// reported with their outcome.
func TestEachFailureFallsBack(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request, _ []byte) { <-r.Context().Done() }
	reset := func(w http.ResponseWriter, r *http.Request, _ []byte) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	for _, tc := range []struct {
		name    string
		h       func(http.ResponseWriter, *http.Request, []byte)
		status  int
		failure providers.Failure
	}{
		{"429 with retry-after", func(w http.ResponseWriter, r *http.Request, b []byte) {
			w.Header().Set("Retry-After", "1")
			errorUpstream(429, `{"error":{"message":"slow down","type":"requests"}}`)(w, r, b)
		}, 429, providers.FailureModel},
		{"429 without retry-after", errorUpstream(429, `{"error":{"message":"slow down","type":"requests"}}`), 429, providers.FailureModel},
		{"500", errorUpstream(500, `{"error":{"message":"boom","type":"server_error"}}`), 500, providers.FailureModel},
		{"connection reset", reset, 0, providers.FailureUpstream},
		{"hang", hang, 0, providers.FailureModel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := newUpstream(t, tc.h)
			good := newUpstream(t, okUpstream)
			client := &http.Client{Transport: providers.NewTransport(&providers.TransportOptions{ResponseHeaderTimeout: 100 * time.Millisecond})}
			p1, err := openai.New(&openai.Options{Name: "first", BaseURL: first.srv.URL + "/v1", Client: client})
			if err != nil {
				t.Fatal(err)
			}
			rt := newRouted(t, []providers.Model{{Name: "m", Deployments: []providers.Deployment{
				{Name: "first", Provider: p1}, {Name: "second", Provider: good.provider(t, "second")},
			}}}, providers.RouterOptions{})
			resp := rt.post(t, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
			if body := readAll(t, resp); resp.StatusCode != 200 || body != completionFixture {
				t.Fatalf("got %d %s; want the second deployment's answer", resp.StatusCode, body)
			}
			o := <-rt.outcome
			if o.Attempts != 2 || o.Deployment != "second" {
				t.Errorf("event: %d attempts, deployment %q; want 2, second", o.Attempts, o.Deployment)
			}
			rt.mu.Lock()
			defer rt.mu.Unlock()
			if len(rt.attempts) != 2 {
				t.Fatalf("attempts %+v; want 2", rt.attempts)
			}
			a, b := rt.attempts[0], rt.attempts[1]
			if a.Deployment != "first" || a.Reason != wicket.AttemptFirst || a.Status != tc.status || a.Failure != tc.failure || a.ErrorClass == "" || a.Number != 1 {
				t.Errorf("first attempt %+v; want first, status %d, failure %v", a, tc.status, tc.failure)
			}
			if b.Deployment != "second" || b.Reason != wicket.AttemptFallback || b.Status != 200 || b.Failure != providers.FailureNone || b.ErrorClass != "" || b.Number != 2 {
				t.Errorf("second attempt %+v; want a successful fallback", b)
			}
		})
	}
}

// TestDeadline: one deadline bounds the attempts before the answer
// starts: a hanging first deployment and a slow second one end in 504 in
// the client's dialect once it passes, and a model's own deadline wins
// over the gateway's. An answer that started before the deadline is not
// cut by it.
func TestDeadline(t *testing.T) {
	hang := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { <-r.Context().Done() })
	slowStream := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 6 {
			_, _ = w.Write([]byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"w` + strings.Repeat("x", i) + `"},"finish_reason":null}]}` + "\n\n"))
			http.NewResponseController(w).Flush()
			time.Sleep(30 * time.Millisecond)
		}
		_, _ = w.Write([]byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":6,"total_tokens":7}}` + "\n\n" + "data: [DONE]\n\n"))
	})
	router, err := providers.NewRouter([]providers.Model{
		{Name: "hangs", Deployments: []providers.Deployment{{Name: "a", Provider: hang.provider(t, "a")}, {Name: "b", Provider: hang.provider(t, "b")}}},
		{Name: "own", Deadline: 40 * time.Millisecond, Deployments: []providers.Deployment{{Provider: hang.provider(t, "c")}}},
		{Name: "streams", Deployments: []providers.Deployment{{Provider: slowStream.provider(t, "s")}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, func(c *wicket.Config) {
		c.Router, c.Deadline, c.RetryBackoff = router, 150*time.Millisecond, time.Millisecond
	})
	for _, tc := range []struct {
		model   string
		atLeast time.Duration
	}{{"hangs", 150 * time.Millisecond}, {"own", 40 * time.Millisecond}} {
		start := time.Now()
		resp := e.do(t, "POST", "/v1/messages", `{"model":"`+tc.model+`","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`, anthropicHeader(e.key))
		body := readAll(t, resp)
		took := time.Since(start)
		if resp.StatusCode != http.StatusGatewayTimeout || !strings.HasPrefix(body, `{"type":"error"`) {
			t.Errorf("%s: %d %s; want 504 in Anthropic's shape", tc.model, resp.StatusCode, body)
		}
		if took < tc.atLeast || took > tc.atLeast+time.Second {
			t.Errorf("%s: answered after %v; want about %v", tc.model, took, tc.atLeast)
		}
		if o := <-e.outcome; o.ErrorClass != "timeout" || o.Status != 504 {
			t.Errorf("%s: event class %q status %d; want timeout 504", tc.model, o.ErrorClass, o.Status)
		}
	}
	// A stream that started within the deadline runs past it whole.
	resp := e.post(t, "/v1/chat/completions", `{"model":"streams","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.HasSuffix(body, "data: [DONE]\n\n") || strings.Count(body, "data: ") != 7 {
		t.Errorf("stream across the deadline: %d %q; want all of it", resp.StatusCode, body)
	}
	if o := <-e.outcome; o.Status != 200 || o.ErrorClass != "" || o.Usage.OutputTokens != 6 {
		t.Errorf("stream event %+v; want a whole answer", o)
	}
}

// TestSameDialectOnly: a model marked SameDialectOnly is never
// translated: a client of another dialect gets 501, and its fallback
// chain skips deployments of another dialect.
func TestSameDialectOnly(t *testing.T) {
	good := newUpstream(t, okUpstream)
	e := newEnv(t, []providers.Model{{Name: "m", SameDialectOnly: true, Deployments: []providers.Deployment{{Provider: good.provider(t, "openai")}}}}, nil)
	resp := e.do(t, "POST", "/v1/messages", `{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`, anthropicHeader(e.key))
	if body := readAll(t, resp); resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("Anthropic client: %d %s; want 501", resp.StatusCode, body)
	}
	<-e.outcome
	resp = e.post(t, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Errorf("OpenAI client: %d %s; want 200", resp.StatusCode, body)
	}
	<-e.outcome
	if n := len(good.requests()); n != 1 {
		t.Errorf("upstream calls %d; want 1 (the OpenAI client's)", n)
	}
}

// TestFallbackAcrossDialects: a model's fallback chain may cross
// dialects: an Anthropic client's call whose Anthropic deployment fails
// is served, translated, by an OpenAI one.
func TestFallbackAcrossDialects(t *testing.T) {
	down := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(529)
		_, _ = w.Write([]byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	})
	claude, err := anthropic.New(&anthropic.Options{Name: "claude", BaseURL: down.srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	rt := newRouted(t, []providers.Model{{Name: "m", Deployments: []providers.Deployment{
		{Name: "claude", Provider: claude}, {Name: "openai", Provider: fake.NewProvider(nil), Model: "fake-echo"},
	}}}, providers.RouterOptions{})
	resp := rt.do(t, "POST", "/v1/messages", `{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hello across"}]}`, anthropicHeader(rt.key))
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `"type":"message"`) || !strings.Contains(body, "hello across") {
		t.Fatalf("got %d %s; want the OpenAI deployment's answer as an Anthropic message", resp.StatusCode, body)
	}
	if o := <-rt.outcome; o.Attempts != 2 || o.Deployment != "openai" {
		t.Errorf("event: %d attempts, deployment %q; want 2, openai", o.Attempts, o.Deployment)
	}
	if len(down.requests()) != 1 {
		t.Errorf("the Anthropic deployment got %d calls; want 1", len(down.requests()))
	}
}

// TestRetryAfterHonoured: before going back to a deployment that asked
// for a pause (retry-after-ms, retry-after), the gateway waits it out when
// it is short and within the deadline, and otherwise does not wait: it
// answers with the upstream's 429 at once.
func TestRetryAfterHonoured(t *testing.T) {
	for _, tc := range []struct {
		name     string
		header   [2]string
		deadline time.Duration
		calls    int
		status   int
		atLeast  time.Duration
		within   time.Duration
	}{
		{"short retry-after-ms is waited out", [2]string{"Retry-After-Ms", "150"}, 0, 2, 200, 150 * time.Millisecond, 2 * time.Second},
		{"long retry-after is not", [2]string{"Retry-After", "60"}, 0, 1, 429, 0, time.Second},
		{"advice past the deadline is not", [2]string{"Retry-After-Ms", "1500"}, 800 * time.Millisecond, 1, 429, 0, 700 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				mu.Lock()
				n++
				first := n == 1
				mu.Unlock()
				if first {
					w.Header().Set(tc.header[0], tc.header[1])
					errorUpstream(429, `{"error":{"message":"slow down","type":"requests"}}`)(w, r, body)
					return
				}
				okUpstream(w, r, body)
			})
			e := newEnv(t, single("m", up.provider(t, "up"), ""), func(c *wicket.Config) {
				c.RetryBackoff, c.Deadline = time.Millisecond, tc.deadline
			})
			start := time.Now()
			resp := e.post(t, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
			readAll(t, resp)
			took := time.Since(start)
			<-e.outcome
			if resp.StatusCode != tc.status || len(up.requests()) != tc.calls {
				t.Errorf("status %d after %d upstream calls; want %d after %d", resp.StatusCode, len(up.requests()), tc.status, tc.calls)
			}
			if took < tc.atLeast || took > tc.within {
				t.Errorf("answered after %v; want between %v and %v", took, tc.atLeast, tc.within)
			}
		})
	}
}
