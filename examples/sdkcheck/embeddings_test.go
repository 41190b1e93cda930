package sdkcheck_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	openaisdk "github.com/openai/openai-go/v3"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers/fake"
)

// TestEmbeddings checks that embeddings answered through the gateway
// decode into the SDK's CreateEmbeddingResponse, for an array input and a
// single string.
func TestEmbeddings(t *testing.T) {
	const dims = 12 // not the fake's default of 8, so the option must arrive
	inputs := []string{"hello wicket", "a second input"}
	for _, up := range upstreams {
		t.Run(up.name, func(t *testing.T) {
			o := up.o
			o.fake.Dimensions = dims
			h := newHarness(t, o)
			client := h.client(h.issue(t, keys.Spec{}), noRetries)

			got, err := client.Embeddings.New(t.Context(), openaisdk.EmbeddingNewParams{
				Model: "fake-embed",
				Input: openaisdk.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
			})
			if err != nil {
				t.Fatalf("Embeddings.New: %v", err)
			}
			if got.Model != "fake-embed" || got.Object != "list" {
				t.Errorf("got model %q, object %q; want fake-embed, list", got.Model, got.Object)
			}
			if len(got.Data) != len(inputs) {
				t.Fatalf("got %d embeddings; want %d", len(got.Data), len(inputs))
			}
			for i, e := range got.Data {
				if e.Index != int64(i) || e.Object != "embedding" {
					t.Errorf("embedding %d: got index %d, object %q; want %d, embedding", i, e.Index, e.Object, i)
				}
				if len(e.Embedding) != dims {
					t.Errorf("embedding %d: got %d dimensions; want %d", i, len(e.Embedding), dims)
				}
				var norm float64
				for _, v := range e.Embedding {
					norm += v * v
				}
				if math.Abs(math.Sqrt(norm)-1) > 1e-4 {
					t.Errorf("embedding %d: got norm %v; want 1 (the fake normalizes)", i, math.Sqrt(norm))
				}
			}
			if diff := cmp.Diff(got.Data[0].Embedding, got.Data[1].Embedding); diff == "" {
				t.Errorf("two different inputs got the same vector")
			}
			wantTokens := fake.PromptTokens(len(inputs[0]) + len(inputs[1]))
			if got.Usage.PromptTokens != wantTokens || got.Usage.TotalTokens != wantTokens {
				t.Errorf("got usage prompt %d, total %d; want %d, %d", got.Usage.PromptTokens, got.Usage.TotalTokens, wantTokens, wantTokens)
			}

			// A single string gets the same (deterministic) vector as the
			// same string in an array.
			one, err := client.Embeddings.New(t.Context(), openaisdk.EmbeddingNewParams{
				Model: "fake-embed",
				Input: openaisdk.EmbeddingNewParamsInputUnion{OfString: openaisdk.String(inputs[0])},
			})
			if err != nil {
				t.Fatalf("Embeddings.New with a string: %v", err)
			}
			if len(one.Data) != 1 {
				t.Fatalf("got %d embeddings for one string; want 1", len(one.Data))
			}
			if diff := cmp.Diff(got.Data[0].Embedding, one.Data[0].Embedding); diff != "" {
				t.Errorf("vector of %q differs between array and string input (-array +string):\n%s", inputs[0], diff)
			}
			if want := fake.PromptTokens(len(inputs[0])); one.Usage.PromptTokens != want {
				t.Errorf("got prompt tokens %d for one string; want %d", one.Usage.PromptTokens, want)
			}
		})
	}
}
