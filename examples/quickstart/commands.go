package main

import (
	"sort"
	"strings"
)

// command is one ready-to-paste example call of the quickstart gateway.
// The quickstart prints it as a curl command line, and its test makes the
// same call, so that every printed command is known to work.
type command struct {
	title  string
	method string
	url    string
	header map[string]string
	body   string // JSON; empty for none
	// stream reports whether the answer is streamed (curl -N).
	stream bool
	// want is a piece of the answer that shows it worked.
	want string
}

// tryCommands lists the example calls for a gateway at base and a key: the
// fake model through each dialect's front door, whole and streamed.
func tryCommands(base, key string) []command {
	const prompt = "hello wicket"
	openaiHeader := map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
	anthropicHeader := map[string]string{"x-api-key": key, "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
	geminiHeader := map[string]string{"x-goog-api-key": key, "Content-Type": "application/json"}
	chat := `{"model":"fake-echo","messages":[{"role":"user","content":"` + prompt + `"}]}`
	chatStream := `{"model":"fake-echo","stream":true,"messages":[{"role":"user","content":"` + prompt + `"}]}`
	messages := `{"model":"fake-echo","max_tokens":256,"messages":[{"role":"user","content":"` + prompt + `"}]}`
	messagesStream := `{"model":"fake-echo","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"` + prompt + `"}]}`
	contents := `{"contents":[{"role":"user","parts":[{"text":"` + prompt + `"}]}]}`
	return []command{
		{title: "OpenAI chat completions", method: "POST", url: base + "/v1/chat/completions", header: openaiHeader, body: chat, want: `"content":"` + prompt + `"`},
		{title: "OpenAI, streamed", method: "POST", url: base + "/v1/chat/completions", header: openaiHeader, body: chatStream, stream: true, want: "data: [DONE]"},
		{title: "Anthropic messages", method: "POST", url: base + "/v1/messages", header: anthropicHeader, body: messages, want: `"text":"` + prompt + `"`},
		{title: "Anthropic, streamed", method: "POST", url: base + "/v1/messages", header: anthropicHeader, body: messagesStream, stream: true, want: "event: message_stop"},
		{title: "Gemini generateContent", method: "POST", url: base + "/v1beta/models/fake-echo:generateContent", header: geminiHeader, body: contents, want: prompt},
		{title: "Gemini, streamed", method: "POST", url: base + "/v1beta/models/fake-echo:streamGenerateContent?alt=sse", header: geminiHeader, body: contents, stream: true, want: `"finishReason":"STOP"`},
		{title: "the models this key may use", method: "GET", url: base + "/v1/models", header: map[string]string{"Authorization": "Bearer " + key}, want: "fake-echo"},
	}
}

// curl returns the command as a curl command line for a POSIX shell.
func (c command) curl() string {
	var b strings.Builder
	b.WriteString("curl -s")
	if c.stream {
		b.WriteString("N")
	}
	b.WriteString(" '" + c.url + "'")
	names := make([]string, 0, len(c.header))
	for name := range c.header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b.WriteString(" -H '" + name + ": " + c.header[name] + "'")
	}
	if c.body != "" {
		b.WriteString(" -d '" + c.body + "'")
	}
	return b.String()
}
