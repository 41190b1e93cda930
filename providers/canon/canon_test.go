package canon

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/metering"
)

// toolStream is two parallel tool calls after some text, their argument
// fragments interleaved, as a decoder would emit them.
func toolStream() []Event {
	return []Event{
		{Kind: EventStart, ID: "resp_1", Model: "m-1", Created: time.Unix(1700000000, 0)},
		{Kind: EventPartStart, Index: 0, PartKind: PartText},
		{Kind: EventPartDelta, Index: 0, Text: []byte("Checking ")},
		{Kind: EventPartDelta, Index: 0, Text: []byte("both.")},
		{Kind: EventPartStart, Index: 1, PartKind: PartToolCall, ID: "call_a", Name: "weather"},
		{Kind: EventPartStart, Index: 2, PartKind: PartToolCall, ID: "call_b", Name: "time"},
		{Kind: EventPartDelta, Index: 2, Text: []byte(`{"tz":`)},
		{Kind: EventPartDelta, Index: 1, Text: []byte(`{"city":"Oslo"}`)},
		{Kind: EventPartDelta, Index: 2, Text: []byte(`"UTC"}`)},
		{Kind: EventPartStop, Index: 0},
		{Kind: EventPartStop, Index: 2},
		{Kind: EventPartStop, Index: 1},
		{Kind: EventFinish, Finish: FinishToolCalls, RawFinish: "tool_calls"},
		{Kind: EventUsage, Usage: metering.Usage{InputTokens: 10, OutputTokens: 3}},
		{Kind: EventUsage, Usage: metering.Usage{InputTokens: 10, OutputTokens: 20, ReasoningTokens: 4}},
	}
}

func toolResponse() *Response {
	return &Response{
		ID: "resp_1", Model: "m-1", Created: time.Unix(1700000000, 0),
		Choices: []Choice{{Index: 0, Finish: FinishToolCalls, RawFinish: "tool_calls", Parts: []Part{
			TextPart("Checking both."),
			ToolCallPart("call_a", "weather", json.RawMessage(`{"city":"Oslo"}`)),
			ToolCallPart("call_b", "time", json.RawMessage(`{"tz":"UTC"}`)),
		}}},
		Usage:      metering.Usage{InputTokens: 10, OutputTokens: 20, ReasoningTokens: 4},
		UsageKnown: true,
	}
}

func TestAccumulator(t *testing.T) {
	var a Accumulator
	for _, e := range toolStream() {
		if err := a.Add(e); err != nil {
			t.Fatalf("Add(%s): %v", e.Kind, err)
		}
	}
	if !a.Started() || a.Failed() != nil {
		t.Errorf("Started %v, Failed %v; want true, nil", a.Started(), a.Failed())
	}
	if d := cmp.Diff(toolResponse(), a.Response()); d != "" {
		t.Errorf("Response (-want +got):\n%s", d)
	}
}

func TestAccumulatorChoicesAndOrder(t *testing.T) {
	var a Accumulator
	for _, e := range []Event{
		{Kind: EventStart},
		{Kind: EventPartStart, Choice: 2, Index: 5, PartKind: PartText},
		{Kind: EventPartStart, Choice: 2, Index: 1, PartKind: PartRefusal},
		{Kind: EventPartDelta, Choice: 2, Index: 5, Text: []byte("late")},
		{Kind: EventPartDelta, Choice: 2, Index: 1, Text: []byte("early")},
		{Kind: EventPartStart, Choice: 0, Index: 0, PartKind: PartThinking, Signature: "s1"},
		{Kind: EventPartDelta, Choice: 0, Index: 0, Text: []byte("hm"), Signature: "s2"},
		{Kind: EventFinish, Choice: 0, Finish: FinishStop, RawFinish: "end_turn"},
		{Kind: EventError, Error: &Error{Status: 529, Type: "overloaded_error", Message: "Overloaded"}},
	} {
		if err := a.Add(e); err != nil {
			t.Fatalf("Add(%s): %v", e.Kind, err)
		}
	}
	want := &Response{Choices: []Choice{
		{Index: 0, Finish: FinishStop, RawFinish: "end_turn", Parts: []Part{{Kind: PartThinking, Text: "hm", Signature: "s1s2"}}},
		{Index: 2, Parts: []Part{{Kind: PartRefusal, Text: "early"}, TextPart("late")}},
	}}
	if d := cmp.Diff(want, a.Response()); d != "" {
		t.Errorf("Response (-want +got):\n%s", d)
	}
	if d := cmp.Diff(&Error{Status: 529, Type: "overloaded_error", Message: "Overloaded"}, a.Failed()); d != "" {
		t.Errorf("Failed (-want +got):\n%s", d)
	}
}

func TestAccumulatorRefuses(t *testing.T) {
	start := Event{Kind: EventStart}
	text := Event{Kind: EventPartStart, PartKind: PartText}
	for _, tc := range []struct {
		name string
		evs  []Event
	}{
		{"second start", []Event{start, start}},
		{"part before start", []Event{text}},
		{"usage before start", []Event{{Kind: EventUsage}}},
		{"part started twice", []Event{start, text, text}},
		{"delta of no part", []Event{start, {Kind: EventPartDelta, Index: 3}}},
		{"delta after stop", []Event{start, text, {Kind: EventPartStop}, {Kind: EventPartDelta}}},
		{"stop twice", []Event{start, text, {Kind: EventPartStop}, {Kind: EventPartStop}}},
		{"part after finish", []Event{start, {Kind: EventFinish}, text}},
		{"finish twice", []Event{start, {Kind: EventFinish}, {Kind: EventFinish}}},
		{"negative choice", []Event{start, {Kind: EventPartStart, Choice: -1}}},
		{"choice too large", []Event{start, {Kind: EventFinish, Choice: MaxChoices}}},
		{"part too large", []Event{start, {Kind: EventPartStart, Index: MaxParts}}},
		{"unknown kind", []Event{start, {Kind: 42}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Accumulator
			var err error
			for i, e := range tc.evs {
				err = a.Add(e)
				if (err != nil) != (i == len(tc.evs)-1) {
					t.Fatalf("event %d: got %v; want an error only for the last", i, err)
				}
			}
			if !errors.Is(err, ErrSequence) {
				t.Errorf("got %v; want ErrSequence", err)
			}
		})
	}
}

func TestResponseEvents(t *testing.T) {
	r := toolResponse()
	r.Choices = append(r.Choices, Choice{Index: 1, Parts: []Part{
		{Kind: PartRedactedThinking, Signature: "opaque"},
		TextPart(""),
	}})
	var evs []Event
	if err := r.Events(func(e Event) { evs = append(evs, e.Clone()) }); err != nil {
		t.Fatal(err)
	}
	var a Accumulator
	for _, e := range evs {
		if err := a.Add(e); err != nil {
			t.Fatalf("Add(%s): %v", e.Kind, err)
		}
	}
	if d := cmp.Diff(r, a.Response()); d != "" {
		t.Errorf("Events then Accumulator (-want +got):\n%s", d)
	}
	wantKinds := "start part_start part_delta part_stop part_start part_delta part_stop part_start part_delta part_stop finish " +
		"part_start part_stop part_start part_stop usage"
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind.String())
	}
	if got := strings.Join(kinds, " "); got != wantKinds {
		t.Errorf("kinds:\ngot  %s\nwant %s", got, wantKinds)
	}

	for _, p := range []Part{ImageURLPart("https://x"), ToolResultPart("c")} {
		r := &Response{Choices: []Choice{{Parts: []Part{TextPart("a"), p}}}}
		n := 0
		if err := r.Events(func(Event) { n++ }); err == nil || n != 0 {
			t.Errorf("Events with a %s part: err %v after %d events; want an error before any", p.Kind, err, n)
		}
	}
	bad := &Response{Choices: []Choice{{Index: MaxChoices}}}
	if err := bad.Events(func(Event) {}); !errors.Is(err, ErrSequence) {
		t.Errorf("Events with choice %d: got %v; want ErrSequence", MaxChoices, err)
	}
}

func TestEventClone(t *testing.T) {
	buf := []byte("abc")
	e := Event{Kind: EventPartDelta, Text: buf, Error: &Error{Message: "m"}}
	c := e.Clone()
	buf[0] = 'x'
	e.Error.Message = "changed"
	if string(c.Text) != "abc" || c.Error.Message != "m" {
		t.Errorf("clone shares memory: %q %q", c.Text, c.Error.Message)
	}
	if c := (Event{Kind: EventStart}).Clone(); c.Text != nil || c.Error != nil {
		t.Errorf("clone of an event without text: %+v", c)
	}
}

func TestRequestHelpers(t *testing.T) {
	r := &Request{Messages: []Message{
		{Role: RoleSystem, Parts: []Part{TextPart("a")}},
		{Role: RoleDeveloper, Parts: []Part{TextPart("b"), TextPart("c")}},
		{Role: RoleUser, Parts: []Part{TextPart("q"), ImageDataPart("image/png", "AAAA")}},
		{Role: RoleAssistant, Parts: []Part{ToolCallPart("c1", "f", nil), ToolCallPart("c2", "g", nil)}},
		{Role: RoleTool, Parts: []Part{ToolResultPart("c2", TextPart("r"))}},
		{Role: RoleSystem, Parts: []Part{TextPart("late")}},
	}}
	system, rest := r.SplitSystem()
	if len(system) != 2 || len(rest) != 4 || rest[3].Role != RoleSystem {
		t.Errorf("SplitSystem: %d system, %d rest; want 2, 4 ending in the late system message", len(system), len(rest))
	}
	for _, tc := range []struct{ id, want string }{{"c1", "f"}, {"c2", "g"}, {"none", ""}} {
		if got := r.ToolName(tc.id); got != tc.want {
			t.Errorf("ToolName(%q) = %q; want %q", tc.id, got, tc.want)
		}
	}
	for i, want := range []string{"a", "bc", "q", "", "", "late"} {
		if got := r.Messages[i].Text(); got != want {
			t.Errorf("Messages[%d].Text() = %q; want %q", i, got, want)
		}
	}
	if !RoleDeveloper.IsSystem() || RoleUser.IsSystem() {
		t.Error("IsSystem: got wrong answers")
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{RoleSystem.String(), "system"}, {RoleDeveloper.String(), "developer"}, {RoleUser.String(), "user"},
		{RoleAssistant.String(), "assistant"}, {RoleTool.String(), "tool"}, {Role(0).String(), "unknown"},
		{PartText.String(), "text"}, {PartImage.String(), "image"}, {PartToolCall.String(), "tool_call"},
		{PartToolResult.String(), "tool_result"}, {PartThinking.String(), "thinking"},
		{PartRedactedThinking.String(), "redacted_thinking"}, {PartRefusal.String(), "refusal"}, {PartKind(0).String(), "unknown"},
		{ToolChoiceUnset.String(), "unset"}, {ToolChoiceAuto.String(), "auto"}, {ToolChoiceNone.String(), "none"},
		{ToolChoiceRequired.String(), "required"}, {ToolChoiceTool.String(), "tool"}, {ToolChoiceMode(9).String(), "unknown"},
		{FormatText.String(), "text"}, {FormatJSON.String(), "json"}, {FormatJSONSchema.String(), "json_schema"}, {FormatType(0).String(), "unknown"},
		{FinishUnset.String(), "unset"}, {FinishStop.String(), "stop"}, {FinishLength.String(), "length"},
		{FinishToolCalls.String(), "tool_calls"}, {FinishContentFilter.String(), "content_filter"}, {FinishOther.String(), "other"},
		{FinishReason(9).String(), "unknown"},
		{EventStart.String(), "start"}, {EventPartStart.String(), "part_start"}, {EventPartDelta.String(), "part_delta"},
		{EventPartStop.String(), "part_stop"}, {EventFinish.String(), "finish"}, {EventUsage.String(), "usage"},
		{EventError.String(), "error"}, {EventKind(0).String(), "unknown"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
}

func TestUnsupportedError(t *testing.T) {
	for _, tc := range []struct {
		err  *UnsupportedError
		want string
	}{
		{Unsupported(FeatureTopK), "canon: the target dialect cannot express top_k"},
		{UnsupportedAt(FeatureRole, 4, -1), "canon: the target dialect cannot express messages.role (message 4)"},
		{UnsupportedAt(FeaturePart, 2, 1), "canon: the target dialect cannot express messages.parts (message 2, part 1)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q; want %q", got, tc.want)
		}
	}
	var err error = UnsupportedAt(FeaturePart, 0, 0)
	if u, ok := errors.AsType[*UnsupportedError](err); !ok || u.Feature != FeaturePart {
		t.Errorf("errors.AsType: got %v, %v", u, ok)
	}
}
