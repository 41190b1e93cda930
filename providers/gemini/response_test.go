package gemini

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

var responseFixtures = []struct {
	name, body string
}{
	{"text", `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello there."}]},"finishReason":"STOP","index":0}],
		"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":3,"totalTokenCount":13},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`},
	{"two calls", `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"weather","args":{"city":"Oslo"}},"thoughtSignature":"c2ln"},
		{"functionCall":{"name":"weather","args":{"city":"Rome"}}}]},"finishReason":"STOP","index":0}],"modelVersion":"m","responseId":"r2"}`},
	{"thinking and cache", `{"candidates":[{"content":{"role":"model","parts":[{"text":"plan","thought":true},{"text":"answer","thoughtSignature":"QQ=="}]},"finishReason":"MAX_TOKENS","index":0}],
		"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":60,"candidatesTokenCount":5,"thoughtsTokenCount":20,"totalTokenCount":125},"modelVersion":"m","responseId":"r3"}`},
	{"candidates and reasons", `{"candidates":[{"content":{"role":"model","parts":[{"text":"a"}]},"finishReason":"SAFETY","index":0},
		{"content":{"role":"model","parts":[{"text":"b"}]},"finishReason":"RECITATION","index":1},
		{"finishReason":"MALFORMED_FUNCTION_CALL","index":2},{"content":{"role":"model","parts":[{"text":"c"}]},"index":3}],"modelVersion":"m","responseId":"r4"}`},
	{"call with id", `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"id":"x9","name":"f","args":{}}}]},"finishReason":"STOP","index":0}],"modelVersion":"m","responseId":"r5"}`},
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
			if d := cmp.Diff(semantic(t, []byte(tc.body)), semantic(t, out)); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestResponseToCanon(t *testing.T) {
	r, err := ResponseToCanon([]byte(responseFixtures[1].body))
	if err != nil {
		t.Fatal(err)
	}
	call := canon.ToolCallPart("gemini_0_0", "weather", json.RawMessage(`{"city":"Oslo"}`))
	call.Signature = "c2ln"
	want := &canon.Response{ID: "r2", Model: "m", Choices: []canon.Choice{{
		Finish: canon.FinishToolCalls, RawFinish: "STOP",
		Parts: []canon.Part{call, canon.ToolCallPart("gemini_0_1", "weather", json.RawMessage(`{"city":"Rome"}`))},
	}}}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	r, err = ResponseToCanon([]byte(responseFixtures[2].body))
	if err != nil {
		t.Fatal(err)
	}
	wantUsage := metering.Usage{InputTokens: 100, CachedInputTokens: 60, OutputTokens: 25, ReasoningTokens: 20}
	if !r.UsageKnown || r.Usage != wantUsage {
		t.Errorf("Usage = %+v; want %+v", r.Usage, wantUsage)
	}
	for _, bad := range []string{`[`, `{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"x"}}]}}]}`,
		`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":[1]}}]}}]}`, `{"error":{"code":500}}`} {
		if _, err := ResponseToCanon([]byte(bad)); err == nil {
			t.Errorf("ResponseToCanon(%s) = nil error; want one", bad)
		}
	}
}

func TestResponseFromCanon(t *testing.T) {
	r := &canon.Response{ID: "x", Model: "gpt", Choices: []canon.Choice{{
		Finish: canon.FinishToolCalls, RawFinish: "tool_calls",
		Parts: []canon.Part{{Kind: canon.PartRefusal, Text: "no"}, canon.ToolCallPart("call_1", "f", json.RawMessage(`{"a":1}`))},
	}, {Index: 1, Finish: canon.FinishContentFilter, RawFinish: "content_filter"}},
		Usage: metering.Usage{InputTokens: 5, OutputTokens: 7, ReasoningTokens: 2, CacheCreationTokens: 1}, UsageKnown: true}
	out, err := ResponseFromCanon(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"candidates":[{"content":{"role":"model","parts":[{"text":"no"},{"functionCall":{"id":"call_1","name":"f","args":{"a":1}}}]},"finishReason":"STOP","index":0},
		{"finishReason":"SAFETY","index":1}],
		"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":5,"thoughtsTokenCount":2,"totalTokenCount":12},"modelVersion":"gpt","responseId":"x"}`
	if d := cmp.Diff(semantic(t, []byte(want)), semantic(t, out)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	r.Choices[0].Parts = append(r.Choices[0].Parts, canon.ToolCallPart("c", "f", json.RawMessage(`{"a":`)))
	if _, err := ResponseFromCanon(r); err == nil {
		t.Error("ResponseFromCanon with truncated arguments = nil error; want one")
	}
}

func TestBlockedPrompt(t *testing.T) {
	body := `{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":4,"totalTokenCount":4},"responseId":"b"}`
	r, err := ResponseToCanon([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []canon.Choice{{Finish: canon.FinishContentFilter, RawFinish: "PROHIBITED_CONTENT"}}
	if d := cmp.Diff(want, r.Choices); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	out, err := ResponseFromCanon(r)
	if err != nil {
		t.Fatal(err)
	}
	wantOut := `{"candidates":[{"finishReason":"PROHIBITED_CONTENT","index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":0,"totalTokenCount":4},"responseId":"b"}`
	if d := cmp.Diff(semantic(t, []byte(wantOut)), semantic(t, out)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
