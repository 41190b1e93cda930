package anthropic

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

// Response fixtures, written from the Messages API reference.
var responseFixtures = []struct{ name, body string }{
	{"text, end_turn, cache usage", `{
		"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
		"content": [{"type": "text", "text": "Hello there."}],
		"stop_reason": "end_turn", "stop_sequence": null,
		"usage": {"input_tokens": 12, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 2000, "output_tokens": 6}
	}`},
	{"two tool_use blocks", `{
		"id": "msg_02", "type": "message", "role": "assistant", "model": "claude-opus-4-1",
		"content": [
			{"type": "text", "text": "Checking."},
			{"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Oslo"}},
			{"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {"city": "Lima", "unit": "c"}}
		],
		"stop_reason": "tool_use", "stop_sequence": null,
		"usage": {"input_tokens": 300, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 80}
	}`},
	{"thinking with signature, redacted, max_tokens", `{
		"id": "msg_03", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
		"content": [
			{"type": "thinking", "thinking": "Divide by small primes.", "signature": "EqQBCgIYAhIM"},
			{"type": "redacted_thinking", "data": "EmwKAhgBEgy3"},
			{"type": "text", "text": "It is pr"}
		],
		"stop_reason": "max_tokens", "stop_sequence": null,
		"usage": {"input_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 100}
	}`},
	{"pause_turn and refusal kept", `{
		"id": "msg_04", "type": "message", "role": "assistant", "model": "m", "content": [],
		"stop_reason": "pause_turn", "stop_sequence": null,
		"usage": {"input_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0}
	}`},
	{"refusal", `{
		"id": "msg_05", "type": "message", "role": "assistant", "model": "m", "content": [{"type": "text", "text": "I can't."}],
		"stop_reason": "refusal", "stop_sequence": null,
		"usage": {"input_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 3}
	}`},
}

// projectResponse decodes a message object keeping what the canonical form
// carries: stop_sequence (which it does not keep) and members it ignores
// are dropped, and missing cache counts are zero.
func projectResponse(t testing.TB, body []byte) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	delete(m, "stop_sequence")
	delete(m, "container")
	if u, ok := m["usage"].(map[string]any); ok {
		for _, k := range []string{"cache_creation_input_tokens", "cache_read_input_tokens"} {
			if u[k] == nil {
				u[k] = 0.0
			}
		}
		delete(u, "server_tool_use")
		delete(u, "service_tier")
		delete(u, "cache_creation")
	}
	return dropNulls(m)
}

func TestResponseRoundTrip(t *testing.T) {
	for _, tc := range responseFixtures {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ResponseToCanon([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			out, err := ResponseFromCanon(r)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(projectResponse(t, []byte(tc.body)), projectResponse(t, out)); d != "" {
				t.Errorf("round trip (-in +out):\n%s\nout: %s", d, out)
			}
		})
	}
}

func TestResponseToCanon(t *testing.T) {
	r, err := ResponseToCanon([]byte(responseFixtures[0].body))
	if err != nil {
		t.Fatal(err)
	}
	want := &canon.Response{ID: "msg_01", Model: "claude-sonnet-4-5",
		Choices: []canon.Choice{{Parts: []canon.Part{canon.TextPart("Hello there.")}, Finish: canon.FinishStop, RawFinish: "end_turn"}},
		Usage:   metering.Usage{InputTokens: 2112, OutputTokens: 6, CachedInputTokens: 2000, CacheCreationTokens: 100}, UsageKnown: true,
	}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("ResponseToCanon (-want +got):\n%s", d)
	}
}

func TestResponseFromCanon(t *testing.T) {
	r := &canon.Response{ID: "chatcmpl-1", Model: "gpt-4o", Choices: []canon.Choice{{
		Parts:  []canon.Part{canon.TextPart("a"), {Kind: canon.PartRefusal, Text: "b"}},
		Finish: canon.FinishContentFilter, RawFinish: "content_filter",
	}}, Usage: metering.Usage{InputTokens: 10, CachedInputTokens: 4, OutputTokens: 2}}
	out, err := ResponseFromCanon(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"chatcmpl-1","type":"message","role":"assistant","model":"gpt-4o","content":[` +
		`{"type":"text","text":"a"},{"type":"text","text":"b"}],"stop_reason":"refusal","stop_sequence":null,` +
		`"usage":{"input_tokens":6,"cache_creation_input_tokens":0,"cache_read_input_tokens":4,"output_tokens":2}}`
	if string(out) != want {
		t.Errorf("got %s; want %s", out, want)
	}
	r.Choices = append(r.Choices, canon.Choice{Index: 1})
	var u *canon.UnsupportedError
	if _, err := ResponseFromCanon(r); !errors.As(err, &u) || u.Feature != canon.FeatureChoices {
		t.Errorf("two choices: got %v; want unsupported choices", err)
	}
}

func TestResponseToCanonRejects(t *testing.T) {
	for _, body := range []string{
		`not json ` + secret,
		`["` + secret + `"]`,
		`{"type":"` + secret + `"}`,
		`{"type":"message","content":[{"type":"server_tool_use","id":"` + secret + `"}]}`,
		`{"type":"message","content":[{"type":"tool_use","input":"` + secret + `"}]}`,
		`{"type":"message","content":[{"type":"text"}]}`,
	} {
		_, err := ResponseToCanon([]byte(body))
		if err == nil {
			t.Errorf("%s: got no error; want one", body)
			continue
		}
		if !errors.Is(err, errMessage) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: got %v; want errMessage without body text", body, err)
		}
	}
}

func FuzzResponseRoundTrip(f *testing.F) {
	for _, tc := range responseFixtures {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ResponseToCanon(body)
		if err != nil {
			return
		}
		out, err := ResponseFromCanon(r)
		if err != nil {
			t.Fatalf("ResponseFromCanon: %v", err)
		}
		r2, err := ResponseToCanon(out)
		if err != nil {
			t.Fatalf("ResponseToCanon(out): %v\nout: %s", err, out)
		}
		out2, err := ResponseFromCanon(r2)
		if err != nil || string(out2) != string(out) {
			t.Fatalf("second round trip differs: %v\n%s\n%s", err, out, out2)
		}
	})
}
