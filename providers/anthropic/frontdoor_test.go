package anthropic

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

func TestFrontDoorRoutes(t *testing.T) {
	var door FrontDoor
	if door.Dialect() != providers.DialectAnthropic {
		t.Errorf("Dialect = %v", door.Dialect())
	}
	want := []providers.Route{
		{Method: "POST", Path: "/v1/messages", Endpoint: providers.EndpointChat},
		{Method: "POST", Path: "/v1/messages/count_tokens", Endpoint: providers.EndpointCountTokens},
	}
	got := door.Routes()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Routes (-want +got):\n%s", d)
	}
	got[0].Path = "/changed"
	if door.Routes()[0].Path != "/v1/messages" {
		t.Errorf("Routes returns the door's own slice")
	}
	mux := http.NewServeMux()
	for _, rt := range door.Routes() {
		mux.HandleFunc(rt.Pattern(), func(http.ResponseWriter, *http.Request) {})
	}
	mux.HandleFunc("GET /v1/models", func(http.ResponseWriter, *http.Request) {}) // the OpenAI door's: no conflict
}

func TestWriteModels(t *testing.T) {
	w := httptest.NewRecorder()
	perr := FrontDoor{}.WriteModels(w, httptest.NewRequest("GET", "/v1/models", nil), providers.Route{}, []providers.ModelInfo{{ID: "a"}})
	if perr == nil || perr.Status != http.StatusNotFound || perr.Code != "model_not_found" {
		t.Errorf("WriteModels = %v; want model_not_found", perr)
	}
	if w.Body.Len() != 0 || len(w.Header()) != 0 {
		t.Errorf("WriteModels wrote %q %v; want nothing", w.Body, w.Header())
	}
}

func TestWriteTokenCount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{1234, `{"input_tokens":1234}`}, {0, `{"input_tokens":0}`}, {-3, `{"input_tokens":0}`}} {
		w := httptest.NewRecorder()
		FrontDoor{}.WriteTokenCount(w, &providers.Request{Endpoint: providers.EndpointCountTokens}, tc.n)
		if w.Code != http.StatusOK || w.Body.String() != tc.want || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("WriteTokenCount(%d): %d %q %q; want 200 %s application/json", tc.n, w.Code, w.Body, w.Header().Get("Content-Type"), tc.want)
		}
	}
}

func TestWriteLimitHeaders(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 250_000_000, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		l    providers.RateLimits
		want http.Header
	}{
		{"both quotas, refused", providers.RateLimits{Now: now, RetryAfter: 1100 * time.Millisecond,
			Requests: providers.Quota{Limit: 50, Remaining: 0, Reset: 1500 * time.Millisecond},
			Tokens:   providers.Quota{Limit: 40000, Remaining: 39000, Reset: 30 * time.Second}},
			http.Header{
				"Anthropic-Ratelimit-Requests-Limit":     {"50"},
				"Anthropic-Ratelimit-Requests-Remaining": {"0"},
				"Anthropic-Ratelimit-Requests-Reset":     {"2025-03-04T04:06:09Z"}, // 04:06:08.75 rounded up
				"Anthropic-Ratelimit-Tokens-Limit":       {"40000"},
				"Anthropic-Ratelimit-Tokens-Remaining":   {"39000"},
				"Anthropic-Ratelimit-Tokens-Reset":       {"2025-03-04T04:06:38Z"}, // 04:06:37.25 rounded up
				"Retry-After":                            {"2"},
			}},
		{"requests only, whole second, no retry", providers.RateLimits{Now: now.Truncate(time.Second),
			Requests: providers.Quota{Limit: 5, Remaining: -2, Reset: 3 * time.Second}},
			http.Header{
				"Anthropic-Ratelimit-Requests-Limit":     {"5"},
				"Anthropic-Ratelimit-Requests-Remaining": {"0"},
				"Anthropic-Ratelimit-Requests-Reset":     {"2025-03-04T04:06:10Z"},
			}},
		{"tiny retry", providers.RateLimits{Now: now, RetryAfter: time.Nanosecond}, http.Header{"Retry-After": {"1"}}},
		{"nothing", providers.RateLimits{Now: now}, http.Header{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			FrontDoor{}.WriteLimitHeaders(h, tc.l)
			if d := cmp.Diff(tc.want, h); d != "" {
				t.Errorf("headers (-want +got):\n%s", d)
			}
		})
	}
	// The names are Anthropic's, whatever the case of the lookup.
	h := http.Header{}
	FrontDoor{}.WriteLimitHeaders(h, providers.RateLimits{Now: now, Tokens: providers.Quota{Limit: 1}})
	if h.Get("anthropic-ratelimit-tokens-limit") != "1" {
		t.Errorf("anthropic-ratelimit-tokens-limit missing: %v", h)
	}
}

func TestToCanon(t *testing.T) {
	req, perr := Decode(providers.EndpointChat, []byte(msgBody(`"system":"Be brief."`, userText)))
	if perr != nil {
		t.Fatal(perr)
	}
	c, perr := FrontDoor{}.ToCanon(req)
	if perr != nil {
		t.Fatal(perr)
	}
	if c.Model != "claude-sonnet-4-5" || c.MaxOutputTokens == nil || *c.MaxOutputTokens != 1024 || len(c.Messages) != 2 || c.Messages[1].Text() != "Hello, Claude" {
		t.Errorf("ToCanon = %+v", c)
	}
	// A feature the canonical form cannot express: 400 naming it.
	req, _ = Decode(providers.EndpointChat, []byte(msgBody(`"container":"c"`, userText)))
	if _, perr := (FrontDoor{}).ToCanon(req); perr == nil || perr.Status != 400 || perr.Param != "container" {
		t.Errorf("ToCanon with container: %v; want 400 naming container", perr)
	}
	req, _ = Decode(providers.EndpointCountTokens, []byte(`{"model":"m","messages":[]}`))
	if _, perr := (FrontDoor{}).ToCanon(req); perr == nil || perr.Status != http.StatusNotImplemented || perr.Code != "translation_not_supported" {
		t.Errorf("ToCanon of count tokens: %v; want 501 translation_not_supported", perr)
	}
}

// canonAnswer is a canonical answer with thinking, text and a tool call.
func canonAnswer() []canon.Event {
	return []canon.Event{
		{Kind: canon.EventStart, ID: "chatcmpl-1", Model: "gpt-x"},
		{Kind: canon.EventUsage, Usage: metering.Usage{InputTokens: 30, CachedInputTokens: 10}},
		{Kind: canon.EventPartStart, Index: 0, PartKind: canon.PartThinking},
		{Kind: canon.EventPartDelta, Index: 0, Text: []byte("Hmm.")},
		{Kind: canon.EventPartDelta, Index: 0, Signature: "sig"},
		{Kind: canon.EventPartStop, Index: 0},
		{Kind: canon.EventPartStart, Index: 1, PartKind: canon.PartText},
		{Kind: canon.EventPartDelta, Index: 1, Text: []byte("Hel")},
		{Kind: canon.EventPartDelta, Index: 1, Text: []byte("lo \"you\"")},
		{Kind: canon.EventPartStop, Index: 1},
		{Kind: canon.EventPartStart, Index: 2, PartKind: canon.PartToolCall, ID: "call_1", Name: "get_weather"},
		{Kind: canon.EventPartDelta, Index: 2, Text: []byte(`{"city":`)},
		{Kind: canon.EventPartDelta, Index: 2, Text: []byte(`"Oslo"}`)},
		{Kind: canon.EventPartStop, Index: 2},
		{Kind: canon.EventFinish, Finish: canon.FinishToolCalls, RawFinish: "tool_calls"},
		{Kind: canon.EventUsage, Usage: metering.Usage{InputTokens: 30, CachedInputTokens: 10, OutputTokens: 12}},
	}
}

// flushRecorder counts flushes and what had been written at each.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushedAt []int
}

func (f *flushRecorder) Flush() {
	f.flushedAt = append(f.flushedAt, f.Body.Len())
	f.ResponseRecorder.Flush()
}

func TestNewWriterStream(t *testing.T) {
	w := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	cw := FrontDoor{}.NewWriter(w, &providers.Request{Endpoint: providers.EndpointChat, Stream: true})
	evs := canonAnswer()
	// Start and usage alone write nothing, not even headers.
	for _, ev := range evs[:2] {
		if err := cw.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if w.Body.Len() != 0 || len(w.Header()) != 0 || len(w.flushedAt) != 0 {
		t.Fatalf("wrote %q %v before the first event", w.Body, w.Header())
	}
	for _, ev := range evs[2:] {
		if err := cw.Write(ev); err != nil {
			t.Fatalf("Write(%v): %v", ev.Kind, err)
		}
		if n := len(w.flushedAt); n > 0 && w.flushedAt[n-1] != w.Body.Len() {
			t.Fatalf("after %v: %d bytes written, %d flushed", ev.Kind, w.Body.Len(), w.flushedAt[n-1])
		}
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if w.flushedAt[len(w.flushedAt)-1] != w.Body.Len() {
		t.Errorf("the end was not flushed")
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type = %q", ct)
	}
	// Read back as Anthropic's stream.
	types, _ := parseSSE(t, w.Body.Bytes())
	wantTypes := []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if d := cmp.Diff(wantTypes, types); d != "" {
		t.Errorf("event types (-want +got):\n%s", d)
	}
	got, dec, err := decodeStream(t, w.Body.Bytes())
	if err != nil || !dec.Done() {
		t.Fatalf("decoding the written stream: %v (done %v)", err, dec.Done())
	}
	var acc canon.Accumulator
	for _, ev := range got {
		if err := acc.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	r := acc.Response()
	want := []canon.Part{
		{Kind: canon.PartThinking, Text: "Hmm.", Signature: "sig"},
		canon.TextPart(`Hello "you"`),
		canon.ToolCallPart("call_1", "get_weather", []byte(`{"city":"Oslo"}`)),
	}
	if d := cmp.Diff(want, r.Choices[0].Parts); d != "" {
		t.Errorf("parts (-want +got):\n%s", d)
	}
	if r.ID != "chatcmpl-1" || r.Model != "gpt-x" || r.Choices[0].RawFinish != "tool_use" {
		t.Errorf("id %q model %q finish %q", r.ID, r.Model, r.Choices[0].RawFinish)
	}
	if u := (metering.Usage{InputTokens: 30, CachedInputTokens: 10, OutputTokens: 12}); dec.usage != u {
		t.Errorf("usage %+v; want %+v", dec.usage, u)
	}
}

func TestNewWriterWhole(t *testing.T) {
	w := httptest.NewRecorder()
	cw := FrontDoor{}.NewWriter(w, &providers.Request{Endpoint: providers.EndpointChat})
	for _, ev := range canonAnswer() {
		if err := cw.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if w.Body.Len() != 0 {
		t.Fatalf("wrote before Close: %q", w.Body)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", w.Header().Get("Content-Type"))
	}
	r, err := ResponseToCanon(w.Body.Bytes())
	if err != nil {
		t.Fatalf("ResponseToCanon(%s): %v", w.Body, err)
	}
	want := &canon.Response{ID: "chatcmpl-1", Model: "gpt-x", UsageKnown: true,
		Usage: metering.Usage{InputTokens: 30, CachedInputTokens: 10, OutputTokens: 12},
		Choices: []canon.Choice{{Finish: canon.FinishToolCalls, RawFinish: "tool_use", Parts: []canon.Part{
			{Kind: canon.PartThinking, Text: "Hmm.", Signature: "sig"},
			canon.TextPart(`Hello "you"`),
			canon.ToolCallPart("call_1", "get_weather", []byte(`{"city":"Oslo"}`)),
		}}}}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("answer (-want +got):\n%s", d)
	}
}

// The stream writer's output goes through sse.Reader unchanged: what a
// client's SDK parses.
func TestNewWriterStreamIsSSE(t *testing.T) {
	w := httptest.NewRecorder()
	cw := FrontDoor{}.NewWriter(w, &providers.Request{Stream: true})
	for _, ev := range canonAnswer() {
		_ = cw.Write(ev)
	}
	_ = cw.Close()
	rd := sse.NewReader(bytes.NewReader(w.Body.Bytes()), &sse.ReaderOptions{All: true})
	var raw []byte
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, ev.Raw...)
	}
	if !bytes.Equal(raw, w.Body.Bytes()) {
		t.Errorf("the stream has bytes outside its events")
	}
}
