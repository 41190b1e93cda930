package metering

import (
	"errors"
	"math"
	"math/bits"
)

// Rates are prices in integer micro-dollars per million tokens: $2.50 per
// million tokens is 2_500_000. A zero CachedInput or CacheWrite means those
// tokens cost the Input rate, and a zero CacheWrite1h the CacheWrite rate;
// the zero Rates make every token free. Rates is a plain value, safe to
// copy and share.
type Rates struct {
	// Input is the price of prompt tokens not read from or written to a
	// cache.
	Input int64 `json:"input"`
	// Output is the price of generated tokens, reasoning tokens included.
	Output int64 `json:"output"`
	// CachedInput is the price of prompt tokens read from a cache.
	CachedInput int64 `json:"cached_input,omitempty"`
	// CacheWrite is the price of prompt tokens written to a cache (for
	// Anthropic, the 5-minute cache write; the 1-hour write costs more).
	CacheWrite int64 `json:"cache_write,omitempty"`
	// CacheWrite1h is the price of prompt tokens written to a 1-hour cache
	// (Anthropic's extended cache lifetime).
	CacheWrite1h int64 `json:"cache_write_1h,omitempty"`
}

// Price is what one model costs. The zero Price makes every call free and
// accepts no images (see ImageInputTokens). Price is a plain value: its
// methods are safe for concurrent use.
//
// Some models cost more per token when the prompt is long (Gemini 2.5 Pro,
// Claude Sonnet 4 beyond 200,000 input tokens). For them LongContextAbove is
// that threshold and LongContext holds the higher rates, which apply to the
// whole call when InputTokens exceeds the threshold; a zero rate in
// LongContext means the base rate.
type Price struct {
	Rates
	// LongContextAbove is the input size, in tokens, above which
	// LongContext applies. Zero means the model has a single tier.
	LongContextAbove int64 `json:"long_context_above,omitempty"`
	// LongContext holds the rates for long prompts.
	LongContext Rates `json:"long_context,omitzero"`
	// ImageInputTokens is the most input tokens one image can be billed as
	// for this model, at the most expensive detail or resolution setting
	// the API allows. A request's bytes bound its text tokens but not its
	// images (a 200-byte image URL can cost thousands of tokens), so a
	// gateway adds this ceiling per image to its worst case. Zero means
	// images cannot be bounded for this model: a budgeted call with images
	// must be refused.
	ImageInputTokens int64 `json:"image_input_tokens,omitempty"`
}

// MaxImageTokens returns the most input tokens that images images can be
// billed as: images × ImageInputTokens, saturating at math.MaxInt64. ok is
// false when there are images and the price has no ceiling for them; no
// images (images ≤ 0) cost nothing.
func (p Price) MaxImageTokens(images int64) (tokens int64, ok bool) {
	if images <= 0 {
		return 0, true
	}
	if p.ImageInputTokens <= 0 {
		return 0, false
	}
	if images > math.MaxInt64/p.ImageInputTokens {
		return math.MaxInt64, true
	}
	return images * p.ImageInputTokens, true
}

// validate reports a negative rate, threshold or image ceiling.
func (p Price) validate() error {
	if p.ImageInputTokens < 0 {
		return errors.New("metering: negative image_input_tokens")
	}
	for _, v := range [...]int64{
		p.Input, p.Output, p.CachedInput, p.CacheWrite, p.CacheWrite1h, p.LongContextAbove,
		p.LongContext.Input, p.LongContext.Output, p.LongContext.CachedInput, p.LongContext.CacheWrite, p.LongContext.CacheWrite1h,
	} {
		if v < 0 {
			return errors.New("metering: negative price")
		}
	}
	return nil
}

// ratesFor returns the rates that apply to a call with the given number of
// input tokens, with zero cache rates resolved.
func (p Price) ratesFor(input int64) Rates {
	r := p.Rates
	if p.LongContextAbove > 0 && input > p.LongContextAbove {
		l := p.LongContext
		if l.Input != 0 {
			r.Input = l.Input
		}
		if l.Output != 0 {
			r.Output = l.Output
		}
		if l.CachedInput != 0 {
			r.CachedInput = l.CachedInput
		}
		if l.CacheWrite != 0 {
			r.CacheWrite = l.CacheWrite
		}
		if l.CacheWrite1h != 0 {
			r.CacheWrite1h = l.CacheWrite1h
		}
	}
	if r.CachedInput == 0 {
		r.CachedInput = r.Input
	}
	if r.CacheWrite == 0 {
		r.CacheWrite = r.Input
	}
	if r.CacheWrite1h == 0 {
		r.CacheWrite1h = r.CacheWrite
	}
	return r
}

// Cost returns what a call with usage u costs at p, in micro-dollars,
// rounded up so that a call is never undercharged.
//
// Following Usage's convention, the cached and cache-write parts of
// InputTokens are billed at their own rates (1-hour cache writes at theirs)
// and the rest at the input rate; OutputTokens, reasoning included, is
// billed at the output rate. Counts that break the convention are billed
// generously: negative counts count as zero, input is at least its cached
// and cache-write parts, cache writes at least their 1-hour part, and
// output at least its reasoning part. The sum is computed in 128-bit integers and
// saturates at math.MaxInt64.
func (p Price) Cost(u Usage) int64 {
	cached := max(u.CachedInputTokens, 0)
	write1h := max(u.CacheWrite1hTokens, 0)
	write := max(u.CacheCreationTokens, write1h)
	parts := satAdd(cached, write)
	input := max(u.InputTokens, parts)
	output := max(u.OutputTokens, u.ReasoningTokens, 0)
	r := p.ratesFor(input)
	var a acc
	a.add(input-parts, r.Input)
	a.add(cached, r.CachedInput)
	a.add(write-write1h, r.CacheWrite)
	a.add(write1h, r.CacheWrite1h)
	a.add(output, r.Output)
	return a.micros()
}

// MaxCost returns the most a call can cost at p, in micro-dollars, given an
// upper bound of its input tokens and the most output tokens it may
// generate: every input token is billed at the highest of the input, cached
// and cache-write rates (both lifetimes), every output token at the output
// rate. A gateway
// reserves this before forwarding. The result is only an upper bound if
// inputTokens is; the caller supplies a maxOutputTokens bound (the request's
// max_tokens or the model's limit).
func (p Price) MaxCost(inputTokens, maxOutputTokens int64) int64 {
	input := max(inputTokens, 0)
	r := p.ratesFor(input)
	var a acc
	a.add(input, max(r.Input, r.CachedInput, r.CacheWrite, r.CacheWrite1h))
	a.add(max(maxOutputTokens, 0), r.Output)
	return a.micros()
}

// acc is a 128-bit sum of tokens × micro-dollars-per-million products.
type acc struct{ hi, lo uint64 }

func (a *acc) add(tokens, rate int64) {
	if tokens <= 0 || rate <= 0 {
		return
	}
	hi, lo := bits.Mul64(uint64(tokens), uint64(rate))
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, lo, 0)
	a.hi += hi + carry // Cost's input parts sum below 2^64 tokens and its output below 2^63, each at a rate below 2^63: the sum stays below 2^128
}

// micros divides the sum by one million, rounding up, saturating at
// math.MaxInt64.
func (a acc) micros() int64 {
	const perMillion = 1_000_000
	if a.hi >= perMillion { // the quotient would not fit in 64 bits
		return math.MaxInt64
	}
	q, r := bits.Div64(a.hi, a.lo, perMillion)
	if q >= math.MaxInt64 {
		return math.MaxInt64
	}
	if r != 0 {
		q++
	}
	return int64(q)
}

// satAdd returns a+b for non-negative a and b, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
