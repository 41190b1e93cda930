package openai

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

// Response fixtures, written from the Chat Completions API reference.
var responseFixtures = []struct{ name, body string }{
	{"text with cached and reasoning usage", `{
		"id": "chatcmpl-A1", "object": "chat.completion", "created": 1760000000, "model": "gpt-4.1-2025-04-14",
		"choices": [{"index": 0, "message": {"role": "assistant", "content": "Bonjour !", "refusal": null, "annotations": []},
			"logprobs": null, "finish_reason": "stop"}],
		"usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
			"prompt_tokens_details": {"cached_tokens": 64, "audio_tokens": 0},
			"completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
		"service_tier": "default", "system_fingerprint": "fp_x"
	}`},
	{"two parallel tool calls", `{
		"id": "chatcmpl-B2", "object": "chat.completion", "created": 1760000001, "model": "gpt-4o",
		"choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
			{"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
			{"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"America/Lima\"}"}}
		]}, "logprobs": null, "finish_reason": "tool_calls"}],
		"usage": {"prompt_tokens": 80, "completion_tokens": 40, "total_tokens": 120,
			"prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 50}, "completion_tokens_details": {"reasoning_tokens": 0}}
	}`},
	{"refusal", `{"id": "c3", "object": "chat.completion", "created": 1760000002, "model": "gpt-4o",
		"choices": [{"index": 0, "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}, "finish_reason": "stop"}]}`},
	{"two choices, one cut short", `{"id": "c4", "object": "chat.completion", "created": 1760000003, "model": "gpt-4o-mini",
		"choices": [
			{"index": 1, "message": {"role": "assistant", "content": "Second"}, "finish_reason": "length"},
			{"index": 0, "message": {"role": "assistant", "content": "First"}, "finish_reason": "content_filter"}
		],
		"usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}`},
	{"text and a tool call, odd finish", `{"id": "c5", "object": "chat.completion", "created": 1760000004, "model": "local",
		"choices": [{"index": 0, "message": {"role": "assistant", "content": "Let me check.", "tool_calls": [
			{"id": "x", "type": "function", "function": {"name": "f", "arguments": "not json"}}]}, "finish_reason": "abort"}]}`},
}

func TestResponseRoundTrip(t *testing.T) {
	for _, tc := range responseFixtures {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ResponseToCanon([]byte(tc.body))
			if err != nil {
				t.Fatalf("ResponseToCanon: %v", err)
			}
			out, err := ResponseFromCanon(r)
			if err != nil {
				t.Fatalf("ResponseFromCanon: %v", err)
			}
			if d := cmp.Diff(projectResponse(t, []byte(tc.body)), projectResponse(t, out)); d != "" {
				t.Errorf("round trip changed the answer (-in +out):\n%s\nout: %s", d, out)
			}
			r2, err := ResponseToCanon(out)
			if err != nil {
				t.Fatalf("ResponseToCanon(out): %v", err)
			}
			if d := cmp.Diff(r, r2, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("second decode differs (-first +second):\n%s", d)
			}
		})
	}
}

func TestResponseToCanon(t *testing.T) {
	r, err := ResponseToCanon([]byte(responseFixtures[1].body))
	if err != nil {
		t.Fatal(err)
	}
	want := &canon.Response{
		ID: "chatcmpl-B2", Model: "gpt-4o", Created: time.Unix(1760000001, 0),
		Choices: []canon.Choice{{Index: 0, Finish: canon.FinishToolCalls, RawFinish: "tool_calls", Parts: []canon.Part{
			canon.ToolCallPart("call_a", "get_weather", json.RawMessage(`{"city":"Oslo"}`)),
			canon.ToolCallPart("call_b", "get_time", json.RawMessage(`{"tz":"America/Lima"}`)),
		}}},
		Usage:      metering.Usage{InputTokens: 80, OutputTokens: 40, CacheCreationTokens: 50},
		UsageKnown: true,
	}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	r, err = ResponseToCanon([]byte(responseFixtures[3].body))
	if err != nil {
		t.Fatal(err)
	}
	got := []canon.Choice{}
	for _, c := range r.Choices {
		got = append(got, canon.Choice{Index: c.Index, Finish: c.Finish, Parts: c.Parts})
	}
	wantChoices := []canon.Choice{
		{Index: 0, Finish: canon.FinishContentFilter, Parts: []canon.Part{canon.TextPart("First")}},
		{Index: 1, Finish: canon.FinishLength, Parts: []canon.Part{canon.TextPart("Second")}},
	}
	if d := cmp.Diff(wantChoices, got); d != "" {
		t.Errorf("choices not in index order (-want +got):\n%s", d)
	}
	r, err = ResponseToCanon([]byte(responseFixtures[4].body))
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Choices[0]; c.Finish != canon.FinishOther || c.RawFinish != "abort" || r.UsageKnown {
		t.Errorf("got finish %v %q, usage known %v; want other \"abort\", false", c.Finish, c.RawFinish, r.UsageKnown)
	}
}

func TestResponseFromCanon(t *testing.T) {
	r := &canon.Response{
		ID: "msg_1", Model: "claude-x",
		Choices: []canon.Choice{{Parts: []canon.Part{
			{Kind: canon.PartThinking, Text: "hidden", Signature: "s"},
			canon.TextPart("Hello, "),
			canon.ToolCallPart("tu_1", "lookup", json.RawMessage(`{"q":"x"}`)),
			canon.TextPart("world."),
		}, Finish: canon.FinishOther, RawFinish: "pause_turn"}},
		Usage:      metering.Usage{InputTokens: 10, OutputTokens: 5, ReasoningTokens: 2, CachedInputTokens: 3},
		UsageKnown: true,
	}
	out, err := ResponseFromCanon(r)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"msg_1","object":"chat.completion","created":0,"model":"claude-x","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":"Hello, world.","refusal":null,` +
		`"tool_calls":[{"id":"tu_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}]},` +
		`"logprobs":null,"finish_reason":"pause_turn"}],` +
		`"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":3},` +
		`"completion_tokens_details":{"reasoning_tokens":2}}}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}

	r = &canon.Response{Choices: []canon.Choice{{}}}
	out, err = ResponseFromCanon(r)
	if err != nil {
		t.Fatal(err)
	}
	const wantEmpty = `{"id":"","object":"chat.completion","created":0,"model":"","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":null,"refusal":null},"logprobs":null,"finish_reason":null}]}`
	if string(out) != wantEmpty {
		t.Errorf("got  %s\nwant %s", out, wantEmpty)
	}

	for _, p := range []canon.Part{canon.ImageURLPart("https://x"), canon.ToolResultPart("c")} {
		r = &canon.Response{Choices: []canon.Choice{{Parts: []canon.Part{p}}}}
		if out, err := ResponseFromCanon(r); err == nil {
			t.Errorf("ResponseFromCanon with a %s part = %s; want an error", p.Kind, out)
		}
	}
}

func TestResponseToCanonRejects(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"not JSON", `{"id":"zq-canary-7731"`},
		{"not an object", `"zq-canary-7731"`},
		{"id type", `{"id":1}`},
		{"choices type", `{"choices":{"zq-canary-7731":1}}`},
		{"choice index", `{"choices":[{"index":-1}]}`},
		{"content type", `{"choices":[{"message":{"content":["zq-canary-7731"]}}]}`},
		{"tool call type", `{"choices":[{"message":{"tool_calls":[{"type":"custom","custom":{"name":"zq-canary-7731"}}]}}]}`},
		{"audio", `{"choices":[{"message":{"audio":{"id":"a","data":"zq-canary-7731"}}}]}`},
		{"function call", `{"choices":[{"message":{"function_call":{"name":"zq-canary-7731","arguments":"{}"}}}]}`},
		{"usage count", `{"usage":{"prompt_tokens":"zq-canary-7731"}}`},
		{"usage negative", `{"usage":{"completion_tokens":-1}}`},
		{"usage details", `{"usage":{"prompt_tokens_details":[1]}}`},
		{"created", `{"created":"zq-canary-7731"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ResponseToCanon([]byte(tc.body))
			if err == nil {
				t.Fatalf("ResponseToCanon accepted it: %+v", r)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error quotes the body: %v", err)
			}
		})
	}
	if _, err := ResponseToCanon([]byte(`{"usage":"x"}`)); !errors.Is(err, errResponse) {
		t.Errorf("got %v; want errResponse", err)
	}
}

// projectResponse decodes a chat.completion and keeps what the canonical
// form carries, in one spelling: missing and null as their zero values,
// choices in index order, tool call types left out (always "function"),
// usage as its five counts.
func projectResponse(t testing.TB, body []byte) any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	str := func(x any) any {
		if x == nil {
			return ""
		}
		return x
	}
	num := func(x any) any {
		if x == nil {
			return 0.0
		}
		return x
	}
	out := map[string]any{"id": str(v["id"]), "model": str(v["model"]), "created": num(v["created"])}
	type choice struct {
		index float64
		v     map[string]any
	}
	var choices []choice
	cs, _ := v["choices"].([]any)
	for i, c := range cs {
		c := c.(map[string]any)
		idx := float64(i)
		if n, ok := c["index"].(float64); ok {
			idx = n
		}
		pc := map[string]any{"index": idx, "finish_reason": str(c["finish_reason"])}
		m, _ := c["message"].(map[string]any)
		pc["content"], pc["refusal"] = m["content"], m["refusal"]
		var calls []any
		tcs, _ := m["tool_calls"].([]any)
		for _, tc := range tcs {
			tc := tc.(map[string]any)
			fn, _ := tc["function"].(map[string]any)
			calls = append(calls, map[string]any{"id": str(tc["id"]), "name": str(fn["name"]), "arguments": str(fn["arguments"])})
		}
		pc["tool_calls"] = calls
		choices = append(choices, choice{idx, pc})
	}
	slices.SortStableFunc(choices, func(a, b choice) int { return int(a.index - b.index) })
	var list []any
	for _, c := range choices {
		list = append(list, c.v)
	}
	out["choices"] = list
	if u, ok := v["usage"].(map[string]any); ok {
		pd, _ := u["prompt_tokens_details"].(map[string]any)
		cd, _ := u["completion_tokens_details"].(map[string]any)
		out["usage"] = []any{num(u["prompt_tokens"]), num(u["completion_tokens"]),
			num(pd["cached_tokens"]), num(pd["cache_write_tokens"]), num(cd["reasoning_tokens"])}
	}
	return out
}

func FuzzResponseRoundTrip(f *testing.F) {
	for _, tc := range responseFixtures {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`{"choices":[{"message":{"content":"","refusal":""}},{"index":0}],"usage":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ResponseToCanon(body)
		if err != nil {
			return
		}
		out, err := ResponseFromCanon(r)
		if err != nil {
			t.Fatalf("ResponseFromCanon refused what ResponseToCanon accepted: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
		r2, err := ResponseToCanon(out)
		if err != nil {
			t.Fatalf("ResponseToCanon(out): %v\nout: %s", err, out)
		}
		if d := cmp.Diff(r, r2, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("second decode differs (-first +second):\n%s\nout: %s", d, out)
		}
		if d := cmp.Diff(projectResponse(t, body), projectResponse(t, out)); d != "" {
			t.Fatalf("round trip changed the answer (-in +out):\n%s\nout: %s", d, out)
		}
	})
}
