package metering_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wicket-gw/wicket/metering"
)

// sonnet has distinct rates for every kind of token, and a long-context tier.
var sonnet = metering.Price{
	Rates:            metering.Rates{Input: 3_000_000, Output: 15_000_000, CachedInput: 300_000, CacheWrite: 3_750_000},
	LongContextAbove: 200_000,
	LongContext:      metering.Rates{Input: 6_000_000, Output: 22_500_000, CachedInput: 600_000, CacheWrite: 7_500_000},
}

func TestPriceCost(t *testing.T) {
	mini := metering.Price{Rates: metering.Rates{Input: 150_000, Output: 600_000}} // $0.15 / $0.60
	for _, tc := range []struct {
		name  string
		price metering.Price
		usage metering.Usage
		want  int64
	}{
		{"zero usage", sonnet, metering.Usage{}, 0},
		{"zero price", metering.Price{}, metering.Usage{InputTokens: 1e6, OutputTokens: 1e6}, 0},
		{"one input token", sonnet, metering.Usage{InputTokens: 1}, 3},
		{"input and output", sonnet, metering.Usage{InputTokens: 1000, OutputTokens: 500}, 3_000 + 7_500},
		{"100k tokens each", sonnet, metering.Usage{InputTokens: 1e5, OutputTokens: 1e5}, 1_800_000},
		{"1M tokens each, long context", sonnet, metering.Usage{InputTokens: 1e6, OutputTokens: 1e6}, 28_500_000},
		{"cached and cache write billed apart",
			sonnet, metering.Usage{InputTokens: 1000, CachedInputTokens: 400, CacheCreationTokens: 100},
			// 500 plain × 3 + 400 cached × 0.3 + 100 written × 3.75
			1_500 + 120 + 375},
		{"reasoning is part of output, not extra",
			sonnet, metering.Usage{OutputTokens: 500, ReasoningTokens: 400}, 7_500},
		{"all the parts",
			sonnet, metering.Usage{InputTokens: 10_000, CachedInputTokens: 8_000, CacheCreationTokens: 1_000, OutputTokens: 2_000, ReasoningTokens: 1_500},
			// 1,000 × 3 + 8,000 × 0.3 + 1,000 × 3.75 + 2,000 × 15
			3_000 + 2_400 + 3_750 + 30_000},
		{"zero cache rates mean the input rate",
			metering.Price{Rates: metering.Rates{Input: 2_000_000, Output: 8_000_000}},
			metering.Usage{InputTokens: 1000, CachedInputTokens: 600, CacheCreationTokens: 400}, 2_000},
		{"fraction rounds up", mini, metering.Usage{InputTokens: 1}, 1},                     // 0.15
		{"fraction above one rounds up", mini, metering.Usage{InputTokens: 7}, 2},           // 1.05
		{"exact stays exact", mini, metering.Usage{InputTokens: 20}, 3},                     // 3.00
		{"rounded once per call", mini, metering.Usage{InputTokens: 1, OutputTokens: 1}, 1}, // 0.15 + 0.60
		{"sub-micro-dollar parts add up before rounding",
			metering.Price{Rates: metering.Rates{Input: 1, Output: 999_999}},
			metering.Usage{InputTokens: 1, OutputTokens: 1}, 1},
		{"cache parts above input are billed", sonnet,
			metering.Usage{InputTokens: 100, CachedInputTokens: 300}, 90},
		{"reasoning above output is billed", sonnet,
			metering.Usage{OutputTokens: 10, ReasoningTokens: 20}, 300},
		{"negative counts are zero", sonnet,
			metering.Usage{InputTokens: -5, OutputTokens: -5, CachedInputTokens: -5, CacheCreationTokens: -5, ReasoningTokens: -5}, 0},
		{"at the long-context threshold: base rates", sonnet,
			metering.Usage{InputTokens: 200_000, OutputTokens: 1000}, 600_000 + 15_000},
		{"above the threshold: long rates for the whole call", sonnet,
			metering.Usage{InputTokens: 200_001, OutputTokens: 1000}, 1_200_006 + 22_500},
		{"above the threshold with cache", sonnet,
			metering.Usage{InputTokens: 300_000, CachedInputTokens: 250_000, CacheCreationTokens: 10_000},
			// 40,000 × 6 + 250,000 × 0.6 + 10,000 × 7.5
			240_000 + 150_000 + 75_000},
		{"zero long rates inherit the base rates",
			metering.Price{Rates: metering.Rates{Input: 1_000_000, Output: 2_000_000}, LongContextAbove: 10,
				LongContext: metering.Rates{Input: 2_000_000}},
			metering.Usage{InputTokens: 11, OutputTokens: 1}, 22 + 2},
		{"a trillion tokens at $150/M does not overflow",
			metering.Price{Rates: metering.Rates{Input: 150_000_000}},
			metering.Usage{InputTokens: 1e12}, 150_000_000_000_000},
		{"max tokens at $600/M, both sides",
			metering.Price{Rates: metering.Rates{Input: 600_000_000, Output: 600_000_000}},
			metering.Usage{InputTokens: math.MaxInt64, OutputTokens: math.MaxInt64}, math.MaxInt64},
		{"largest cost that fits",
			metering.Price{Rates: metering.Rates{Input: 1_000_000}},
			metering.Usage{InputTokens: math.MaxInt64}, math.MaxInt64},
		{"saturates just above",
			metering.Price{Rates: metering.Rates{Input: 1_000_001}},
			metering.Usage{InputTokens: math.MaxInt64}, math.MaxInt64},
		{"max cached and written tokens saturate", sonnet,
			metering.Usage{CachedInputTokens: math.MaxInt64, CacheCreationTokens: math.MaxInt64}, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.price.Cost(tc.usage); got != tc.want {
				t.Errorf("Cost(%+v): got %d; want %d", tc.usage, got, tc.want)
			}
		})
	}
}

func TestPriceMaxCost(t *testing.T) {
	gpt4o := metering.Price{Rates: metering.Rates{Input: 2_500_000, Output: 10_000_000, CachedInput: 1_250_000}}
	for _, tc := range []struct {
		name          string
		price         metering.Price
		input, output int64
		want          int64
	}{
		{"input at the input rate", gpt4o, 1000, 500, 2_500 + 5_000},
		{"input at the cache-write rate when higher", sonnet, 1000, 500, 3_750 + 7_500},
		{"long context", sonnet, 300_000, 1000, 2_250_000 + 22_500},
		{"nothing", sonnet, 0, 0, 0},
		{"negative bounds count as zero", sonnet, -10, -10, 0},
		{"rounds up", metering.Price{Rates: metering.Rates{Input: 150_000}}, 1, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.price.MaxCost(tc.input, tc.output); got != tc.want {
				t.Errorf("MaxCost(%d, %d): got %d; want %d", tc.input, tc.output, got, tc.want)
			}
		})
	}
}

// TestMaxCostBoundsCost checks that the reservation always covers the
// settlement when the usage stays within the bounds reserved for.
func TestMaxCostBoundsCost(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	prices := []metering.Price{sonnet, {Rates: metering.Rates{Input: 2_500_000, Output: 10_000_000, CachedInput: 1_250_000}}}
	for range 10_000 {
		p := prices[r.IntN(len(prices))]
		in, out := r.Int64N(400_000), r.Int64N(100_000)
		cached := r.Int64N(in + 1)
		u := metering.Usage{
			InputTokens:         in,
			CachedInputTokens:   cached,
			CacheCreationTokens: r.Int64N(in - cached + 1),
			OutputTokens:        out,
			ReasoningTokens:     r.Int64N(out + 1),
		}
		if cost, worst := p.Cost(u), p.MaxCost(in, out); cost > worst {
			t.Fatalf("usage %+v costs %d; MaxCost(%d, %d) reserved only %d", u, cost, in, out, worst)
		}
	}
}
