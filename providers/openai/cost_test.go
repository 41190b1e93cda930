package openai

import (
	"testing"

	"github.com/wicket-gw/wicket/metering"
)

// OpenAI usage, as Chat Completions and the Responses API report it, costed
// against an invoice line worked out by hand from the published prices:
// cached tokens are part of the prompt count and billed once, at the cached
// rate; reasoning tokens are part of the completion count, at the output
// rate.
func TestCostMatchesInvoice(t *testing.T) {
	prices := metering.DefaultPrices()
	for _, tc := range []struct {
		name, model, usage string
		want               int64
	}{{
		// gpt-5: input $1.25/M, cached $0.125/M, output $10/M.
		//   2,000 uncached  × 1.25  =  2,500
		//   8,000 cached    × 0.125 =  1,000
		//   3,000 output (2,000 of them reasoning) × 10 = 30,000
		//                              33,500 µ$
		name: "chat completions", model: "gpt-5-2025-08-07",
		usage: `{"prompt_tokens":10000,"completion_tokens":3000,"total_tokens":13000,"prompt_tokens_details":{"cached_tokens":8000,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2000,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`,
		want:  33_500,
	}, {
		// gpt-4.1-mini: input $0.40/M, cached $0.10/M, output $1.60/M.
		//   1,000 uncached × 0.40 =   400
		//   4,000 cached   × 0.10 =   400
		//   500 output     × 1.60 =   800
		//                            1,600 µ$
		name: "responses", model: "gpt-4.1-mini",
		usage: `{"input_tokens":5000,"input_tokens_details":{"cached_tokens":4000},"output_tokens":500,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":5500}`,
		want:  1_600,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			u, ok := parseUsage([]byte(tc.usage))
			if !ok {
				t.Fatal("no usage read")
			}
			got, known := prices.Cost(tc.model, u)
			if !known || got != tc.want {
				t.Errorf("cost of %+v: %d µ$ (priced %v); want %d", u, got, known, tc.want)
			}
		})
	}
}
