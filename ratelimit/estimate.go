package ratelimit

import "math"

// TokenEstimator estimates the tokens a request will consume, prompt and
// completion together, before the upstream has answered; the estimate is
// reserved with [Permit.ReserveTokens] and corrected with [Permit.Settle].
type TokenEstimator interface {
	// EstimateTokens returns the estimated token count of the request
	// described by in; it must not be negative.
	EstimateTokens(in EstimateInput) int64
}

// EstimateInput describes a request to a [TokenEstimator]. The gateway fills
// it from what its front door decoded, without building strings: PromptBytes
// when it has only counted the prompt, PromptText when it has the text at
// hand. The zero value describes an empty request.
type EstimateInput struct {
	// PromptBytes is the size in bytes of the prompt text (UTF-8): message
	// contents, system prompt, tool definitions.
	PromptBytes int64
	// PromptText is prompt text not counted in PromptBytes; its length is
	// added to PromptBytes.
	PromptText string
	// MaxOutputTokens is the request's limit on generated tokens
	// (max_tokens, max_completion_tokens, maxOutputTokens). Zero adds
	// nothing, so when the request sets none the gateway should pass the
	// model's default.
	MaxOutputTokens int64
}

// ByteEstimator is the default [TokenEstimator]: the prompt's bytes divided by
// BytesPerToken, rounded up, plus MaxOutputTokens. It needs no tokenizer; the
// exact count comes from the upstream's usage afterwards. The zero value uses
// 4 bytes per token, the usual rule of thumb for English text. ByteEstimator
// is safe for concurrent use.
type ByteEstimator struct {
	// BytesPerToken is the number of prompt bytes per token; zero or
	// negative means 4.
	BytesPerToken int64
}

// EstimateTokens implements [TokenEstimator]. Negative inputs count as zero.
func (e ByteEstimator) EstimateTokens(in EstimateInput) int64 {
	per := e.BytesPerToken
	if per <= 0 {
		per = 4
	}
	b := max(in.PromptBytes, 0) + int64(len(in.PromptText))
	n := b / per
	if b%per != 0 {
		n++
	}
	out := max(in.MaxOutputTokens, 0)
	if n > math.MaxInt64-out {
		return math.MaxInt64 // saturate: an overflow must not turn into "no tokens"
	}
	return n + out
}
