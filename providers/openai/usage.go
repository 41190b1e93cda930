package openai

import (
	"bytes"

	"github.com/wicket-gw/wicket/internal/jsonval"
	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/metering"
)

// parseUsage reads an OpenAI usage object, in either the Chat Completions
// and Embeddings spelling (prompt_tokens, completion_tokens,
// prompt_tokens_details.cached_tokens,
// completion_tokens_details.reasoning_tokens) or the Responses spelling
// (input_tokens, output_tokens, input_tokens_details.cached_tokens,
// output_tokens_details.reasoning_tokens). An object that is not valid
// JSON yields the zero Usage and false, whatever it held before the fault:
// a count read from a broken object is not a count.
func parseUsage(obj []byte) (metering.Usage, bool) {
	var u metering.Usage
	found := false
	num := func(v []byte, dst *int64) {
		if n, ok := jsonx.Int(v); ok && n >= 0 {
			*dst, found = n, true
		}
	}
	err := jsonx.Each(obj, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("prompt_tokens"), m.KeyIs("input_tokens"):
			num(m.Value, &u.InputTokens)
		case m.KeyIs("completion_tokens"), m.KeyIs("output_tokens"):
			num(m.Value, &u.OutputTokens)
		case m.KeyIs("prompt_tokens_details"), m.KeyIs("input_tokens_details"):
			if v, _, _, ok := jsonx.Get(m.Value, "cached_tokens"); ok {
				num(v, &u.CachedInputTokens)
			}
		case m.KeyIs("completion_tokens_details"), m.KeyIs("output_tokens_details"):
			if v, _, _, ok := jsonx.Get(m.Value, "reasoning_tokens"); ok {
				num(v, &u.ReasoningTokens)
			}
		}
		return true
	})
	if err != nil || !found || !jsonx.Valid(obj) {
		return metering.Usage{}, false
	}
	return u, true
}

// usageFromTail finds the usage in a JSON body: exactly when whole holds
// the entire body, else the last top-level-looking "usage" object in the
// tail. (Inside JSON strings quotes are escaped, so an unescaped "usage"
// key can only be a key.)
func usageFromTail(tail []byte, whole bool) (metering.Usage, bool) {
	if whole {
		if v, _, _, ok := jsonx.Get(tail, "usage"); ok {
			return parseUsage(v)
		}
		if resp, _, _, ok := jsonx.Get(tail, "response"); ok {
			if v, _, _, ok := jsonx.Get(resp, "usage"); ok {
				return parseUsage(v)
			}
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

// usageKey is the usage member's key as it stands in JSON text. Inside JSON
// strings quotes are escaped, so an occurrence followed by a colon can only
// be a key.
const usageKey = `"usage"`

// usageFromEvent reads usage from one streamed event's data: a Chat
// Completions chunk carries it at the top level (null until the last
// chunk); a Responses event carries it in response.usage of
// response.completed, response.incomplete or response.failed.
func usageFromEvent(data []byte, responses bool) (metering.Usage, bool) {
	if responses {
		resp, _, _, ok := jsonx.Get(data, "response")
		if !ok {
			return metering.Usage{}, false
		}
		data = resp
	}
	v, _, _, ok := jsonx.Get(data, "usage")
	if !ok || jsonx.IsNull(v) {
		return metering.Usage{}, false
	}
	return parseUsage(v)
}

// isUsageOnlyChunk reports whether a chunk is the one that
// stream_options.include_usage adds: empty choices and a usage object.
func isUsageOnlyChunk(data []byte) bool {
	v, _, _, ok := jsonx.Get(data, "choices")
	if !ok {
		return false
	}
	v = bytes.TrimSpace(v)
	return len(v) >= 2 && v[0] == '[' && v[len(v)-1] == ']' && len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}

// hasUsageObject reports, without parsing the event, whether data may
// carry a usage object: a "usage" key whose value is an object rather than
// null. Chunks of a stream with include_usage carry "usage":null on every
// event but the last, so this spares the parse of nearly every event.
func hasUsageObject(data []byte) bool {
	for i := 0; i < len(data); {
		j := jsonx.IndexQuoted(data[i:], usageKey[1:len(usageKey)-1])
		if j < 0 {
			return false
		}
		if s, _, ok := jsonval.AfterKey(data, i+j, usageKey); ok && data[s] == '{' {
			return true
		}
		i += j + 1
	}
	return false
}
