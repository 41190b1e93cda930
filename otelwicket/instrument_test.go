package otelwicket_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/otelwicket"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/redact"
)

// Canaries: none may appear in any span, event or metric.
const (
	canaryPrompt   = "canary-prompt-5f0c2e"
	upstreamSecret = "sk-upstream-canary-91d3"
)

// env is an instrumented gateway in front of test upstreams, over real
// HTTP, with the SDK's in-memory span recorder and metric reader.
type env struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	srv    *httptest.Server
	key    string
	rec    *keys.Record
	events chan struct{}
}

// upstream serves the fake model in every dialect and keeps the headers
// of each request it got.
type upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newUpstream(t *testing.T, h http.Handler) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) provider(t *testing.T, name string) providers.Provider {
	p, err := openai.New(&openai.Options{Name: name, BaseURL: u.srv.URL + "/v1", APIKey: redact.NewSecret(upstreamSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newEnv(t *testing.T, deployments []providers.Deployment, limits keys.Limits) *env {
	return newEnvWith(t, deployments, limits, nil)
}

// newEnvWith also lets tweak change the Config (after Instrument, before
// the router is made with the Telemetry's OnCoolDown).
func newEnvWith(t *testing.T, deployments []providers.Deployment, limits keys.Limits, tweak func(*wicket.Config, *providers.RouterOptions)) *env {
	t.Helper()
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.NewManager(keys.NewMemoryStore(), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader(), events: make(chan struct{}, 16)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	cfg := wicket.Config{Keys: km, Limits: ratelimit.Limits{RequestsPerMinute: 1000}}
	tel, err := otelwicket.Instrument(&cfg, &otelwicket.Options{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	ro := providers.RouterOptions{OnCoolDown: tel.OnCoolDown}
	if tweak != nil {
		tweak(&cfg, &ro)
	}
	if cfg.Router, err = providers.NewRouter([]providers.Model{{Name: "m", Deployments: deployments}}, &ro); err != nil {
		t.Fatal(err)
	}
	gw, err := wicket.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close(context.Background()) })
	e.srv = httptest.NewServer(tel.Handler(gw))
	t.Cleanup(e.srv.Close)
	e.key, e.rec, err = km.Issue(context.Background(), keys.Spec{Owner: "alice", Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// post sends a chat request with the env's key and, if set, a traceparent.
func (e *env) post(t *testing.T, body, traceparent string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ended waits until n spans have ended (the server span ends after the
// answer's last byte is written).
func (e *env) ended(t *testing.T, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := e.spans.Ended()
		if len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spans ended; want %d", len(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func attrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

// check compares the wanted attributes of s (by their Emit form).
func check(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	got := attrs(s)
	for k, v := range want {
		if g, ok := got[k]; !ok || g.String() != v {
			t.Errorf("span %q: %s = %q (set %v); want %q", s.Name(), k, g.String(), ok, v)
		}
	}
}

func byKind(spans []sdktrace.ReadOnlySpan, kind trace.SpanKind) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.SpanKind() == kind {
			out = append(out, s)
		}
	}
	return out
}

const chatBody = `{"model":"m","max_tokens":64,"messages":[{"role":"user","content":"hello ` + canaryPrompt + `"}]}`

// TestPlainCall: a whole answer makes a server span that continues the
// caller's trace, named and attributed per the GenAI conventions and with
// wicket's own attributes, and one client span under it whose context
// went upstream in traceparent.
func TestPlainCall(t *testing.T) {
	up := newUpstream(t, fake.Handler(nil))
	e := newEnv(t, []providers.Deployment{{Name: "d1", Provider: up.provider(t, "primary"), Model: "fake-echo"}}, keys.Limits{})
	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	const callerSpan = "00f067aa0ba902b7"
	resp := e.post(t, chatBody, "00-"+callerTrace+"-"+callerSpan+"-01")
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	spans := e.ended(t, 2)
	servers, clients := byKind(spans, trace.SpanKindServer), byKind(spans, trace.SpanKindClient)
	if len(servers) != 1 || len(clients) != 1 {
		t.Fatalf("%d server and %d client spans; want 1 and 1", len(servers), len(clients))
	}
	srv, att := servers[0], clients[0]
	if srv.SpanContext().TraceID().String() != callerTrace || srv.Parent().SpanID().String() != callerSpan || !srv.Parent().IsRemote() {
		t.Errorf("server span in trace %s under %s; want the caller's %s under %s", srv.SpanContext().TraceID(), srv.Parent().SpanID(), callerTrace, callerSpan)
	}
	if srv.Name() != "chat m" || att.Name() != "chat fake-echo" {
		t.Errorf("span names %q, %q; want \"chat m\", \"chat fake-echo\"", srv.Name(), att.Name())
	}
	if att.Parent().SpanID() != srv.SpanContext().SpanID() {
		t.Errorf("attempt span's parent %s; want the server span %s", att.Parent().SpanID(), srv.SpanContext().SpanID())
	}
	check(t, srv, map[string]string{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "m",
		"gen_ai.response.model": "fake-echo", "http.response.status_code": "200", "http.request.method": "POST",
		"wicket.key.id": e.rec.ID, "wicket.owner": "alice", "wicket.attempts": "1", "wicket.outcome": "ok",
		"wicket.stream": "false", "wicket.usage.estimated": "false", "gen_ai.request.max_tokens": "64",
	})
	a := attrs(srv)
	if a["gen_ai.usage.input_tokens"].AsInt64() <= 0 || a["gen_ai.usage.output_tokens"].AsInt64() <= 0 || a["wicket.cost_micros"].AsInt64() <= 0 {
		t.Errorf("usage %v/%v, cost %v; want positive", a["gen_ai.usage.input_tokens"].String(), a["gen_ai.usage.output_tokens"].String(), a["wicket.cost_micros"].String())
	}
	if _, ok := a["error.type"]; ok {
		t.Errorf("error.type set on a success")
	}
	if got := a["gen_ai.response.finish_reasons"].AsStringSlice(); len(got) != 1 || got[0] != "stop" {
		t.Errorf("gen_ai.response.finish_reasons %q; want [stop]", got)
	}
	check(t, att, map[string]string{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "fake-echo",
		"wicket.deployment": "d1", "wicket.attempt.number": "1", "wicket.attempt.reason": "first", "http.response.status_code": "200",
		"gen_ai.request.max_tokens": "64",
	})
	// The upstream got the attempt span's context.
	up.mu.Lock()
	got := up.seen[0].Get("Traceparent")
	up.mu.Unlock()
	want := "00-" + callerTrace + "-" + att.SpanContext().SpanID().String() + "-01"
	if got != want {
		t.Errorf("upstream traceparent %q; want %q", got, want)
	}
	m := collect(t, e)
	if n := histCount(m, "gen_ai.server.request.duration"); n != 1 {
		t.Errorf("gen_ai.server.request.duration count %d; want 1", n)
	}
	if n := histCount(m, "gen_ai.client.operation.duration"); n != 1 {
		t.Errorf("gen_ai.client.operation.duration count %d; want 1", n)
	}
	in, out := tokenSum(m, "input"), tokenSum(m, "output")
	if in != a["gen_ai.usage.input_tokens"].AsInt64() || out != a["gen_ai.usage.output_tokens"].AsInt64() {
		t.Errorf("gen_ai.client.token.usage input %d output %d; want the span's %d and %d", in, out, a["gen_ai.usage.input_tokens"].AsInt64(), a["gen_ai.usage.output_tokens"].AsInt64())
	}
	if n := counter(m, "wicket.requests", "wicket.outcome", "ok"); n != 1 {
		t.Errorf("wicket.requests{ok} = %d; want 1", n)
	}
	assertNoCanary(t, e, m)
}

// TestStream: a stream's span says so, and its time to first token is
// recorded.
func TestStream(t *testing.T) {
	up := newUpstream(t, fake.Handler(&fake.Options{Chunks: 5}))
	e := newEnv(t, []providers.Deployment{{Provider: up.provider(t, "primary"), Model: "fake-echo"}}, keys.Limits{})
	resp := e.post(t, `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi `+canaryPrompt+`"}]}`, "")
	if body := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "[DONE]") {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	srv := byKind(e.ended(t, 2), trace.SpanKindServer)[0]
	check(t, srv, map[string]string{"wicket.stream": "true", "wicket.outcome": "ok", "gen_ai.provider.name": "openai"})
	m := collect(t, e)
	if n := histCount(m, "gen_ai.server.time_to_first_token"); n != 1 {
		t.Errorf("gen_ai.server.time_to_first_token count %d; want 1", n)
	}
	assertNoCanary(t, e, m)
}

// TestFallback: a deployment that fails is one attempt span with its
// error, the fallback another, both under the request's span.
func TestFallback(t *testing.T) {
	bad := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		io.WriteString(w, `{"error":{"message":"boom","type":"server_error"}}`)
	}))
	good := newUpstream(t, fake.Handler(nil))
	e := newEnv(t, []providers.Deployment{
		{Name: "bad", Provider: bad.provider(t, "bad"), Model: "fake-echo"},
		{Name: "good", Provider: good.provider(t, "good"), Model: "fake-echo"},
	}, keys.Limits{})
	if resp := e.post(t, chatBody, ""); resp.StatusCode != 200 {
		t.Fatalf("got %d %s", resp.StatusCode, readAll(t, resp))
	} else {
		readAll(t, resp)
	}
	spans := e.ended(t, 3)
	clients := byKind(spans, trace.SpanKindClient)
	srv := byKind(spans, trace.SpanKindServer)[0]
	if len(clients) != 2 {
		t.Fatalf("%d attempt spans; want 2", len(clients))
	}
	check(t, clients[0], map[string]string{"wicket.deployment": "bad", "wicket.attempt.reason": "first", "http.response.status_code": "500", "error.type": "upstream_error"})
	check(t, clients[1], map[string]string{"wicket.deployment": "good", "wicket.attempt.reason": "fallback", "wicket.attempt.number": "2", "http.response.status_code": "200"})
	for _, c := range clients {
		if c.Parent().SpanID() != srv.SpanContext().SpanID() {
			t.Errorf("attempt %q not under the request's span", c.Name())
		}
	}
	check(t, srv, map[string]string{"wicket.attempts": "2", "wicket.outcome": "ok"})
	m := collect(t, e)
	if n := counter(m, "wicket.upstream.attempts", "wicket.attempt.reason", "fallback"); n != 1 {
		t.Errorf("wicket.upstream.attempts{fallback} = %d; want 1", n)
	}
	if n := histCount(m, "gen_ai.client.operation.duration"); n != 2 {
		t.Errorf("gen_ai.client.operation.duration count %d; want 2", n)
	}
}

// TestRateLimitRefusal: a refused request has a span with its error class
// and no attempt, and is counted by outcome.
func TestRateLimitRefusal(t *testing.T) {
	up := newUpstream(t, fake.Handler(nil))
	e := newEnv(t, []providers.Deployment{{Provider: up.provider(t, "primary"), Model: "fake-echo"}}, keys.Limits{RequestsPerMinute: 1})
	readAll(t, e.post(t, chatBody, ""))
	resp := e.post(t, chatBody, "")
	if body := readAll(t, resp); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second call: %d %s; want 429", resp.StatusCode, body)
	}
	spans := e.ended(t, 3)
	servers := byKind(spans, trace.SpanKindServer)
	if len(servers) != 2 || len(byKind(spans, trace.SpanKindClient)) != 1 {
		t.Fatalf("%d server spans, %d client; want 2 and 1", len(servers), len(byKind(spans, trace.SpanKindClient)))
	}
	check(t, servers[1], map[string]string{"error.type": "rate_limited", "wicket.outcome": "rate_limited", "http.response.status_code": "429", "wicket.attempts": "0"})
	m := collect(t, e)
	if n := counter(m, "wicket.requests", "wicket.outcome", "rate_limited"); n != 1 {
		t.Errorf("wicket.requests{rate_limited} = %d; want 1", n)
	}
	if n := tokenCount(m); n != 2 {
		t.Errorf("token usage points %d; want 2 (input and output of the first call only)", n)
	}
}

// TestMadeUpModelsMintNoSeries: requests for models the router does not
// know are measured without their model name, so a client cannot grow the
// metrics' cardinality.
func TestMadeUpModelsMintNoSeries(t *testing.T) {
	up := newUpstream(t, fake.Handler(nil))
	e := newEnv(t, []providers.Deployment{{Provider: up.provider(t, "primary"), Model: "fake-echo"}}, keys.Limits{})
	for i := range 5 {
		resp := e.post(t, fmt.Sprintf(`{"model":"made-up-%d","messages":[]}`, i), "")
		if body := readAll(t, resp); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("got %d %s; want 404", resp.StatusCode, body)
		}
	}
	m := collect(t, e)
	dur := find(m, "gen_ai.server.request.duration")
	if dur == nil {
		t.Fatal("no request duration recorded")
	}
	points := dur.Data.(metricdata.Histogram[float64]).DataPoints
	for _, p := range points {
		if v, ok := p.Attributes.Value("gen_ai.request.model"); ok {
			t.Errorf("a refused request's model %q labels a series", v.AsString())
		}
	}
	if len(points) != 1 || points[0].Count != 5 {
		t.Errorf("%d series; want the 5 requests in 1", len(points))
	}
	srv := e.ended(t, 5)[4]
	check(t, srv, map[string]string{"wicket.outcome": "invalid_request", "error.type": "invalid_request", "http.response.status_code": "404"})
}

// TestUnauthenticated: a request with a bad key has a span and is counted
// as an authentication failure, with nothing of the key recorded.
func TestUnauthenticated(t *testing.T) {
	up := newUpstream(t, fake.Handler(nil))
	e := newEnv(t, []providers.Deployment{{Provider: up.provider(t, "primary"), Model: "fake-echo"}}, keys.Limits{})
	e.key = "wk_canarykeythatdoesnotexist000000000000"
	resp := e.post(t, chatBody, "")
	if body := readAll(t, resp); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("got %d %s; want 401", resp.StatusCode, body)
	}
	srv := e.ended(t, 1)[0]
	check(t, srv, map[string]string{"wicket.outcome": "auth", "http.response.status_code": "401"})
	m := collect(t, e)
	if n := counter(m, "wicket.auth.failures", "", ""); n != 1 {
		t.Errorf("wicket.auth.failures = %d; want 1", n)
	}
	assertNoCanary(t, e, m)
}

// TestThrottledAddress: once an address has failed to authenticate too
// often, its requests are refused before any key lookup and counted apart
// from the failures themselves.
func TestThrottledAddress(t *testing.T) {
	up := newUpstream(t, fake.Handler(nil))
	e := newEnvWith(t, []providers.Deployment{{Provider: up.provider(t, "primary"), Model: "fake-echo"}}, keys.Limits{}, func(c *wicket.Config, _ *providers.RouterOptions) {
		th, err := ratelimit.NewAuthThrottle(&ratelimit.AuthThrottleOptions{MaxFailures: 2, Window: time.Minute, Cooldown: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		c.AuthThrottle = th
	})
	e.key = "wk_canarykeythatdoesnotexist000000000000"
	var statuses []int
	for range 4 {
		resp := e.post(t, chatBody, "")
		readAll(t, resp)
		statuses = append(statuses, resp.StatusCode)
	}
	if statuses[0] != 401 || statuses[3] != 429 {
		t.Fatalf("statuses %v; want 401 first and 429 once throttled", statuses)
	}
	e.ended(t, 4)
	m := collect(t, e)
	failed, throttled := counter(m, "wicket.auth.failures", "", ""), counter(m, "wicket.auth.throttled", "", "")
	var want401, want429 int64
	for _, s := range statuses {
		if s == 401 {
			want401++
		} else {
			want429++
		}
	}
	if failed != want401 || throttled != want429 {
		t.Errorf("auth failures %d, throttled %d; want %d and %d", failed, throttled, want401, want429)
	}
	if n := counter(m, "wicket.requests", "wicket.outcome", "throttled"); n != want429 {
		t.Errorf("wicket.requests{throttled} = %d; want %d", n, want429)
	}
}

// TestClientDisconnect: a client that leaves mid-stream ends the request's
// span with the disconnect's class.
func TestClientDisconnect(t *testing.T) {
	up := newUpstream(t, fake.Handler(&fake.Options{Chunks: 200, ChunkDelay: 5 * time.Millisecond}))
	e := newEnv(t, []providers.Deployment{{Provider: up.provider(t, "primary"), Model: "fake-echo"}}, keys.Limits{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+e.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil { // the first event arrived
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	srv := byKind(e.ended(t, 2), trace.SpanKindServer)[0]
	check(t, srv, map[string]string{"wicket.outcome": "client_disconnect", "error.type": "client_disconnect", "wicket.stream": "true"})
}

// TestCoolDownsAndMeter: the router's cool-downs are counted through
// OnCoolDown, and the gateway's metering queue is observed: its depth
// while the Recorder is stuck, and the events it dropped once full.
func TestCoolDownsAndMeter(t *testing.T) {
	bad := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(503)
		io.WriteString(w, `{"error":{"message":"down","type":"server_error"}}`)
	}))
	good := newUpstream(t, fake.Handler(nil))
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	e := newEnvWith(t, []providers.Deployment{
		{Name: "bad", Provider: bad.provider(t, "bad"), Model: "fake-echo"},
		{Name: "good", Provider: good.provider(t, "good"), Model: "fake-echo"},
	}, keys.Limits{}, func(c *wicket.Config, ro *providers.RouterOptions) {
		ro.CoolDown = providers.CoolDown{Failures: 1, Window: time.Minute, Period: time.Minute}
		c.Recorder = metering.RecorderFunc(func(ctx context.Context, ev metering.Event) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
		c.MeterOptions = &metering.MeterOptions{QueueSize: 2, BatchSize: 1}
	})
	for range 5 {
		resp := e.post(t, chatBody, "")
		if body := readAll(t, resp); resp.StatusCode != 200 {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
	}
	m := collect(t, e)
	if n := counter(m, "wicket.cooldowns", "wicket.cooldown.state", "entered"); n != 1 {
		t.Errorf("wicket.cooldowns{entered} = %d; want 1", n)
	}
	depth, dropped := gauge(m, "wicket.meter.queue.depth"), sumObserved(m, "wicket.meter.dropped")
	// Five events: one held by the stuck Recorder, two queued, two dropped.
	if depth != 2 || dropped != 2 {
		t.Errorf("queue depth %d, dropped %d; want 2 and 2", depth, dropped)
	}
	releaseOnce.Do(func() { close(release) })
}

// collect reads every metric recorded so far.
func collect(t *testing.T, e *env) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

func find(rm metricdata.ResourceMetrics, name string) *metricdata.Metrics {
	for _, sm := range rm.ScopeMetrics {
		for i := range sm.Metrics {
			if sm.Metrics[i].Name == name {
				return &sm.Metrics[i]
			}
		}
	}
	return nil
}

func histCount(rm metricdata.ResourceMetrics, name string) uint64 {
	m := find(rm, name)
	if m == nil {
		return 0
	}
	var n uint64
	switch d := m.Data.(type) {
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			n += p.Count
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			n += p.Count
		}
	}
	return n
}

// tokenSum sums gen_ai.client.token.usage for one token type.
func tokenSum(rm metricdata.ResourceMetrics, tokenType string) int64 {
	m := find(rm, "gen_ai.client.token.usage")
	if m == nil {
		return 0
	}
	var sum int64
	for _, p := range m.Data.(metricdata.Histogram[int64]).DataPoints {
		if v, ok := p.Attributes.Value("gen_ai.token.type"); ok && v.AsString() == tokenType {
			sum += p.Sum
		}
	}
	return sum
}

func gauge(rm metricdata.ResourceMetrics, name string) int64 {
	m := find(rm, name)
	if m == nil {
		return -1
	}
	var v int64
	for _, p := range m.Data.(metricdata.Gauge[int64]).DataPoints {
		v += p.Value
	}
	return v
}

func sumObserved(rm metricdata.ResourceMetrics, name string) int64 {
	return counter(rm, name, "", "")
}

func tokenCount(rm metricdata.ResourceMetrics) uint64 {
	return histCount(rm, "gen_ai.client.token.usage")
}

// counter sums a counter's points whose attribute key has value (all
// points when key is "").
func counter(rm metricdata.ResourceMetrics, name, key, value string) int64 {
	m := find(rm, name)
	if m == nil {
		return 0
	}
	var n int64
	for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if key == "" {
			n += p.Value
			continue
		}
		if v, ok := p.Attributes.Value(attribute.Key(key)); ok && v.String() == value {
			n += p.Value
		}
	}
	return n
}

// assertNoCanary looks for the prompt's canary, the client's key and the
// upstream credential in every span (name, attributes, events, links,
// status) and every metric.
func assertNoCanary(t *testing.T, e *env, rm metricdata.ResourceMetrics) {
	t.Helper()
	var b strings.Builder
	for _, s := range e.spans.Ended() {
		fmt.Fprintf(&b, "%s %v %v %v %v\n", s.Name(), s.Attributes(), s.Events(), s.Links(), s.Status())
	}
	fmt.Fprintf(&b, "%+v", rm)
	dump := b.String()
	secret := e.key[strings.LastIndexByte(e.key, '_')+1:]
	for _, c := range []string{canaryPrompt, upstreamSecret, e.key, secret} {
		if strings.Contains(dump, c) {
			t.Errorf("telemetry holds %q", c)
		}
	}
}
