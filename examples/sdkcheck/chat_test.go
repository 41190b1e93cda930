package sdkcheck_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	openaisdk "github.com/openai/openai-go/v3"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers/fake"
)

// usage is the part of the SDK's CompletionUsage the tests compare (the
// SDK's struct also holds raw JSON, which differs between equal values).
type usage struct{ Prompt, Completion, Total int64 }

func usageOf(u openaisdk.CompletionUsage) usage {
	return usage{u.PromptTokens, u.CompletionTokens, u.TotalTokens}
}

// fakeUsage is the fake's count for a prompt of promptBytes bytes of
// message text answered with the words of answer.
func fakeUsage(promptBytes int, answer string) usage {
	p, c := fake.PromptTokens(promptBytes), int64(len(strings.Fields(answer)))
	return usage{p, c, p + c}
}

// TestChatCompletion checks that a non-streamed chat completion answered
// through the gateway decodes into the SDK's ChatCompletion.
func TestChatCompletion(t *testing.T) {
	cases := []struct {
		name        string
		messages    []openaisdk.ChatCompletionMessageParamUnion
		promptBytes int
	}{
		{"user only", []openaisdk.ChatCompletionMessageParamUnion{openaisdk.UserMessage("hello wicket")}, len("hello wicket")},
		{"system and user", []openaisdk.ChatCompletionMessageParamUnion{
			openaisdk.SystemMessage("answer in kind"),
			openaisdk.UserMessage("hello wicket"),
		}, len("answer in kind") + len("hello wicket")},
	}
	for _, up := range upstreams {
		t.Run(up.name, func(t *testing.T) {
			h := newHarness(t, up.o)
			client := h.client(h.issue(t, keys.Spec{}), noRetries)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					got, err := client.Chat.Completions.New(t.Context(), openaisdk.ChatCompletionNewParams{
						Model:    "fake-echo",
						Messages: tc.messages,
					})
					if err != nil {
						t.Fatalf("Chat.Completions.New: %v", err)
					}
					if len(got.Choices) != 1 {
						t.Fatalf("got %d choices; want 1", len(got.Choices))
					}
					c := got.Choices[0]
					if c.Message.Content != "hello wicket" {
						t.Errorf("got content %q; want %q", c.Message.Content, "hello wicket")
					}
					if c.Message.Role != "assistant" || c.FinishReason != "stop" || c.Index != 0 {
						t.Errorf("got role %q, finish_reason %q, index %d; want assistant, stop, 0", c.Message.Role, c.FinishReason, c.Index)
					}
					if !got.JSON.Usage.Valid() {
						t.Errorf("usage missing from the response: %s", got.RawJSON())
					}
					if diff := cmp.Diff(fakeUsage(tc.promptBytes, "hello wicket"), usageOf(got.Usage)); diff != "" {
						t.Errorf("usage mismatch (-want +got):\n%s", diff)
					}
					if got.Model != "fake-echo" {
						t.Errorf("got model %q; want fake-echo", got.Model)
					}
					if !strings.HasPrefix(got.ID, "chatcmpl-fake") {
						t.Errorf("got id %q; want the fake's chatcmpl-fake…", got.ID)
					}
					if got.Object != "chat.completion" || got.Created != 1_700_000_000 {
						t.Errorf("got object %q, created %d; want chat.completion, 1700000000", got.Object, got.Created)
					}
				})
			}
		})
	}
}
