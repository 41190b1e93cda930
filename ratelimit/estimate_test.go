package ratelimit_test

import (
	"errors"
	"math"
	"testing"

	"github.com/wicket-gw/wicket/ratelimit"
)

func TestByteEstimator(t *testing.T) {
	tests := []struct {
		name string
		e    ratelimit.ByteEstimator
		in   ratelimit.EstimateInput
		want int64
	}{
		{"empty", ratelimit.ByteEstimator{}, ratelimit.EstimateInput{}, 0},
		{"bytes round up", ratelimit.ByteEstimator{}, ratelimit.EstimateInput{PromptBytes: 9}, 3},
		{"exact", ratelimit.ByteEstimator{}, ratelimit.EstimateInput{PromptBytes: 8}, 2},
		{"text counts UTF-8 bytes", ratelimit.ByteEstimator{}, ratelimit.EstimateInput{PromptText: "héllo"}, 2}, // 6 bytes
		{"bytes and text add", ratelimit.ByteEstimator{}, ratelimit.EstimateInput{PromptBytes: 2, PromptText: "abc"}, 2},
		{"max output", ratelimit.ByteEstimator{}, ratelimit.EstimateInput{PromptBytes: 400, MaxOutputTokens: 1000}, 1100},
		{"negatives count as zero", ratelimit.ByteEstimator{}, ratelimit.EstimateInput{PromptBytes: -5, MaxOutputTokens: -1}, 0},
		{"custom ratio", ratelimit.ByteEstimator{BytesPerToken: 3}, ratelimit.EstimateInput{PromptBytes: 10}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e ratelimit.TokenEstimator = tt.e
			if got := e.EstimateTokens(tt.in); got != tt.want {
				t.Fatalf("EstimateTokens(%+v) = %d; want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestByteEstimatorSaturates(t *testing.T) {
	got := ratelimit.ByteEstimator{}.EstimateTokens(ratelimit.EstimateInput{PromptBytes: 400, MaxOutputTokens: math.MaxInt64})
	if got != math.MaxInt64 {
		t.Errorf("EstimateTokens with a huge output cap = %d; want MaxInt64, not an overflow", got)
	}
	l, _, _ := newLimiter(t, 0)
	p, err := l.Admit(ctx, "s", ratelimit.Limits{TokensPerMinute: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ReserveTokens(ctx, -5); !errors.Is(err, ratelimit.ErrTooLarge) {
		t.Errorf("ReserveTokens(-5) = %v; want ErrTooLarge", err)
	}
}
