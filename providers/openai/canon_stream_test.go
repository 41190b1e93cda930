package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

// streamOf frames chunk bodies as an SSE stream. Each body is the part of
// a chunk after its common head ("choices": … and whatever follows);
// "[DONE]" is written as is.
func streamOf(id string, created int64, model string, bodies ...string) string {
	var b strings.Builder
	for _, body := range bodies {
		if body == "[DONE]" {
			b.WriteString("data: [DONE]\n\n")
			continue
		}
		fmt.Fprintf(&b, `data: {"id":%q,"object":"chat.completion.chunk","created":%d,"model":%q,"system_fingerprint":"fp_9",%s}`+"\n\n",
			id, created, model, body)
	}
	return b.String()
}

// Stream fixtures, written from the Chat Completions streaming reference:
// the shapes OpenAI sends, and a few that OpenAI-compatible servers send.
var streamFixtures = []struct{ name, stream string }{
	{"text with usage", streamOf("chatcmpl-S1", 1760000100, "gpt-4.1",
		`"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Qx"`,
		`"choices":[{"index":0,"delta":{"content":"The quick"},"logprobs":null,"finish_reason":null}],"usage":null`,
		`"choices":[{"index":0,"delta":{"content":" brown \"fox\"\n"},"logprobs":null,"finish_reason":null}],"usage":null`,
		`"choices":[{"index":0,"delta":{"content":" jumps \u00e9 \ud83e\udd8a"},"logprobs":null,"finish_reason":null}],"usage":null`,
		`"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null`,
		`"choices":[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}`,
		"[DONE]")},
	{"two parallel tool calls, interleaved", streamOf("chatcmpl-T2", 1760000200, "gpt-4o",
		`"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_oslo","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_lima","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"city\":\"Li"}}]},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"ma\"}"}},{"index":0,"function":{"arguments":"\"Oslo\"}"}}]},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]`,
		`"choices":[],"usage":{"prompt_tokens":82,"completion_tokens":36,"total_tokens":118,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":8}}`,
		"[DONE]")},
	{"text then a tool call", streamOf("chatcmpl-T3", 1760000300, "gpt-4o-mini",
		`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{"content":"Checking."},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"search","arguments":"{\"q\":"}}]},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"go\"}"}}]},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]`,
		"[DONE]")},
	{"two choices", streamOf("chatcmpl-N2", 1760000400, "gpt-4o",
		`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]`,
		`"choices":[{"index":1,"delta":{"role":"assistant","content":""},"finish_reason":null}]`,
		`"choices":[{"index":1,"delta":{"content":"Beta"},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{"content":"Alpha"},"finish_reason":null}]`,
		`"choices":[{"index":1,"delta":{},"finish_reason":"length"}]`,
		`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]`,
		"[DONE]")},
	{"refusal", streamOf("chatcmpl-R", 1760000500, "gpt-4o",
		`"choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{"refusal":"I can't "},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{"refusal":"help with that."},"finish_reason":null}]`,
		`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]`,
		"[DONE]")},
	{"usage in the finishing chunk, odd reason", streamOf("x", 0, "local-llm",
		`"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"abort"}],"usage":{"prompt_tokens":3,"completion_tokens":1}`,
		"[DONE]")},
	{"error mid-stream", streamOf("chatcmpl-E", 1760000600, "gpt-4o",
		`"choices":[{"index":0,"delta":{"role":"assistant","content":"Par"},"finish_reason":null}]`) +
		`data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}` + "\n\n"},
	{"cut short", streamOf("chatcmpl-C", 1760000700, "gpt-4o",
		`"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":"{"}}]},"finish_reason":null}]`)},
}

// quirkFixtures are streams from OpenAI-compatible servers that stretch
// the format: every delta repeats the call's id and name; parallel calls
// share index 0 and differ by id.
var quirkFixtures = []struct{ name, stream string }{
	{"id and name on every delta", streamOf("q1", 1, "m",
		`"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_9","type":"function","function":{"name":"f","arguments":""}}]}}]`,
		`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_9","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}}]`,
		`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_9","type":"function","function":{"name":"f","arguments":"1}"}}]}}]`,
		`"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]`,
		"[DONE]")},
	{"parallel calls at one index", streamOf("q2", 1, "m",
		`"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]}}]`,
		`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_b","type":"function","function":{"name":"g","arguments":"{\"y\":"}}]}}]`,
		`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"2}"}}]}}]`,
		`"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]`,
		"[DONE]")},
}

// sseData returns the data of each event of an SSE stream.
func sseData(t testing.TB, stream []byte) [][]byte {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(stream), nil)
	var out [][]byte
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading SSE: %v", err)
		}
		out = append(out, slices.Clone(ev.Data))
	}
}

// decodeAll decodes every event of an SSE stream, keeping copies.
func decodeAll(t testing.TB, stream []byte) ([]canon.Event, *StreamDecoder, error) {
	t.Helper()
	var dec StreamDecoder
	var evs []canon.Event
	for _, data := range sseData(t, stream) {
		err := dec.Decode(data, func(e canon.Event) error {
			evs = append(evs, e.Clone())
			return nil
		})
		if err != nil {
			return evs, &dec, err
		}
	}
	return evs, &dec, nil
}

// encodeAll encodes events as an OpenAI stream, with usage, closing it if
// done.
func encodeAll(t testing.TB, evs []canon.Event, done bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := NewStreamEncoder(&buf, &StreamOptions{IncludeUsage: true})
	for _, e := range evs {
		if err := enc.Encode(e); err != nil {
			t.Fatalf("Encode(%s): %v", e.Kind, err)
		}
	}
	if done {
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// usageAtClose rewrites a decoded event sequence as the StreamEncoder
// writes it: the usage events dropped but for the last, which moves to
// where Close writes it, right before [DONE] (whose part stops end the
// sequence), or none at all if the stream is not closed.
func usageAtClose(evs []canon.Event, closed bool) []canon.Event {
	var out []canon.Event
	var last *canon.Event
	for i := range evs {
		if evs[i].Kind == canon.EventUsage {
			last = &evs[i]
			continue
		}
		out = append(out, evs[i])
	}
	if last == nil || !closed {
		return out
	}
	k := len(out)
	for k > 0 && out[k-1].Kind == canon.EventPartStop {
		k--
	}
	return slices.Insert(out, k, *last)
}

func TestStreamDecode(t *testing.T) {
	evs, dec, err := decodeAll(t, []byte(streamFixtures[1].stream))
	if err != nil {
		t.Fatal(err)
	}
	if !dec.Done() {
		t.Error("Done() = false after [DONE]")
	}
	const c = 0
	want := []canon.Event{
		{Kind: canon.EventStart, ID: "chatcmpl-T2", Model: "gpt-4o", Created: time.Unix(1760000200, 0)},
		{Kind: canon.EventPartStart, Choice: c, Index: 0, PartKind: canon.PartToolCall, ID: "call_oslo", Name: "get_weather"},
		{Kind: canon.EventPartStart, Choice: c, Index: 1, PartKind: canon.PartToolCall, ID: "call_lima", Name: "get_weather"},
		{Kind: canon.EventPartDelta, Choice: c, Index: 0, Text: []byte(`{"city":`)},
		{Kind: canon.EventPartDelta, Choice: c, Index: 1, Text: []byte(`{"city":"Li`)},
		{Kind: canon.EventPartDelta, Choice: c, Index: 1, Text: []byte(`ma"}`)},
		{Kind: canon.EventPartDelta, Choice: c, Index: 0, Text: []byte(`"Oslo"}`)},
		{Kind: canon.EventPartStop, Choice: c, Index: 0},
		{Kind: canon.EventPartStop, Choice: c, Index: 1},
		{Kind: canon.EventFinish, Choice: c, Finish: canon.FinishToolCalls, RawFinish: "tool_calls"},
		{Kind: canon.EventUsage, Usage: metering.Usage{InputTokens: 82, OutputTokens: 36, CachedInputTokens: 64, ReasoningTokens: 8}},
	}
	if d := cmp.Diff(want, evs); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestStreamDecodeQuirks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		calls []canon.ToolCall
	}{
		{"id and name on every delta", []canon.ToolCall{{ID: "call_9", Name: "f", Arguments: json.RawMessage(`{"a":1}`)}}},
		{"parallel calls at one index", []canon.ToolCall{
			{ID: "call_a", Name: "f", Arguments: json.RawMessage(`{"x":1}`)},
			{ID: "call_b", Name: "g", Arguments: json.RawMessage(`{"y":2}`)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stream string
			for _, f := range quirkFixtures {
				if f.name == tc.name {
					stream = f.stream
				}
			}
			evs, _, err := decodeAll(t, []byte(stream))
			if err != nil {
				t.Fatal(err)
			}
			starts := 0
			for _, e := range evs {
				if e.Kind == canon.EventPartStart {
					starts++
				}
			}
			if starts != len(tc.calls) {
				t.Errorf("got %d part starts; want %d", starts, len(tc.calls))
			}
			r := accumulate(t, evs)
			var calls []canon.ToolCall
			for _, p := range r.Choices[0].Parts {
				calls = append(calls, p.ToolCall)
			}
			if d := cmp.Diff(tc.calls, calls); d != "" {
				t.Errorf("tool calls (-want +got):\n%s", d)
			}
			// The encoder writes them as OpenAI does: distinct indexes,
			// id and name once each.
			out := encodeAll(t, evs, true)
			got := clientView(t, out)
			if d := cmp.Diff(toolCallsOf(tc.calls), got.Choices[0].Calls); d != "" {
				t.Errorf("client's tool calls (-want +got):\n%s", d)
			}
			checkChunks(t, out)
		})
	}
}

func accumulate(t testing.TB, evs []canon.Event) *canon.Response {
	t.Helper()
	var a canon.Accumulator
	for _, e := range evs {
		if err := a.Add(e); err != nil {
			t.Fatalf("Accumulator.Add(%s): %v", e.Kind, err)
		}
	}
	return a.Response()
}

// client is what an OpenAI client assembles from a stream, the way the
// official SDKs accumulate chunks: content and refusal concatenated per
// choice, tool calls merged by their index.
type client struct {
	ID, Model string
	Created   float64
	Choices   []clientChoice
	Usage     []float64
	Error     map[string]any
	Done      bool
}

type clientChoice struct {
	Content, Refusal, Finish string
	Calls                    []clientCall
}

type clientCall struct{ ID, Name, Args string }

func toolCallsOf(calls []canon.ToolCall) []clientCall {
	var out []clientCall
	for _, c := range calls {
		out = append(out, clientCall{c.ID, c.Name, string(c.Arguments)})
	}
	return out
}

func clientView(t testing.TB, stream []byte) client {
	t.Helper()
	var cl client
	type callKey struct{ choice, index int }
	calls := map[callKey]*clientCall{}
	var order []callKey
	for _, data := range sseData(t, stream) {
		if string(data) == "[DONE]" {
			cl.Done = true
			continue
		}
		var chunk struct {
			ID      string  `json:"id"`
			Model   string  `json:"model"`
			Created float64 `json:"created"`
			Choices []struct {
				Index int `json:"index"`
				Delta struct {
					Content   *string `json:"content"`
					Refusal   *string `json:"refusal"`
					ToolCalls []struct {
						Index    int    `json:"index"`
						ID       string `json:"id"`
						Function struct {
							Name      string `json:"name"`
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				Prompt     float64 `json:"prompt_tokens"`
				Completion float64 `json:"completion_tokens"`
				PD         struct {
					Cached float64 `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
				CD struct {
					Reasoning float64 `json:"reasoning_tokens"`
				} `json:"completion_tokens_details"`
			} `json:"usage"`
			Error map[string]any `json:"error"`
		}
		if err := json.Unmarshal(data, &chunk); err != nil {
			t.Fatalf("chunk is not JSON: %v: %s", err, data)
		}
		if chunk.Error != nil {
			cl.Error = chunk.Error
			continue
		}
		cl.ID, cl.Model, cl.Created = chunk.ID, chunk.Model, chunk.Created
		for _, c := range chunk.Choices {
			for len(cl.Choices) <= c.Index {
				cl.Choices = append(cl.Choices, clientChoice{})
			}
			ch := &cl.Choices[c.Index]
			if c.Delta.Content != nil {
				ch.Content += *c.Delta.Content
			}
			if c.Delta.Refusal != nil {
				ch.Refusal += *c.Delta.Refusal
			}
			for _, tc := range c.Delta.ToolCalls {
				k := callKey{c.Index, tc.Index}
				call, ok := calls[k]
				if !ok {
					call = &clientCall{}
					calls[k] = call
					order = append(order, k)
				}
				if tc.ID != "" {
					call.ID = tc.ID
				}
				call.Name += tc.Function.Name
				call.Args += tc.Function.Arguments
			}
			if c.FinishReason != nil {
				ch.Finish = *c.FinishReason
			}
		}
		if u := chunk.Usage; u != nil {
			cl.Usage = []float64{u.Prompt, u.Completion, u.PD.Cached, u.CD.Reasoning}
		}
	}
	slices.SortStableFunc(order, func(a, b callKey) int { return a.index - b.index })
	for _, k := range order {
		cl.Choices[k.choice].Calls = append(cl.Choices[k.choice].Calls, *calls[k])
	}
	return cl
}

// checkChunks checks the framing every encoded stream must have: every
// chunk has the same id, object, created and model; the first chunk of
// each choice carries the role; a tool call's id, type and name come once,
// on its first delta; nothing follows a choice's finish; [DONE] is last.
func checkChunks(t *testing.T, stream []byte) {
	t.Helper()
	var head map[string]any
	roles := map[float64]bool{}
	finished := map[float64]bool{}
	heads := map[[2]float64]int{}
	datas := sseData(t, stream)
	for n, data := range datas {
		if string(data) == "[DONE]" {
			if n != len(datas)-1 {
				t.Errorf("[DONE] is event %d of %d", n, len(datas))
			}
			continue
		}
		var chunk map[string]any
		if err := json.Unmarshal(data, &chunk); err != nil {
			t.Fatalf("chunk is not JSON: %s", data)
		}
		if _, ok := chunk["error"]; ok {
			continue
		}
		h := map[string]any{"id": chunk["id"], "object": chunk["object"], "created": chunk["created"], "model": chunk["model"]}
		if head == nil {
			head = h
			if h["object"] != "chat.completion.chunk" {
				t.Errorf("object %v; want chat.completion.chunk", h["object"])
			}
		} else if d := cmp.Diff(head, h); d != "" {
			t.Errorf("chunk %d head differs (-first +this):\n%s", n, d)
		}
		for _, c := range chunk["choices"].([]any) {
			c := c.(map[string]any)
			idx := c["index"].(float64)
			if finished[idx] {
				t.Errorf("chunk %d continues finished choice %v", n, idx)
			}
			delta := c["delta"].(map[string]any)
			if !roles[idx] {
				if delta["role"] != "assistant" {
					t.Errorf("first chunk of choice %v has no role: %s", idx, data)
				}
				roles[idx] = true
			} else if _, ok := delta["role"]; ok {
				t.Errorf("chunk %d repeats the role", n)
			}
			calls, _ := delta["tool_calls"].([]any)
			for _, tc := range calls {
				tc := tc.(map[string]any)
				k := [2]float64{idx, tc["index"].(float64)}
				_, hasID := tc["id"]
				fn, _ := tc["function"].(map[string]any)
				_, hasName := fn["name"]
				if hasID != hasName || (hasID != (tc["type"] == "function")) {
					t.Errorf("chunk %d: id, type and name not together: %s", n, data)
				}
				if hasID {
					heads[k]++
				} else if heads[k] == 0 {
					t.Errorf("chunk %d: arguments before the call's first delta: %s", n, data)
				}
			}
			if c["finish_reason"] != nil {
				finished[idx] = true
			}
		}
	}
	for k, n := range heads {
		if n != 1 {
			t.Errorf("tool call %v: id and name sent %d times; want once", k, n)
		}
	}
}

func TestStreamRoundTrip(t *testing.T) {
	for n, tc := range append(slices.Clone(streamFixtures), quirkFixtures...) {
		quirk := n >= len(streamFixtures)
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.stream)
			evs, dec, err := decodeAll(t, in)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			out := encodeAll(t, evs, dec.Done())
			evs2, dec2, err := decodeAll(t, out)
			if err != nil {
				t.Fatalf("decode of the re-encoded stream: %v\n%s", err, out)
			}
			if d := cmp.Diff(usageAtClose(evs, dec.Done()), evs2); d != "" {
				t.Errorf("events differ after re-encoding (-first +second):\n%s", d)
			}
			if dec.Done() != dec2.Done() {
				t.Errorf("Done: got %v after re-encoding; want %v", dec2.Done(), dec.Done())
			}
			// What a client assembles is the same from both streams:
			// content, refusals, tool calls by index, finish reasons, usage.
			// (The quirky streams are what clients get wrong; see
			// TestStreamDecodeQuirks.)
			if d := cmp.Diff(clientView(t, in), clientView(t, out)); !quirk && d != "" {
				t.Errorf("client's view differs (-upstream +re-encoded):\n%s", d)
			}
			checkChunks(t, out)
		})
	}
}

// TestStreamToolCalls checks the reassembled answer of the parallel tool
// call fixture, through the canonical Accumulator and through a client's
// eyes.
func TestStreamToolCalls(t *testing.T) {
	evs, _, err := decodeAll(t, []byte(streamFixtures[1].stream))
	if err != nil {
		t.Fatal(err)
	}
	r := accumulate(t, evs)
	want := &canon.Response{
		ID: "chatcmpl-T2", Model: "gpt-4o", Created: time.Unix(1760000200, 0),
		Choices: []canon.Choice{{Finish: canon.FinishToolCalls, RawFinish: "tool_calls", Parts: []canon.Part{
			canon.ToolCallPart("call_oslo", "get_weather", json.RawMessage(`{"city":"Oslo"}`)),
			canon.ToolCallPart("call_lima", "get_weather", json.RawMessage(`{"city":"Lima"}`)),
		}}},
		Usage:      metering.Usage{InputTokens: 82, OutputTokens: 36, CachedInputTokens: 64, ReasoningTokens: 8},
		UsageKnown: true,
	}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("accumulated (-want +got):\n%s", d)
	}
	got := clientView(t, encodeAll(t, evs, true))
	wantClient := client{ID: "chatcmpl-T2", Model: "gpt-4o", Created: 1760000200, Done: true,
		Choices: []clientChoice{{Finish: "tool_calls", Calls: []clientCall{
			{"call_oslo", "get_weather", `{"city":"Oslo"}`}, {"call_lima", "get_weather", `{"city":"Lima"}`},
		}}},
		Usage: []float64{82, 36, 64, 8},
	}
	if d := cmp.Diff(wantClient, got); d != "" {
		t.Errorf("client view (-want +got):\n%s", d)
	}
}

// TestStreamEncoderFromOtherDialect writes the event sequence another
// dialect's decoder produces (Anthropic's: thinking, text, two tool calls
// whose deltas interleave, sparse part indexes) and checks the exact
// bytes.
func TestStreamEncoderFromOtherDialect(t *testing.T) {
	var buf bytes.Buffer
	enc := NewStreamEncoder(&buf, nil)
	evs := []canon.Event{
		{Kind: canon.EventStart, ID: "msg_01", Model: "claude-x", Created: time.Unix(1700000000, 0)},
		{Kind: canon.EventPartStart, Index: 0, PartKind: canon.PartThinking},
		{Kind: canon.EventPartDelta, Index: 0, Text: []byte("secret")},
		{Kind: canon.EventPartDelta, Index: 0, Signature: "sig"},
		{Kind: canon.EventPartStop, Index: 0},
		{Kind: canon.EventPartStart, Index: 1, PartKind: canon.PartText},
		{Kind: canon.EventPartDelta, Index: 1, Text: []byte("Hi")},
		{Kind: canon.EventPartStop, Index: 1},
		{Kind: canon.EventPartStart, Index: 3, PartKind: canon.PartToolCall, ID: "toolu_a", Name: "f"},
		{Kind: canon.EventPartStart, Index: 2, PartKind: canon.PartToolCall, ID: "toolu_b", Name: "g"},
		{Kind: canon.EventPartDelta, Index: 2, Text: []byte(`{"b":`)},
		{Kind: canon.EventPartDelta, Index: 3, Text: []byte(`{"a":1}`)},
		{Kind: canon.EventPartDelta, Index: 2, Text: []byte(`2}`)},
		{Kind: canon.EventPartStop, Index: 3},
		{Kind: canon.EventPartStop, Index: 2},
		{Kind: canon.EventFinish, Finish: canon.FinishToolCalls, RawFinish: "tool_use"},
		{Kind: canon.EventUsage, Usage: metering.Usage{InputTokens: 1, OutputTokens: 2}},
	}
	for _, e := range evs {
		if err := enc.Encode(e); err != nil {
			t.Fatalf("Encode(%s): %v", e.Kind, err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	const h = `data: {"id":"msg_01","object":"chat.completion.chunk","created":1700000000,"model":"claude-x","choices":[{"index":0,"delta":{`
	want := h + `"role":"assistant"},"finish_reason":null}]}` + "\n\n" +
		h + `"content":""},"finish_reason":null}]}` + "\n\n" +
		h + `"content":"Hi"},"finish_reason":null}]}` + "\n\n" +
		h + `"tool_calls":[{"index":0,"id":"toolu_a","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}` + "\n\n" +
		h + `"tool_calls":[{"index":1,"id":"toolu_b","type":"function","function":{"name":"g","arguments":""}}]},"finish_reason":null}]}` + "\n\n" +
		h + `"tool_calls":[{"index":1,"function":{"arguments":"{\"b\":"}}]},"finish_reason":null}]}` + "\n\n" +
		h + `"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]},"finish_reason":null}]}` + "\n\n" +
		h + `"tool_calls":[{"index":1,"function":{"arguments":"2}"}}]},"finish_reason":null}]}` + "\n\n" +
		h + `},"finish_reason":"tool_calls"}]}` + "\n\n" +
		"data: [DONE]\n\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	checkChunks(t, buf.Bytes())
}

func TestStreamEncoderUsage(t *testing.T) {
	evs, _, err := decodeAll(t, []byte(streamFixtures[0].stream))
	if err != nil {
		t.Fatal(err)
	}
	// Two usage events, as an Anthropic upstream reports them: the client
	// gets one usage chunk, the last, right before [DONE].
	first := canon.Event{Kind: canon.EventUsage, Usage: metering.Usage{InputTokens: 19, OutputTokens: 1}}
	evs = append(evs[:1], append([]canon.Event{first}, evs[1:]...)...)
	for _, include := range []bool{false, true} {
		var buf bytes.Buffer
		enc := NewStreamEncoder(&buf, &StreamOptions{IncludeUsage: include})
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if got := strings.Contains(out, `"usage":null`); got != include {
			t.Errorf("IncludeUsage %v: usage:null written %v", include, got)
		}
		const usage = `"choices":[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,` +
			`"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}` + "\n\ndata: [DONE]\n\n"
		if got := strings.HasSuffix(out, usage); got != include {
			t.Errorf("IncludeUsage %v: usage chunk before [DONE] %v:\n%s", include, got, out)
		}
		if n := strings.Count(out, `"choices":[]`); n > 1 {
			t.Errorf("IncludeUsage %v: %d usage chunks; want at most 1", include, n)
		}
	}
}

func TestStreamEncoderRefuses(t *testing.T) {
	start := canon.Event{Kind: canon.EventStart, ID: "x"}
	text := canon.Event{Kind: canon.EventPartStart, PartKind: canon.PartText}
	for _, tc := range []struct {
		name string
		evs  []canon.Event
		seq  bool // want canon.ErrSequence
	}{
		{"second start", []canon.Event{start, start}, true},
		{"part before start", []canon.Event{text}, true},
		{"part started twice", []canon.Event{start, text, text}, true},
		{"delta of no part", []canon.Event{start, {Kind: canon.EventPartDelta, Index: 1, Text: []byte("x")}}, true},
		{"delta after stop", []canon.Event{start, text, {Kind: canon.EventPartStop}, {Kind: canon.EventPartDelta, Text: []byte("x")}}, true},
		{"stop twice", []canon.Event{start, text, {Kind: canon.EventPartStop}, {Kind: canon.EventPartStop}}, true},
		{"after finish", []canon.Event{start, {Kind: canon.EventFinish}, text}, true},
		{"finish twice", []canon.Event{start, {Kind: canon.EventFinish}, {Kind: canon.EventFinish}}, true},
		{"choice out of range", []canon.Event{start, {Kind: canon.EventPartStart, Choice: canon.MaxChoices, PartKind: canon.PartText}}, true},
		{"part out of range", []canon.Event{start, {Kind: canon.EventPartStart, Index: canon.MaxParts, PartKind: canon.PartText}}, true},
		{"unknown kind", []canon.Event{start, {Kind: 99}}, true},
		{"image part", []canon.Event{start, {Kind: canon.EventPartStart, PartKind: canon.PartImage}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := NewStreamEncoder(&buf, nil)
			var err error
			n := 0
			for _, e := range tc.evs {
				before := buf.Len()
				if err = enc.Encode(e); err != nil {
					if buf.Len() != before {
						t.Errorf("refused event wrote %q", buf.String()[before:])
					}
					break
				}
				n++
			}
			if n != len(tc.evs)-1 || err == nil {
				t.Fatalf("got %d events accepted, error %v; want all but the last refused", n, err)
			}
			if got := errors.Is(err, canon.ErrSequence); got != tc.seq {
				t.Errorf("errors.Is(%v, ErrSequence) = %v; want %v", err, got, tc.seq)
			}
		})
	}
	var buf bytes.Buffer
	enc := NewStreamEncoder(&buf, nil)
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := enc.Encode(start); !errors.Is(err, canon.ErrSequence) {
		t.Errorf("Encode after Close: got %v; want ErrSequence", err)
	}
	if buf.String() != "data: [DONE]\n\n" {
		t.Errorf("got %q; want one [DONE]", buf.String())
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

func TestStreamEncoderWriteError(t *testing.T) {
	enc := NewStreamEncoder(&failWriter{n: 1}, nil)
	if err := enc.Encode(canon.Event{Kind: canon.EventStart}); err != nil {
		t.Fatal(err)
	}
	err := enc.Encode(canon.Event{Kind: canon.EventPartStart, PartKind: canon.PartText})
	if err == nil {
		t.Fatal("no error from a failed write")
	}
	if err2 := enc.Close(); err2 != err {
		t.Errorf("Close after a write error: got %v; want %v", err2, err)
	}
}

func TestStreamDecoderRefuses(t *testing.T) {
	const h = `{"id":"x","object":"chat.completion.chunk","created":1,"model":"m",`
	for _, tc := range []struct {
		name   string
		chunks []string
		seq    bool
	}{
		{"not JSON", []string{`{"choices":[` + canary}, false},
		{"not an object", []string{`[1]`}, false},
		{"after DONE", []string{"[DONE]", h + `"choices":[]}`}, true},
		{"content after finish", []string{h + `"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			h + `"choices":[{"index":0,"delta":{"content":"` + canary + `"}}]}`}, true},
		{"choice index", []string{h + `"choices":[{"index":128,"delta":{"content":"x"}}]}`}, true},
		{"content type", []string{h + `"choices":[{"index":0,"delta":{"content":["` + canary + `"]}}]}`}, false},
		{"audio", []string{h + `"choices":[{"index":0,"delta":{"audio":{"data":"` + canary + `"}}}]}`}, false},
		{"tool type", []string{h + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"type":"custom","id":"c"}]}}]}`}, false},
		{"id type", []string{`{"id":7}`}, false},
		{"usage type", []string{h + `"choices":[],"usage":{"prompt_tokens":"` + canary + `"}}`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dec StreamDecoder
			var err error
			for _, c := range tc.chunks {
				if err = dec.Decode([]byte(c), func(canon.Event) error { return nil }); err != nil {
					break
				}
			}
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, canon.ErrSequence) != tc.seq {
				t.Errorf("errors.Is(%v, ErrSequence) = %v; want %v", err, !tc.seq, tc.seq)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error quotes the body: %v", err)
			}
		})
	}
	// An error from emit stops decoding and comes back as is.
	stop := errors.New("stop")
	var dec StreamDecoder
	calls := 0
	err := dec.Decode([]byte(streamFixtures[1].stream[len("data: "):strings.Index(streamFixtures[1].stream, "\n\n")]), func(canon.Event) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("got %v after %d calls; want stop after 1", err, calls)
	}
}

func TestStreamDecoderReset(t *testing.T) {
	var dec StreamDecoder
	stream := []byte(streamFixtures[0].stream)
	first, _, err := decodeAll(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var evs []canon.Event
		for _, data := range sseData(t, stream) {
			if err := dec.Decode(data, func(e canon.Event) error { evs = append(evs, e.Clone()); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if d := cmp.Diff(first, evs); d != "" {
			t.Errorf("after Reset (-want +got):\n%s", d)
		}
		dec.Reset()
	}
}

// TestStreamError checks that an upstream error reaches the client whole.
func TestStreamError(t *testing.T) {
	evs, dec, err := decodeAll(t, []byte(streamFixtures[6].stream))
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	want := &canon.Error{Type: "server_error", Message: "The server had an error while processing your request."}
	if d := cmp.Diff(want, last.Error); last.Kind != canon.EventError || d != "" {
		t.Errorf("last event %s (-want +got):\n%s", last.Kind, d)
	}
	if dec.Done() {
		t.Error("Done() after an error without [DONE]")
	}
	for _, tc := range []struct {
		data string
		want *canon.Error
	}{
		{`{"error":{"message":"Rate limited","type":"requests","code":429}}`, &canon.Error{Type: "requests", Code: "429", Message: "Rate limited"}},
		{`{"error":{"message":"x","code":"bad"}}`, &canon.Error{Code: "bad", Message: "x"}},
		{`{"error":{}}`, &canon.Error{}},
	} {
		var dec StreamDecoder
		var got []canon.Event
		if err := dec.Decode([]byte(tc.data), func(e canon.Event) error { got = append(got, e.Clone()); return nil }); err != nil {
			t.Fatalf("Decode(%s): %v", tc.data, err)
		}
		if d := cmp.Diff([]canon.Event{{Kind: canon.EventError, Error: tc.want}}, got); d != "" {
			t.Errorf("Decode(%s) (-want +got):\n%s", tc.data, d)
		}
	}
	for _, bad := range []string{`{"error":[]}`, `{"error":{"code":1.5}}`, `{"error":{"message":1}}`} {
		var dec StreamDecoder
		if err := dec.Decode([]byte(bad), func(canon.Event) error { return nil }); err == nil {
			t.Errorf("Decode(%s): no error", bad)
		}
	}
	var buf bytes.Buffer
	enc := NewStreamEncoder(&buf, nil)
	if err := enc.Encode(canon.Event{Kind: canon.EventError, Error: &canon.Error{Status: 529, Type: "", Code: "overloaded", Message: "Overloaded"}}); err != nil {
		t.Fatal(err)
	}
	const wantOut = `data: {"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded"}}` + "\n\n"
	if buf.String() != wantOut {
		t.Errorf("got %q; want %q", buf.String(), wantOut)
	}
}

func FuzzStreamRoundTrip(f *testing.F) {
	for _, tc := range streamFixtures {
		f.Add([]byte(tc.stream))
	}
	for _, tc := range quirkFixtures {
		f.Add([]byte(tc.stream))
	}
	f.Add([]byte("data: {}\n\ndata: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"x\"}},{}]}}]}\n\ndata: [DONE]\n\n"))
	f.Fuzz(fuzzStreamBody)
}

// fuzzStreamBody is the body of FuzzStreamRoundTrip.
func fuzzStreamBody(t *testing.T, stream []byte) {
	rd := sse.NewReader(bytes.NewReader(stream), nil)
	var dec StreamDecoder
	var evs []canon.Event
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		if err := dec.Decode(ev.Data, func(e canon.Event) error { evs = append(evs, e.Clone()); return nil }); err != nil {
			return // not a stream the decoder accepts
		}
	}
	// What the decoder emits is a well-formed canonical stream.
	var a canon.Accumulator
	for _, e := range evs {
		if err := a.Add(e); err != nil {
			t.Fatalf("decoder emitted an ill-formed sequence: %v", err)
		}
	}
	out := encodeAll(t, evs, dec.Done())
	evs2, dec2, err := decodeAll(t, out)
	if err != nil {
		t.Fatalf("decode of the re-encoded stream: %v\n%s", err, out)
	}
	if d := cmp.Diff(usageAtClose(evs, dec.Done()), evs2); d != "" {
		t.Fatalf("events differ after re-encoding (-first +second):\n%s\nout:\n%s", d, out)
	}
	if dec.Done() != dec2.Done() {
		t.Fatalf("Done: got %v after re-encoding; want %v", dec2.Done(), dec.Done())
	}
	checkChunks(t, out)
}

// BenchmarkCanonStream measures one streamed event through the seam: an
// upstream content chunk decoded into canonical events and encoded for
// an OpenAI client.
func BenchmarkCanonStream(b *testing.B) {
	first := []byte(`{"id":"chatcmpl-B","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1",` +
		`"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x1"}`)
	chunk := []byte(`{"id":"chatcmpl-B","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1",` +
		`"choices":[{"index":0,"delta":{"content":" the quick brown"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Yq7"}`)
	var dec StreamDecoder
	enc := NewStreamEncoder(io.Discard, &StreamOptions{IncludeUsage: true})
	emit := enc.Encode
	if err := dec.Decode(first, emit); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if err := dec.Decode(chunk, emit); err != nil {
			b.Fatal(err)
		}
	}
}
