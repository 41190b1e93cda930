package wicket_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/redact"
)

func errorUpstream(status int, body string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func okUpstream(w http.ResponseWriter, r *http.Request, _ []byte) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, completionFixture)
}

func TestFallbackBeforeFirstByte(t *testing.T) {
	bad := newUpstream(t, errorUpstream(500, `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`))
	good := newUpstream(t, okUpstream)
	e := newEnv(t, []providers.Model{{Name: "m", Deployments: []providers.Deployment{
		{Provider: bad.provider(t, "primary"), Model: "m-primary"},
		{Provider: good.provider(t, "secondary"), Model: "m-secondary"},
	}}}, nil)
	resp := e.post(t, "/v1/chat/completions", `{"model":"m","messages":[]}`)
	if body := readAll(t, resp); resp.StatusCode != 200 || body != completionFixture {
		t.Fatalf("status %d %s; want the secondary's answer", resp.StatusCode, body)
	}
	if n, m := len(bad.requests()), len(good.requests()); n != 1 || m != 1 {
		t.Errorf("calls: primary %d, secondary %d; want 1 and 1", n, m)
	}
	if got := good.requests()[0].Body; !bytes.Contains(got, []byte(`"model":"m-secondary"`)) {
		t.Errorf("secondary got %s; want its own model name", got)
	}
	o := <-e.outcome
	if o.Attempts != 2 || o.Provider != "secondary" || o.Deployment != "secondary/m-secondary" || o.Status != 200 {
		t.Errorf("outcome %+v", o)
	}
}

func TestNoRetryOnClientError(t *testing.T) {
	bad := newUpstream(t, errorUpstream(400, `{"error":{"message":"bad param","type":"invalid_request_error","param":"temperature","code":null}}`))
	good := newUpstream(t, okUpstream)
	e := newEnv(t, []providers.Model{{Name: "m", Deployments: []providers.Deployment{
		{Provider: bad.provider(t, "a")}, {Provider: good.provider(t, "b")},
	}}}, nil)
	resp := e.post(t, "/v1/chat/completions", `{"model":"m"}`)
	body := readAll(t, resp)
	if resp.StatusCode != 400 || !strings.Contains(body, "bad param") {
		t.Errorf("got %d %s; want the upstream's 400 relayed", resp.StatusCode, body)
	}
	if len(good.requests()) != 0 {
		t.Error("a 400 was retried on another deployment")
	}
}

func TestAllAttemptsFailRelaysLastUpstreamError(t *testing.T) {
	const body429 = `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	a := newUpstream(t, errorUpstream(429, body429))
	e := newEnv(t, single("m", a.provider(t, "a"), ""), func(c *wicket.Config) { c.RetryBackoff = time.Millisecond })
	resp := e.post(t, "/v1/chat/completions", `{"model":"m"}`)
	if body := readAll(t, resp); resp.StatusCode != 429 || body != body429 {
		t.Errorf("got %d %s; want the upstream's own 429 body", resp.StatusCode, body)
	}
	if n := len(a.requests()); n != 3 {
		t.Errorf("attempts on the one deployment: %d; want 3 (MaxAttempts)", n)
	}
}

func TestUpstreamUnreachableAndTimeout(t *testing.T) {
	dead := newUpstream(t, okUpstream)
	deadURL := dead.srv.URL
	dead.srv.Close()
	unreachable, _ := openai.New(&openai.Options{Name: "dead", BaseURL: deadURL + "/v1", APIKey: redact.NewSecret(upstreamSecret)})
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	timeoutClient := &http.Client{Transport: providers.NewTransport(&providers.TransportOptions{ResponseHeaderTimeout: 50 * time.Millisecond})}
	slowP, _ := openai.New(&openai.Options{Name: "slow", BaseURL: slow.srv.URL + "/v1", Client: timeoutClient, APIKey: redact.NewSecret(upstreamSecret)})
	e := newEnv(t, []providers.Model{
		{Name: "dead", Deployments: []providers.Deployment{{Provider: unreachable}}},
		{Name: "slow", Deployments: []providers.Deployment{{Provider: slowP}}},
	}, func(c *wicket.Config) { c.RetryBackoff = time.Millisecond })
	for _, tc := range []struct {
		model  string
		status int
		code   string
	}{{"dead", 502, "upstream_unavailable"}, {"slow", 504, "upstream_timeout"}} {
		resp := e.post(t, "/v1/chat/completions?trace=should-not-echo", `{"model":"`+tc.model+`"}`)
		body := readAll(t, resp)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.code) {
			t.Errorf("%s: %d %s; want %d %s", tc.model, resp.StatusCode, body, tc.status, tc.code)
		}
		for _, leak := range []string{"127.0.0.1", "http://", upstreamSecret, "should-not-echo", e.key} {
			if strings.Contains(body, leak) {
				t.Errorf("%s: error body contains %q: %s", tc.model, leak, body)
			}
		}
	}
}

func TestMidStreamFailureAborts(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: "+streamChunks[0]+"\n\n")
		w.(http.Flusher).Flush()
		// Die mid-stream: hijack and close the connection.
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), nil)
	resp := e.post(t, "/v1/chat/completions", `{"model":"m","stream":true}`)
	_, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Error("the client read a complete stream; want an error for the aborted one")
	}
	o := <-e.outcome
	if o.ErrorClass != metering.ClassUpstreamError || o.Status != 200 {
		t.Errorf("outcome err %q status %d; want upstream_error after 200", o.ErrorClass, o.Status)
	}
}

func TestEmbeddingsAndResponsesPassThrough(t *testing.T) {
	const embedResp = `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}`
	const responsesResp = `{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"gpt-4.1","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"hi","annotations":[]}]}],` +
		`"usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":10},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":27}}`
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/embeddings":
			io.WriteString(w, embedResp)
		case "/v1/responses":
			io.WriteString(w, responsesResp)
		default:
			w.WriteHeader(404)
		}
	})
	p := up.provider(t, "openai")
	e := newEnv(t, []providers.Model{
		{Name: "text-embedding-3-small", Deployments: []providers.Deployment{{Provider: p}}},
		{Name: "gpt-4.1", Deployments: []providers.Deployment{{Provider: p}}},
	}, nil)
	for _, tc := range []struct {
		path, body, want string
		usage            metering.Usage
	}{
		{"/v1/embeddings", `{"model":"text-embedding-3-small","input":"hello"}`, embedResp, metering.Usage{InputTokens: 8}},
		{"/v1/responses", `{"model":"gpt-4.1","input":"hi","max_output_tokens":100}`, responsesResp, metering.Usage{InputTokens: 20, CachedInputTokens: 10, OutputTokens: 7, ReasoningTokens: 3}},
	} {
		resp := e.post(t, tc.path, tc.body)
		if got := readAll(t, resp); resp.StatusCode != 200 || got != tc.want {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, got)
		}
		o := <-e.outcome
		if o.UsageEstimated || o.Usage != tc.usage {
			t.Errorf("%s: usage %+v estimated %v; want %+v", tc.path, o.Usage, o.UsageEstimated, tc.usage)
		}
	}
	last := up.requests()[len(up.requests())-1]
	if string(last.Body) != `{"model":"gpt-4.1","input":"hi","max_output_tokens":100}` {
		t.Errorf("responses body changed on the way: %s", last.Body)
	}
}

func TestResponsesStreamUsage(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"usage\":null}}\n\n")
		io.WriteString(w, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n")
		io.WriteString(w, "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1,\"total_tokens\":6}}}\n\n")
	})
	e := newEnv(t, single("gpt-4.1", up.provider(t, "openai"), ""), nil)
	resp := e.post(t, "/v1/responses", `{"model":"gpt-4.1","input":"hi","stream":true}`)
	body := readAll(t, resp)
	if strings.Count(body, "event: ") != 3 {
		t.Errorf("client got %s", body)
	}
	if got := up.requests()[0].Body; strings.Contains(string(got), "stream_options") {
		t.Errorf("stream_options added to a Responses call: %s", got)
	}
	o := <-e.outcome
	if o.UsageEstimated || o.Usage != (metering.Usage{InputTokens: 5, OutputTokens: 1}) {
		t.Errorf("usage %+v estimated %v", o.Usage, o.UsageEstimated)
	}
}

func TestOutcomeHasNoContent(t *testing.T) {
	// A canary prompt goes through; nothing the gateway hands out of the
	// request (the Outcome) may contain it.
	const canary = "CANARY-7f3a-prompt"
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, strings.Replace(completionFixture, "Hi there", canary, 1))
	})
	var logs bytes.Buffer
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), func(c *wicket.Config) { c.Logger = newJSONLogger(&logs) })
	readAll(t, e.post(t, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"`+canary+`"}]}`))
	o := <-e.outcome
	b, _ := json.Marshal(o)
	if strings.Contains(string(b), canary) || strings.Contains(logs.String(), canary) {
		t.Errorf("canary leaked: outcome %s logs %s", b, logs.String())
	}
}
