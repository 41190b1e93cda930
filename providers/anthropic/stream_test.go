package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/providers/openai"
)

// sseBlock writes one Anthropic SSE block.
func sseBlock(typ, data string) string { return "event: " + typ + "\ndata: " + data + "\n\n" }

const usage0 = `{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":10,"output_tokens":1}`

func msgStart(id string) string {
	return sseBlock("message_start", `{"type":"message_start","message":{"id":"`+id+`","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":`+usage0+`}}`)
}

func blockStart(i, block string) string {
	return sseBlock("content_block_start", `{"type":"content_block_start","index":`+i+`,"content_block":`+block+`}`)
}

func blockDelta(i, delta string) string {
	return sseBlock("content_block_delta", `{"type":"content_block_delta","index":`+i+`,"delta":`+delta+`}`)
}

func blockStop(i string) string {
	return sseBlock("content_block_stop", `{"type":"content_block_stop","index":`+i+`}`)
}

func msgEnd(reason string, out int) string {
	u := strings.Replace(usage0, `"output_tokens":1`, `"output_tokens":`+string(rune('0'+out)), 1)
	return sseBlock("message_delta", `{"type":"message_delta","delta":{"stop_reason":"`+reason+`","stop_sequence":null},"usage":`+u+`}`) +
		sseBlock("message_stop", `{"type":"message_stop"}`)
}

// Stream fixtures, written from the Messages streaming reference.
var streamFixtures = []struct{ name, body string }{
	{"text with ping", msgStart("msg_1") + sseBlock("ping", `{"type": "ping"}`) +
		blockStart("0", `{"type":"text","text":""}`) +
		blockDelta("0", `{"text":"Hello","type":"text_delta"}`) +
		blockDelta("0", `{"type":"text_delta","text":", \"world\" \u2028 😀"}`) +
		blockStop("0") + msgEnd("end_turn", 5)},
	{"two tool_use blocks with input_json_delta fragments", msgStart("msg_2") +
		blockStart("0", `{"type":"text","text":""}`) +
		blockDelta("0", `{"type":"text_delta","text":"Checking both."}`) +
		blockStop("0") +
		blockStart("1", `{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{}}`) +
		blockDelta("1", `{"type":"input_json_delta","partial_json":""}`) +
		blockDelta("1", `{"type":"input_json_delta","partial_json":"{\"ci"}`) +
		blockDelta("1", `{"type":"input_json_delta","partial_json":"ty\": \"Oslo\"}"}`) +
		blockStop("1") +
		blockStart("2", `{"type":"tool_use","id":"toolu_b","name":"get_weather","input":{}}`) +
		blockDelta("2", `{"type":"input_json_delta","partial_json":"{\"city\":"}`) +
		blockDelta("2", `{"type":"input_json_delta","partial_json":"\"Lima\"}"}`) +
		blockStop("2") + msgEnd("tool_use", 9)},
	{"thinking with signature, redacted thinking", msgStart("msg_3") +
		blockStart("0", `{"type":"thinking","thinking":"","signature":""}`) +
		blockDelta("0", `{"type":"thinking_delta","thinking":"Divide by 7"}`) +
		blockDelta("0", `{"type":"thinking_delta","thinking":", 11, 13."}`) +
		blockDelta("0", `{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}`) +
		blockStop("0") +
		blockStart("1", `{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}`) +
		blockStop("1") +
		blockStart("2", `{"type":"text","text":""}`) +
		blockDelta("2", `{"type":"text_delta","text":"Prime."}`) +
		blockStop("2") + msgEnd("max_tokens", 7)},
}

// parseSSE returns the type and data of each block of an SSE stream.
func parseSSE(t testing.TB, stream []byte) (types []string, datas [][]byte) {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(stream), nil)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return types, datas
		}
		if err != nil {
			t.Fatalf("SSE: %v", err)
		}
		types = append(types, string(ev.Type))
		datas = append(datas, append([]byte(nil), ev.Data...))
	}
}

// decodeStream decodes an Anthropic stream, keeping copies of the events.
func decodeStream(t testing.TB, stream []byte) ([]canon.Event, *StreamDecoder, error) {
	t.Helper()
	var dec StreamDecoder
	var evs []canon.Event
	types, datas := parseSSE(t, stream)
	for i := range types {
		err := dec.Decode(types[i], datas[i], func(e canon.Event) error {
			evs = append(evs, e.Clone())
			return nil
		})
		if err != nil {
			return evs, &dec, err
		}
	}
	return evs, &dec, nil
}

func encodeStream(t testing.TB, evs []canon.Event) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	enc := NewStreamEncoder(&buf)
	for _, e := range evs {
		if err := enc.Encode(e); err != nil {
			return buf.Bytes(), err
		}
	}
	err := enc.Close()
	return buf.Bytes(), err
}

// projectStream decodes each block of a stream as JSON, dropping pings,
// empty deltas, nulls and stop_sequence (which the canonical form does not keep), with
// missing cache counts as zero.
func projectStream(t testing.TB, stream []byte) []any {
	t.Helper()
	types, datas := parseSSE(t, stream)
	var out []any
	for i := range types {
		if types[i] == "ping" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(datas[i], &v); err != nil {
			t.Fatalf("block %d not JSON: %v", i, err)
		}
		if d, ok := v["delta"].(map[string]any); ok {
			delete(d, "stop_sequence")
			if d["partial_json"] == "" || d["text"] == "" || d["thinking"] == "" {
				continue // empty deltas carry nothing
			}
		}
		if m, ok := v["message"].(map[string]any); ok {
			delete(m, "stop_sequence")
		}
		out = append(out, map[string]any{"event": types[i], "data": dropNulls(v)})
	}
	return out
}

func TestStreamRoundTrip(t *testing.T) {
	for _, tc := range streamFixtures {
		t.Run(tc.name, func(t *testing.T) {
			evs, dec, err := decodeStream(t, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !dec.Done() {
				t.Error("Done() = false after message_stop")
			}
			out, err := encodeStream(t, evs)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(projectStream(t, []byte(tc.body)), projectStream(t, out)); d != "" {
				t.Errorf("round trip (-in +out):\n%s\nout:\n%s", d, out)
			}
		})
	}
}

func TestStreamDecoderEvents(t *testing.T) {
	evs, _, err := decodeStream(t, []byte(streamFixtures[1].body))
	if err != nil {
		t.Fatal(err)
	}
	var acc canon.Accumulator
	for _, e := range evs {
		if err := acc.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	want := &canon.Response{ID: "msg_2", Model: "claude-sonnet-4-5", Choices: []canon.Choice{{
		Parts: []canon.Part{
			canon.TextPart("Checking both."),
			canon.ToolCallPart("toolu_a", "get_weather", json.RawMessage(`{"city": "Oslo"}`)),
			canon.ToolCallPart("toolu_b", "get_weather", json.RawMessage(`{"city":"Lima"}`)),
		},
		Finish: canon.FinishToolCalls, RawFinish: "tool_use",
	}}, Usage: metering.Usage{InputTokens: 35, CachedInputTokens: 10, OutputTokens: 9}, UsageKnown: true}
	if d := cmp.Diff(want, acc.Response()); d != "" {
		t.Errorf("accumulated (-want +got):\n%s", d)
	}
}

func TestStreamDecoderRejects(t *testing.T) {
	start := msgStart("m")
	tests := []struct {
		name, body string
		seq        bool
	}{
		{"delta before start", blockDelta("0", `{"type":"text_delta","text":"`+secret+`"}`), true},
		{"second message_start", start + start, true},
		{"delta for unopened block", start + blockDelta("3", `{"type":"text_delta","text":"`+secret+`"}`), true},
		{"block started twice", start + blockStart("0", `{"type":"text","text":""}`) + blockStart("0", `{"type":"text","text":""}`), true},
		{"delta kind mismatch", start + blockStart("0", `{"type":"text","text":""}`) +
			blockDelta("0", `{"type":"input_json_delta","partial_json":"`+secret+`"}`), false},
		{"index out of range", start + blockStart("99999", `{"type":"text","text":""}`), true},
		{"server tool block", start + blockStart("0", `{"type":"server_tool_use","id":"`+secret+`"}`), false},
		{"not JSON", start + sseBlock("content_block_stop", secret), false},
		{"after message_stop", start + sseBlock("message_stop", `{}`) + sseBlock("message_stop", `{}`), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeStream(t, []byte(tc.body))
			if err == nil {
				t.Fatal("got no error; want one")
			}
			if tc.seq != errors.Is(err, canon.ErrSequence) || (!tc.seq && !errors.Is(err, errEvent)) {
				t.Errorf("got %v; want sequence error %v", err, tc.seq)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error echoes stream text: %v", err)
			}
		})
	}
}

func TestStreamError(t *testing.T) {
	body := msgStart("m") + sseBlock("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
	evs, dec, err := decodeStream(t, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Kind != canon.EventError || last.Error.Status != 529 || last.Error.Type != "overloaded_error" || dec.Done() {
		t.Errorf("got %+v, done %v; want overloaded error, not done", last, dec.Done())
	}
	out, err := encodeStream(t, evs)
	if err != nil {
		t.Fatal(err)
	}
	want := "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	if !strings.HasSuffix(string(out), want) || strings.Contains(string(out), "message_stop") {
		t.Errorf("got %s; want it to end with the error and no message_stop", out)
	}
}

func TestStreamEncoderRefuses(t *testing.T) {
	enc := NewStreamEncoder(io.Discard)
	if err := enc.Encode(canon.Event{Kind: canon.EventPartStart, PartKind: canon.PartText}); !errors.Is(err, canon.ErrSequence) {
		t.Errorf("part before start: got %v; want ErrSequence", err)
	}
	_ = enc.Encode(canon.Event{Kind: canon.EventStart})
	var u *canon.UnsupportedError
	if err := enc.Encode(canon.Event{Kind: canon.EventPartStart, Choice: 1, PartKind: canon.PartText}); !errors.As(err, &u) || u.Feature != canon.FeatureChoices {
		t.Errorf("choice 1: got %v; want unsupported choices", err)
	}
	if err := enc.Encode(canon.Event{Kind: canon.EventPartDelta, Index: 2, Text: []byte("x")}); !errors.Is(err, canon.ErrSequence) {
		t.Errorf("delta of unopened part: got %v; want ErrSequence", err)
	}
	if err := enc.Encode(canon.Event{Kind: canon.EventPartStart, PartKind: canon.PartImage}); !errors.As(err, &u) || u.Feature != canon.FeaturePart {
		t.Errorf("image part: got %v; want unsupported part", err)
	}
}

// TestOpenAIStreamToAnthropic checks the cross path: an OpenAI upstream's
// stream with two parallel tool calls, whose argument deltas interleave,
// written for an Anthropic client.
func TestOpenAIStreamToAnthropic(t *testing.T) {
	chunks := []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[` +
			`{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}},` +
			`{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":""}}]}}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"tz\":\"UTC\"}"}}]}}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]}}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":20,"total_tokens":70,"prompt_tokens_details":{"cached_tokens":8}}}`,
		`[DONE]`,
	}
	var buf bytes.Buffer
	enc := NewStreamEncoder(&buf)
	var dec openai.StreamDecoder
	for _, c := range chunks {
		if err := dec.Decode([]byte(c), enc.Encode); err != nil {
			t.Fatalf("OpenAI chunk: %v", err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	evs, adec, err := decodeStream(t, buf.Bytes())
	if err != nil {
		t.Fatalf("decoding our own output: %v\n%s", err, buf.Bytes())
	}
	if !adec.Done() {
		t.Error("no message_stop")
	}
	var acc canon.Accumulator
	for _, e := range evs {
		if err := acc.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	want := &canon.Response{ID: "chatcmpl-1", Model: "gpt-4o", Choices: []canon.Choice{{
		Parts: []canon.Part{
			canon.ToolCallPart("call_a", "get_weather", json.RawMessage(`{"city":"Oslo"}`)),
			canon.ToolCallPart("call_b", "get_time", json.RawMessage(`{"tz":"UTC"}`)),
		},
		Finish: canon.FinishToolCalls, RawFinish: "tool_use",
	}}, Usage: metering.Usage{InputTokens: 50, CachedInputTokens: 8, OutputTokens: 20}, UsageKnown: true}
	if d := cmp.Diff(want, acc.Response()); d != "" {
		t.Errorf("OpenAI → Anthropic stream (-want +got):\n%s\nstream:\n%s", d, buf.Bytes())
	}
}

func FuzzStreamRoundTrip(f *testing.F) {
	for _, tc := range streamFixtures {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := sse.NewReader(bytes.NewReader(stream), nil)
		var dec StreamDecoder
		var evs []canon.Event
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			if dec.Decode(string(ev.Type), ev.Data, func(e canon.Event) error {
				evs = append(evs, e.Clone())
				return nil
			}) != nil {
				return
			}
		}
		if !dec.Done() {
			return
		}
		var want canon.Accumulator
		for _, e := range evs {
			if want.Add(e) != nil {
				return // the canonical order is stricter than the decoder's checks
			}
		}
		out, err := encodeStream(t, evs)
		if err != nil {
			var u *canon.UnsupportedError
			if errors.As(err, &u) {
				t.Fatalf("encoder refused what the decoder produced: %v", err)
			}
			t.Fatalf("encode: %v", err)
		}
		evs2, dec2, err := decodeStream(t, out)
		if err != nil || !dec2.Done() {
			t.Fatalf("decoding our own output: %v, done %v\n%s", err, dec2.Done(), out)
		}
		var got canon.Accumulator
		for _, e := range evs2 {
			if err := got.Add(e); err != nil {
				t.Fatalf("accumulating our own output: %v", err)
			}
		}
		wr, gr := want.Response(), got.Response()
		for i := range wr.Choices {
			// Reasons Anthropic does not spell are written as end_turn.
			c := &wr.Choices[i]
			if c.Finish != canon.FinishUnset {
				c.RawFinish = finishToAnthropic(c.Finish, c.RawFinish)
				c.Finish = finishFromAnthropic(c.RawFinish)
			}
		}
		if !wr.UsageKnown {
			// Anthropic's message_start requires usage: unknown becomes zero.
			wr.UsageKnown = gr.UsageKnown
		}
		if d := cmp.Diff(wr, gr); d != "" {
			t.Fatalf("round trip changed the answer (-in +out):\n%s\nout:\n%s", d, out)
		}
	})
}

func BenchmarkStreamTextDelta(b *testing.B) {
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello, this is one streamed text delta."}}`)
	var dec StreamDecoder
	enc := NewStreamEncoder(io.Discard)
	emit := enc.Encode
	_ = dec.Decode("message_start", []byte(`{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1,"output_tokens":1}}}`), emit)
	_ = dec.Decode("content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`), emit)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := dec.Decode("content_block_delta", data, emit); err != nil {
			b.Fatal(err)
		}
	}
}
