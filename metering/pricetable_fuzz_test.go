package metering_test

import (
	"testing"

	"github.com/wicket-gw/wicket/metering"
)

func FuzzParsePriceTable(f *testing.F) {
	f.Add([]byte(`{"as_of":"2025-11-01","source":"s","unit":"u","models":[{"model":"m","provider":"p","input":1000000,"output":2000000}]}`))
	f.Add([]byte(`{"as_of":"2025-11-01","models":[{"model":"m","input":1,"output":2,"cached_input":0,"cache_write":3,"long_context_above":10,"long_context":{"input":5,"output":6}}]}`))
	f.Add([]byte(`{"as_of":"2025-13-01","models":[]}`))
	f.Add([]byte(`{"as_of":"2025-11-01","models":[{"model":"m","input":-1,"output":2}]}`))
	f.Add([]byte(`{"models":[{"model":"a","input":1,"output":1}],"models":[{"model":"b"}],"as_of":"2025-01-01"}`))
	f.Add([]byte(`{"as_of":"2025-11-01","notes":["n"],"models":[{"model":"m","input":1,"output":2,"image_input_tokens":48169}]}`))
	f.Add([]byte(`{"as_of":"2025-11-01","models":[{"model":"m","input":1,"output":2,"image_input_tokens":9223372036854775807}]}`))
	f.Add([]byte(`{"as_of":"2025-11-01","models":[{"model":"m","input":1,"output":2,"image_input_tokens":-5}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pt, err := metering.ParsePriceTable(data)
		if err != nil {
			return
		}
		u := metering.Usage{InputTokens: 1_000_000, OutputTokens: 500_000, CachedInputTokens: 200_000, CacheCreationTokens: 100_000, ReasoningTokens: 10}
		for _, m := range pt.Models() {
			cost, known := pt.Cost(m, u)
			if !known {
				t.Fatalf("listed model %q has no price", m)
			}
			if cost < 0 {
				t.Fatalf("model %q: negative cost %d", m, cost)
			}
			max, _ := pt.MaxCost(m, u.InputTokens, u.OutputTokens)
			if max < cost {
				t.Fatalf("model %q: worst case %d below the cost %d of the same call", m, max, cost)
			}
			p, _ := pt.Lookup(m)
			if p.ImageInputTokens < 0 {
				t.Fatalf("model %q: accepted a negative image ceiling %d", m, p.ImageInputTokens)
			}
			for _, n := range []int64{-1, 0, 1, 7, 1 << 40} {
				tokens, ok := p.MaxImageTokens(n)
				switch {
				case n <= 0 && (tokens != 0 || !ok):
					t.Fatalf("model %q: MaxImageTokens(%d) = %d, %v; want 0, true", m, n, tokens, ok)
				case n > 0 && ok != (p.ImageInputTokens > 0):
					t.Fatalf("model %q: MaxImageTokens(%d) ok = %v with ceiling %d", m, n, ok, p.ImageInputTokens)
				case n > 0 && ok && (tokens < p.ImageInputTokens || tokens/n > p.ImageInputTokens):
					t.Fatalf("model %q: MaxImageTokens(%d) = %d with ceiling %d", m, n, tokens, p.ImageInputTokens)
				}
			}
		}
	})
}
