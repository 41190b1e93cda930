package anthropic

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/providers/openai"
)

// Request fixtures, written from the Messages API reference. Each is a
// body a client may send; the round trip must keep its meaning.
var requestFixtures = []struct{ name, body string }{
	{"system string, temperature 0", `{
		"model": "claude-sonnet-4-5", "max_tokens": 256,
		"system": "You answer in French.",
		"messages": [{"role": "user", "content": "How tall is the Eiffel tower?"}],
		"temperature": 0
	}`},
	{"system blocks, temperature unset, top_p and top_k", `{
		"model": "claude-haiku-4-5", "max_tokens": 64,
		"system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use metric units."}],
		"messages": [{"role": "user", "content": [{"type": "text", "text": "Say hi."}]}],
		"top_p": 0.9, "top_k": 40
	}`},
	{"two tool_use blocks and their results, is_error false and true", `{
		"model": "claude-opus-4-1", "max_tokens": 1024,
		"messages": [
			{"role": "user", "content": "Weather in Oslo and Lima?"},
			{"role": "assistant", "content": [
				{"type": "text", "text": "Let me check both."},
				{"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Oslo"}},
				{"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"city": "Lima", "unit": "c"}}
			]},
			{"role": "user", "content": [
				{"type": "tool_result", "tool_use_id": "toolu_01", "content": "-3 C, snow", "is_error": false},
				{"type": "tool_result", "tool_use_id": "toolu_02", "content": [{"type": "text", "text": "service down"}], "is_error": true},
				{"type": "text", "text": "Retry Lima please."}
			]}
		],
		"tools": [
			{"name": "get_weather", "description": "Current weather for a city.",
				"input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}, "required": ["city"]}},
			{"type": "custom", "name": "noop", "input_schema": {"type": "object"}, "strict": true}
		],
		"tool_choice": {"type": "any", "disable_parallel_tool_use": true}
	}`},
	{"thinking with signature and redacted thinking", `{
		"model": "claude-sonnet-4-5", "max_tokens": 16000,
		"thinking": {"type": "enabled", "budget_tokens": 10000},
		"messages": [
			{"role": "user", "content": "Is 1013 prime?"},
			{"role": "assistant", "content": [
				{"type": "thinking", "thinking": "Check divisors up to 31.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
				{"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
				{"type": "text", "text": "Yes."}
			]},
			{"role": "user", "content": "Why?"}
		]
	}`},
	{"images base64 and URL", `{
		"model": "claude-sonnet-4-5", "max_tokens": 300,
		"messages": [{"role": "user", "content": [
			{"type": "text", "text": "Compare these."},
			{"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
			{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
		]}]
	}`},
	{"stop sequences, stream, metadata, tool choice by name", `{
		"model": "claude-haiku-4-5", "max_tokens": 50, "stream": true,
		"stop_sequences": ["END", "\n\nHuman:"],
		"metadata": {"user_id": "u-123"},
		"messages": [{"role": "user", "content": "count"}],
		"tools": [{"name": "f", "input_schema": {"type": "object", "properties": {}}}],
		"tool_choice": {"type": "tool", "name": "f"}
	}`},
	{"tool choice none and auto, thinking disabled", `{
		"model": "m", "max_tokens": 1, "thinking": {"type": "disabled"},
		"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}, {"role": "user", "content": "z"}],
		"tools": [{"name": "f", "input_schema": {"type": "object"}}],
		"tool_choice": {"type": "none"}
	}`},
	{"tool result with image, nulls", `{
		"model": "m", "max_tokens": 10, "temperature": null, "service_tier": null,
		"messages": [
			{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "shot", "input": {}}]},
			{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [
				{"type": "text", "text": "here"},
				{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
			]}, {"type": "tool_result", "tool_use_id": "u"}]}
		]
	}`},
	{"escapes and unicode", `{"model": "m\u00e9", "max_tokens": 5, "messages": [{"role": "user", "content": "tab\there \"quoted\" \u2028 \ud83d\ude00 <é>"}]}`},
}

// normalizeRequest decodes body and spells it as RequestFromCanon does:
// nulls dropped; string content (system, messages, tool results) as text
// blocks; consecutive user messages merged (Anthropic combines them);
// is_error false, empty signatures, empty descriptions and empty
// stop_sequences, stream false and metadata without user_id dropped.
func normalizeRequest(t testing.TB, body []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	v = dropNulls(v)
	top := v.(map[string]any)
	blocks := func(c any) any {
		if s, ok := c.(string); ok {
			return []any{map[string]any{"type": "text", "text": s}}
		}
		return c
	}
	if s, ok := top["system"]; ok {
		top["system"] = blocks(s)
	}
	if s, ok := top["stop_sequences"].([]any); ok && len(s) == 0 {
		delete(top, "stop_sequences")
	}
	if top["stream"] == false {
		delete(top, "stream")
	}
	if md, ok := top["metadata"].(map[string]any); ok && (md["user_id"] == nil || md["user_id"] == "") {
		delete(top, "metadata")
	}
	if tools, ok := top["tools"].([]any); ok {
		if len(tools) == 0 {
			delete(top, "tools")
		}
		for _, tool := range tools {
			tool := tool.(map[string]any)
			if tool["description"] == "" {
				delete(tool, "description")
			}
			if tool["type"] == "custom" {
				delete(tool, "type")
			}
		}
	}
	msgs, _ := top["messages"].([]any)
	var merged []any
	for _, m := range msgs {
		m := m.(map[string]any)
		content, _ := blocks(m["content"]).([]any)
		for _, b := range content {
			b := b.(map[string]any)
			if b["type"] == "tool_result" {
				if b["is_error"] == false {
					delete(b, "is_error")
				}
				if c, ok := b["content"]; ok {
					b["content"] = blocks(c)
				}
				if c, ok := b["content"].([]any); ok && len(c) == 0 {
					delete(b, "content")
				}
			}
			if b["type"] == "thinking" && b["signature"] == "" {
				delete(b, "signature")
			}
		}
		if content == nil {
			content = []any{}
		}
		m["content"] = content
		if n := len(merged); n > 0 && m["role"] == "user" && merged[n-1].(map[string]any)["role"] == "user" {
			prev := merged[n-1].(map[string]any)
			prev["content"] = append(prev["content"].([]any), content...)
			continue
		}
		merged = append(merged, m)
	}
	if msgs != nil {
		top["messages"] = merged
	}
	return v
}

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
			if d := cmp.Diff(normalizeRequest(t, []byte(tc.body)), normalizeRequest(t, out)); d != "" {
				t.Errorf("round trip changed the request (-in +out):\n%s\nout: %s", d, out)
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
		Model:           "claude-opus-4-1",
		MaxOutputTokens: ptr(int64(1024)),
		Messages: []canon.Message{
			{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("Weather in Oslo and Lima?")}},
			{Role: canon.RoleAssistant, Parts: []canon.Part{
				canon.TextPart("Let me check both."),
				canon.ToolCallPart("toolu_01", "get_weather", json.RawMessage(`{"city":"Oslo"}`)),
				canon.ToolCallPart("toolu_02", "get_weather", json.RawMessage(`{"city":"Lima","unit":"c"}`)),
			}},
			{Role: canon.RoleTool, Parts: []canon.Part{
				canon.ToolResultPart("toolu_01", canon.TextPart("-3 C, snow")),
				{Kind: canon.PartToolResult, ToolResult: canon.ToolResult{CallID: "toolu_02", IsError: true,
					Content: []canon.Part{canon.TextPart("service down")}}},
			}},
			{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("Retry Lima please.")}},
		},
		Tools: []canon.Tool{
			{Name: "get_weather", Description: "Current weather for a city.",
				Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]}},"required":["city"]}`)},
			{Name: "noop", Parameters: json.RawMessage(`{"type":"object"}`), Strict: ptr(true)},
		},
		ToolChoice:        canon.ToolChoice{Mode: canon.ToolChoiceRequired},
		ParallelToolCalls: ptr(false),
	}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("RequestToCanon (-want +got):\n%s", d)
	}

	r, perr = RequestToCanon([]byte(requestFixtures[3].body))
	if perr != nil {
		t.Fatal(perr)
	}
	if got := r.Reasoning; got == nil || got.BudgetTokens == nil || *got.BudgetTokens != 10000 {
		t.Errorf("Reasoning = %+v; want budget 10000", got)
	}
	th := r.Messages[1].Parts[0]
	if th.Kind != canon.PartThinking || th.Signature == "" {
		t.Errorf("thinking part = %+v; want thinking with signature", th)
	}
}

// secret is text that must never appear in an error.
const secret = "SECRET-7f3a"

func TestRequestToCanonRefuses(t *testing.T) {
	msg := func(content string) string {
		return `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":` + content + `}]}`
	}
	tests := []struct{ name, body, param, code string }{
		{"not JSON", `{"model":`, "", "invalid_json"},
		{"not an object", `["` + secret + `"]`, "", "invalid_type"},
		{"unknown top-level", `{"model":"m","max_tokens":5,"messages":[],"` + secret + `":1}`, "", "unknown_parameter"},
		{"case differs", `{"Model":"m","max_tokens":5,"messages":[]}`, "", "unknown_parameter"},
		{"missing max_tokens", `{"model":"m","messages":[]}`, "max_tokens", "missing_required_parameter"},
		{"missing model", `{"max_tokens":5,"messages":[]}`, "model", "missing_required_parameter"},
		{"cache_control top", `{"model":"m","max_tokens":5,"messages":[],"cache_control":{"type":"ephemeral"}}`, "cache_control", "unsupported_parameter"},
		{"service_tier", `{"model":"m","max_tokens":5,"messages":[],"service_tier":"auto"}`, "service_tier", "unsupported_parameter"},
		{"mcp_servers", `{"model":"m","max_tokens":5,"messages":[],"mcp_servers":[]}`, "mcp_servers", "unsupported_parameter"},
		{"container", `{"model":"m","max_tokens":5,"messages":[],"container":"c"}`, "container", "unsupported_parameter"},
		{"block cache_control", msg(`[{"type":"text","text":"` + secret + `","cache_control":{"type":"ephemeral"}}]`),
			"messages.0.content.0.cache_control", "unsupported_parameter"},
		{"citations", msg(`[{"type":"text","text":"x","citations":[{"` + secret + `":1}]}]`),
			"messages.0.content.0.citations", "unsupported_parameter"},
		{"document block", msg(`[{"type":"document","source":{"type":"text","data":"` + secret + `"}}]`),
			"messages.0.content.0.type", "unsupported_value"},
		{"unknown block type", msg(`[{"type":"` + secret + `"}]`), "messages.0.content.0.type", "unsupported_value"},
		{"unknown block member", msg(`[{"type":"text","text":"x","` + secret + `":true}]`), "messages.0.content.0", "unknown_parameter"},
		{"file image source", msg(`[{"type":"image","source":{"type":"file","file_id":"` + secret + `"}}]`),
			"messages.0.content.0.source.type", "unsupported_value"},
		{"server tool", `{"model":"m","max_tokens":5,"messages":[],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`,
			"tools.0.type", "unsupported_value"},
		{"tool cache_control", `{"model":"m","max_tokens":5,"messages":[],"tools":[{"name":"f","input_schema":{},"cache_control":{"type":"ephemeral"}}]}`,
			"tools.0.cache_control", "unsupported_parameter"},
		{"bad role", `{"model":"m","max_tokens":5,"messages":[{"role":"` + secret + `","content":"x"}]}`, "messages.0.role", "invalid_value"},
		{"system role", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, "messages.0.role", "invalid_value"},
		{"tool_use in user", msg(`[{"type":"tool_use","id":"a","name":"b","input":{}}]`), "messages.0.content.0.type", "invalid_value"},
		{"adaptive thinking", `{"model":"m","max_tokens":5,"messages":[],"thinking":{"type":"adaptive"}}`, "thinking.type", "unsupported_value"},
		{"tool_choice type", `{"model":"m","max_tokens":5,"messages":[],"tool_choice":{"type":"` + secret + `"}}`, "tool_choice.type", "unsupported_value"},
		{"metadata member", `{"model":"m","max_tokens":5,"messages":[],"metadata":{"` + secret + `":"x"}}`, "metadata", "unknown_parameter"},
		{"temperature string", `{"model":"m","max_tokens":5,"messages":[],"temperature":"` + secret + `"}`, "temperature", "invalid_type"},
		{"input not object", msg(`"x"},{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"b","input":"` + secret + `"}]`),
			"messages.1.content.0.input", "invalid_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, perr := RequestToCanon([]byte(tc.body))
			if perr == nil {
				t.Fatal("got no error; want one")
			}
			if perr.Status != 400 || perr.Param != tc.param || perr.Code != tc.code {
				t.Errorf("got %d %q %q; want 400 %q %q", perr.Status, perr.Param, perr.Code, tc.param, tc.code)
			}
			if strings.Contains(perr.Message+perr.Param+perr.Code+perr.Error(), secret) {
				t.Errorf("error echoes body text: %+v", perr)
			}
		})
	}
}

func TestRequestFromCanonUnsupported(t *testing.T) {
	base := func() *canon.Request {
		return &canon.Request{Model: "m", Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("x")}}}}
	}
	tests := []struct {
		name    string
		edit    func(r *canon.Request)
		feature canon.Feature
	}{
		{"frequency penalty", func(r *canon.Request) { r.FrequencyPenalty = ptr(0.1) }, canon.FeatureFrequencyPenalty},
		{"presence penalty", func(r *canon.Request) { r.PresencePenalty = ptr(0.1) }, canon.FeaturePresencePenalty},
		{"seed", func(r *canon.Request) { r.Seed = ptr(int64(1)) }, canon.FeatureSeed},
		{"n=2", func(r *canon.Request) { r.Choices = ptr(int64(2)) }, canon.FeatureChoices},
		{"json schema", func(r *canon.Request) {
			r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSONSchema, Schema: json.RawMessage(`{}`)}
		}, canon.FeatureResponseFormat},
		{"json object", func(r *canon.Request) { r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSON} }, canon.FeatureResponseFormat},
		{"effort", func(r *canon.Request) { r.Reasoning = &canon.Reasoning{Effort: "low"} }, canon.FeatureReasoningEffort},
		{"late system", func(r *canon.Request) {
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleDeveloper, Parts: []canon.Part{canon.TextPart("y")}})
		}, canon.FeatureRole},
		{"image detail", func(r *canon.Request) {
			r.Messages[0].Parts = append(r.Messages[0].Parts, canon.Part{Kind: canon.PartImage, Image: canon.Image{URL: "https://x", Detail: "low"}})
		}, canon.FeatureImageDetail},
		{"image in system", func(r *canon.Request) {
			r.Messages = append([]canon.Message{{Role: canon.RoleSystem, Parts: []canon.Part{canon.ImageURLPart("https://x")}}}, r.Messages...)
		}, canon.FeaturePart},
		{"parallel with none", func(r *canon.Request) {
			r.ToolChoice.Mode = canon.ToolChoiceNone
			r.ParallelToolCalls = ptr(true)
		}, canon.FeatureParallelToolCalls},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.edit(r)
			_, err := RequestFromCanon(r)
			var u *canon.UnsupportedError
			if !errors.As(err, &u) || u.Feature != tc.feature {
				t.Errorf("got %v; want unsupported %s", err, tc.feature)
			}
		})
	}
}

func TestRequestFromCanonDefaults(t *testing.T) {
	r := &canon.Request{Model: "m", ParallelToolCalls: ptr(false), Messages: []canon.Message{
		{Role: canon.RoleUser, Parts: []canon.Part{canon.ImageURLPart("data:image/png;base64,iVBO")}},
	}}
	out, err := RequestFromCanon(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[` +
		`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}}]}],` +
		`"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`
	if string(out) != want {
		t.Errorf("got %s; want %s", out, want)
	}
}

// TestOpenAIRequestToAnthropic checks the cross path: an OpenAI client's
// request with tools, tool calls and results, sent to an Anthropic
// upstream.
func TestOpenAIRequestToAnthropic(t *testing.T) {
	in := `{"model":"gpt-4o","max_tokens":200,"temperature":0,
		"messages":[
			{"role":"system","content":"Be brief."},
			{"role":"user","content":"Weather in Oslo and Lima?"},
			{"role":"assistant","content":null,"tool_calls":[
				{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
				{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Lima\"}"}}]},
			{"role":"tool","tool_call_id":"call_1","content":"-3 C"},
			{"role":"tool","tool_call_id":"call_2","content":"19 C"},
			{"role":"user","content":"Thanks; which is warmer?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather.","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
		"tool_choice":"required","parallel_tool_calls":true}`
	r, perr := openai.RequestToCanon([]byte(in))
	if perr != nil {
		t.Fatal(perr)
	}
	out, err := RequestFromCanon(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"gpt-4o","max_tokens":200,"system":"Be brief.","temperature":0,
		"messages":[
			{"role":"user","content":[{"type":"text","text":"Weather in Oslo and Lima?"}]},
			{"role":"assistant","content":[
				{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Oslo"}},
				{"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Lima"}}]},
			{"role":"user","content":[
				{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"-3 C"}]},
				{"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"19 C"}]},
				{"type":"text","text":"Thanks; which is warmer?"}]}],
		"tools":[{"name":"get_weather","description":"Weather.","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
		"tool_choice":{"type":"any","disable_parallel_tool_use":false}}`
	if d := cmp.Diff(normalizeRequest(t, []byte(want)), normalizeRequest(t, out)); d != "" {
		t.Errorf("OpenAI → Anthropic (-want +got):\n%s\ngot: %s", d, out)
	}
	if _, perr := RequestToCanon(out); perr != nil {
		t.Errorf("the Anthropic body does not decode: %v", perr)
	}
}

func FuzzRequestRoundTrip(f *testing.F) {
	for _, tc := range requestFixtures {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`{"model":"m","max_tokens":1,"system":[],"messages":[{"role":"user","content":[]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"\ud800 \xff"}]}`))
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
			var u *canon.UnsupportedError
			if errors.As(err, &u) {
				t.Fatalf("RequestFromCanon refused what RequestToCanon accepted: %v", err)
			}
			return // NaN or the like cannot come from JSON; any other error is a finding below
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
		out2, err := RequestFromCanon(r2)
		if err != nil || string(out2) != string(out) {
			t.Fatalf("second round trip differs: %v\n%s\n%s", err, out, out2)
		}
	})
}

// benchRequest is a Messages request of about 2 KB: a system prompt, a
// few turns with a tool call and its result, and a tool definition.
func benchRequest() []byte {
	long := strings.Repeat("Answer briefly and cite the tool output when you use it. ", 12)
	return []byte(`{"model":"claude-haiku-4-5","temperature":0.2,"max_tokens":512,"stream":true,` +
		`"system":"` + long + `","messages":[` +
		`{"role":"user","content":"What is the weather in Paris today, and should I take an umbrella?"},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris","unit":"celsius"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"{\"temp\":14,\"conditions\":\"light rain\",\"wind_kmh\":12,\"humidity\":0.81}"}]},` +
		`{"role":"assistant","content":"It is 14 °C with light rain in Paris. Take an umbrella."},` +
		`{"role":"user","content":"And tomorrow in Lyon? Also convert the temperature to Fahrenheit for me please."}],` +
		`"tools":[{"name":"get_weather","description":"Current or forecast weather for a city.",` +
		`"input_schema":{"type":"object","properties":{"city":{"type":"string","description":"City name"},` +
		`"unit":{"type":"string","enum":["celsius","fahrenheit"]},"day":{"type":"string","enum":["today","tomorrow"]}},` +
		`"required":["city"]}}],"tool_choice":{"type":"auto"}}`)
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

func TestFromUnsupported(t *testing.T) {
	for f, want := range map[canon.Feature]string{
		canon.FeatureUser:              "metadata.user_id",
		canon.FeatureParallelToolCalls: "tool_choice.disable_parallel_tool_use",
		canon.FeatureReasoningEffort:   "thinking",
		canon.FeaturePart:              "messages",
		canon.FeatureSeed:              "",
	} {
		perr := FromUnsupported(canon.UnsupportedAt(f, 3, 1))
		if perr.Status != 400 || perr.Param != want || perr.Code != "unsupported_parameter" {
			t.Errorf("%s: got %d %q %q; want 400 %q unsupported_parameter", f, perr.Status, perr.Param, perr.Code, want)
		}
	}
}
