package anthropic_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/redact"
)

func ExampleNew() {
	claude, err := anthropic.New(&anthropic.Options{
		APIKey: redact.NewSecret("sk-ant-example"),
		Header: http.Header{"Anthropic-Beta": {"context-1m-2025-08-07"}}, // for every call
	})
	if err != nil {
		panic(err)
	}
	router, _ := providers.NewRouter([]providers.Model{
		{Name: "sonnet", Deployments: []providers.Deployment{{Provider: claude, Model: "claude-sonnet-4-5"}}},
	}, nil)
	plan, _ := router.Route("sonnet")
	d := plan.At(0)
	fmt.Println(d.Name, plan.UpstreamModel(d), claude.Dialect())

	_, err = anthropic.New(&anthropic.Options{BaseURL: "https://example.com/v1?key=secret"})
	fmt.Println(err)
	// Output:
	// anthropic/claude-sonnet-4-5 claude-sonnet-4-5 anthropic
	// anthropic: provider "anthropic": BaseURL must be an http(s) URL without credentials, query or fragment
}

func ExampleDecode() {
	body := []byte(`{"model":"sonnet","max_tokens":1024,"stream":true,"tools":[{"type":"web_search_20250305","name":"web_search"}],
		"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}},{"type":"text","text":"Where is this?"}]}]}`)
	req, perr := anthropic.Decode(providers.EndpointChat, body)
	if perr != nil {
		panic(perr)
	}
	fmt.Println(req.Model, req.Stream, req.MaxOutputTokens, req.Images, req.Unbounded)
	fmt.Println(string(body[req.ModelStart:req.ModelEnd]))

	_, perr = anthropic.Decode(providers.EndpointChat, []byte(`{"model":"sonnet","messages":[]}`))
	fmt.Println(string(perr.Body(providers.DialectAnthropic)))
	// Output:
	// sonnet true 1024 1 tools
	// "sonnet"
	// {"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required."}}
}

func ExampleFrontDoor_WriteLimitHeaders() {
	h := http.Header{}
	anthropic.FrontDoor{}.WriteLimitHeaders(h, providers.RateLimits{
		Now:        time.Date(2025, 6, 1, 12, 0, 0, 400_000_000, time.UTC),
		RetryAfter: 2500 * time.Millisecond,
		Requests:   providers.Quota{Limit: 50, Remaining: 0, Reset: 2500 * time.Millisecond},
	})
	for _, k := range []string{"anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset", "retry-after"} {
		fmt.Println(k+":", h.Get(k))
	}
	// Output:
	// anthropic-ratelimit-requests-limit: 50
	// anthropic-ratelimit-requests-remaining: 0
	// anthropic-ratelimit-requests-reset: 2025-06-01T12:00:03Z
	// retry-after: 3
}

func ExampleFrontDoor_WriteTokenCount() {
	w := httptest.NewRecorder()
	anthropic.FrontDoor{}.WriteTokenCount(w, &providers.Request{Endpoint: providers.EndpointCountTokens}, 2095)
	fmt.Println(w.Header().Get("Content-Type"), strings.TrimSpace(w.Body.String()))
	// Output:
	// application/json {"input_tokens":2095}
}

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
