package sdkcheck_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	openaisdk "github.com/openai/openai-go/v3"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/openai"
)

// otherDialect is the OpenAI upstream claiming another dialect: the
// gateway then translates each call through the canonical form (OpenAI →
// canonical → OpenAI), which the SDK must not be able to tell from the
// pass-through path.
type otherDialect struct{ *openai.Provider }

func (otherDialect) Dialect() providers.Dialect { return providers.DialectGemini }

// sdkView is what the SDK hands an application from a chat completion.
type sdkView struct {
	Content, Finish, Role string
	Usage                 usage
}

// TestTranslatedMatchesPassThrough: through the translating path, the
// SDK's ChatCompletion and its streaming accumulator give the same answer
// as through the pass-through path.
func TestTranslatedMatchesPassThrough(t *testing.T) {
	params := openaisdk.ChatCompletionNewParams{
		Model:    "fake-echo",
		Messages: []openaisdk.ChatCompletionMessageParamUnion{openaisdk.SystemMessage("answer in kind"), openaisdk.UserMessage("hello wicket")},
	}
	var whole, streamed [2]sdkView
	for i, o := range []options{{}, {translated: true}} {
		h := newHarness(t, o)
		client := h.client(h.issue(t, keys.Spec{}), noRetries)
		got, err := client.Chat.Completions.New(t.Context(), params)
		if err != nil {
			t.Fatalf("translated=%v: Chat.Completions.New: %v", o.translated, err)
		}
		if len(got.Choices) != 1 {
			t.Fatalf("translated=%v: %d choices", o.translated, len(got.Choices))
		}
		c := got.Choices[0]
		whole[i] = sdkView{c.Message.Content, c.FinishReason, string(c.Message.Role), usageOf(got.Usage)}

		sp := params
		sp.StreamOptions = openaisdk.ChatCompletionStreamOptionsParam{IncludeUsage: openaisdk.Bool(true)}
		stream := client.Chat.Completions.NewStreaming(t.Context(), sp)
		var acc openaisdk.ChatCompletionAccumulator
		for stream.Next() {
			if !acc.AddChunk(stream.Current()) {
				t.Fatalf("translated=%v: the accumulator refused a chunk", o.translated)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("translated=%v: stream: %v", o.translated, err)
		}
		if len(acc.Choices) != 1 {
			t.Fatalf("translated=%v: accumulated %d choices", o.translated, len(acc.Choices))
		}
		a := acc.Choices[0]
		streamed[i] = sdkView{a.Message.Content, a.FinishReason, string(a.Message.Role), usageOf(acc.Usage)}
	}
	if diff := cmp.Diff(whole[0], whole[1]); diff != "" {
		t.Errorf("non-streamed answer differs (-pass-through +translated):\n%s", diff)
	}
	if diff := cmp.Diff(streamed[0], streamed[1]); diff != "" {
		t.Errorf("streamed answer differs (-pass-through +translated):\n%s", diff)
	}
	if whole[1].Content != "hello wicket" || streamed[1].Content != "hello wicket" {
		t.Errorf("translated answers %+v / %+v; want the echo", whole[1], streamed[1])
	}
}
