package metering

import (
	"math"
	"math/big"
	"testing"
)

// FuzzCost checks Price.Cost against the same bill computed in big
// integers: every token billed once, at the rate of its kind, rounded up
// to a whole micro-dollar and saturated at math.MaxInt64.
func FuzzCost(f *testing.F) {
	f.Add(int64(1200+30000+50000), int64(800), int64(50000), int64(30000), int64(20000), int64(0), int64(3_000_000), int64(15_000_000), int64(300_000), int64(3_750_000), int64(6_000_000), int64(200_000))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(5), int64(-1), int64(math.MaxInt64), int64(math.MaxInt64), int64(0), int64(0), int64(math.MaxInt64), int64(0))
	f.Fuzz(func(t *testing.T, in, out, cached, write, write1h, reasoning, rIn, rOut, rCached, rWrite, rWrite1h, above int64) {
		p := Price{Rates: Rates{Input: rIn, Output: rOut, CachedInput: rCached, CacheWrite: rWrite, CacheWrite1h: rWrite1h}, LongContextAbove: max(above, 0)}
		p.LongContext = Rates{Input: rOut, Output: rIn} // some other tier
		if p.validate() != nil {
			return
		}
		u := Usage{InputTokens: in, OutputTokens: out, CachedInputTokens: cached, CacheCreationTokens: write, CacheWrite1hTokens: write1h, ReasoningTokens: reasoning}
		got := p.Cost(u)

		b := func(v int64) *big.Int { return big.NewInt(max(v, 0)) }
		bc, b1h := b(cached), b(write1h)
		bw := b(write)
		if bw.Cmp(b1h) < 0 {
			bw = b1h
		}
		parts := new(big.Int).Add(bc, bw)
		bin := b(in)
		if bin.Cmp(parts) < 0 {
			bin = parts
		}
		inForTier := int64(math.MaxInt64)
		if bin.IsInt64() {
			inForTier = bin.Int64()
		}
		r := p.ratesFor(inForTier)
		bout := b(max(out, reasoning))
		sum := new(big.Int)
		term := func(tokens *big.Int, rate int64) { sum.Add(sum, new(big.Int).Mul(tokens, big.NewInt(max(rate, 0)))) }
		term(new(big.Int).Sub(bin, parts), r.Input)
		term(bc, r.CachedInput)
		term(new(big.Int).Sub(bw, b1h), r.CacheWrite)
		term(b1h, r.CacheWrite1h)
		term(bout, r.Output)
		q, m := new(big.Int).QuoRem(sum, big.NewInt(1_000_000), new(big.Int))
		if m.Sign() != 0 {
			q.Add(q, big.NewInt(1))
		}
		want := int64(math.MaxInt64)
		if q.IsInt64() {
			want = q.Int64()
		}
		if got != want {
			t.Fatalf("Cost(%+v) at %+v = %d; want %d", u, p, got, want)
		}
	})
}
