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
