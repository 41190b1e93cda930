package providers_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/redact"
)

func ExampleNewRouter() {
	local := fake.NewProvider(nil) // named "fake"
	groq, err := openai.New(&openai.Options{Name: "groq", BaseURL: "https://api.groq.com/openai/v1"})
	if err != nil {
		panic(err)
	}
	router, err := providers.NewRouter([]providers.Model{
		{
			Name:    "fast",
			Aliases: []string{"quick"},
			Deployments: []providers.Deployment{
				{Provider: groq, Model: "llama-3.1-8b-instant"}, // tried first
				{Provider: local, Model: "fake-echo"},           // fallback
			},
		},
		// Any other "fake-…" name goes to the fake under the same name.
		{Name: "fake-*", Deployments: []providers.Deployment{{Provider: local}}},
	}, &providers.RouterOptions{MaxAttempts: 3})
	if err != nil {
		panic(err)
	}

	for _, model := range []string{"quick", "fake-echo"} {
		plan, err := router.Route(model)
		if err != nil {
			panic(err)
		}
		for i := range plan.Len() {
			d := plan.At(i)
			fmt.Printf("%s attempt %d: %s sends %q\n", model, i+1, d.Name, plan.UpstreamModel(d))
		}
	}
	_, err = router.Route("gpt-4o")
	fmt.Println(errors.Is(err, providers.ErrUnknownModel))
	// Output:
	// quick attempt 1: groq/llama-3.1-8b-instant sends "llama-3.1-8b-instant"
	// quick attempt 2: fake/fake-echo sends "fake-echo"
	// quick attempt 3: groq/llama-3.1-8b-instant sends "llama-3.1-8b-instant"
	// fake-echo attempt 1: fake/fake-* sends "fake-echo"
	// fake-echo attempt 2: fake/fake-* sends "fake-echo"
	// fake-echo attempt 3: fake/fake-* sends "fake-echo"
	// true
}

func ExampleRouter_Models() {
	router, err := providers.NewRouter([]providers.Model{
		{Name: "fake-echo", Aliases: []string{"echo"}, Deployments: []providers.Deployment{{Provider: fake.NewProvider(nil)}}},
		{Name: "fake-*", OwnedBy: "wicket", Deployments: []providers.Deployment{{Provider: fake.NewProvider(nil)}}},
	}, nil)
	if err != nil {
		panic(err)
	}
	for _, m := range router.Models() {
		fmt.Println(m.ID, m.OwnedBy)
	}
	// Output:
	// echo fake
	// fake-echo fake
}

func ExampleStrategy() {
	a := fake.NewProvider(nil)
	router, err := providers.NewRouter([]providers.Model{{
		Name:     "balanced",
		Strategy: providers.RoundRobin,
		Deployments: []providers.Deployment{
			{Name: "east", Provider: a, Model: "fake-echo"},
			{Name: "west", Provider: a, Model: "fake-echo"},
		},
	}}, &providers.RouterOptions{MaxAttempts: 2})
	if err != nil {
		panic(err)
	}
	for range 3 {
		plan, _ := router.Route("balanced")
		fmt.Println(plan.At(0).Name, "then", plan.At(1).Name)
	}
	// Output:
	// east then west
	// west then east
	// east then west
}

func ExampleError_Body() {
	e := &providers.Error{Status: 429, Code: "rate_limit_exceeded", Message: "Rate limit reached. Try again in 2s."}
	fmt.Print(string(e.Body(providers.DialectOpenAI)))
	fmt.Print(string(e.Body(providers.DialectAnthropic)))
	fmt.Print(string(e.Body(providers.DialectGemini)))
	// Output:
	// {"error":{"message":"Rate limit reached. Try again in 2s.","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}
	// {"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached. Try again in 2s."}}
	// {"error":{"code":429,"message":"Rate limit reached. Try again in 2s.","status":"RESOURCE_EXHAUSTED"}}
}

func ExampleWriteError() {
	rec := httptest.NewRecorder()
	rec.Header().Set("Retry-After", "2") // kept
	providers.WriteError(rec, providers.DialectAnthropic, &providers.Error{Status: 404, Message: "Unknown model."})
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Retry-After"))
	fmt.Print(rec.Body.String())
	// Output:
	// 404 application/json 2
	// {"type":"error","error":{"type":"not_found_error","message":"Unknown model."}}
}

func ExampleRetryable() {
	for _, status := range []int{400, 429, 500, 501, 503, 529} {
		fmt.Println(status, providers.Retryable(status))
	}
	// Output:
	// 400 false
	// 429 true
	// 500 true
	// 501 false
	// 503 true
	// 529 true
}

// A key pool: several credentials of one upstream, each its own provider,
// as weighted deployments of one model. A key the upstream refuses (401,
// 403) cools its provider down, so traffic moves to the other keys, and
// repeated 429s or 5xx from one key's deployment take it out for a while.
func ExampleDeployment_keyPool() {
	var keys []providers.Deployment
	for i, share := range []int{3, 1} { // the first key gets 3/4 of the traffic
		p, err := openai.New(&openai.Options{Name: fmt.Sprintf("openai-key%d", i+1), APIKey: redact.NewSecret(fmt.Sprintf("sk-key-%d", i+1))})
		if err != nil {
			panic(err)
		}
		keys = append(keys, providers.Deployment{Provider: p, Model: "gpt-4o-mini", Weight: share})
	}
	router, err := providers.NewRouter([]providers.Model{{Name: "gpt-4o-mini", Strategy: providers.Weighted, Deployments: keys}},
		&providers.RouterOptions{
			CoolDown: providers.CoolDown{Failures: 3, Window: 30 * time.Second, Period: 10 * time.Second},
			OnCoolDown: func(e providers.CoolDownEvent) {
				fmt.Println("cool-down:", e.Provider, e.Entered, e.Cause)
			},
		})
	if err != nil {
		panic(err)
	}
	plan, _ := router.Route("gpt-4o-mini")
	fmt.Println("attempts:", plan.Len(), "over", plan.Deployments(), "keys")

	// The gateway reports each attempt; the first key refused:
	key1 := plan.At(0)
	if key1.Provider.Name() != "openai-key1" {
		key1 = plan.At(1) // the weighted pick started at the other key
	}
	router.Report(key1, providers.FailureCredential)
	ok, _ := router.Available(key1)
	fmt.Println("refused key available:", ok)
	// Output:
	// attempts: 3 over 2 keys
	// cool-down: openai-key1 true credential
	// refused key available: false
}
