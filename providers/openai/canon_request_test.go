package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/wicket-gw/wicket/providers/canon"
)

// Request fixtures, written from the Chat Completions API reference. Each
// is a body a client may send; the round trip must keep its meaning.
var requestFixtures = []struct{ name, body string }{
	{"system, developer, explicit zero temperature", `{
		"model": "gpt-4.1",
		"messages": [
			{"role": "system", "content": "You answer in French."},
			{"role": "developer", "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use metric units."}]},
			{"role": "user", "content": "How tall is the Eiffel tower?"}
		],
		"temperature": 0
	}`},
	{"unset temperature, top_p given", `{
		"model": "gpt-4.1-mini",
		"messages": [{"role": "user", "content": "Say hi."}],
		"top_p": 0.9
	}`},
	{"parallel tool calls and their results", `{
		"model": "gpt-4o",
		"messages": [
			{"role": "user", "content": "Weather in Oslo and Lima?"},
			{"role": "assistant", "content": null, "tool_calls": [
				{"id": "call_oslo", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
				{"id": "call_lima", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lima\",\"unit\":\"c\"}"}}
			]},
			{"role": "tool", "tool_call_id": "call_oslo", "content": "-3 C, snow"},
			{"role": "tool", "tool_call_id": "call_lima", "content": [{"type": "text", "text": "19 C"}, {"type": "text", "text": ", cloudy"}]},
			{"role": "assistant", "content": "Oslo is snowy; Lima is mild."}
		],
		"tools": [
			{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city.",
				"parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}, "required": ["city"]},
				"strict": false}},
			{"type": "function", "function": {"name": "noop"}}
		],
		"tool_choice": "required",
		"parallel_tool_calls": true
	}`},
	{"images by URL and data URL", `{
		"model": "gpt-4o",
		"messages": [{"role": "user", "content": [
			{"type": "text", "text": "Compare these."},
			{"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "high"}},
			{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}}
		]}]
	}`},
	{"response format json_schema", `{
		"model": "gpt-4o",
		"messages": [{"role": "user", "content": "Extract the date."}],
		"response_format": {"type": "json_schema", "json_schema": {"name": "date", "description": "A calendar date.",
			"schema": {"type": "object", "properties": {"y": {"type": "integer"}}, "additionalProperties": false}, "strict": true}}
	}`},
	{"response format json_object and text", `{
		"model": "m", "messages": [{"role": "user", "content": "JSON please"}], "response_format": {"type": "json_object"}
	}`},
	{"response format text", `{"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "text"}}`},
	{"stop as string", `{"model": "m", "messages": [{"role": "user", "content": "count"}], "stop": "\n\n"}`},
	{"stop as array", `{"model": "m", "messages": [{"role": "user", "content": "count"}], "stop": ["END", "STOP"]}`},
	{"stream with usage off", `{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": true,
		"stream_options": {"include_usage": false}}`},
	{"max_tokens becomes max_completion_tokens", `{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 100}`},
	{"sampling and identity", `{"model": "o4-mini", "messages": [{"role": "user", "content": "x"}],
		"max_completion_tokens": 0, "n": 2, "seed": 42, "frequency_penalty": -0.5, "presence_penalty": 1.5,
		"user": "u-123", "reasoning_effort": "low", "logprobs": false, "store": false, "metadata": null}`},
	{"tool choice by name", `{"model": "m", "messages": [{"role": "user", "content": "x"}],
		"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
		"tool_choice": {"type": "function", "function": {"name": "f"}}}`},
	{"refusals", `{"model": "m", "messages": [
		{"role": "user", "content": "x"},
		{"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't help with that."}]},
		{"role": "assistant", "content": "Partly:", "refusal": "no more"},
		{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "refusal", "refusal": "b"}, {"type": "text", "text": "c"}]}
	]}`},
	{"escapes and unicode", `{"model": "m\u00e9", "messages": [{"role": "user", "content": "tab\there \"quoted\" \u2028 \ud83d\ude00 é"}]}`},
}

func TestRequestRoundTrip(t *testing.T) {
	for _, tc := range requestFixtures {
		t.Run(tc.name, func(t *testing.T) {
			r, perr := RequestToCanon([]byte(tc.body))
			if perr != nil {
				t.Fatalf("RequestToCanon: %v", perr)
			}
			out, err := RequestFromCanon(r)
			if err != nil {
				t.Fatalf("RequestFromCanon: %v", err)
			}
			if !json.Valid(out) {
				t.Fatalf("RequestFromCanon wrote invalid JSON: %s", out)
			}
			if d := cmp.Diff(normalizeRequest(t, []byte(tc.body)), normalizeRequest(t, out)); d != "" {
				t.Errorf("round trip changed the request (-in +out):\n%s\nout: %s", d, out)
			}
			r2, perr := RequestToCanon(out)
			if perr != nil {
				t.Fatalf("RequestToCanon(out): %v", perr)
			}
			if d := cmp.Diff(r, r2, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("second decode differs (-first +second):\n%s", d)
			}
		})
	}
}

// TestRequestFromCanonSpelling checks the spellings the normalizer
// forgives: the output cap, the stream options, the absence of unset
// values.
func TestRequestFromCanonSpelling(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"cap and stream", `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":7,"stream":true}`,
			`{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":7,"stream":true,"stream_options":{"include_usage":true}}`},
		{"unset stays unset", `{"model":"m","messages":[],"temperature":null,"stream":false,"stop":[]}`,
			`{"model":"m","messages":[]}`},
		{"zero stays zero", `{"model":"m","messages":[],"temperature":0,"top_p":0,"max_completion_tokens":0,"seed":0}`,
			`{"model":"m","messages":[],"max_completion_tokens":0,"temperature":0,"top_p":0,"seed":0}`},
		{"single text part becomes a string", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":"x"}]}`},
		{"stop string becomes array", `{"model":"m","messages":[],"stop":"x"}`, `{"model":"m","messages":[],"stop":["x"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, perr := RequestToCanon([]byte(tc.in))
			if perr != nil {
				t.Fatalf("RequestToCanon: %v", perr)
			}
			out, err := RequestFromCanon(r)
			if err != nil {
				t.Fatalf("RequestFromCanon: %v", err)
			}
			if string(out) != tc.want {
				t.Errorf("got %s; want %s", out, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRequestToCanon(t *testing.T) {
	r, perr := RequestToCanon([]byte(requestFixtures[2].body))
	if perr != nil {
		t.Fatal(perr)
	}
	want := &canon.Request{
		Model: "gpt-4o",
		Messages: []canon.Message{
			{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("Weather in Oslo and Lima?")}},
			{Role: canon.RoleAssistant, Parts: []canon.Part{
				canon.ToolCallPart("call_oslo", "get_weather", json.RawMessage(`{"city":"Oslo"}`)),
				canon.ToolCallPart("call_lima", "get_weather", json.RawMessage(`{"city":"Lima","unit":"c"}`)),
			}},
			{Role: canon.RoleTool, Parts: []canon.Part{canon.ToolResultPart("call_oslo", canon.TextPart("-3 C, snow"))}},
			{Role: canon.RoleTool, Parts: []canon.Part{canon.ToolResultPart("call_lima", canon.TextPart("19 C"), canon.TextPart(", cloudy"))}},
			{Role: canon.RoleAssistant, Parts: []canon.Part{canon.TextPart("Oslo is snowy; Lima is mild.")}},
		},
		Tools: []canon.Tool{
			{Name: "get_weather", Description: "Current weather for a city.",
				Parameters: json.RawMessage(`{"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}, "required": ["city"]}`),
				Strict:     ptr(false)},
			{Name: "noop"},
		},
		ToolChoice:        canon.ToolChoice{Mode: canon.ToolChoiceRequired},
		ParallelToolCalls: ptr(true),
	}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("RequestToCanon (-want +got):\n%s", d)
	}

	r, perr = RequestToCanon([]byte(requestFixtures[0].body))
	if perr != nil {
		t.Fatal(perr)
	}
	if r.Temperature == nil || *r.Temperature != 0 || r.TopP != nil {
		t.Errorf("got temperature %v, top_p %v; want explicit 0 and unset", r.Temperature, r.TopP)
	}
	r, perr = RequestToCanon([]byte(requestFixtures[3].body))
	if perr != nil {
		t.Fatal(perr)
	}
	wantParts := []canon.Part{
		canon.TextPart("Compare these."),
		{Kind: canon.PartImage, Image: canon.Image{URL: "https://example.com/a.png", Detail: "high"}},
		canon.ImageDataPart("image/jpeg", "/9j/4AAQSkZJRg=="),
	}
	if d := cmp.Diff(wantParts, r.Messages[0].Parts); d != "" {
		t.Errorf("image parts (-want +got):\n%s", d)
	}
}

// canary is body text that no error may quote.
const canary = "zq-canary-7731"

func TestRequestToCanonRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, body  string
		param, code string
	}{
		{"not JSON", `{"model":`, "", "invalid_json"},
		{"not an object", `["zq-canary-7731"]`, "", "invalid_json"},
		{"unknown member", `{"model":"m","messages":[],"zq-canary-7731":1}`, "", "unknown_parameter"},
		{"unknown member by case", `{"Model":"m","messages":[]}`, "", "unknown_parameter"},
		{"logprobs", `{"model":"m","messages":[],"logprobs":true}`, "logprobs", "unsupported_parameter"},
		{"audio", `{"model":"m","messages":[],"audio":{"voice":"zq-canary-7731","format":"mp3"}}`, "audio", "unsupported_parameter"},
		{"modalities", `{"model":"m","messages":[],"modalities":["text"]}`, "modalities", "unsupported_parameter"},
		{"web search", `{"model":"m","messages":[],"web_search_options":{}}`, "web_search_options", "unsupported_parameter"},
		{"functions", `{"model":"m","messages":[],"functions":[{"name":"f"}]}`, "functions", "unsupported_parameter"},
		{"service tier", `{"model":"m","messages":[],"service_tier":"priority"}`, "service_tier", "unsupported_parameter"},
		{"store", `{"model":"m","messages":[],"store":true}`, "store", "unsupported_parameter"},
		{"missing model", `{"messages":[]}`, "model", "missing_required_parameter"},
		{"null messages", `{"model":"m","messages":null}`, "messages", "missing_required_parameter"},
		{"model type", `{"model":1,"messages":[]}`, "model", "invalid_type"},
		{"temperature type", `{"model":"m","messages":[],"temperature":"0.5"}`, "temperature", "invalid_type"},
		{"n fraction", `{"model":"m","messages":[],"n":1.5}`, "n", "invalid_type"},
		{"negative cap", `{"model":"m","messages":[],"max_completion_tokens":-1}`, "max_completion_tokens", "invalid_value"},
		{"two caps", `{"model":"m","messages":[],"max_tokens":1,"max_completion_tokens":2}`, "max_tokens", "invalid_value"},
		{"participant name", `{"model":"m","messages":[{"role":"user","name":"zq-canary-7731","content":"x"}]}`, "messages.[0].name", "unsupported_parameter"},
		{"function role", `{"model":"m","messages":[{"role":"function","name":"f","content":"x"}]}`, "messages.[0].role", "unsupported_value"},
		{"unknown role", `{"model":"m","messages":[{"role":"zq-canary-7731","content":"x"}]}`, "messages.[0].role", "invalid_value"},
		{"audio part", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"zq-canary-7731","format":"wav"}}]}]}`,
			"messages.[0].content.[0].type", "unsupported_value"},
		{"file part", `{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]}]}`,
			"messages.[0].content.[0].type", "unsupported_value"},
		{"unknown part type", `{"model":"m","messages":[{"role":"user","content":[{"type":"zq-canary-7731"}]}]}`,
			"messages.[0].content.[0].type", "unsupported_value"},
		{"cache breakpoint", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x","prompt_cache_breakpoint":{"mode":"explicit"}}]}]}`,
			"messages.[0].content.[0].prompt_cache_breakpoint", "unsupported_parameter"},
		{"unknown part member", `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"user","content":[{"type":"text","text":"x","cache_control":{}}]}]}`,
			"messages.[1].content.[0]", "unknown_parameter"},
		{"image in system", `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`,
			"messages.[0].content.[0].type", "unsupported_value"},
		{"bad data URL", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:zq-canary-7731"}}]}]}`,
			"messages.[0].content.[0].image_url.url", "invalid_value"},
		{"image detail", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x","detail":"zq-canary-7731"}}]}]}`,
			"messages.[0].content.[0].image_url.detail", "unsupported_value"},
		{"assistant audio", `{"model":"m","messages":[{"role":"assistant","audio":{"id":"a"}}]}`, "messages.[0].audio", "unsupported_parameter"},
		{"tool without call id", `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, "messages.[0].tool_call_id", "missing_required_parameter"},
		{"tool call id on user", `{"model":"m","messages":[{"role":"user","content":"x","tool_call_id":"c"}]}`, "messages.[0]", "unknown_parameter"},
		{"custom tool call", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"custom","custom":{"name":"f","input":"x"}}]}]}`,
			"messages.[0].tool_calls.[0].type", "unsupported_value"},
		{"custom tool", `{"model":"m","messages":[],"tools":[{"type":"custom","custom":{"name":"f"}}]}`, "tools.[0].type", "unsupported_value"},
		{"tool parameters not an object", `{"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`,
			"tools.[0].function.parameters", "invalid_type"},
		{"allowed tools choice", `{"model":"m","messages":[],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}}`,
			"tool_choice.type", "unsupported_value"},
		{"tool choice string", `{"model":"m","messages":[],"tool_choice":"zq-canary-7731"}`, "tool_choice", "invalid_value"},
		{"response format", `{"model":"m","messages":[],"response_format":{"type":"grammar"}}`, "response_format.type", "unsupported_value"},
		{"schema without name", `{"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}`,
			"response_format.json_schema.name", "missing_required_parameter"},
		{"reasoning effort", `{"model":"m","messages":[],"reasoning_effort":"zq-canary-7731"}`, "reasoning_effort", "unsupported_value"},
		{"stream options member", `{"model":"m","messages":[],"stream":true,"stream_options":{"zq-canary-7731":true}}`, "stream_options", "unknown_parameter"},
		{"stop element", `{"model":"m","messages":[],"stop":["a",1]}`, "stop.[1]", "invalid_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, perr := RequestToCanon([]byte(tc.body))
			if perr == nil {
				t.Fatalf("RequestToCanon accepted it: %+v", r)
			}
			if perr.Status != 400 || perr.Param != tc.param || perr.Code != tc.code {
				t.Errorf("got %d %q %q; want 400 %q %q", perr.Status, perr.Param, perr.Code, tc.param, tc.code)
			}
			if strings.Contains(perr.Message, canary) || strings.Contains(perr.Param, canary) {
				t.Errorf("error quotes the body: %q", perr.Message)
			}
		})
	}
}

func TestRequestFromCanonUnsupported(t *testing.T) {
	user := canon.Message{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("x")}}
	for _, tc := range []struct {
		name string
		req  canon.Request
		want *canon.UnsupportedError
	}{
		{"top_k", canon.Request{Model: "m", TopK: ptr(int64(40))}, canon.Unsupported(canon.FeatureTopK)},
		{"budget", canon.Request{Model: "m", Reasoning: &canon.Reasoning{BudgetTokens: ptr(int64(1024))}}, canon.Unsupported(canon.FeatureReasoningBudget)},
		{"effort", canon.Request{Model: "m", Reasoning: &canon.Reasoning{Effort: "max"}}, canon.Unsupported(canon.FeatureReasoningEffort)},
		{"tool error", canon.Request{Model: "m", Messages: []canon.Message{user, {Role: canon.RoleTool, Parts: []canon.Part{
			{Kind: canon.PartToolResult, ToolResult: canon.ToolResult{CallID: "c", IsError: true}}}}}},
			canon.UnsupportedAt(canon.FeatureToolResultError, 1, 0)},
		{"image in tool result", canon.Request{Model: "m", Messages: []canon.Message{{Role: canon.RoleTool, Parts: []canon.Part{
			canon.ToolResultPart("c", canon.TextPart("see"), canon.ImageURLPart("https://x"))}}}},
			canon.UnsupportedAt(canon.FeaturePart, 0, 0)},
		{"image in assistant", canon.Request{Model: "m", Messages: []canon.Message{user, {Role: canon.RoleAssistant, Parts: []canon.Part{
			canon.TextPart("a"), canon.ImageURLPart("https://x")}}}},
			canon.UnsupportedAt(canon.FeaturePart, 1, 1)},
		{"tool call in user", canon.Request{Model: "m", Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{
			canon.ToolCallPart("c", "f", nil)}}}},
			canon.UnsupportedAt(canon.FeaturePart, 0, 0)},
		{"image detail", canon.Request{Model: "m", Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{
			canon.TextPart("x"), {Kind: canon.PartImage, Image: canon.Image{URL: "https://x", Detail: "medium"}}}}}},
			canon.UnsupportedAt(canon.FeatureImageDetail, 0, 1)},
		{"result in user", canon.Request{Model: "m", Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{
			canon.ToolResultPart("c", canon.TextPart("r"))}}}},
			canon.UnsupportedAt(canon.FeaturePart, 0, 0)},
		{"text in tool message", canon.Request{Model: "m", Messages: []canon.Message{{Role: canon.RoleTool, Parts: []canon.Part{
			canon.TextPart("r")}}}},
			canon.UnsupportedAt(canon.FeaturePart, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RequestFromCanon(&tc.req)
			got, ok := errors.AsType[*canon.UnsupportedError](err)
			if !ok {
				t.Fatalf("got %v; want an *canon.UnsupportedError", err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestRequestFromCanonOmits checks the documented omissions: thinking
// parts, signatures and tool-result names, which Chat Completions has no
// place for.
func TestRequestFromCanonOmits(t *testing.T) {
	r := &canon.Request{Model: "m", Messages: []canon.Message{
		{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("q")}},
		{Role: canon.RoleAssistant, Parts: []canon.Part{
			{Kind: canon.PartThinking, Text: "hmm", Signature: "sig"},
			{Kind: canon.PartRedactedThinking, Signature: "opaque"},
			canon.TextPart("a"),
			{Kind: canon.PartToolCall, ToolCall: canon.ToolCall{ID: "c1", Name: "f", Arguments: json.RawMessage(`{}`)}, Signature: "gem"},
		}},
		{Role: canon.RoleTool, Parts: []canon.Part{{Kind: canon.PartToolResult, ToolResult: canon.ToolResult{CallID: "c1", Name: "f",
			Content: []canon.Part{canon.TextPart("r")}}}}},
	}}
	out, err := RequestFromCanon(r)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"model":"m","messages":[{"role":"user","content":"q"},` +
		`{"role":"assistant","content":"a","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"c1","content":"r"}]}`
	if string(out) != want {
		t.Errorf("got %s; want %s", out, want)
	}
}

func TestRequestFromCanonInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  canon.Request
	}{
		{"NaN", canon.Request{Model: "m", Temperature: ptr(nan())}},
		{"bad schema", canon.Request{Model: "m", ResponseFormat: &canon.ResponseFormat{Type: canon.FormatJSONSchema, Schema: json.RawMessage(`{`)}}},
		{"bad parameters", canon.Request{Model: "m", Tools: []canon.Tool{{Name: "f", Parameters: json.RawMessage(`nope`)}}}},
		{"no role", canon.Request{Model: "m", Messages: []canon.Message{{Parts: []canon.Part{canon.TextPart("x")}}}}},
		{"data without type", canon.Request{Model: "m", Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{canon.ImageDataPart("", "AAAA")}}}}},
		{"empty tool message", canon.Request{Model: "m", Messages: []canon.Message{{Role: canon.RoleTool}}}},
		{"tool choice without name", canon.Request{Model: "m", ToolChoice: canon.ToolChoice{Mode: canon.ToolChoiceTool}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := RequestFromCanon(&tc.req)
			if err == nil {
				t.Fatalf("got %s; want an error", out)
			}
			if _, ok := errors.AsType[*canon.UnsupportedError](err); ok {
				t.Errorf("got %v; want a plain error", err)
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

func TestFromUnsupported(t *testing.T) {
	for _, tc := range []struct {
		in    *canon.UnsupportedError
		param string
	}{
		{canon.Unsupported(canon.FeatureChoices), "n"},
		{canon.Unsupported(canon.FeatureSeed), "seed"},
		{canon.UnsupportedAt(canon.FeatureRole, 3, -1), "messages.[3]"},
		{canon.UnsupportedAt(canon.FeaturePart, 2, 1), "messages.[2]"},
		{canon.Unsupported(canon.Feature("something_new")), ""},
	} {
		got := FromUnsupported(tc.in)
		if got.Status != 400 || got.Param != tc.param || got.Code != "unsupported_parameter" {
			t.Errorf("FromUnsupported(%v) = %d %q %q; want 400 %q unsupported_parameter", tc.in, got.Status, got.Param, got.Code, tc.param)
		}
	}
}

// normalizeRequest decodes a chat request body and rewrites it to one
// spelling per meaning, the equivalences RequestToCanon documents: null
// members dropped; max_tokens as max_completion_tokens; stop as an array,
// none when empty; stream only when true, stream_options dropped (the
// converter always asks for usage); logprobs and store false dropped;
// empty user and descriptions dropped; a single text part as a string; an
// assistant's text and refusals in one canonical spelling.
func normalizeRequest(t testing.TB, body []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	v = dropNulls(v)
	top := v.(map[string]any)
	if mt, ok := top["max_tokens"]; ok {
		top["max_completion_tokens"] = mt
		delete(top, "max_tokens")
	}
	if s, ok := top["stop"].(string); ok {
		top["stop"] = []any{s}
	}
	if s, ok := top["stop"].([]any); ok && len(s) == 0 {
		delete(top, "stop")
	}
	if top["stream"] == false {
		delete(top, "stream")
	}
	delete(top, "stream_options")
	for _, k := range []string{"logprobs", "store"} {
		if top[k] == false {
			delete(top, k)
		}
	}
	if top["user"] == "" {
		delete(top, "user")
	}
	if tools, ok := top["tools"].([]any); ok {
		if len(tools) == 0 {
			delete(top, "tools")
		}
		for _, tool := range tools {
			fn := tool.(map[string]any)["function"].(map[string]any)
			if fn["description"] == "" {
				delete(fn, "description")
			}
		}
	}
	if rf, ok := top["response_format"].(map[string]any); ok {
		if js, ok := rf["json_schema"].(map[string]any); ok && js["description"] == "" {
			delete(js, "description")
		}
	}
	msgs, _ := top["messages"].([]any)
	for _, m := range msgs {
		m := m.(map[string]any)
		if m["role"] == "assistant" {
			normalizeAssistant(m)
			continue
		}
		if parts, ok := m["content"].([]any); ok && len(parts) == 1 {
			if p := parts[0].(map[string]any); p["type"] == "text" {
				m["content"] = p["text"]
			}
		}
	}
	return v
}

// normalizeAssistant spells an assistant message's text and refusals as
// RequestFromCanon does: content string and refusal for at most one text
// followed by at most one refusal, else a content array of both.
func normalizeAssistant(m map[string]any) {
	type piece struct{ kind, text string }
	var pieces []piece
	switch c := m["content"].(type) {
	case string:
		pieces = append(pieces, piece{"text", c})
	case []any:
		for _, p := range c {
			p := p.(map[string]any)
			if p["type"] == "text" {
				pieces = append(pieces, piece{"text", p["text"].(string)})
			} else {
				pieces = append(pieces, piece{"refusal", p["refusal"].(string)})
			}
		}
	}
	if r, ok := m["refusal"].(string); ok {
		pieces = append(pieces, piece{"refusal", r})
	}
	delete(m, "content")
	delete(m, "refusal")
	if tc, ok := m["tool_calls"].([]any); ok && len(tc) == 0 {
		delete(m, "tool_calls")
	}
	simple := true
	var texts, refusals int
	for _, p := range pieces {
		if p.kind == "text" {
			if texts > 0 || refusals > 0 {
				simple = false
			}
			texts++
		} else {
			if refusals > 0 {
				simple = false
			}
			refusals++
		}
	}
	if len(pieces) == 0 {
		return
	}
	if simple {
		for _, p := range pieces {
			if p.kind == "text" {
				m["content"] = p.text
			} else {
				m["refusal"] = p.text
			}
		}
		return
	}
	var arr []any
	for _, p := range pieces {
		if p.kind == "text" {
			arr = append(arr, map[string]any{"type": "text", "text": p.text})
		} else {
			arr = append(arr, map[string]any{"type": "refusal", "refusal": p.text})
		}
	}
	m["content"] = arr
}

// dropNulls removes members whose value is null, at every depth.
func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			v[k] = dropNulls(e)
		}
	case []any:
		for i, e := range v {
			v[i] = dropNulls(e)
		}
	}
	return v
}

func FuzzRequestRoundTrip(f *testing.F) {
	for _, tc := range requestFixtures {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","content":[],"tool_calls":[]}],"stop":[]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"tool","tool_call_id":"c","content":[]}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"\ud800 \xff"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, perr := RequestToCanon(body)
		if perr != nil {
			if perr.Status != 400 || perr.Code == "" || perr.Message == "" {
				t.Fatalf("bad refusal: %+v", perr)
			}
			return
		}
		out, err := RequestFromCanon(r)
		if err != nil {
			t.Fatalf("RequestFromCanon refused what RequestToCanon accepted: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
		if d := cmp.Diff(normalizeRequest(t, body), normalizeRequest(t, out)); d != "" {
			t.Fatalf("round trip changed the request (-in +out):\n%s\nout: %s", d, out)
		}
		r2, perr := RequestToCanon(out)
		if perr != nil {
			t.Fatalf("RequestToCanon(out): %v\nout: %s", perr, out)
		}
		if d := cmp.Diff(r, r2, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("second decode differs (-first +second):\n%s", d)
		}
	})
}

// benchRequest is a chat request of about 2 KB: a system prompt, a few
// turns with a tool call and its result, and a tool definition.
func benchRequest() []byte {
	long := strings.Repeat("Answer briefly and cite the tool output when you use it. ", 12)
	return []byte(`{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":512,"stream":true,` +
		`"messages":[{"role":"system","content":"` + long + `"},` +
		`{"role":"user","content":"What is the weather in Paris today, and should I take an umbrella?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"celsius\"}"}}]},` +
		`{"role":"tool","tool_call_id":"call_1","content":"{\"temp\":14,\"conditions\":\"light rain\",\"wind_kmh\":12,\"humidity\":0.81}"},` +
		`{"role":"assistant","content":"It is 14 °C with light rain in Paris. Take an umbrella."},` +
		`{"role":"user","content":"And tomorrow in Lyon? Also convert the temperature to Fahrenheit for me please."}],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","description":"Current or forecast weather for a city.",` +
		`"parameters":{"type":"object","properties":{"city":{"type":"string","description":"City name"},` +
		`"unit":{"type":"string","enum":["celsius","fahrenheit"]},"day":{"type":"string","enum":["today","tomorrow"]}},` +
		`"required":["city"]}}}],"tool_choice":"auto"}`)
}

func BenchmarkCanonRequest(b *testing.B) {
	body := benchRequest()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r, perr := RequestToCanon(body)
		if perr != nil {
			b.Fatal(perr)
		}
		if _, err := RequestFromCanon(r); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRequestToCanonEscapedKeys(t *testing.T) {
	r, perr := RequestToCanon([]byte(`{"mod\u0065l":"m","m\u0065ssages":[{"r\u006fle":"user","content":"x"}]}`))
	if perr != nil {
		t.Fatal(perr)
	}
	want := &canon.Request{Model: "m", Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("x")}}}}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, body := range []string{`{"model":"m","messages":[],"zq\u002dcanary":1}`, `{"model":"m","messages":[],"\ud800":1}`} {
		_, perr := RequestToCanon([]byte(body))
		if perr == nil || perr.Code != "unknown_parameter" || perr.Param != "" || strings.Contains(perr.Message, "zq") {
			t.Errorf("RequestToCanon(%s) = %+v; want a fixed unknown_parameter", body, perr)
		}
	}
}

// FuzzJSONStrings checks the hand-written JSON string helpers against
// encoding/json: decoding agrees with json.Unmarshal (invalid UTF-8 and
// lone surrogates become U+FFFD alike), and encoding round-trips.
func FuzzJSONStrings(f *testing.F) {
	for _, s := range []string{`"plain"`, `"tab\there"`, `"\u00e9\ud83d\ude00"`, `"\ud800x"`, `"\udc00\ud800"`, "\"\xff\xfe\"", `"\/\b\f\n\r"`, `"\u2028"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		v = bytes.Trim(v, " \t\r\n") // jsonx hands over values without the white space around them
		var want string
		werr := json.Unmarshal(v, &want)
		got, ok := unquoteJSON(v, nil)
		if ok != (werr == nil) {
			if len(v) > 0 && v[0] == '"' {
				t.Fatalf("unquoteJSON(%q) ok=%v; json.Unmarshal err=%v", v, ok, werr)
			}
			return // not a string: json.Unmarshal accepts other values into nothing only on error
		}
		if !ok {
			return
		}
		if string(got) != want {
			t.Fatalf("unquoteJSON(%q) = %q; want %q", v, got, want)
		}
		enc := appendJSONString(nil, want)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil || back != want {
			t.Fatalf("appendJSONString(%q) = %s, decodes to %q, %v", want, enc, back, err)
		}
		std, _ := json.Marshal(want)
		var stdBack string
		_ = json.Unmarshal(std, &stdBack)
		if back != stdBack {
			t.Fatalf("encoding differs from encoding/json's: %q vs %q", back, stdBack)
		}
	})
}
