package wicket_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/gemini"
)

// attemptKey marks a context made by OnAttemptStart.
type attemptKey struct{}

// TestAttemptHooks: OnAttemptStart's context is the one each attempt runs
// under. Propagate sees it when it sets the headers of each dialect's
// upstream request (one traceparent-like value per attempt), and
// OnAttempt sees it at the attempt's end, with each upstream's dialect
// model and output cap. A panicking OnAttemptStart keeps
// the gateway's context and the request is served.
func TestAttemptHooks(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // upstream -> the Traceparent it received
	record := func(name string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[name] = r.Header.Get("Traceparent")
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	fail := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"error":{"message":"boom","type":"server_error"}}`))
	})
	openaiUp := httptest.NewServer(record("openai", fail))
	t.Cleanup(openaiUp.Close)
	geminiUp := httptest.NewServer(record("gemini", fail))
	t.Cleanup(geminiUp.Close)
	anthropicUp := httptest.NewServer(record("anthropic", fake.Handler(nil)))
	t.Cleanup(anthropicUp.Close)
	g, err := gemini.New(&gemini.Options{Name: "gemini", BaseURL: geminiUp.URL + "/v1beta"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := anthropic.New(&anthropic.Options{Name: "anthropic", BaseURL: anthropicUp.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	models := []providers.Model{{Name: "m", Deployments: []providers.Deployment{
		{Name: "one", Provider: (&upstream{srv: openaiUp}).provider(t, "openai"), Model: "fake-echo"},
		{Name: "two", Provider: g, Model: "fake-echo"},
		{Name: "three", Provider: a, Model: "fake-echo"},
	}}}

	var ended []string // "number:value" of OnAttempt's context
	var panics atomic.Bool
	e := newEnv(t, models, func(c *wicket.Config) {
		c.OnAttemptStart = func(ctx context.Context, at wicket.Attempt) context.Context {
			if panics.Load() {
				panic("hook")
			}
			return context.WithValue(ctx, attemptKey{}, "attempt-"+strconv.Itoa(at.Number)+"-"+at.Deployment)
		}
		c.Propagate = func(ctx context.Context, h http.Header) {
			if v, ok := ctx.Value(attemptKey{}).(string); ok {
				h.Set("Traceparent", v)
			}
		}
		c.OnAttempt = func(ctx context.Context, at wicket.Attempt) {
			v, _ := ctx.Value(attemptKey{}).(string)
			mu.Lock()
			ended = append(ended, strconv.Itoa(at.Number)+":"+v+":"+at.Dialect.String()+":"+at.UpstreamModel+":"+strconv.FormatInt(at.MaxOutputTokens, 10))
			mu.Unlock()
		}
	})
	resp := e.post(t, "/v1/chat/completions", `{"model":"m","max_tokens":77,"messages":[{"role":"user","content":"hi"}]}`)
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("got %d %s; want the third deployment's answer", resp.StatusCode, body)
	}
	mu.Lock()
	want := map[string]string{"openai": "attempt-1-one", "gemini": "attempt-2-two", "anthropic": "attempt-3-three"}
	for up, v := range want {
		if got[up] != v {
			t.Errorf("%s upstream got Traceparent %q; want %q", up, got[up], v)
		}
	}
	wantEnded := []string{"1:attempt-1-one:openai:fake-echo:77", "2:attempt-2-two:gemini:fake-echo:77", "3:attempt-3-three:anthropic:fake-echo:77"}
	if len(ended) != 3 || ended[0] != wantEnded[0] || ended[1] != wantEnded[1] || ended[2] != wantEnded[2] {
		t.Errorf("OnAttempt contexts %q; want %q", ended, wantEnded)
	}
	clear(got)
	ended = nil
	panics.Store(true)
	mu.Unlock()

	resp = e.post(t, "/v1/chat/completions", `{"model":"m","max_tokens":77,"messages":[{"role":"user","content":"hi"}]}`)
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("with a panicking OnAttemptStart: %d %s; want 200", resp.StatusCode, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if got["anthropic"] != "" || len(ended) != 3 || ended[2] != "3::anthropic:fake-echo:77" {
		t.Errorf("after the panic: Traceparent %q, OnAttempt %q; want none, and the gateway's contexts", got["anthropic"], ended)
	}
}
