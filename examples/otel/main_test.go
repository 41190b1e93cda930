package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/wicket-gw/wicket/providers"
)

// syncBuffer is a bytes.Buffer safe for the exporter's writes while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const canary = "canary-prompt-e1f7a9"

// TestExample: through the example's gateway, a whole answer, a stream and
// a refused request export the GenAI and wicket metrics to Prometheus and
// spans to the trace writer, continuing the caller's trace; every metric
// the Grafana dashboard queries is among those exported; the prompt is in
// neither.
func TestExample(t *testing.T) {
	var traces syncBuffer
	a, err := newApp(&traces)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	t.Cleanup(a.close)
	post := func(body, key string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(`{"model":"m","messages":[{"role":"user","content":"hello `+canary+`"}]}`, a.key); s != 200 {
		t.Fatalf("chat: %d", s)
	}
	if s := post(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hello `+canary+`"}]}`, a.key); s != 200 {
		t.Fatalf("stream: %d", s)
	}
	// Bad keys: refused, then, past the failed-auth throttle's default
	// of 10 failures, the address is refused before any lookup.
	for i := range 11 {
		want := http.StatusUnauthorized
		if i == 10 {
			want = http.StatusTooManyRequests
		}
		if s := post(`{"model":"m","messages":[]}`, "wk_notakey"); s != want {
			t.Fatalf("bad key, try %d: %d; want %d", i+1, s, want)
		}
	}
	// The fake model never fails: a cool-down is reported by hand, as the
	// router would, so that its counter is exported too.
	a.tel.OnCoolDown(providers.CoolDownEvent{Deployment: "d", Provider: "p", Entered: true})
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(b)
	for _, name := range []string{
		"gen_ai_client_token_usage_bucket", "gen_ai_client_operation_duration_seconds_bucket",
		"gen_ai_server_request_duration_seconds_bucket", "gen_ai_server_time_to_first_token_seconds_bucket",
		"wicket_requests_total", "wicket_upstream_attempts_total", "wicket_cost_total", "wicket_auth_failures_total", "wicket_auth_throttled_total",
	} {
		if !regexp.MustCompile(`(?m)^` + name + `\{`).MatchString(metrics) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if !strings.Contains(metrics, `gen_ai_token_type="input"`) || !strings.Contains(metrics, `wicket_outcome="ok"`) {
		t.Errorf("/metrics lacks the token type or outcome labels")
	}
	// Every metric the dashboard queries is exported.
	dash, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if len(d.Panels) == 0 {
		t.Fatal("dashboard has no panels")
	}
	name := regexp.MustCompile(`\b(gen_ai|wicket)_[a-z_]+`)
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				metric := regexp.MustCompile(`(?m)^` + n + `[{ ]`).MatchString(metrics)
				label := strings.Contains(metrics, n+`="`)
				if !metric && !label {
					t.Errorf("panel %q queries %s, which /metrics exports neither as a metric nor as a label", p.Title, n)
				}
			}
		}
	}
	out := traces.String()
	for _, want := range []string{`"Name": "chat m"`, `"Name": "chat fake-echo"`, "0af7651916cd43dd8448eb211c80319c", `"gen_ai.provider.name"`} {
		if !strings.Contains(out, want) {
			t.Errorf("traces lack %s", want)
		}
	}
	if strings.Contains(out, canary) || strings.Contains(metrics, canary) || strings.Contains(out, a.key) || strings.Contains(metrics, a.key) {
		t.Error("the prompt or the key reached the telemetry")
	}
}
