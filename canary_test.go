package wicket_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/redact"
)

// Canaries: unique strings planted where content and secrets live.
const (
	canaryPrompt   = "canary-prompt-q9Zk4"
	canaryReply    = "canary-reply-M3xT8"
	canaryUpstream = "sk-canary-upstream-Hw2Lp7Vn5"
	canaryHeader   = "canary-header-Ub6Rs"
)

// capture gathers everything the gateway writes anywhere but to the
// client: log records, metering events, hooks' arguments and key store
// writes, each as text to search.
type capture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *capture) add(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(err.Error())
	}
	_, _ = c.Write(append(b, '\n'))
}

func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *capture) Record(_ context.Context, ev metering.Event) error { c.add(ev); return nil }

// recordingStore is a key store that captures every record written.
type recordingStore struct {
	keys.Store
	c *capture
}

func (s recordingStore) Create(ctx context.Context, r *keys.Record) error {
	s.c.add(r)
	return s.Store.Create(ctx, r)
}

func (s recordingStore) Update(ctx context.Context, id string, fn func(*keys.Record) error) (*keys.Record, error) {
	r, err := s.Store.Update(ctx, id, fn)
	if r != nil {
		s.c.add(r)
	}
	return r, err
}

// TestCanaries pushes canaries through every path — success, stream,
// upstream 4xx that echoes the prompt, 5xx, time-out, client disconnect,
// panic, malformed input, translation and its refusals, every front door,
// a key in a Gemini key= query — and finds none of them, no full client
// key and no upstream credential, in anything the gateway logs (at Debug),
// records, hands to hooks or writes to the key store.
func TestCanaries(t *testing.T) {
	capt := &capture{}
	upstream := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		_ = json.Unmarshal(body, &req)
		switch req.Model {
		case "echo-400": // an upstream error that quotes the prompt
			errorUpstream(400, `{"error":{"message":"bad request: `+canaryPrompt+`","type":"invalid_request_error"}}`)(w, r, body)
		case "fail-500":
			errorUpstream(500, `{"error":{"message":"internal: `+canaryPrompt+` `+canaryUpstream+`","type":"server_error"}}`)(w, r, body)
		case "hang":
			<-r.Context().Done()
		case "slow-stream":
			w.Header().Set("Content-Type", "text/event-stream")
			for range 100 {
				io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"`+canaryReply+`"},"finish_reason":null}]}`+"\n\n")
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		default:
			if req.Stream {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"`+canaryReply+`"},"finish_reason":null}]}`+"\n\n")
				io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
				io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`+"\n\ndata: [DONE]\n\n")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"`+canaryReply+`"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
		}
	})
	client := &http.Client{Transport: providers.NewTransport(&providers.TransportOptions{ResponseHeaderTimeout: 100 * time.Millisecond})}
	up, err := openai.New(&openai.Options{Name: "up", BaseURL: upstream.srv.URL + "/v1", APIKey: redact.NewSecret(canaryUpstream), Client: client,
		Header: http.Header{"X-Canary": {canaryHeader}}})
	if err != nil {
		t.Fatal(err)
	}
	claudeUp, err := anthropic.New(&anthropic.Options{Name: "claude", BaseURL: upstream.srv.URL + "/v1", APIKey: redact.NewSecret(canaryUpstream), Client: client})
	if err != nil {
		t.Fatal(err)
	}
	var models []providers.Model
	for _, m := range []string{"ok", "echo-400", "fail-500", "hang", "slow-stream"} {
		models = append(models, providers.Model{Name: m, Deployments: []providers.Deployment{{Provider: up, Model: m}}})
	}
	models = append(models,
		providers.Model{Name: "claude", Deployments: []providers.Deployment{{Provider: claudeUp, Model: "claude"}}},
		providers.Model{Name: "panics", Deployments: []providers.Deployment{{Provider: panicProvider{}}}},
	)
	router, err := providers.NewRouter(models, &providers.RouterOptions{OnCoolDown: func(e providers.CoolDownEvent) { capt.add(e) }})
	if err != nil {
		t.Fatal(err)
	}
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(capt, &slog.HandlerOptions{Level: slog.LevelDebug}))
	auditor, err := audit.New(audit.SinkFunc(func(_ context.Context, e audit.Event) error { capt.add(e); return nil }), nil)
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.NewManager(recordingStore{keys.NewMemoryStore(), capt}, h, &keys.Options{Logger: logger, Auditor: auditor})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := wicket.New(wicket.Config{
		Keys: km, Router: router, Logger: logger, Recorder: capt, RetryBackoff: time.Millisecond,
		OnEvent:           func(_ context.Context, e metering.Event) { capt.add(e) },
		OnAttempt:         func(_ context.Context, a wicket.Attempt) { capt.add(a) },
		OnUpstreamRefusal: func(_ context.Context, r wicket.UpstreamRefusal) { capt.add(r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	key, _, err := km.Issue(t.Context(), keys.Spec{Owner: "canary"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := `"messages":[{"role":"user","content":"` + canaryPrompt + `"}]`
	oa := map[string]string{"Authorization": "Bearer " + key}
	an := map[string]string{"x-api-key": key, "anthropic-version": "2023-06-01"}
	gm := map[string]string{"x-goog-api-key": key}
	calls := []struct {
		name, path, body string
		header           map[string]string
		disconnect       bool
	}{
		{"success", "/v1/chat/completions", `{"model":"ok",` + msgs + `}`, oa, false},
		{"stream", "/v1/chat/completions", `{"model":"ok","stream":true,` + msgs + `}`, oa, false},
		{"upstream 400 echoing the prompt", "/v1/chat/completions", `{"model":"echo-400",` + msgs + `}`, oa, false},
		{"upstream 500", "/v1/chat/completions", `{"model":"fail-500",` + msgs + `}`, oa, false},
		{"time-out", "/v1/chat/completions", `{"model":"hang",` + msgs + `}`, oa, false},
		{"client disconnect", "/v1/chat/completions", `{"model":"slow-stream","stream":true,` + msgs + `}`, oa, true},
		{"panic", "/v1/chat/completions", `{"model":"panics",` + msgs + `}`, oa, false},
		{"malformed", "/v1/chat/completions", `{"model":"ok",` + msgs + `,"temperature":"` + canaryPrompt + `"`, oa, false},
		{"unknown model named like content", "/v1/chat/completions", `{"model":"` + canaryPrompt + `",` + msgs + `}`, oa, false},
		{"bad key", "/v1/chat/completions", `{"model":"ok",` + msgs + `}`, map[string]string{"Authorization": "Bearer " + key + "x"}, false},
		{"Anthropic door, translated", "/v1/messages", `{"model":"ok","max_tokens":16,` + msgs + `}`, an, false},
		{"Anthropic door, translated stream", "/v1/messages", `{"model":"ok","max_tokens":16,"stream":true,` + msgs + `}`, an, false},
		{"Anthropic door, untranslatable", "/v1/messages", `{"model":"ok","max_tokens":16,"output_format":{"type":"json_schema","schema":{"title":"` + canaryPrompt + `"}},` + msgs + `}`, an, false},
		{"OpenAI door to Anthropic upstream, refused feature", "/v1/chat/completions", `{"model":"claude","logprobs":true,` + msgs + `}`, oa, false},
		{"Gemini door, translated", "/v1beta/models/ok:generateContent", `{"contents":[{"role":"user","parts":[{"text":"` + canaryPrompt + `"}]}]}`, gm, false},
		{"Gemini key in the query", "/v1beta/models/ok:streamGenerateContent?alt=sse&key=" + key, `{"contents":[{"role":"user","parts":[{"text":"` + canaryPrompt + `"}]}]}`, nil, false},
		{"Gemini bad key in the query", "/v1beta/models/ok:generateContent?key=" + key + "zz", `{"contents":[]}`, nil, false},
	}
	for _, c := range calls {
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			cancel()
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.disconnect {
			buf := make([]byte, 512)
			_, _ = resp.Body.Read(buf)
			cancel()
		} else {
			_, _ = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		cancel()
	}
	if err := gw.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := auditor.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if !strings.Contains(capt.String(), `"action":"auth.failed"`) {
		t.Fatal("the capture is missing the audit events")
	}
	got := capt.String()
	if !strings.Contains(got, `"msg":"wicket: request"`) || strings.Count(got, `"msg":"wicket: request"`) < len(calls)-2 {
		t.Fatalf("the capture is missing the access records: the test did not see the traffic:\n%s", got)
	}
	for _, secret := range []string{canaryPrompt, canaryReply, canaryUpstream, canaryHeader, key} {
		if i := strings.Index(got, secret); i >= 0 {
			t.Errorf("%q appears in what the gateway wrote: …%s…", secret, got[max(0, i-200):min(len(got), i+100)])
		}
	}
}
