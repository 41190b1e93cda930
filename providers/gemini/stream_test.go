package gemini

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

// sseOf frames chunks as Google's alt=sse does.
func sseOf(chunks ...string) string {
	var b strings.Builder
	for _, c := range chunks {
		if v := compact([]byte(c)); v != nil {
			c = string(v)
		}
		b.WriteString("data: " + c + "\r\n\r\n")
	}
	return b.String()
}

var streamFixtures = []struct {
	name, stream string
}{
	{"text over chunks", sseOf(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"s1"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"lo, "}]},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"s1"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"world."}]},"finishReason":"STOP","index":0}],
			"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"totalTokenCount":7},"modelVersion":"gemini-2.5-flash","responseId":"s1"}`)},
	{"two calls in one chunk", sseOf(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Checking."}]},"index":0}],"responseId":"s2","modelVersion":"m"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"weather","args":{"city":"Oslo"}},"thoughtSignature":"c2ln"},
			{"functionCall":{"name":"time","args":{"tz":"UTC"}}}]},"finishReason":"STOP","index":0}],
			"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":8,"thoughtsTokenCount":30,"totalTokenCount":47},"responseId":"s2","modelVersion":"m"}`)},
	{"thinking then text", sseOf(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Let me see","thought":true}]},"index":0}],"responseId":"s3","modelVersion":"m"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Yes."}]},"index":0}],"responseId":"s3","modelVersion":"m"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"","thoughtSignature":"U0lH"}]},"finishReason":"MAX_TOKENS","index":0}],"responseId":"s3","modelVersion":"m"}`)},
	{"cut short", sseOf(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"partial"}]},"index":0}],"responseId":"s4","modelVersion":"m"}`)},
	{"two candidates", sseOf(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"a"}]},"index":0},{"content":{"role":"model","parts":[{"text":"b"}]},"index":1}],"responseId":"s5","modelVersion":"m"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"c"}]},"finishReason":"STOP","index":1}],"responseId":"s5","modelVersion":"m"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"d"}]},"finishReason":"SAFETY","index":0}],"responseId":"s5","modelVersion":"m"}`)},
}

// decodeStream decodes an SSE stream, checks that the events form a
// canonical stream, and returns them and their whole answer.
func decodeStream(t testing.TB, stream []byte) ([]canon.Event, *canon.Response, error) {
	rd := sse.NewReader(bytes.NewReader(stream), nil)
	var dec StreamDecoder
	var evs []canon.Event
	var acc canon.Accumulator
	emit := func(e canon.Event) error {
		evs = append(evs, e.Clone())
		return acc.Add(e)
	}
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		if err := dec.Decode(ev.Data, emit); err != nil {
			return nil, nil, err
		}
	}
	if err := dec.Finish(emit); err != nil {
		return nil, nil, err
	}
	return evs, acc.Response(), nil
}

func encodeEvents(t testing.TB, evs []canon.Event) []byte {
	t.Helper()
	var out bytes.Buffer
	enc := NewStreamEncoder(&out)
	for _, e := range evs {
		if err := enc.Encode(e); err != nil {
			t.Fatalf("Encode(%s): %v", e.Kind, err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out.Bytes()
}

func TestStreamRoundTrip(t *testing.T) {
	for _, tc := range streamFixtures {
		t.Run(tc.name, func(t *testing.T) {
			evs, want, err := decodeStream(t, []byte(tc.stream))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			out := encodeEvents(t, evs)
			for _, chunk := range strings.SplitAfter(string(out), "\r\n\r\n") {
				if chunk != "" && (!strings.HasPrefix(chunk, "data: {") || strings.Count(chunk, "\n") != 2) {
					t.Errorf("chunk %q is not one data line ended by \\r\\n\\r\\n", chunk)
				}
			}
			_, got, err := decodeStream(t, out)
			if err != nil {
				t.Fatalf("decode again: %v\n%s", err, out)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("round trip (-want +got):\n%s\n%s", d, out)
			}
		})
	}
}

func TestStreamDecoderEvents(t *testing.T) {
	evs, _, err := decodeStream(t, []byte(streamFixtures[1].stream))
	if err != nil {
		t.Fatal(err)
	}
	want := []canon.Event{
		{Kind: canon.EventStart, ID: "s2", Model: "m"},
		{Kind: canon.EventPartStart, Index: 0, PartKind: canon.PartText},
		{Kind: canon.EventPartDelta, Index: 0, Text: []byte("Checking.")},
		{Kind: canon.EventPartStop, Index: 0},
		{Kind: canon.EventPartStart, Index: 1, PartKind: canon.PartToolCall, ID: "gemini_0_1", Name: "weather", Signature: "c2ln"},
		{Kind: canon.EventPartDelta, Index: 1, Text: []byte(`{"city":"Oslo"}`)},
		{Kind: canon.EventPartStop, Index: 1},
		{Kind: canon.EventPartStart, Index: 2, PartKind: canon.PartToolCall, ID: "gemini_0_2", Name: "time"},
		{Kind: canon.EventPartDelta, Index: 2, Text: []byte(`{"tz":"UTC"}`)},
		{Kind: canon.EventPartStop, Index: 2},
		{Kind: canon.EventFinish, Finish: canon.FinishToolCalls, RawFinish: "STOP"},
		{Kind: canon.EventUsage, Usage: metering.Usage{InputTokens: 9, OutputTokens: 38, ReasoningTokens: 30}},
	}
	if d := cmp.Diff(want, evs); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// The same parts whole get the same IDs.
	r, err := ResponseToCanon([]byte(`{"candidates":[{"content":{"parts":[{"text":"Checking."},{"functionCall":{"name":"weather"}}]}}]}`))
	if err != nil || r.Choices[0].Parts[1].ToolCall.ID != "gemini_0_1" {
		t.Errorf("whole answer's call ID = %v, %v; want gemini_0_1", r, err)
	}
}

func TestStreamDecoderErrors(t *testing.T) {
	var d StreamDecoder
	var got []canon.Event
	err := d.Decode([]byte(`{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}`), func(e canon.Event) error {
		got = append(got, e)
		return nil
	})
	if err != nil || len(got) != 1 || got[0].Kind != canon.EventError || got[0].Error.Status != 429 || got[0].Error.Type != "RESOURCE_EXHAUSTED" {
		t.Errorf("error chunk = %+v, %v; want one EventError 429", got, err)
	}
	d = StreamDecoder{}
	nop := func(canon.Event) error { return nil }
	if err := d.Decode([]byte(`{"candidates":[{"finishReason":"STOP"}]}`), nop); err != nil || !d.Done() {
		t.Fatalf("Decode = %v, Done %v; want nil, true", err, d.Done())
	}
	if err := d.Decode([]byte(`{"candidates":[{"content":{"parts":[{"text":"late"}]}}]}`), nop); !errors.Is(err, canon.ErrSequence) {
		t.Errorf("chunk after finish: err = %v; want ErrSequence", err)
	}
	for _, bad := range []string{`{"candidates":[{"index":999}]}`, `CANARY-7f3a`} {
		err := (&StreamDecoder{}).Decode([]byte(bad), nop)
		if err == nil || strings.Contains(err.Error(), canary) {
			t.Errorf("Decode(%s) = %v; want an error without body text", bad, err)
		}
	}
}

func TestStreamEncoder(t *testing.T) {
	// Argument fragments of two interleaved calls: each call is written
	// whole at its stop; finish and usage on the last chunk.
	evs := []canon.Event{
		{Kind: canon.EventStart, ID: "r", Model: "m"},
		{Kind: canon.EventPartStart, Index: 0, PartKind: canon.PartToolCall, ID: "call_a", Name: "f"},
		{Kind: canon.EventPartStart, Index: 1, PartKind: canon.PartToolCall, ID: "call_b", Name: "g"},
		{Kind: canon.EventPartDelta, Index: 1, Text: []byte(`{"y":`)},
		{Kind: canon.EventPartDelta, Index: 0, Text: []byte(`{"x":1}`)},
		{Kind: canon.EventPartDelta, Index: 1, Text: []byte(`2}`)},
		{Kind: canon.EventPartStop, Index: 1},
		{Kind: canon.EventPartStop, Index: 0},
		{Kind: canon.EventFinish, Finish: canon.FinishToolCalls, RawFinish: "tool_calls"},
		{Kind: canon.EventUsage, Usage: metering.Usage{InputTokens: 3, OutputTokens: 4}},
	}
	out := string(encodeEvents(t, evs))
	want := sseOf(
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"id":"call_b","name":"g","args":{"y":2}}}]},"index":0}],"modelVersion":"m","responseId":"r"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"id":"call_a","name":"f","args":{"x":1}}}]},"index":0}],"modelVersion":"m","responseId":"r"}`,
		`{"candidates":[{"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4,"totalTokenCount":7},"modelVersion":"m","responseId":"r"}`)
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}

	enc := NewStreamEncoder(&bytes.Buffer{})
	if err := enc.Encode(canon.Event{Kind: canon.EventPartStart, PartKind: canon.PartText}); !errors.Is(err, canon.ErrSequence) {
		t.Errorf("part before start: err = %v; want ErrSequence", err)
	}
	_ = enc.Encode(canon.Event{Kind: canon.EventStart})
	if err := enc.Encode(canon.Event{Kind: canon.EventPartDelta, Index: 3}); !errors.Is(err, canon.ErrSequence) {
		t.Errorf("delta of a part not open: err = %v; want ErrSequence", err)
	}
	_ = enc.Encode(canon.Event{Kind: canon.EventPartStart, PartKind: canon.PartToolCall, Name: "f"})
	_ = enc.Encode(canon.Event{Kind: canon.EventPartDelta, Text: []byte(`{"trunc`)})
	if err := enc.Encode(canon.Event{Kind: canon.EventPartStop}); err == nil {
		t.Error("stop of a call with invalid arguments: nil error; want one")
	}

	var buf bytes.Buffer
	enc = NewStreamEncoder(&buf)
	_ = enc.Encode(canon.Event{Kind: canon.EventStart})
	_ = enc.Encode(canon.Event{Kind: canon.EventError, Error: &canon.Error{Status: 503, Type: "UNAVAILABLE", Message: "down"}})
	_ = enc.Close()
	if d := cmp.Diff(semantic(t, []byte(`{"error":{"code":503,"message":"down","status":"UNAVAILABLE"}}`)),
		semantic(t, bytes.TrimSuffix(bytes.TrimPrefix(buf.Bytes(), []byte("data: ")), []byte("\r\n\r\n")))); d != "" {
		t.Errorf("error chunk (-want +got):\n%s", d)
	}
}

func TestStreamMatchesWholeResponse(t *testing.T) {
	// A whole answer replayed as events and streamed decodes to itself.
	r, err := ResponseToCanon([]byte(responseFixtures[2].body))
	if err != nil {
		t.Fatal(err)
	}
	var evs []canon.Event
	if err := r.Events(func(e canon.Event) { evs = append(evs, e) }); err != nil {
		t.Fatal(err)
	}
	_, got, err := decodeStream(t, encodeEvents(t, evs))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(r, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
