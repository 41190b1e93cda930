package anthropic_test

import (
	"fmt"
	"os"

	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/canon"
)

func ExampleRequestToCanon() {
	r, perr := anthropic.RequestToCanon([]byte(`{"model":"claude-haiku-4-5","max_tokens":100,
		"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}`))
	if perr != nil {
		fmt.Println(perr.Message)
		return
	}
	fmt.Println(len(r.Messages), r.Messages[0].Role, *r.MaxOutputTokens)
	body, _ := anthropic.RequestFromCanon(r)
	fmt.Println(string(body))

	_, perr = anthropic.RequestToCanon([]byte(`{"model":"m","max_tokens":1,"messages":[],"service_tier":"auto"}`))
	fmt.Println(perr.Param, perr.Code)
	// Output:
	// 2 system 100
	// {"model":"claude-haiku-4-5","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}
	// service_tier unsupported_parameter
}

func ExampleNewStreamEncoder() {
	enc := anthropic.NewStreamEncoder(os.Stdout)
	for _, ev := range []canon.Event{
		{Kind: canon.EventStart, ID: "msg_1", Model: "claude-haiku-4-5"},
		{Kind: canon.EventPartStart, PartKind: canon.PartText},
		{Kind: canon.EventPartDelta, Text: []byte("Hi")},
		{Kind: canon.EventPartStop},
		{Kind: canon.EventFinish, Finish: canon.FinishStop},
	} {
		if err := enc.Encode(ev); err != nil {
			fmt.Println(err)
		}
	}
	_ = enc.Close()
	// Output:
	// event: message_start
	// data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}
	//
	// event: content_block_start
	// data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}
	//
	// event: content_block_delta
	// data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}
	//
	// event: content_block_stop
	// data: {"type":"content_block_stop","index":0}
	//
	// event: message_delta
	// data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}
	//
	// event: message_stop
	// data: {"type":"message_stop"}
}
