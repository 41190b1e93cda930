package gemini_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/providers/gemini"
	"github.com/wicket-gw/wicket/redact"
)

func ExampleRequestToCanon() {
	body := `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"temperature":0}}`
	r, perr := gemini.RequestToCanon("gemini-2.5-flash", false, []byte(body))
	if perr != nil {
		fmt.Println(perr)
		return
	}
	fmt.Println(r.Model, r.Messages[0].Role, r.Messages[0].Text(), *r.Temperature)
	// Output: gemini-2.5-flash user Hi 0
}

func ExampleRequestFromCanon() {
	r := &canon.Request{Model: "gemini-2.5-flash", Messages: []canon.Message{
		{Role: canon.RoleSystem, Parts: []canon.Part{canon.TextPart("Be brief.")}},
		{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("Hi")}},
	}}
	body, err := gemini.RequestFromCanon(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The caller builds the URL from r.Model.
	fmt.Println("models/" + r.Model + ":generateContent")
	fmt.Println(string(body))
	// Output:
	// models/gemini-2.5-flash:generateContent
	// {"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"systemInstruction":{"parts":[{"text":"Be brief."}]}}
}

func ExampleFrontDoor_Decode() {
	var door gemini.FrontDoor
	body := []byte(`{"contents":[{"parts":[{"text":"Hi"}]}],"generationConfig":{"maxOutputTokens":256}}`)
	mux := http.NewServeMux()
	for _, rt := range door.Routes() {
		mux.HandleFunc(rt.Pattern(), func(w http.ResponseWriter, r *http.Request) {
			req, perr := door.Decode(rt, r, body)
			if perr != nil {
				fmt.Println(perr)
				return
			}
			fmt.Println(req.Model, req.Endpoint, req.Stream, req.ArrayStream, req.MaxOutputTokens)
		})
	}
	r := httptest.NewRequest(http.MethodPost, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", nil)
	mux.ServeHTTP(httptest.NewRecorder(), r)
	// Output: gemini-2.5-flash chat.completions true false 256
}

func ExampleNew() {
	p, err := gemini.New(&gemini.Options{APIKey: redact.NewSecret("AIza-example")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Name(), p.Dialect())
	// Output: gemini gemini
}
