package redact_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"

	"github.com/wicket-gw/wicket/redact"
)

func ExampleNewSecret() {
	s := redact.NewSecret("sk-live-123")
	b, _ := json.Marshal(map[string]any{"api_key": s})
	fmt.Println(s, string(b))
	fmt.Println(len(s.Reveal()))
	// Output:
	// [redacted] {"api_key":"[redacted]"}
	// 11
}

func ExampleSecret_Hint() {
	s := redact.NewSecret("sk-proj-Zq3xVb7NnP0rT9sKd2LmWc5YhJ8aE4fGa1B2")
	fmt.Println(s.Hint())
	// Output: sk-proj-…a1B2
}

func ExampleNewBody() {
	b := redact.NewBody([]byte(`{"messages":[{"role":"user","content":"hi"}]}`))
	fmt.Printf("%v %q %x\n", b, b, b)
	fmt.Println(b.Len(), string(b.Bytes()[:13]))
	// Output:
	// [redacted body, 45 bytes] [redacted body, 45 bytes] [redacted body, 45 bytes]
	// 45 {"messages":[
}

func ExampleMask() {
	fmt.Println(redact.Mask("x-api-key: 8f2a61c0 and sk-ant-api03-Zq3xVb7NnP0rT9sKd2LmWc5YhJ8a-AA"))
	fmt.Println(redact.Mask("GET /v1beta/models?key=AIzaSyExample&alt=sse with Bearer eyJhbGciOi.eyJzdWIi.c2ln"))
	// Output:
	// x-api-key: [redacted] and sk-ant-…a-AA
	// GET /v1beta/models?key=[redacted]&alt=sse with Bearer [redacted]
}

func ExampleScrubError() {
	err := fmt.Errorf("gemini: %w", &url.Error{
		Op:  "Post",
		URL: "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent?key=AIzaSyExample",
		Err: io.ErrUnexpectedEOF,
	})
	s := redact.ScrubError(err)
	fmt.Println(s)
	fmt.Println(errors.Is(s, io.ErrUnexpectedEOF))
	// Output:
	// gemini: Post "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent": unexpected EOF
	// true
}

func ExampleNewHandler() {
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	h := redact.NewHandler(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime}), nil)
	log := slog.New(h).With("authorization", "Bearer abc", "route", "/v1/messages")
	log.Info("upstream failed",
		"model", "claude-sonnet-4-5",
		"messages", []string{"a prompt"},
		"err", errors.New(`Post "https://api.example/v1?key=abc": EOF`),
		"headers", map[string][]string{"X-Api-Key": {"k"}, "Accept": {"*/*"}})
	// Output:
	// {"level":"INFO","msg":"upstream failed","route":"/v1/messages","model":"claude-sonnet-4-5","err":"Post \"https://api.example/v1\": EOF","headers":{"Accept":["*/*"]}}
}

func ExampleNewPseudonymizer() {
	key := bytes.Repeat([]byte{7}, 32) // in production: 32 random bytes kept secret
	p, err := redact.NewPseudonymizer(key)
	if err != nil {
		panic(err)
	}
	a := p.Of("signup-email", "Alice.Example@Mail.Example")
	b := p.Of("signup-email", " alice.example@mail.example ")
	fmt.Println(a, a == b)
	// Output: pn_lt5a2lz3j4bb5vyyi2uyzjcydfscmrpu true
}
