package sdkcheck_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/gemini"
	"github.com/wicket-gw/wicket/providers/openai"
)

// The 3×3 matrix: each official client (OpenAI, Anthropic, Gemini) calls
// the gateway's front door of its own dialect, and the gateway serves the
// call from the fake model behind an upstream adapter of each dialect
// (pass-through on the diagonal, translation elsewhere). Every cell runs
// the same cases, and each client must parse what it gets.

// dialectNames are the dialects of the matrix, in order.
var dialectNames = []string{"openai", "anthropic", "gemini"}

// matrixPrompt is what the clients ask; the fake echoes it.
const matrixPrompt = "hello from the matrix"

// weatherTool is the tool every client offers: the fake calls it with
// its required string property set to the last user text.
const (
	weatherTool  = "get_weather"
	weatherParam = "city"
	toolAnswer   = "sunny and warm"
)

// toolCall is a tool call as an application reads it from its client.
type toolCall struct {
	ID, Name string
	Args     map[string]any
}

// matrixClient is one official client, driven the same way in every cell.
type matrixClient interface {
	// chat makes a plain call and returns the answer's text.
	chat(ctx context.Context, model, prompt string) (string, error)
	// stream makes a streamed call and returns the text the client
	// accumulated.
	stream(ctx context.Context, model, prompt string) (string, error)
	// callTool offers weatherTool and returns the calls the answer makes,
	// streamed or not.
	callTool(ctx context.Context, model, prompt string, streamed bool) ([]toolCall, error)
	// answerTool sends the conversation with call answered by toolAnswer
	// and returns the answer's text.
	answerTool(ctx context.Context, model, prompt string, call toolCall) (string, error)
	// badField makes a call with a field the gateway refuses (a negative
	// output cap).
	badField(ctx context.Context, model string) error
	// status returns the HTTP status of an API error from the client, or 0
	// when err is not the client's API error type.
	status(err error) int
}

// newClient returns a client of dialect for the gateway at url with key;
// retries is how many times it retries a retryable failure.
func newClient(t *testing.T, dialect, url, key string, hc *http.Client, retries int) matrixClient {
	t.Helper()
	switch dialect {
	case "openai":
		return newOpenAIClient(url, key, hc, retries)
	case "anthropic":
		return newAnthropicClient(url, key, hc, retries)
	case "gemini":
		return newGeminiClient(t, url, key, hc, retries)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return nil
}

// matrixGateway is a gateway with every front door, serving the fake
// models through an upstream adapter of one dialect over HTTP.
type matrixGateway struct {
	url  string
	srv  *httptest.Server
	key  string
	hits atomic.Int64 // requests that reached the gateway
}

func newMatrixGateway(t *testing.T, upstream string) *matrixGateway {
	t.Helper()
	up := httptest.NewServer(fake.Handler(nil))
	t.Cleanup(up.Close)
	var p providers.Provider
	var err error
	switch upstream {
	case "openai":
		p, err = openai.New(&openai.Options{Name: "fake-openai", BaseURL: up.URL + "/v1", Client: up.Client()})
	case "anthropic":
		p, err = anthropic.New(&anthropic.Options{Name: "fake-anthropic", BaseURL: up.URL + "/v1", Client: up.Client()})
	case "gemini":
		p, err = gemini.New(&gemini.Options{Name: "fake-gemini", BaseURL: up.URL + "/v1beta", Client: up.Client()})
	}
	if err != nil || p == nil {
		t.Fatalf("upstream %s: %v", upstream, err)
	}
	var models []providers.Model
	for _, name := range fake.Models {
		models = append(models, providers.Model{Name: name, Deployments: []providers.Deployment{{Provider: p}}})
	}
	router, err := providers.NewRouter(models, nil)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	hasher, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: []byte(strings.Repeat("m", keys.MinSecretLen))})
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	km, err := keys.NewManager(keys.NewMemoryStore(), hasher, nil)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	gw, err := wicket.New(wicket.Config{Keys: km, Router: router, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatalf("wicket.New: %v", err)
	}
	m := &matrixGateway{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.hits.Add(1)
		gw.ServeHTTP(w, r)
	}))
	m.url = m.srv.URL
	t.Cleanup(func() {
		m.srv.Close()
		if err := gw.Close(context.Background()); err != nil {
			t.Errorf("Gateway.Close: %v", err)
		}
	})
	if m.key, _, err = km.Issue(t.Context(), keys.Spec{Owner: "matrix"}); err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return m
}

func TestMatrix(t *testing.T) {
	for _, client := range dialectNames {
		for _, upstream := range dialectNames {
			t.Run(client+"→"+upstream, func(t *testing.T) {
				t.Parallel()
				m := newMatrixGateway(t, upstream)
				c := newClient(t, client, m.url, m.key, m.srv.Client(), 0)
				ctx := t.Context()

				t.Run("plain", func(t *testing.T) {
					got, err := c.chat(ctx, "fake-echo", matrixPrompt)
					if err != nil {
						t.Fatalf("chat: %v", err)
					}
					if got != matrixPrompt {
						t.Errorf("answer %q; want the echo %q", got, matrixPrompt)
					}
				})
				t.Run("streamed", func(t *testing.T) {
					got, err := c.stream(ctx, "fake-echo", matrixPrompt)
					if err != nil {
						t.Fatalf("stream: %v", err)
					}
					if got != matrixPrompt {
						t.Errorf("streamed answer %q; want the echo %q", got, matrixPrompt)
					}
				})
				for _, streamed := range []bool{false, true} {
					name := "tool call"
					if streamed {
						name += " streamed"
					}
					t.Run(name, func(t *testing.T) {
						calls, err := c.callTool(ctx, "fake-echo", "Paris", streamed)
						if err != nil {
							t.Fatalf("callTool: %v", err)
						}
						if len(calls) != 1 || calls[0].Name != weatherTool || calls[0].Args[weatherParam] != "Paris" {
							t.Fatalf("tool calls %+v; want one %s call with %s=Paris", calls, weatherTool, weatherParam)
						}
						got, err := c.answerTool(ctx, "fake-echo", "Paris", calls[0])
						if err != nil {
							t.Fatalf("answerTool: %v", err)
						}
						if !strings.Contains(got, toolAnswer) {
							t.Errorf("answer after the tool result %q; want it to quote %q", got, toolAnswer)
						}
					})
				}
				t.Run("401 bad key", func(t *testing.T) {
					bad := newClient(t, client, m.url, "wk_live_notakey", m.srv.Client(), 0)
					_, err := bad.chat(ctx, "fake-echo", matrixPrompt)
					if st := c.status(err); st != http.StatusUnauthorized {
						t.Errorf("got %v (status %d); want the client's API error with 401", err, st)
					}
				})
				t.Run("404 model", func(t *testing.T) {
					_, err := c.chat(ctx, "no-such-model", matrixPrompt)
					if st := c.status(err); st != http.StatusNotFound {
						t.Errorf("got %v (status %d); want the client's API error with 404", err, st)
					}
				})
				t.Run("400 bad field", func(t *testing.T) {
					err := c.badField(ctx, "fake-echo")
					if st := c.status(err); st != http.StatusBadRequest {
						t.Errorf("got %v (status %d); want the client's API error with 400", err, st)
					}
				})
				t.Run("429 retried", func(t *testing.T) {
					retrying := newClient(t, client, m.url, m.key, m.srv.Client(), 1)
					before := m.hits.Load()
					_, err := retrying.chat(ctx, "fake-error-429", matrixPrompt)
					if st := c.status(err); st != http.StatusTooManyRequests {
						t.Errorf("got %v (status %d); want the client's API error with 429", err, st)
					}
					if n := m.hits.Load() - before; n != 2 {
						t.Errorf("the gateway saw %d requests; want 2 (the call and one retry)", n)
					}
				})
			})
		}
	}
}
