package metering

// Usage counts the tokens of one model call. It holds counts only, never
// content.
//
// The totals follow OpenAI's convention, whatever the upstream's dialect:
// InputTokens counts every prompt token, including CachedInputTokens and
// CacheCreationTokens; OutputTokens counts every generated token, including
// ReasoningTokens. Adapters for dialects that report the parts separately
// (Anthropic reports cache reads and writes apart from input_tokens) add them
// up before filling a Usage.
type Usage struct {
	// InputTokens is the total number of prompt tokens.
	InputTokens int64 `json:"input_tokens"`
	// OutputTokens is the total number of generated tokens.
	OutputTokens int64 `json:"output_tokens"`
	// CachedInputTokens is the part of InputTokens read from a prompt cache.
	CachedInputTokens int64 `json:"cached_input_tokens,omitempty"`
	// CacheCreationTokens is the part of InputTokens written to a prompt cache.
	CacheCreationTokens int64 `json:"cache_creation_tokens,omitempty"`
	// CacheWrite1hTokens is the part of CacheCreationTokens written to a
	// 1-hour cache (Anthropic), billed at its own rate; the rest were
	// written for the default lifetime (5 minutes).
	CacheWrite1hTokens int64 `json:"cache_write_1h_tokens,omitempty"`
	// ReasoningTokens is the part of OutputTokens spent on hidden reasoning.
	ReasoningTokens int64 `json:"reasoning_tokens,omitempty"`
}

// Total returns InputTokens plus OutputTokens.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// Add returns the field-wise sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:         u.InputTokens + v.InputTokens,
		OutputTokens:        u.OutputTokens + v.OutputTokens,
		CachedInputTokens:   u.CachedInputTokens + v.CachedInputTokens,
		CacheCreationTokens: u.CacheCreationTokens + v.CacheCreationTokens,
		CacheWrite1hTokens:  u.CacheWrite1hTokens + v.CacheWrite1hTokens,
		ReasoningTokens:     u.ReasoningTokens + v.ReasoningTokens,
	}
}
