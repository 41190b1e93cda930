package gemini

import (
	"bytes"

	"github.com/wicket-gw/wicket/internal/jsonval"
	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/metering"
)

// parseUsage reads a usageMetadata object (the SDK's
// GenerateContentResponseUsageMetadata) as metering.Usage:
//
//	InputTokens       promptTokenCount + toolUsePromptTokenCount
//	CachedInputTokens cachedContentTokenCount (part of promptTokenCount)
//	OutputTokens      candidatesTokenCount + thoughtsTokenCount
//	ReasoningTokens   thoughtsTokenCount
//
// Gemini counts thoughts apart: candidatesTokenCount does not include
// thoughtsTokenCount (totalTokenCount is the sum of prompt, candidates,
// tool-use prompt and thoughts), and both are billed as output. Results
// of server-side tools (toolUsePromptTokenCount) are billed as input. An
// object that is not valid JSON, or holds none of these counts, yields
// the zero Usage and false: a count read from a broken object is not a
// count.
func parseUsage(obj []byte) (metering.Usage, bool) {
	var u metering.Usage
	var tool, thoughts int64
	found := false
	num := func(v []byte, dst *int64) {
		if n, ok := jsonx.Int(v); ok && n >= 0 {
			*dst, found = n, true
		}
	}
	err := jsonx.Each(obj, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("promptTokenCount"):
			num(m.Value, &u.InputTokens)
		case m.KeyIs("cachedContentTokenCount"):
			num(m.Value, &u.CachedInputTokens)
		case m.KeyIs("candidatesTokenCount"):
			num(m.Value, &u.OutputTokens)
		case m.KeyIs("toolUsePromptTokenCount"):
			num(m.Value, &tool)
		case m.KeyIs("thoughtsTokenCount"):
			num(m.Value, &thoughts)
		}
		return true
	})
	if err != nil || !found || !jsonx.Valid(obj) {
		return metering.Usage{}, false
	}
	u.InputTokens += tool
	u.OutputTokens += thoughts
	u.ReasoningTokens = thoughts
	return u, true
}

// usageKey is the usageMetadata member's key as it stands in JSON text.
// Inside JSON strings quotes are escaped, so an occurrence followed by a
// colon can only be a key.
const usageKey = `"usageMetadata"`

// usageFromTail finds the usage of a GenerateContentResponse body: from
// its top-level usageMetadata when whole holds the entire body, else from
// the last usageMetadata key in the tail (Gemini writes usageMetadata
// after the candidates, near the end).
func usageFromTail(tail []byte, whole bool) (metering.Usage, bool) {
	if whole {
		if v, _, _, ok := jsonx.Get(tail, "usageMetadata"); ok {
			return parseUsage(v)
		}
		return metering.Usage{}, false
	}
	for i := bytes.LastIndex(tail, []byte(usageKey)); i >= 0; i = bytes.LastIndex(tail[:i], []byte(usageKey)) {
		if s, e, ok := jsonval.AfterKey(tail, i, usageKey); ok {
			return parseUsage(tail[s:e])
		}
	}
	return metering.Usage{}, false
}
