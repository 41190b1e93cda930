package anthropic

import (
	"bytes"
	"math"

	"github.com/wicket-gw/wicket/internal/jsonval"
	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/metering"
)

// usageCounts gathers the counts of Anthropic usage objects. A stream
// reports them twice: message_start's message.usage has the input counts
// (and a first output count), message_delta's usage the output count so
// far and, from newer APIs, the input counts again. Counts are cumulative,
// so each one given replaces the one before. The zero value knows nothing.
type usageCounts struct {
	input, cacheWrite, cacheRead, output, thinking, write1h int64
	known                                                   bool
}

// merge reads the usage object obj and takes the counts it gives:
// input_tokens, cache_creation_input_tokens, cache_read_input_tokens,
// cache_creation.ephemeral_1h_input_tokens, output_tokens and
// output_tokens_details.thinking_tokens. Nulls and
// negative or non-integer counts are ignored. An object that is not valid
// JSON, or gives no count, changes nothing and reports false: a count read
// from a broken object is not a count.
func (c *usageCounts) merge(obj []byte) bool {
	next := *c
	found := false
	num := func(v []byte, dst *int64) {
		if n, ok := jsonx.Int(v); ok && n >= 0 {
			*dst, found = n, true
		}
	}
	err := jsonx.Each(obj, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("input_tokens"):
			num(m.Value, &next.input)
		case m.KeyIs("cache_creation_input_tokens"):
			num(m.Value, &next.cacheWrite)
		case m.KeyIs("cache_read_input_tokens"):
			num(m.Value, &next.cacheRead)
		case m.KeyIs("output_tokens"):
			num(m.Value, &next.output)
		case m.KeyIs("cache_creation"):
			if v, _, _, ok := jsonx.Get(m.Value, "ephemeral_1h_input_tokens"); ok {
				num(v, &next.write1h)
			}
		case m.KeyIs("output_tokens_details"):
			if v, _, _, ok := jsonx.Get(m.Value, "thinking_tokens"); ok {
				num(v, &next.thinking)
			}
		}
		return true
	})
	if err != nil || !found || !jsonx.Valid(obj) {
		return false
	}
	next.known = true
	*c = next
	return true
}

// usage returns the counts in metering's terms, which follow OpenAI's
// convention: InputTokens includes the cache reads and writes that
// Anthropic counts apart from input_tokens.
func (c *usageCounts) usage() metering.Usage {
	return metering.Usage{
		InputTokens:         addSat(addSat(c.input, c.cacheWrite), c.cacheRead),
		OutputTokens:        c.output,
		CachedInputTokens:   c.cacheRead,
		CacheCreationTokens: c.cacheWrite,
		CacheWrite1hTokens:  min(c.write1h, c.cacheWrite),
		ReasoningTokens:     min(c.thinking, c.output),
	}
}

// addSat adds two non-negative counts, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// usageFromBody reads the top-level usage of a message object: exactly
// when whole holds the entire body, else from the last "usage" key in the
// tail whose value is an object (Anthropic writes usage last; inside JSON
// strings quotes are escaped, so an unescaped "usage" followed by a colon
// can only be a key).
func usageFromBody(tail []byte, whole bool) (metering.Usage, bool) {
	var c usageCounts
	if whole {
		if v, _, _, ok := jsonx.Get(tail, "usage"); ok && c.merge(v) {
			return c.usage(), true
		}
		return metering.Usage{}, false
	}
	for i := bytes.LastIndex(tail, []byte(usageKey)); i >= 0; i = bytes.LastIndex(tail[:i], []byte(usageKey)) {
		if s, e, ok := jsonval.AfterKey(tail, i, usageKey); ok && tail[s] == '{' {
			if c.merge(tail[s:e]) {
				return c.usage(), true
			}
			return metering.Usage{}, false
		}
	}
	return metering.Usage{}, false
}

// usageKey is the usage member's key as it stands in JSON text.
const usageKey = `"usage"`

// Types of the stream events the relay reads.
const (
	eventMessageStart = "message_start"
	eventMessageDelta = "message_delta"
	eventMessageStop  = "message_stop"
	eventError        = "error"
)

// streamUsage reads usage and the end of a Messages stream from its
// events, parsing only those whose type needs it: message_start
// (message.usage) and message_delta (usage). message_stop and error end
// the stream.
type streamUsage struct {
	counts usageCounts
	ended  bool
}

// event reads one event of type typ (the event field; when empty, the
// type member of data that is valid JSON) with data, and reports whether
// it gave the answer's final usage: message_delta's. message_start's
// counts are merged but are not final (its output count is a first
// one), so a stream cut before message_delta has no known usage and the
// gateway estimates it.
func (s *streamUsage) event(typ, data []byte) bool {
	if len(typ) == 0 && jsonx.Valid(data) { // Anthropic names every event; others are rare
		if v, _, _, ok := jsonx.Get(data, "type"); ok {
			typ, _ = jsonval.Contents(v)
		}
	}
	switch string(typ) {
	case eventMessageStart:
		if msg, _, _, ok := jsonx.Get(data, "message"); ok {
			if v, _, _, ok := jsonx.Get(msg, "usage"); ok {
				s.counts.merge(v)
			}
		}
	case eventMessageDelta:
		if v, _, _, ok := jsonx.Get(data, "usage"); ok {
			return s.counts.merge(v)
		}
	case eventMessageStop, eventError:
		s.ended = true
	}
	return false
}
