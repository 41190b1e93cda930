package sdkcheck_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	openaisdk "github.com/openai/openai-go/v3"

	"github.com/wicket-gw/wicket/keys"
)

// TestStreaming checks that a streamed chat completion relayed by the
// gateway accumulates in the SDK's ChatCompletionAccumulator, and that the
// usage chunk reaches the SDK only when the client asked for it: the
// gateway asks the upstream for usage on every stream (to meter it) and
// must not hand the extra chunk to a client that did not.
func TestStreaming(t *testing.T) {
	cases := []struct {
		name         string
		includeUsage bool
		wantUsage    usage
		wantChunks   int // words, the finish chunk, and the usage chunk if asked
	}{
		{"without include_usage", false, usage{}, 2 + 1},
		{"with include_usage", true, fakeUsage(len("hello wicket"), "hello wicket"), 2 + 1 + 1},
	}
	for _, up := range upstreams {
		t.Run(up.name, func(t *testing.T) {
			h := newHarness(t, up.o)
			client := h.client(h.issue(t, keys.Spec{}), noRetries)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					params := openaisdk.ChatCompletionNewParams{
						Model:    "fake-echo",
						Messages: []openaisdk.ChatCompletionMessageParamUnion{openaisdk.UserMessage("hello wicket")},
					}
					if tc.includeUsage {
						params.StreamOptions.IncludeUsage = openaisdk.Bool(true)
					}
					stream := client.Chat.Completions.NewStreaming(t.Context(), params)
					defer stream.Close()
					var acc openaisdk.ChatCompletionAccumulator
					chunks, usageChunks := 0, 0
					for stream.Next() {
						chunk := stream.Current()
						chunks++
						if !acc.AddChunk(chunk) {
							t.Fatalf("chunk %d not accumulated: %s", chunks, chunk.RawJSON())
						}
						if chunk.Object != "chat.completion.chunk" || !strings.HasPrefix(chunk.ID, "chatcmpl-fake") || chunk.Model != "fake-echo" {
							t.Errorf("chunk %d: got object %q, id %q, model %q; want chat.completion.chunk, chatcmpl-fake…, fake-echo",
								chunks, chunk.Object, chunk.ID, chunk.Model)
						}
						if chunk.Usage.TotalTokens != 0 {
							usageChunks++
							if len(chunk.Choices) != 0 {
								t.Errorf("usage chunk has %d choices; want 0", len(chunk.Choices))
							}
						}
					}
					if err := stream.Err(); err != nil {
						t.Fatalf("stream.Err() = %v; want nil", err)
					}
					if chunks != tc.wantChunks {
						t.Errorf("got %d chunks; want %d", chunks, tc.wantChunks)
					}
					if want := min(1, tc.wantUsage.Total); int64(usageChunks) != want {
						t.Errorf("got %d usage chunks; want %d", usageChunks, want)
					}
					if len(acc.Choices) != 1 {
						t.Fatalf("accumulated %d choices; want 1", len(acc.Choices))
					}
					if got := acc.Choices[0].Message.Content; got != "hello wicket" {
						t.Errorf("accumulated content %q; want %q", got, "hello wicket")
					}
					if got := acc.Choices[0].FinishReason; got != "stop" {
						t.Errorf("accumulated finish_reason %q; want stop", got)
					}
					if diff := cmp.Diff(tc.wantUsage, usageOf(acc.Usage)); diff != "" {
						t.Errorf("accumulated usage mismatch (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}
