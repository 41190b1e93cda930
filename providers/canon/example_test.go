package canon_test

import (
	"encoding/json"
	"fmt"

	"github.com/wicket-gw/wicket/providers/canon"
)

// A decoder emits events; the Accumulator folds them into the whole
// answer, keeping parallel tool calls apart by their part index.
func ExampleAccumulator() {
	var a canon.Accumulator
	for _, e := range []canon.Event{
		{Kind: canon.EventStart, ID: "r1", Model: "m"},
		{Kind: canon.EventPartStart, Index: 0, PartKind: canon.PartToolCall, ID: "call_a", Name: "weather"},
		{Kind: canon.EventPartStart, Index: 1, PartKind: canon.PartToolCall, ID: "call_b", Name: "weather"},
		{Kind: canon.EventPartDelta, Index: 1, Text: []byte(`{"city":`)},
		{Kind: canon.EventPartDelta, Index: 0, Text: []byte(`{"city":"Oslo"}`)},
		{Kind: canon.EventPartDelta, Index: 1, Text: []byte(`"Lima"}`)},
		{Kind: canon.EventPartStop, Index: 0},
		{Kind: canon.EventPartStop, Index: 1},
		{Kind: canon.EventFinish, Finish: canon.FinishToolCalls},
	} {
		if err := a.Add(e); err != nil {
			fmt.Println(err)
			return
		}
	}
	for _, p := range a.Response().Choices[0].Parts {
		fmt.Println(p.ToolCall.ID, p.ToolCall.Name, string(p.ToolCall.Arguments))
	}
	// A second start is refused, not merged.
	fmt.Println(a.Add(canon.Event{Kind: canon.EventStart}))
	// Output:
	// call_a weather {"city":"Oslo"}
	// call_b weather {"city":"Lima"}
	// canon: events out of order: second start
}

// Events replays a whole answer as a stream, for a client that asked to
// stream from an upstream that answered whole.
func ExampleResponse_Events() {
	r := &canon.Response{ID: "r2", Model: "m", Choices: []canon.Choice{{
		Parts:  []canon.Part{canon.TextPart("Hi"), canon.ToolCallPart("c1", "f", json.RawMessage(`{}`))},
		Finish: canon.FinishToolCalls,
	}}}
	_ = r.Events(func(e canon.Event) {
		switch e.Kind {
		case canon.EventPartStart:
			if e.PartKind == canon.PartToolCall {
				fmt.Println(e.Kind, e.Index, e.PartKind, e.ID, e.Name)
			} else {
				fmt.Println(e.Kind, e.Index, e.PartKind)
			}
		case canon.EventPartDelta:
			fmt.Println(e.Kind, e.Index, string(e.Text))
		case canon.EventPartStop:
			fmt.Println(e.Kind, e.Index)
		case canon.EventFinish:
			fmt.Println(e.Kind, e.Finish)
		default:
			fmt.Println(e.Kind, e.ID)
		}
	})
	// Output:
	// start r2
	// part_start 0 text
	// part_delta 0 Hi
	// part_stop 0
	// part_start 1 tool_call c1 f
	// part_delta 1 {}
	// part_stop 1
	// finish tool_calls
}

// Dialects with a single system field take the leading system messages.
func ExampleRequest_SplitSystem() {
	r := &canon.Request{Messages: []canon.Message{
		{Role: canon.RoleSystem, Parts: []canon.Part{canon.TextPart("Be brief.")}},
		{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("Hi")}},
	}}
	system, rest := r.SplitSystem()
	fmt.Println(len(system), system[0].Text(), len(rest), rest[0].Role)
	// Output: 1 Be brief. 1 user
}

// An encoder refuses what its dialect cannot express; the client's front
// door names the field in the client's spelling.
func ExampleUnsupported() {
	var err error = canon.Unsupported(canon.FeatureTopK)
	fmt.Println(err)
	// Output: canon: the target dialect cannot express top_k
}
