package wicket_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// A chat completion as OpenAI returns it (written for these tests).
const completionFixture = `{"id":"chatcmpl-7","object":"chat.completion","created":1731000000,"model":"gpt-4o-2024-08-06",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"Hi there \"friend\" {usage}","refusal":null},"logprobs":null,"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},` +
	`"completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},` +
	`"service_tier":"default","system_fingerprint":"fp_1"}`

// streamChunks are chat.completion.chunk events with include_usage on:
// usage is null on each chunk but the last, whose choices are empty.
var streamChunks = []string{
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`,
}

const usageChunk = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`

// sseUpstream streams the chunks, plus the usage chunk when the request
// asked for it, then [DONE].
func sseUpstream(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	json.Unmarshal(body, &req)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Ratelimit-Remaining-Requests", "4999") // the gateway's account: must not reach clients
	for _, c := range streamChunks {
		io.WriteString(w, "data: "+c+"\n\n")
		w.(http.Flusher).Flush()
	}
	if req.StreamOptions.IncludeUsage {
		io.WriteString(w, "data: "+usageChunk+"\n\n")
	}
	io.WriteString(w, "data: [DONE]\n\n")
}

func TestNonStreamingPassThrough(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Ratelimit-Remaining-Requests", "4999")
		io.WriteString(w, completionFixture)
	})
	e := newEnv(t, single("gpt-4o", up.provider(t, "openai"), "gpt-4o-2024-08-06", "smart"), nil)
	clientBody := `{"model":"smart","messages":[{"role":"user","content":"say \"hi\""}],"temperature":0.2,"max_tokens":50}`
	resp := e.post(t, "/v1/chat/completions", clientBody)
	got := readAll(t, resp)
	if resp.StatusCode != 200 || got != completionFixture {
		t.Fatalf("client got %d %s; want 200 and the upstream body byte for byte", resp.StatusCode, got)
	}
	if v := resp.Header.Get("X-Ratelimit-Remaining-Requests"); v != "" {
		t.Errorf("upstream rate-limit header leaked to the client: %q", v)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on the response")
	}
	reqs := up.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream calls: %d; want 1", len(reqs))
	}
	want := strings.Replace(clientBody, `"smart"`, `"gpt-4o-2024-08-06"`, 1)
	if string(reqs[0].Body) != want {
		t.Errorf("upstream body:\n%s\nwant:\n%s", reqs[0].Body, want)
	}
	if reqs[0].Path != "/v1/chat/completions" || reqs[0].Method != "POST" {
		t.Errorf("upstream got %s %s", reqs[0].Method, reqs[0].Path)
	}
	if a := reqs[0].Header.Get("Authorization"); a != "Bearer "+upstreamSecret {
		t.Errorf("upstream Authorization = %q; want the upstream credential", a)
	}
	for k, vs := range reqs[0].Header {
		for _, v := range vs {
			if strings.Contains(v, e.key) || strings.Contains(v, e.key[3:20]) {
				t.Errorf("the client's wicket key reached the upstream in %s", k)
			}
		}
	}
	o := <-e.outcome
	wantUsage := metering.Usage{InputTokens: 12, OutputTokens: 5, CachedInputTokens: 4, ReasoningTokens: 2}
	if o.UsageEstimated || o.Usage != wantUsage {
		t.Errorf("outcome usage %+v (estimated %v); want %+v", o.Usage, o.UsageEstimated, wantUsage)
	}
	if o.Model != "smart" || o.ServedModel != "gpt-4o-2024-08-06" || o.Status != 200 || o.KeyID != e.rec.ID || o.Owner != "alice" || o.Attempts != 1 || o.ErrorClass != "" {
		t.Errorf("outcome %+v", o)
	}
}

// readEvents reads SSE data payloads until [DONE] or EOF.
func readEvents(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestStreamingIncludeUsageBothWays(t *testing.T) {
	up := newUpstream(t, sseUpstream)
	e := newEnv(t, single("gpt-4o", up.provider(t, "openai"), ""), nil)
	for _, tc := range []struct {
		name, body string
		wantEvents []string
	}{
		{
			name:       "client did not ask",
			body:       `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			wantEvents: append(withoutNullUsage(streamChunks), "[DONE]"),
		},
		{
			name:       "client asked",
			body:       `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
			wantEvents: append(append(append([]string{}, streamChunks...), usageChunk), "[DONE]"),
		},
		{
			name:       "client said false",
			body:       `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":false},"messages":[]}`,
			wantEvents: append(withoutNullUsage(streamChunks), "[DONE]"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.requests())
			resp := e.post(t, "/v1/chat/completions", tc.body)
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
			}
			got := readEvents(t, resp.Body)
			if diff := cmp.Diff(tc.wantEvents, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			sent := up.requests()[before]
			var upReq map[string]json.RawMessage
			json.Unmarshal(sent.Body, &upReq)
			if string(upReq["stream_options"]) != `{"include_usage":true}` {
				t.Errorf("upstream stream_options = %s; want include_usage true", upReq["stream_options"])
			}
			if len(upReq["messages"]) == 0 || string(upReq["model"]) != `"gpt-4o"` {
				t.Errorf("upstream body lost fields: %s", sent.Body)
			}
			o := <-e.outcome
			if o.UsageEstimated || o.Usage != (metering.Usage{InputTokens: 9, OutputTokens: 3}) || !o.Stream {
				t.Errorf("outcome usage %+v estimated %v stream %v", o.Usage, o.UsageEstimated, o.Stream)
			}
		})
	}
}

func TestStreamFlushesEachEvent(t *testing.T) {
	// The upstream sends one event, then waits for the test to confirm the
	// client saw it before sending the next: a gateway that buffered the
	// stream would deadlock here (and fail by the test's deadline).
	next := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i, c := range streamChunks[:3] {
			if i > 0 {
				select {
				case <-next:
				case <-r.Context().Done():
					return
				}
			}
			io.WriteString(w, "data: "+c+"\n\n")
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, "data: [DONE]\n\n")
	})
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), nil)
	resp := e.post(t, "/v1/chat/completions", `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}`)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if want := "data: " + streamChunks[i] + "\n"; line != want {
			t.Fatalf("event %d: %q; want %q", i, line, want)
		}
		br.ReadString('\n') // the blank line
		if i < 2 {
			next <- struct{}{}
		}
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	canceled := make(chan time.Time, 1)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: "+streamChunks[0]+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		canceled <- time.Now()
	})
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), nil)
	resp := e.post(t, "/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	left := time.Now()
	resp.Body.Close() // the client goes away mid-stream
	e.srv.CloseClientConnections()
	select {
	case at := <-canceled:
		if d := at.Sub(left); d > 100*time.Millisecond {
			t.Errorf("upstream canceled %v after the client left; want within 100ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not canceled after the client left")
	}
	o := <-e.outcome
	if o.ErrorClass != "client_disconnect" {
		t.Errorf("outcome error class %q; want client_disconnect", o.ErrorClass)
	}
}

func TestErrorsInOpenAIShape(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		t.Errorf("upstream called for a request that should have been refused: %s", body)
	})
	e := newEnv(t, single("gpt-4o", up.provider(t, "openai"), ""), func(c *wicket.Config) { c.MaxBodyBytes = 1024 })
	auth := map[string]string{"Authorization": "Bearer " + e.key}
	for _, tc := range []struct {
		name, path, body string
		header           map[string]string
		status           int
		code             string
	}{
		{"malformed json", "/v1/chat/completions", `{"model":"gpt-4o",`, auth, 400, "invalid_json"},
		{"not an object", "/v1/chat/completions", `[1,2]`, auth, 400, "invalid_json"},
		{"model wrong type", "/v1/chat/completions", `{"model":5}`, auth, 400, "invalid_type"},
		{"no model", "/v1/chat/completions", `{"messages":[]}`, auth, 400, "missing_required_parameter"},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-9","messages":[]}`, auth, 404, "model_not_found"},
		{"missing key", "/v1/chat/completions", `{"model":"gpt-4o"}`, nil, 401, "invalid_api_key"},
		{"bad key", "/v1/chat/completions", `{"model":"gpt-4o"}`, map[string]string{"Authorization": "Bearer wk_nonsense"}, 401, "invalid_api_key"},
		{"too large", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`, auth, 413, "request_too_large"},
		{"unknown path", "/v1/nothing", `{}`, auth, 404, "unknown_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(t, "POST", tc.path, tc.body, tc.header)
			body := readAll(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d; want %d: %s", resp.StatusCode, tc.status, body)
			}
			var oe struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &oe); err != nil || oe.Error.Message == "" || oe.Error.Type == "" || oe.Error.Code == nil {
				t.Fatalf("not an OpenAI error body: %s", body)
			}
			if *oe.Error.Code != tc.code {
				t.Errorf("code %q; want %q", *oe.Error.Code, tc.code)
			}
			if strings.Contains(body, "gpt-9") || strings.Contains(body, "xxxx") || strings.Contains(body, "nonsense") {
				t.Errorf("error body echoes request content: %s", body)
			}
		})
	}
}

func TestModelsListFollowsScopes(t *testing.T) {
	p := newUpstream(t, func(http.ResponseWriter, *http.Request, []byte) {}).provider(t, "openai")
	e := newEnv(t, []providers.Model{
		{Name: "gpt-4o", Aliases: []string{"smart"}, Deployments: []providers.Deployment{{Provider: p}}},
		{Name: "gpt-4o-mini", Deployments: []providers.Deployment{{Provider: p}}},
		{Name: "claude-*", Deployments: []providers.Deployment{{Provider: p}}},
	}, nil)
	scoped, _, _ := e.km.Issue(t.Context(), keysSpec("bob", "gpt-4o-*"))
	ids := func(key string) []string {
		resp := e.do(t, "GET", "/v1/models", "", map[string]string{"Authorization": "Bearer " + key})
		var list struct {
			Object string `json:"object"`
			Data   []struct {
				ID     string `json:"id"`
				Object string `json:"object"`
			} `json:"data"`
		}
		json.Unmarshal([]byte(readAll(t, resp)), &list)
		var out []string
		for _, m := range list.Data {
			out = append(out, m.ID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"gpt-4o", "gpt-4o-mini", "smart"}, ids(e.key)); diff != "" {
		t.Errorf("unscoped key (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gpt-4o-mini"}, ids(scoped)); diff != "" {
		t.Errorf("scoped key (-want +got):\n%s", diff)
	}
	resp := e.do(t, "GET", "/v1/models/gpt-4o", "", map[string]string{"Authorization": "Bearer " + scoped})
	if body := readAll(t, resp); resp.StatusCode != 404 {
		t.Errorf("scoped key reading an out-of-scope model: %d %s", resp.StatusCode, body)
	}
	resp = e.post(t, "/v1/models/gpt-4o", "")
	readAll(t, resp)
	resp = e.do(t, "POST", "/v1/chat/completions", `{"model":"gpt-4o"}`, map[string]string{"Authorization": "Bearer " + scoped})
	if body := readAll(t, resp); resp.StatusCode != 403 || !strings.Contains(body, "model_not_allowed") {
		t.Errorf("out-of-scope model: %d %s; want 403 model_not_allowed", resp.StatusCode, body)
	}
}

// withoutNullUsage is what OpenAI sends a client that did not ask for
// usage: the same chunks without their "usage":null member.
func withoutNullUsage(chunks []string) []string {
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = strings.Replace(c, `,"usage":null}`, "}", 1)
	}
	return out
}
