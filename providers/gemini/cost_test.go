package gemini

import (
	"testing"

	"github.com/wicket-gw/wicket/metering"
)

// Gemini usage, as generateContent reports it, costed against an invoice
// line worked out by hand from the published prices: cached content is part
// of the prompt count and billed once, at the cached rate; thinking tokens
// are billed as output, on top of the candidates.
func TestCostMatchesInvoice(t *testing.T) {
	prices := metering.DefaultPrices()
	for _, tc := range []struct {
		name, model, usage string
		want               int64
	}{{
		// gemini-2.5-flash: input $0.30/M, cached $0.075/M, output $2.50/M.
		//   6,000 uncached               × 0.30  =  1,800
		//   4,000 cached                 × 0.075 =    300
		//   1,200 output (700 + 500 thinking) × 2.50 = 3,000
		//                                           5,100 µ$
		name: "cached content and thinking", model: "gemini-2.5-flash",
		usage: `{"promptTokenCount":10000,"cachedContentTokenCount":4000,"candidatesTokenCount":700,"thoughtsTokenCount":500,"totalTokenCount":11200,"promptTokensDetails":[{"modality":"TEXT","tokenCount":10000}]}`,
		want:  5_100,
	}, {
		// gemini-2.5-pro beyond 200,000 prompt tokens: input $2.50/M,
		// cached $0.625/M, output $15/M.
		//   150,000 uncached × 2.50  = 375,000
		//   100,000 cached   × 0.625 =  62,500
		//   5,000 output (2,000 + 3,000 thinking) × 15 = 75,000
		//                               512,500 µ$
		name: "long context", model: "gemini-2.5-pro",
		usage: `{"promptTokenCount":250000,"cachedContentTokenCount":100000,"candidatesTokenCount":2000,"thoughtsTokenCount":3000,"totalTokenCount":255000}`,
		want:  512_500,
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
