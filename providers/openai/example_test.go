package openai_test

import (
	"fmt"
	"net/http"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/redact"
)

func ExampleNew() {
	// An OpenAI-compatible upstream other than OpenAI: a base URL, its
	// credential, and a name for events and logs.
	groq, err := openai.New(&openai.Options{
		Name:    "groq",
		BaseURL: "https://api.groq.com/openai/v1",
		APIKey:  redact.NewSecret("gsk-example"),
		Header:  http.Header{"X-Team": {"search"}},
	})
	if err != nil {
		panic(err)
	}
	router, _ := providers.NewRouter([]providers.Model{
		{Name: "llama", Deployments: []providers.Deployment{{Provider: groq, Model: "llama-3.3-70b-versatile"}}},
	}, nil)
	plan, _ := router.Route("llama")
	d := plan.At(0)
	fmt.Println(d.Name, plan.UpstreamModel(d), groq.Dialect())

	_, err = openai.New(&openai.Options{BaseURL: "https://example.com/v1?key=secret"})
	fmt.Println(err)
	// Output:
	// groq/llama-3.3-70b-versatile llama-3.3-70b-versatile openai
	// openai: provider "openai": BaseURL must be an http(s) URL without credentials or query
}

func ExampleDecode() {
	body := []byte(`{"model":"fast","stream":true,"max_tokens":256,"messages":[{"role":"user","content":"Hi"}]}`)
	req, perr := openai.Decode(providers.EndpointChat, body)
	if perr != nil {
		panic(perr)
	}
	fmt.Println(req.Model, req.Stream, req.IncludeUsage, req.MaxOutputTokens)
	fmt.Println(string(body[req.ModelStart:req.ModelEnd]))

	_, perr = openai.Decode(providers.EndpointChat, []byte(`{"model":7}`))
	fmt.Print(string(perr.Body(providers.DialectOpenAI)))
	// Output:
	// fast true false 256
	// "fast"
	// {"error":{"message":"Invalid type for 'model': expected a string.","type":"invalid_request_error","param":"model","code":"invalid_type"}}
}
