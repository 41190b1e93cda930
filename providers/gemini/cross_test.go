package gemini

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/providers/openai"
)

// The cross checks use the OpenAI converters in tests only: production
// code never imports another dialect.

func TestCrossOpenAIRequest(t *testing.T) {
	body := `{"model":"gpt-4o","messages":[
		{"role":"system","content":"Be brief."},
		{"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
		{"role":"assistant","content":null,"tool_calls":[
			{"id":"call_a","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}},
			{"id":"call_b","type":"function","function":{"name":"time","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"call_a","content":"{\"temp\":3}"},
		{"role":"tool","tool_call_id":"call_b","content":"noon"}],
		"tools":[{"type":"function","function":{"name":"weather","description":"Weather now","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
			{"type":"function","function":{"name":"time","parameters":{"type":"object"}}}],
		"tool_choice":{"type":"function","function":{"name":"weather"}},
		"temperature":0,"max_completion_tokens":100,"stop":["END"],"stream":true}`
	r, perr := openai.RequestToCanon([]byte(body))
	if perr != nil {
		t.Fatalf("openai.RequestToCanon: %v", perr)
	}
	out, err := RequestFromCanon(r)
	if err != nil {
		t.Fatalf("RequestFromCanon: %v", err)
	}
	want := `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[
		{"role":"user","parts":[{"text":"Weather?"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]},
		{"role":"model","parts":[{"functionCall":{"id":"call_a","name":"weather","args":{"city":"Oslo"}}},{"functionCall":{"id":"call_b","name":"time","args":{}}}]},
		{"role":"user","parts":[{"functionResponse":{"id":"call_a","name":"weather","response":{"temp":3}}},
			{"functionResponse":{"id":"call_b","name":"time","response":{"output":"noon"}}}]}],
		"tools":[{"functionDeclarations":[
			{"name":"weather","description":"Weather now","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
			{"name":"time","parametersJsonSchema":{"type":"object"}}]}],
		"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["weather"]}},
		"generationConfig":{"temperature":0,"maxOutputTokens":100,"stopSequences":["END"]}}`
	if d := cmp.Diff(semantic(t, []byte(want)), semantic(t, out)); d != "" {
		t.Errorf("(-want +got):\n%s\ngot %s", d, out)
	}
}

func TestCrossOpenAIStream(t *testing.T) {
	chunk := func(s string) string {
		return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[" + s + "]}\n\n"
	}
	stream := chunk(`{"index":0,"delta":{"role":"assistant","content":"Both."},"finish_reason":null}`) +
		chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"weather","arguments":""}}]},"finish_reason":null}`) +
		chunk(`{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"time","arguments":"{\"tz\":"}}]},"finish_reason":null}`) +
		chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Oslo\"}"}}]},"finish_reason":null}`) +
		chunk(`{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"UTC\"}"}}]},"finish_reason":null}`) +
		chunk(`{"index":0,"delta":{},"finish_reason":"tool_calls"}`) +
		"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20,\"total_tokens\":30}}\n\n" +
		"data: [DONE]\n\n"
	rd := sse.NewReader(strings.NewReader(stream), nil)
	var dec openai.StreamDecoder
	var out bytes.Buffer
	enc := NewStreamEncoder(&out)
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		if err := dec.Decode(ev.Data, enc.Encode); err != nil {
			t.Fatalf("Decode: %v", err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	want := sseOf(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Both."}]},"index":0}],"modelVersion":"gpt-4o","responseId":"chatcmpl-1"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"id":"call_a","name":"weather","args":{"city":"Oslo"}}}]},"index":0}],"modelVersion":"gpt-4o","responseId":"chatcmpl-1"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"id":"call_b","name":"time","args":{"tz":"UTC"}}}]},"index":0}],"modelVersion":"gpt-4o","responseId":"chatcmpl-1"}`,
		`{"candidates":[{"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":20,"totalTokenCount":30},"modelVersion":"gpt-4o","responseId":"chatcmpl-1"}`)
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	// And Gemini's decoder reads it back as the same answer.
	_, got, err := decodeStream(t, out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Choices[0].Parts); n != 3 || got.Choices[0].Finish != canon.FinishToolCalls {
		t.Errorf("decoded %d parts, finish %s; want 3, tool_calls", n, got.Choices[0].Finish)
	}
}
