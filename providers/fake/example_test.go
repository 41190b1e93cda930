package fake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/openai"
)

func ExampleHandler() {
	upstream := httptest.NewServer(fake.Handler(nil))
	defer upstream.Close()

	resp, err := http.Post(upstream.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"fake-echo","messages":[{"role":"user","content":"Hello, fake!"}]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status)
	fmt.Print(string(body))
	// Output:
	// 200 OK
	// {"id":"chatcmpl-fake3gz1zps18j6m5","object":"chat.completion","created":1700000000,"model":"fake-echo","choices":[{"index":0,"message":{"role":"assistant","content":"Hello, fake!","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5},"system_fingerprint":"fp_fake"}
}

func ExampleHandler_stream() {
	upstream := httptest.NewServer(fake.Handler(&fake.Options{Chunks: 3}))
	defer upstream.Close()

	resp, err := http.Post(upstream.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"fake-echo","stream":true,"stream_options":{"include_usage":true},`+
			`"messages":[{"role":"user","content":"tick tock"}]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Header.Get("Content-Type"))
	fmt.Print(string(body))
	// Output:
	// text/event-stream
	// data: {"id":"chatcmpl-fakep5izl7fpdgwr","object":"chat.completion.chunk","created":1700000000,"model":"fake-echo","system_fingerprint":"fp_fake","choices":[{"index":0,"delta":{"role":"assistant","content":"tick"},"logprobs":null,"finish_reason":null}],"usage":null}
	//
	// data: {"id":"chatcmpl-fakep5izl7fpdgwr","object":"chat.completion.chunk","created":1700000000,"model":"fake-echo","system_fingerprint":"fp_fake","choices":[{"index":0,"delta":{"content":" tock"},"logprobs":null,"finish_reason":null}],"usage":null}
	//
	// data: {"id":"chatcmpl-fakep5izl7fpdgwr","object":"chat.completion.chunk","created":1700000000,"model":"fake-echo","system_fingerprint":"fp_fake","choices":[{"index":0,"delta":{"content":" tick"},"logprobs":null,"finish_reason":null}],"usage":null}
	//
	// data: {"id":"chatcmpl-fakep5izl7fpdgwr","object":"chat.completion.chunk","created":1700000000,"model":"fake-echo","system_fingerprint":"fp_fake","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}
	//
	// data: {"id":"chatcmpl-fakep5izl7fpdgwr","object":"chat.completion.chunk","created":1700000000,"model":"fake-echo","system_fingerprint":"fp_fake","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}
	//
	// data: [DONE]
}

func ExampleHandler_errors() {
	upstream := httptest.NewServer(fake.Handler(nil))
	defer upstream.Close()

	resp, err := http.Post(upstream.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"fake-error-429","messages":[{"role":"user","content":"again"}]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, "retry-after:", resp.Header.Get("Retry-After"))
	fmt.Print(string(body))
	// Output:
	// 429 retry-after: 1
	// {"error":{"message":"Rate limit reached for fake-error-429.","type":"requests","param":null,"code":"rate_limit_exceeded"}}
}

func ExampleHandler_anthropic() {
	upstream := httptest.NewServer(fake.Handler(nil))
	defer upstream.Close()

	// The Messages API: offered a tool, the fake calls it, its required
	// string property set to the user's text.
	resp, err := http.Post(upstream.URL+"/v1/messages", "application/json",
		strings.NewReader(`{"model":"fake-echo","max_tokens":256,`+
			`"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],`+
			`"messages":[{"role":"user","content":"Paris"}]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, resp.Header.Get("Request-Id"))
	fmt.Print(string(body))
	// Output:
	// 200 OK req_fake17hub45eqpnwh
	// {"id":"msg_fakehxgtz2uexub8","type":"message","role":"assistant","model":"fake-echo","content":[{"type":"tool_use","id":"toolu_fakehxgtz2uexub8","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":2,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":4}}
}

func ExampleHandler_anthropicStream() {
	upstream := httptest.NewServer(fake.Handler(nil))
	defer upstream.Close()

	resp, err := http.Post(upstream.URL+"/v1/messages", "application/json",
		strings.NewReader(`{"model":"fake-echo","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"tick tock"}]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output:
	// event: message_start
	// data: {"type":"message_start","message":{"id":"msg_fakep5izl7fpdgwr","type":"message","role":"assistant","model":"fake-echo","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}
	//
	// event: content_block_start
	// data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}
	//
	// event: ping
	// data: {"type": "ping"}
	//
	// event: content_block_delta
	// data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tick"}}
	//
	// event: content_block_delta
	// data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" tock"}}
	//
	// event: content_block_stop
	// data: {"type":"content_block_stop","index":0}
	//
	// event: message_delta
	// data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}
	//
	// event: message_stop
	// data: {"type":"message_stop"}
}

func ExampleHandler_gemini() {
	upstream := httptest.NewServer(fake.Handler(nil))
	defer upstream.Close()

	// streamGenerateContent with alt=sse: one GenerateContentResponse a
	// word, then the finish reason and usage.
	resp, err := http.Post(upstream.URL+"/v1beta/models/fake-echo:streamGenerateContent?alt=sse", "application/json",
		strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"tick tock"}]}]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for event := range strings.SplitSeq(strings.TrimSuffix(string(body), "\r\n\r\n"), "\r\n\r\n") {
		fmt.Println(event)
	}
	// Output:
	// data: {"candidates":[{"content":{"role":"model","parts":[{"text":"tick"}]},"index":0}],"modelVersion":"fake-echo","responseId":"fakep5izl7fpdgwr"}
	// data: {"candidates":[{"content":{"role":"model","parts":[{"text":" tock"}]},"index":0}],"modelVersion":"fake-echo","responseId":"fakep5izl7fpdgwr"}
	// data: {"candidates":[{"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5},"modelVersion":"fake-echo","responseId":"fakep5izl7fpdgwr"}
}

func ExampleHandler_toolResult() {
	upstream := httptest.NewServer(fake.Handler(nil))
	defer upstream.Close()

	// Given a tool's result, the fake reports it.
	resp, err := http.Post(upstream.URL+"/v1beta/models/fake-echo:generateContent", "application/json",
		strings.NewReader(`{"contents":[`+
			`{"role":"user","parts":[{"text":"Paris"}]},`+
			`{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},`+
			`{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"output":"sunny and warm"}}}]}]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output:
	// {"candidates":[{"content":{"role":"model","parts":[{"text":"tool get_weather said: sunny and warm"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":6,"totalTokenCount":15},"modelVersion":"fake-echo","responseId":"fake3dxa0ng10r1c3"}
}

func ExampleNewProvider() {
	p := fake.NewProvider(nil)
	router, err := providers.NewRouter([]providers.Model{
		{Name: "assistant", Deployments: []providers.Deployment{{Provider: p, Model: "fake-echo"}}},
	}, nil)
	if err != nil {
		panic(err)
	}

	// What a gateway does with one client call.
	req, perr := openai.Decode(providers.EndpointChat,
		[]byte(`{"model":"assistant","messages":[{"role":"user","content":"No network needed."}]}`))
	if perr != nil {
		panic(perr)
	}
	plan, err := router.Route(req.Model)
	if err != nil {
		panic(err)
	}
	d := plan.At(0)
	resp, err := d.Provider.Send(context.Background(), &providers.Call{Request: req, Deployment: d, UpstreamModel: plan.UpstreamModel(d)})
	if err != nil {
		panic(err)
	}
	defer resp.Close()
	w := httptest.NewRecorder()
	res, err := resp.Relay(w)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode(), resp.Header().Get("Content-Type"))
	fmt.Printf("usage: %d in, %d out (known: %v)\n", res.Usage.InputTokens, res.Usage.OutputTokens, res.UsageKnown)
	fmt.Print(w.Body.String())
	// Output:
	// 200 application/json
	// usage: 5 in, 3 out (known: true)
	// {"id":"chatcmpl-fake29h7t6cudo3dh","object":"chat.completion","created":1700000000,"model":"fake-echo","choices":[{"index":0,"message":{"role":"assistant","content":"No network needed.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8},"system_fingerprint":"fp_fake"}
}

func ExampleTransport() {
	// An http.Client whose every request is served in-process by the
	// fake: no listener, no network.
	client := &http.Client{Transport: fake.Transport(fake.Handler(nil))}
	resp, err := client.Get("http://fake.invalid/v1/models")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode)
	for _, m := range list.Data {
		fmt.Println(m.ID)
	}
	// Output:
	// 200
	// fake-echo
	// fake-embed
	// fake-error-429
	// fake-error-500
	// fake-error-503
	// fake-hang
}
