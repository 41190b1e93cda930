package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/redact"
)

// A stream as the Messages API sends it, written from the SDK's event
// types: usage with cache reads and writes in message_start, a ping,
// thinking with its signature, text, a tool call in input_json_delta
// fragments, and message_delta with the final counts (newer APIs repeat
// the input counts there).
const (
	evStart = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null," +
		"\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":1024,\"cache_read_input_tokens\":2048,\"cache_creation\":{\"ephemeral_5m_input_tokens\":1024,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":2,\"service_tier\":\"standard\"}}}\n\n"
	evPing           = "event: ping\ndata: {\"type\": \"ping\"}\n\n"
	evThinkingStart  = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n"
	evThinkingDelta  = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"The user wants the weather.\"}}\n\n"
	evSignatureDelta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds\"}}\n\n"
	evStop0          = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	evTextStart      = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	evTextDelta      = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Let me check.\"}}\n\n"
	evStop1          = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
	evToolStart      = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
	evToolDelta0     = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
	evToolDelta1     = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\": \\\"San Fra\"}}\n\n"
	evToolDelta2     = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ncisco, CA\\\"}\"}}\n\n"
	evStop2          = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
	evDelta          = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n"
	evDeltaFull      = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":1024,\"cache_read_input_tokens\":2048,\"output_tokens\":89,\"output_tokens_details\":{\"thinking_tokens\":40},\"server_tool_use\":null}}\n\n"
	evMsgStop        = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	evOverloaded     = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"

	streamBlocks = evThinkingStart + evThinkingDelta + evSignatureDelta + evStop0 + evTextStart + evTextDelta + evStop1 +
		evToolStart + evToolDelta0 + evToolDelta1 + evToolDelta2 + evStop2
	fullStream = evStart + evPing + streamBlocks + evDelta + evMsgStop
)

// The usage of fullStream: input counts include the cache reads and writes.
var streamUsage0 = metering.Usage{InputTokens: 472 + 1024 + 2048, OutputTokens: 89, CachedInputTokens: 2048, CacheCreationTokens: 1024}

// wholeMessage is a non-streamed answer, usage last as Anthropic writes it.
const wholeMessage = `{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",` +
	`"content":[{"type":"text","text":"The \"usage\": {\"input_tokens\": 999} is text."},{"type":"tool_use","id":"toolu_1","name":"f","input":{"usage":{"input_tokens":5}}}],` +
	`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":30,"output_tokens":6,"service_tier":"standard"}}`

const testKey = "sk-ant-api03-" + secret

// upstream is an httptest Anthropic that checks each request and answers
// with the given content type and body.
type upstream struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	path     string
	header   http.Header
	body     []byte
	calls    int
	respType string
	respBody string
	status   int
	abort    bool // cut the connection after the body
}

func newUpstream(t *testing.T, respType, respBody string) *upstream {
	u := &upstream{t: t, respType: respType, respBody: respBody, status: http.StatusOK}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.path, u.header, u.body = r.URL.Path, r.Header.Clone(), body
		u.calls++
		u.mu.Unlock()
		w.Header().Set("Content-Type", u.respType)
		w.Header().Set("Request-Id", "req_upstream_1")
		w.Header().Set("Anthropic-Ratelimit-Requests-Limit", "4000")
		w.Header().Set("Anthropic-Ratelimit-Tokens-Remaining", "123")
		w.WriteHeader(u.status)
		io.WriteString(w, u.respBody)
		if u.abort {
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) provider(t *testing.T, opts *Options) *Provider {
	t.Helper()
	o := Options{BaseURL: u.srv.URL + "/v1", APIKey: redact.NewSecret(testKey)}
	if opts != nil {
		o = *opts
		o.BaseURL = u.srv.URL + "/v1"
	}
	p, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clientCall decodes body as the door does for a client sending betas.
func clientCall(t *testing.T, endpoint providers.Endpoint, body, upstreamModel string, betas ...string) *providers.Call {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/messages", nil)
	for _, b := range betas {
		r.Header.Add("Anthropic-Beta", b)
	}
	r.Header.Set("X-Api-Key", "client-gateway-key")
	r.Header.Set("Anthropic-Version", "2020-01-01")
	req, perr := FrontDoor{}.Decode(providers.Route{Endpoint: endpoint}, r, []byte(body))
	if perr != nil {
		t.Fatalf("Decode(%s): %v", body, perr)
	}
	return &providers.Call{Request: req, UpstreamModel: upstreamModel}
}

func TestNewOptions(t *testing.T) {
	p, err := New(nil)
	if err != nil || p.Name() != "anthropic" || p.base != "https://api.anthropic.com/v1" || p.version != "2023-06-01" || p.idle != 2*time.Minute || p.client == nil {
		t.Errorf("New(nil) = %+v, %v", p, err)
	}
	if p.Dialect() != providers.DialectAnthropic {
		t.Errorf("Dialect = %v", p.Dialect())
	}
	p, err = New(&Options{Name: "claude", BaseURL: "http://localhost:8080/anthropic/v1/", Version: "2024-01-01", IdleTimeout: time.Second})
	if err != nil || p.Name() != "claude" || p.base != "http://localhost:8080/anthropic/v1" || p.version != "2024-01-01" || p.idle != time.Second {
		t.Errorf("New = %+v, %v", p, err)
	}
	for _, tc := range []struct {
		name  string
		opts  Options
		field string
	}{
		{"ftp", Options{BaseURL: "ftp://example.com/v1"}, "BaseURL"},
		{"no scheme", Options{BaseURL: "api.anthropic.com/v1"}, "BaseURL"},
		{"credentials", Options{BaseURL: "https://user:" + secret + "@example.com/v1"}, "BaseURL"},
		{"query", Options{BaseURL: "https://example.com/v1?key=" + secret}, "BaseURL"},
		{"empty query", Options{BaseURL: "https://example.com/v1?"}, "BaseURL"},
		{"fragment", Options{BaseURL: "https://example.com/v1#" + secret}, "BaseURL"},
		{"bad url", Options{BaseURL: "https://exa mple.com/%zz" + secret}, "BaseURL"},
		{"key with newline", Options{APIKey: redact.NewSecret(secret + "\nX-Evil: 1")}, "APIKey"},
		{"version with newline", Options{Version: "2023-06-01\r\n"}, "Version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(&tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("New: %v; want an error naming %s", err, tc.field)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error quotes the option: %v", err)
			}
		})
	}
}

func TestSendPassThroughStream(t *testing.T) {
	up := newUpstream(t, "text/event-stream; charset=utf-8", fullStream)
	p := up.provider(t, &Options{APIKey: redact.NewSecret(testKey), Header: http.Header{"anthropic-beta": {"operator-beta"}, "X-Org": {"acme"}}})
	body := `{"model":"claude-alias","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"What is the weather in SF?"}]}`
	call := clientCall(t, providers.EndpointChat, body, "claude-sonnet-4-5-20250929", "interleaved-thinking-2025-05-14,files-api-2025-04-14", "context-1m-2025-08-07")
	resp, err := p.Send(t.Context(), call)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	if up.path != "/v1/messages" {
		t.Errorf("path %q; want /v1/messages", up.path)
	}
	for name, want := range map[string]string{
		"X-Api-Key":         testKey,
		"Anthropic-Version": "2023-06-01",
		"Anthropic-Beta":    "operator-beta,interleaved-thinking-2025-05-14,files-api-2025-04-14,context-1m-2025-08-07",
		"Content-Type":      "application/json",
		"Accept":            "text/event-stream",
		"X-Org":             "acme",
		"Authorization":     "",
	} {
		if got := strings.Join(up.header.Values(name), "|"); got != want {
			t.Errorf("upstream got %s %q; want %q", name, got, want)
		}
	}
	want := strings.Replace(body, `"claude-alias"`, `"claude-sonnet-4-5-20250929"`, 1)
	if string(up.body) != want {
		t.Errorf("upstream body %s; want %s", up.body, want)
	}
	if resp.StatusCode() != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode())
	}
	wantHeader := http.Header{"Content-Type": {"text/event-stream"}, "Cache-Control": {"no-cache"}, "X-Accel-Buffering": {"no"}}
	if d := cmp.Diff(wantHeader, resp.Header()); d != "" {
		t.Errorf("Header (-want +got):\n%s", d)
	}
	w := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	res, err := resp.Relay(w)
	if err != nil {
		t.Fatalf("Relay: %v", err)
	}
	if w.Body.String() != fullStream {
		t.Errorf("relayed %q; want the stream byte for byte", w.Body)
	}
	// The first event leaves at once; the others arrived with it and,
	// the stream being complete, are left for the end of the answer.
	if want := []int{len(evStart)}; !slices.Equal(w.flushedAt, want) {
		t.Errorf("flushes at %v; want %v", w.flushedAt, want)
	}
	if !res.UsageKnown || res.Usage != streamUsage0 {
		t.Errorf("usage %+v (%v); want %+v", res.Usage, res.UsageKnown, streamUsage0)
	}
	if res.Events != 16 || res.BytesWritten != int64(len(fullStream)) || res.FirstByte.IsZero() {
		t.Errorf("Result %+v; want 16 events, %d bytes", res, len(fullStream))
	}
}

func TestSendHeadersWithoutBetaOrKey(t *testing.T) {
	up := newUpstream(t, "application/json", wholeMessage)
	p := up.provider(t, &Options{Version: "2024-10-22"})
	resp, err := p.Send(t.Context(), clientCall(t, providers.EndpointChat, `{"model":"m","max_tokens":5,"messages":[]}`, "m"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Close()
	if up.header.Values("X-Api-Key") != nil || up.header.Values("Anthropic-Beta") != nil || up.header.Get("Anthropic-Version") != "2024-10-22" ||
		up.header.Get("Accept") != "application/json" {
		t.Errorf("upstream headers %v; want no key, no beta, version 2024-10-22, JSON", up.header)
	}
	if string(up.body) != `{"model":"m","max_tokens":5,"messages":[]}` {
		t.Errorf("body %s; want it unchanged", up.body)
	}
}

func TestRelayWhole(t *testing.T) {
	big := `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"` + strings.Repeat("x", 100_000) +
		`"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":4,"cache_creation_input_tokens":3,"cache_read_input_tokens":null,"output_tokens":25000,"output_tokens_details":{"thinking_tokens":100}}}`
	for _, tc := range []struct {
		name, body string
		usage      metering.Usage
	}{
		{"small", wholeMessage, metering.Usage{InputTokens: 42, OutputTokens: 6, CachedInputTokens: 30}},
		{"larger than the tail", big, metering.Usage{InputTokens: 7, OutputTokens: 25000, CacheCreationTokens: 3, ReasoningTokens: 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, "application/json", tc.body)
			p := up.provider(t, nil)
			resp, err := p.Send(t.Context(), clientCall(t, providers.EndpointChat, `{"model":"a","max_tokens":10,"messages":[]}`, "b"))
			if err != nil {
				t.Fatal(err)
			}
			if string(up.body) != `{"model":"b","max_tokens":10,"messages":[]}` {
				t.Errorf("upstream body %s", up.body)
			}
			h := resp.Header()
			wantLength := itoa(len(tc.body))
			if len(tc.body) > 8<<10 {
				wantLength = "" // the upstream sends it chunked
			}
			if h.Get("Content-Type") != "application/json" || h.Get("Content-Length") != wantLength || h.Get("Request-Id") != "" ||
				h.Get("Anthropic-Ratelimit-Requests-Limit") != "" || h.Get("Anthropic-Ratelimit-Tokens-Remaining") != "" {
				t.Errorf("Header %v; want content type and length only", h)
			}
			w := httptest.NewRecorder()
			res, err := resp.Relay(w)
			if err != nil {
				t.Fatal(err)
			}
			if w.Body.String() != tc.body || res.BytesWritten != int64(len(tc.body)) {
				t.Errorf("relayed %d bytes; want the body", w.Body.Len())
			}
			if !res.UsageKnown || res.Usage != tc.usage {
				t.Errorf("usage %+v (%v); want %+v", res.Usage, res.UsageKnown, tc.usage)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestRelayErrorBody(t *testing.T) {
	const errBody = `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"},"request_id":"req_1"}`
	up := newUpstream(t, "application/json", errBody)
	up.status = http.StatusTooManyRequests
	resp, err := up.provider(t, nil).Send(t.Context(), clientCall(t, providers.EndpointChat, msgBody("", userText), "m"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != http.StatusTooManyRequests {
		t.Errorf("status %d", resp.StatusCode())
	}
	w := httptest.NewRecorder()
	res, err := resp.Relay(w)
	if err != nil || w.Body.String() != errBody || res.UsageKnown {
		t.Errorf("Relay: %v %q %+v; want the error body, no usage", err, w.Body, res)
	}
}

func TestCountTokensPassThrough(t *testing.T) {
	up := newUpstream(t, "application/json", `{"input_tokens":2095}`)
	p := up.provider(t, nil)
	body := `{"model":"claude-alias","system":"s","messages":[{"role":"user","content":"Hello"}],"tools":[{"name":"f","input_schema":{"type":"object"}}]}`
	call := clientCall(t, providers.EndpointCountTokens, body, "claude-sonnet-4-5", "token-counting-2024-11-01")
	call.EnforceMaxOutput = 500 // ignored: a count has no output
	resp, err := p.Send(t.Context(), call)
	if err != nil {
		t.Fatal(err)
	}
	if up.path != "/v1/messages/count_tokens" || up.header.Get("Accept") != "application/json" || up.header.Get("X-Api-Key") != testKey ||
		up.header.Get("Anthropic-Beta") != "token-counting-2024-11-01" {
		t.Errorf("upstream got %s %v", up.path, up.header)
	}
	if want := strings.Replace(body, "claude-alias", "claude-sonnet-4-5", 1); string(up.body) != want {
		t.Errorf("body %s; want %s", up.body, want)
	}
	w := httptest.NewRecorder()
	res, err := resp.Relay(w)
	if err != nil || w.Body.String() != `{"input_tokens":2095}` || res.UsageKnown {
		t.Errorf("Relay: %v %q %+v; want the count, no usage", err, w.Body, res)
	}
}

func TestUpstreamBody(t *testing.T) {
	mk := func(endpoint providers.Endpoint, body string, max, enforce int64, upstreamModel string) *providers.Call {
		var req providers.Request
		req.Endpoint, req.Body, req.MaxOutputTokens = endpoint, []byte(body), max
		req.Model = "a"
		if i := strings.Index(body, `"a"`); i >= 0 {
			req.ModelStart, req.ModelEnd = i, i+3
		}
		return &providers.Call{Request: &req, UpstreamModel: upstreamModel, EnforceMaxOutput: enforce}
	}
	for _, tc := range []struct {
		name string
		call *providers.Call
		want string
	}{
		{"unchanged", mk(providers.EndpointChat, `{"model":"a","max_tokens":5}`, 5, 0, "a"), `{"model":"a","max_tokens":5}`},
		{"model rewritten", mk(providers.EndpointChat, `{ "model" : "a" , "max_tokens":5}`, 5, 0, "claude-3"), `{ "model" : "claude-3" , "max_tokens":5}`},
		{"odd model quoted", mk(providers.EndpointChat, `{"model":"a","max_tokens":5}`, 5, 0, "we\"ird\\<"), `{"model":"we\"ird\\\u003c","max_tokens":5}`},
		{"cap kept", mk(providers.EndpointChat, `{"model":"a","max_tokens":5}`, 5, 100, "a"), `{"model":"a","max_tokens":5}`},
		{"cap added", mk(providers.EndpointChat, `{"model":"a","messages":[]}`, 0, 100, "b"), `{"model":"b","messages":[],"max_tokens":100}`},
		{"null cap replaced", mk(providers.EndpointChat, `{"max_tokens":null,"model":"a"}`, 0, 7, "bb"), `{"max_tokens":7,"model":"bb"}`},
		{"count tokens never capped", mk(providers.EndpointCountTokens, `{"model":"a"}`, 0, 7, "a"), `{"model":"a"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := upstreamBody(tc.call)
			if string(got) != tc.want || !json.Valid(got) {
				t.Errorf("got %s; want %s", got, tc.want)
			}
		})
	}
}

func TestSendRefuses(t *testing.T) {
	up := newUpstream(t, "application/json", "{}")
	p := up.provider(t, nil)
	call := clientCall(t, providers.EndpointChat, msgBody("", userText), "m")
	other := *call.Request
	other.Dialect = providers.DialectOpenAI
	if _, err := p.Send(t.Context(), &providers.Call{Request: &other, UpstreamModel: "m"}); err == nil {
		t.Errorf("Send of an OpenAI call succeeded")
	}
	emb := *call.Request
	emb.Endpoint = providers.EndpointEmbeddings
	if _, err := p.Send(t.Context(), &providers.Call{Request: &emb, UpstreamModel: "m"}); err == nil {
		t.Errorf("Send of an embeddings call succeeded")
	}
	if up.calls != 0 {
		t.Errorf("upstream called %d times", up.calls)
	}
}

func TestSendUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p, err := New(&Options{BaseURL: url + "/v1", APIKey: redact.NewSecret(testKey)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(t.Context(), clientCall(t, providers.EndpointChat, msgBody("", userText), "m"))
	ue, ok := errors.AsType[*providers.UpstreamError](err)
	if !ok || ue.Timeout || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("Send: %v; want an UpstreamError naming nothing", err)
	}
}

func TestRelayStreamEnds(t *testing.T) {
	partial := evStart + evPing + evTextStart
	for _, tc := range []struct {
		name     string
		upstream string
		abort    bool
		written  string
		usage    metering.Usage
		known    bool
		ok       bool
	}{
		{"complete", fullStream, false, fullStream, streamUsage0, true, true},
		{"message_delta with every count", evStart + streamBlocks + evDeltaFull + evMsgStop, false, evStart + streamBlocks + evDeltaFull + evMsgStop,
			metering.Usage{InputTokens: 3544, OutputTokens: 89, CachedInputTokens: 2048, CacheCreationTokens: 1024, ReasoningTokens: 40}, true, true},
		{"error event mid-stream", evStart + evTextStart + evTextDelta + evOverloaded, false, evStart + evTextStart + evTextDelta + evOverloaded,
			metering.Usage{}, false, true},
		{"error event first", evOverloaded, false, evOverloaded, metering.Usage{}, false, true},
		{"ends between events", partial, false, partial, metering.Usage{}, false, false},
		{"cut mid-event", evStart + evMsgStop[:20], true, evStart, metering.Usage{}, false, false},
		{"message_delta but no stop", evStart + streamBlocks + evDelta, false, evStart + streamBlocks + evDelta, streamUsage0, true, false},
		{"empty", "", false, "", metering.Usage{}, false, false},
		{"message_stop without data is no event", evStart + "event: message_stop\n\n", false, evStart + "event: message_stop\n\n",
			metering.Usage{}, false, false},
		{"events after message_stop relayed", fullStream + evPing, false, fullStream + evPing, streamUsage0, true, true},
		{"comments kept", ": keep-alive\n\n" + fullStream, false, ": keep-alive\n\n" + fullStream, streamUsage0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, "text/event-stream", tc.upstream)
			up.abort = tc.abort
			resp, err := up.provider(t, nil).Send(t.Context(), clientCall(t, providers.EndpointChat, `{"model":"m","max_tokens":9,"stream":true}`, "m"))
			if err != nil {
				t.Fatal(err)
			}
			w := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
			res, err := resp.Relay(w)
			if w.Body.String() != tc.written {
				t.Errorf("relayed %q; want %q", w.Body, tc.written)
			}
			// The first event leaves at once, the others arrived with it:
			// a complete stream leaves them for the end of the answer, an
			// incomplete one flushes them before its error.
			var want []int
			if tc.written != "" {
				want = append(want, strings.Index(tc.written, "\n\n")+2)
				if !tc.ok && want[0] != len(tc.written) {
					want = append(want, len(tc.written))
				}
			}
			if !slices.Equal(w.flushedAt, want) {
				t.Errorf("flushed at %v; want %v", w.flushedAt, want)
			}
			if res.Usage != tc.usage || res.UsageKnown != tc.known {
				t.Errorf("usage %+v (%v); want %+v (%v)", res.Usage, res.UsageKnown, tc.usage, tc.known)
			}
			if n := int64(strings.Count(tc.written, "\n\n")); res.Events != n || res.BytesWritten != int64(len(tc.written)) {
				t.Errorf("Result %+v; want %d events, %d bytes", res, n, len(tc.written))
			}
			if tc.ok {
				if err != nil {
					t.Errorf("Relay: %v; want nil", err)
				}
				return
			}
			ue, ok := errors.AsType[*providers.UpstreamError](err)
			if !ok || ue.Timeout || ue.Provider != "anthropic" {
				t.Fatalf("Relay: %#v; want an UpstreamError, not a time-out", err)
			}
			// A connection cut is a failed read; a stream that ends
			// cleanly without its end is an incomplete answer.
			if !tc.abort && (!errors.Is(err, providers.ErrIncomplete) || ue.ClientError().Code != "upstream_incomplete") {
				t.Errorf("Relay: %v; want ErrIncomplete", err)
			}
			for _, leak := range []string{secret, "msg_01", "127.0.0.1"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q carries %q", err, leak)
				}
			}
		})
	}
}

// stallUpstream sends head, flushes, then sends nothing until the test
// ends.
func stallUpstream(t *testing.T, contentType, head string) *httptest.Server {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, head)
		w.(http.Flusher).Flush()
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // before Close, which waits for the handler
	return srv
}

func TestRelayIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, head string
		stream                  bool
	}{
		{"stream", "text/event-stream", evStart + evTextStart, true},
		{"whole", "application/json", `{"id":"msg_1","type":"message",`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := stallUpstream(t, tc.contentType, tc.head)
			p, err := New(&Options{BaseURL: srv.URL, IdleTimeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			body := `{"model":"m","max_tokens":9}`
			if tc.stream {
				body = `{"model":"m","max_tokens":9,"stream":true}`
			}
			resp, err := p.Send(t.Context(), clientCall(t, providers.EndpointChat, body, "m"))
			if err != nil {
				t.Fatal(err)
			}
			w := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
			res, err := resp.Relay(w)
			ue, ok := errors.AsType[*providers.UpstreamError](err)
			if !ok || !ue.Timeout || ue.ClientError().Status != http.StatusGatewayTimeout {
				t.Fatalf("Relay: %#v; want a time-out UpstreamError", err)
			}
			if w.Body.String() != tc.head {
				t.Errorf("relayed %q; want %q", w.Body, tc.head)
			}
			if tc.stream && (res.Events != 2 || len(w.flushedAt) == 0) {
				t.Errorf("Result %+v, flushes %v; want 2 events flushed", res, w.flushedAt)
			}
		})
	}
}

func TestRelayClientGone(t *testing.T) {
	srv := stallUpstream(t, "text/event-stream", evStart)
	p, _ := New(&Options{BaseURL: srv.URL})
	ctx, cancel := context.WithCancel(t.Context())
	resp, err := p.Send(ctx, clientCall(t, providers.EndpointChat, `{"model":"m","max_tokens":9,"stream":true}`, "m"))
	if err != nil {
		t.Fatal(err)
	}
	w := &cancelOnWrite{ResponseRecorder: httptest.NewRecorder(), cancel: cancel}
	_, err = resp.Relay(w)
	if _, ok := errors.AsType[*providers.UpstreamError](err); !ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Relay: %v; want an UpstreamError for the canceled call", err)
	}
}

// cancelOnWrite cancels the call's context once the first event is
// written: the client went away.
type cancelOnWrite struct {
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	defer c.cancel()
	return c.ResponseRecorder.Write(p)
}

func TestResponseCloseTwice(t *testing.T) {
	up := newUpstream(t, "text/event-stream", fullStream)
	resp, err := up.provider(t, nil).Send(t.Context(), clientCall(t, providers.EndpointChat, `{"model":"m","max_tokens":9,"stream":true}`, "m"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := resp.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// canonRequest is a canonical request as an OpenAI client's would be.
func canonRequest(stream bool) *canon.Request {
	return &canon.Request{Model: "gpt-alias", Stream: stream, Messages: []canon.Message{
		{Role: canon.RoleSystem, Parts: []canon.Part{canon.TextPart("Be brief.")}},
		{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("Weather in SF?")}},
	}}
}

func collect(t *testing.T, cr providers.CanonResponse) ([]canon.Event, providers.Result, error) {
	t.Helper()
	var evs []canon.Event
	res, err := cr.Events(func(ev canon.Event) error {
		evs = append(evs, ev.Clone())
		return nil
	})
	return evs, res, err
}

func TestSendCanonStream(t *testing.T) {
	up := newUpstream(t, "text/event-stream", fullStream)
	p := up.provider(t, nil)
	call := &providers.Call{Request: &providers.Request{Dialect: providers.DialectOpenAI, Endpoint: providers.EndpointChat, Model: "gpt-alias", Stream: true},
		UpstreamModel: "claude-sonnet-4-5", EnforceMaxOutput: 300}
	req := canonRequest(true)
	cr, err := p.SendCanon(t.Context(), call, req)
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	if req.Model != "gpt-alias" || req.MaxOutputTokens != nil {
		t.Errorf("SendCanon changed the caller's request: %+v", req)
	}
	if up.path != "/v1/messages" || up.header.Get("X-Api-Key") != testKey || up.header.Get("Anthropic-Version") != "2023-06-01" || up.header.Get("Accept") != "text/event-stream" {
		t.Errorf("upstream got %s %v", up.path, up.header)
	}
	const wantBody = `{"model":"claude-sonnet-4-5","max_tokens":300,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"Weather in SF?"}]}],"stream":true}`
	if !jsonEqual(t, up.body, []byte(wantBody)) {
		t.Errorf("upstream body %s; want %s", up.body, wantBody)
	}
	if cr.StatusCode() != http.StatusOK {
		t.Errorf("status %d", cr.StatusCode())
	}
	evs, res, err := collect(t, cr)
	if err != nil {
		t.Fatal(err)
	}
	if !res.UsageKnown || res.Usage != streamUsage0 {
		t.Errorf("usage %+v (%v); want %+v", res.Usage, res.UsageKnown, streamUsage0)
	}
	var acc canon.Accumulator
	for _, ev := range evs {
		if err := acc.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	got := acc.Response()
	want := []canon.Part{
		{Kind: canon.PartThinking, Text: "The user wants the weather.", Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
		canon.TextPart("Let me check."),
		canon.ToolCallPart("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather", []byte(`{"location": "San Francisco, CA"}`)),
	}
	if d := cmp.Diff(want, got.Choices[0].Parts); d != "" {
		t.Errorf("parts (-want +got):\n%s", d)
	}
	if got.ID != "msg_01XFDUDYJgAACzvnptvVoYEL" || got.Choices[0].Finish != canon.FinishToolCalls {
		t.Errorf("id %q finish %v", got.ID, got.Choices[0].Finish)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return cmp.Equal(x, y)
}

func TestSendCanonWhole(t *testing.T) {
	up := newUpstream(t, "application/json", wholeMessage)
	p := up.provider(t, nil)
	call := &providers.Call{Request: &providers.Request{Dialect: providers.DialectGemini, Endpoint: providers.EndpointChat}, UpstreamModel: "claude-haiku-4-5"}
	req := canonRequest(false)
	n := int64(50)
	req.MaxOutputTokens = &n
	cr, err := p.SendCanon(t.Context(), call, req)
	if err != nil {
		t.Fatal(err)
	}
	const wantBody = `{"model":"claude-haiku-4-5","max_tokens":50,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"Weather in SF?"}]}]}`
	if !jsonEqual(t, up.body, []byte(wantBody)) || up.header.Get("Accept") != "application/json" {
		t.Errorf("upstream body %s; want %s", up.body, wantBody)
	}
	evs, res, err := collect(t, cr)
	if err != nil {
		t.Fatal(err)
	}
	if u := (metering.Usage{InputTokens: 42, OutputTokens: 6, CachedInputTokens: 30}); !res.UsageKnown || res.Usage != u {
		t.Errorf("usage %+v; want %+v", res.Usage, u)
	}
	var kinds []canon.EventKind
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	wantKinds := []canon.EventKind{canon.EventStart, canon.EventPartStart, canon.EventPartDelta, canon.EventPartStop,
		canon.EventPartStart, canon.EventPartDelta, canon.EventPartStop, canon.EventFinish, canon.EventUsage}
	if d := cmp.Diff(wantKinds, kinds); d != "" {
		t.Errorf("event kinds (-want +got):\n%s", d)
	}
	if string(evs[2].Text) != `The "usage": {"input_tokens": 999} is text.` || string(evs[5].Text) != `{"usage":{"input_tokens":5}}` {
		t.Errorf("texts %q %q", evs[2].Text, evs[5].Text)
	}
}

func TestSendCanonDefaultCap(t *testing.T) {
	up := newUpstream(t, "application/json", wholeMessage)
	call := &providers.Call{Request: &providers.Request{Endpoint: providers.EndpointChat}, UpstreamModel: "c"}
	cr, err := up.provider(t, nil).SendCanon(t.Context(), call, canonRequest(false))
	if err != nil {
		t.Fatal(err)
	}
	cr.Close()
	var b struct {
		MaxTokens int64 `json:"max_tokens"`
	}
	if json.Unmarshal(up.body, &b) != nil || b.MaxTokens != DefaultMaxTokens {
		t.Errorf("body %s; want max_tokens %d", up.body, DefaultMaxTokens)
	}
}

func TestSendCanonEnds(t *testing.T) {
	for _, tc := range []struct {
		name, upstream, contentType string
		incomplete                  bool
		failure                     string
	}{
		{"truncated stream", evStart + evTextStart + evTextDelta, "text/event-stream", true, ""},
		{"error event", evStart + evTextStart + evTextDelta + evOverloaded, "text/event-stream", false, "overloaded_error"},
		{"malformed whole", `{"type":"message","content":[{"type":"text"}]}`, "application/json", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, tc.contentType, tc.upstream)
			call := &providers.Call{Request: &providers.Request{Endpoint: providers.EndpointChat, Stream: tc.contentType != "application/json"}, UpstreamModel: "c"}
			cr, err := up.provider(t, nil).SendCanon(t.Context(), call, canonRequest(call.Stream))
			if err != nil {
				t.Fatal(err)
			}
			evs, _, err := collect(t, cr)
			switch {
			case tc.incomplete:
				if _, ok := errors.AsType[*providers.UpstreamError](err); !ok || !errors.Is(err, providers.ErrIncomplete) {
					t.Errorf("Events: %v; want ErrIncomplete", err)
				}
			case tc.failure != "":
				last := evs[len(evs)-1]
				if err != nil || last.Kind != canon.EventError || last.Error.Type != tc.failure || last.Error.Status != 529 {
					t.Errorf("Events: %v, last %+v; want the error event and no error", err, last)
				}
			default:
				if _, ok := errors.AsType[*providers.UpstreamError](err); !ok || errors.Is(err, providers.ErrIncomplete) {
					t.Errorf("Events: %v; want an UpstreamError", err)
				}
			}
		})
	}
}

func TestSendCanonEmitError(t *testing.T) {
	up := newUpstream(t, "text/event-stream", fullStream)
	call := &providers.Call{Request: &providers.Request{Endpoint: providers.EndpointChat, Stream: true}, UpstreamModel: "c"}
	cr, err := up.provider(t, nil).SendCanon(t.Context(), call, canonRequest(true))
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("client gone")
	n := 0
	_, err = cr.Events(func(canon.Event) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("Events: %v after %d events; want the emit error at 3", err, n)
	}
}

func TestSendCanonRefuses(t *testing.T) {
	up := newUpstream(t, "application/json", wholeMessage)
	p := up.provider(t, nil)
	call := &providers.Call{Request: &providers.Request{Endpoint: providers.EndpointChat}, UpstreamModel: "c"}
	req := canonRequest(false)
	seed := int64(7)
	req.Seed = &seed
	_, err := p.SendCanon(t.Context(), call, req)
	if ue, ok := errors.AsType[*canon.UnsupportedError](err); !ok || ue.Feature != canon.FeatureSeed {
		t.Errorf("SendCanon with a seed: %v; want the *canon.UnsupportedError as is", err)
	}
	call.Endpoint = providers.EndpointCountTokens
	if _, err := p.SendCanon(t.Context(), call, canonRequest(false)); err == nil {
		t.Errorf("SendCanon of a token count succeeded")
	}
	if up.calls != 0 {
		t.Errorf("upstream called %d times", up.calls)
	}
}

// TestFixturesDecode checks the stream fixtures against the package's own
// StreamDecoder: they are streams Anthropic could have sent.
func TestFixturesDecode(t *testing.T) {
	for _, s := range []string{fullStream, evStart + streamBlocks + evDeltaFull + evMsgStop} {
		_, dec, err := decodeStream(t, []byte(s))
		if err != nil || !dec.Done() {
			t.Fatalf("fixture does not decode: %v", err)
		}
	}
	if !json.Valid([]byte(wholeMessage)) {
		t.Fatal("wholeMessage is not JSON")
	}
	if _, err := ResponseToCanon([]byte(wholeMessage)); err != nil {
		t.Fatal(err)
	}
}

// The converters read usage as the relay does: thinking tokens, negative
// counts ignored, sums that cannot overflow.
func TestConverterUsage(t *testing.T) {
	evs, dec, err := decodeStream(t, []byte(evStart+streamBlocks+evDeltaFull+evMsgStop))
	if err != nil {
		t.Fatal(err)
	}
	want := metering.Usage{InputTokens: 3544, OutputTokens: 89, CachedInputTokens: 2048, CacheCreationTokens: 1024, ReasoningTokens: 40}
	if last := evs[len(evs)-1]; last.Kind != canon.EventUsage || last.Usage != want || dec.usage != want {
		t.Errorf("stream usage %+v; want %+v", last.Usage, want)
	}
	r, err := ResponseToCanon([]byte(`{"type":"message","content":[],"usage":{"input_tokens":-4,"cache_read_input_tokens":9223372036854775807,` +
		`"cache_creation_input_tokens":5,"output_tokens":3,"output_tokens_details":{"thinking_tokens":7}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want = metering.Usage{InputTokens: 1<<63 - 1, OutputTokens: 3, CachedInputTokens: 1<<63 - 1, CacheCreationTokens: 5, ReasoningTokens: 3}
	if r.Usage != want {
		t.Errorf("whole usage %+v; want %+v", r.Usage, want)
	}
	// Written back with the thinking tokens, read the same.
	u := metering.Usage{InputTokens: 10, OutputTokens: 8, CachedInputTokens: 4, ReasoningTokens: 5}
	body := appendUsage(nil, u)
	if string(body) != `{"input_tokens":6,"cache_creation_input_tokens":0,"cache_read_input_tokens":4,"output_tokens":8,"output_tokens_details":{"thinking_tokens":5}}` {
		t.Errorf("appendUsage = %s", body)
	}
	var c usageCounts
	if !c.merge(body) || c.usage() != u {
		t.Errorf("read back %+v; want %+v", c.usage(), u)
	}
}

// Concurrent calls each send the operator's betas and their own, and
// nothing else: the operator's header values are shared, never appended
// to in place.
func TestSendConcurrentBetas(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, strings.Join(r.Header.Values("Anthropic-Beta"), "|"))
	}))
	t.Cleanup(srv.Close)
	h := http.Header{}
	for _, b := range []string{"op-1", "op-2", "op-3"} {
		h.Add("Anthropic-Beta", b)
	}
	p, err := New(&Options{BaseURL: srv.URL, Header: h})
	if err != nil {
		t.Fatal(err)
	}
	h.Set("Anthropic-Beta", "changed after New")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			beta := "client-" + itoa(i)
			resp, err := p.Send(t.Context(), clientCall(t, providers.EndpointChat, msgBody("", userText), "m", beta))
			if err != nil {
				t.Error(err)
				return
			}
			w := httptest.NewRecorder()
			if _, err := resp.Relay(w); err != nil {
				t.Error(err)
			}
			if want := "op-1,op-2,op-3," + beta; w.Body.String() != want {
				t.Errorf("upstream got betas %q; want %q", w.Body, want)
			}
		})
	}
	wg.Wait()
}
