package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

// errResponse is the error ResponseToCanon wraps for a body it cannot
// read; the wrapping names the member at fault, never body text.
var errResponse = errors.New("openai: malformed chat completion")

// ResponseToCanon converts a chat.completion object (a non-streamed
// answer) into the canonical form. Members it does not know are ignored
// (upstreams add metadata such as system_fingerprint and service_tier);
// members it knows must have their documented types. A message's content
// becomes a text part, its refusal a refusal part, then its tool calls in
// order. It refuses, rather than lose, answer content that the canonical
// form cannot hold: audio and the deprecated function_call, which only
// requests the converters refuse can produce. Errors wrap errResponse
// and name the member at fault, never body text.
func ResponseToCanon(body []byte) (*canon.Response, error) {
	if !jsonx.Valid(body) {
		return nil, fmt.Errorf("%w: not valid JSON", errResponse)
	}
	var raw [5][]byte
	if !pickMembers(body, []string{"id", "model", "created", "choices", "usage"}, raw[:]) {
		return nil, fmt.Errorf("%w: not an object", errResponse)
	}
	r := &canon.Response{}
	var err error
	if r.ID, err = optString(raw[0], "id"); err != nil {
		return nil, err
	}
	if r.Model, err = optString(raw[1], "model"); err != nil {
		return nil, err
	}
	if r.Created, err = optUnixTime(raw[2], "created"); err != nil {
		return nil, err
	}
	if raw[3] != nil && !jsonx.IsNull(raw[3]) {
		ok := eachElement(raw[3], func(i int, e []byte) bool {
			var c canon.Choice
			c, err = decodeChoice(i, e)
			r.Choices = append(r.Choices, c)
			return err == nil
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: choices is not an array", errResponse)
		}
		slices.SortStableFunc(r.Choices, func(a, b canon.Choice) int { return a.Index - b.Index })
	}
	if raw[4] != nil && !jsonx.IsNull(raw[4]) {
		if r.Usage, err = decodeUsage(raw[4]); err != nil {
			return nil, err
		}
		r.UsageKnown = true
	}
	return r, nil
}

// decodeChoice reads choice i: {"index", "message", "finish_reason"}.
func decodeChoice(i int, v []byte) (canon.Choice, error) {
	c := canon.Choice{Index: i}
	var raw [3][]byte
	if !pickMembers(v, []string{"index", "message", "finish_reason"}, raw[:]) {
		return c, fmt.Errorf("%w: choice %d is not an object", errResponse, i)
	}
	if raw[0] != nil && !jsonx.IsNull(raw[0]) {
		n, ok := jsonx.Int(raw[0])
		if !ok || n < 0 || n >= canon.MaxChoices {
			return c, fmt.Errorf("%w: choice %d: bad index", errResponse, i)
		}
		c.Index = int(n)
	}
	var err error
	if c.RawFinish, err = optString(raw[2], "finish_reason"); err != nil {
		return c, err
	}
	c.Finish = finishFromOpenAI(c.RawFinish)
	if raw[1] == nil || jsonx.IsNull(raw[1]) {
		return c, nil
	}
	var msg [5][]byte
	if !pickMembers(raw[1], []string{"content", "refusal", "tool_calls", "audio", "function_call"}, msg[:]) {
		return c, fmt.Errorf("%w: choice %d: message is not an object", errResponse, i)
	}
	if msg[3] != nil && !jsonx.IsNull(msg[3]) {
		return c, errors.New("openai: chat completion carries audio, which the canonical form cannot hold")
	}
	if msg[4] != nil && !jsonx.IsNull(msg[4]) {
		return c, errors.New("openai: chat completion carries a function_call, which the canonical form cannot hold")
	}
	for k, kind := range [...]canon.PartKind{canon.PartText, canon.PartRefusal} {
		if msg[k] == nil || jsonx.IsNull(msg[k]) {
			continue
		}
		s, ok := stringBytes(msg[k])
		if !ok {
			return c, fmt.Errorf("%w: choice %d: message %s is not a string", errResponse, i, [...]string{"content", "refusal"}[k])
		}
		c.Parts = append(c.Parts, canon.Part{Kind: kind, Text: string(s)})
	}
	if msg[2] != nil && !jsonx.IsNull(msg[2]) {
		ok := eachElement(msg[2], func(j int, e []byte) bool {
			var p canon.Part
			p, err = decodeResponseToolCall(e)
			c.Parts = append(c.Parts, p)
			return err == nil
		})
		if err == nil && !ok {
			err = fmt.Errorf("%w: choice %d: tool_calls is not an array", errResponse, i)
		}
		if err != nil {
			return c, fmt.Errorf("choice %d: %w", i, err)
		}
	}
	return c, nil
}

// decodeResponseToolCall reads {"id", "type": "function", "function":
// {"name", "arguments"}}.
func decodeResponseToolCall(v []byte) (canon.Part, error) {
	var raw [3][]byte
	if !pickMembers(v, []string{"id", "type", "function"}, raw[:]) {
		return canon.Part{}, fmt.Errorf("%w: tool call is not an object", errResponse)
	}
	typ, err := optString(raw[1], "tool call type")
	if err != nil {
		return canon.Part{}, err
	}
	if typ != "" && typ != "function" {
		return canon.Part{}, errors.New("openai: chat completion carries a tool call of a type the canonical form cannot hold")
	}
	var fn [2][]byte
	if raw[2] != nil && !jsonx.IsNull(raw[2]) && !pickMembers(raw[2], []string{"name", "arguments"}, fn[:]) {
		return canon.Part{}, fmt.Errorf("%w: tool call function is not an object", errResponse)
	}
	p := canon.Part{Kind: canon.PartToolCall}
	if p.ToolCall.ID, err = optString(raw[0], "tool call id"); err != nil {
		return p, err
	}
	if p.ToolCall.Name, err = optString(fn[0], "tool call name"); err != nil {
		return p, err
	}
	args, err := optString(fn[1], "tool call arguments")
	p.ToolCall.Arguments = json.RawMessage(args)
	return p, err
}

// ResponseFromCanon converts a canonical answer into a chat.completion
// object. Created is written as Unix seconds (0 for the zero Time: set it
// when the upstream's dialect has none). Each choice's text parts are
// joined into its content and its refusal parts into its refusal (the
// format has one of each), followed by its tool calls. Thinking parts are
// left out, as Chat Completions never shows reasoning (its tokens still
// count in usage.completion_tokens_details.reasoning_tokens). A finish
// reason without an OpenAI equivalent is written as the upstream spelled
// it. An image or a tool result in a choice is an error: the format has no
// place for it, and an answer must not lose content silently.
func ResponseFromCanon(r *canon.Response) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.ID)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = appendUnix(b, r.Created)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, r.Model)
	b = append(b, `,"choices":[`...)
	for i := range r.Choices {
		c := &r.Choices[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(c.Index), 10)
		b = append(b, `,"message":{"role":"assistant","content":`...)
		var err error
		if b, err = appendJoined(b, c.Parts, canon.PartText); err != nil {
			return nil, err
		}
		b = append(b, `,"refusal":`...)
		b, _ = appendJoined(b, c.Parts, canon.PartRefusal)
		calls := 0
		for _, p := range c.Parts {
			if p.Kind != canon.PartToolCall {
				continue
			}
			if calls++; calls == 1 {
				b = append(b, `,"tool_calls":[`...)
			} else {
				b = append(b, ',')
			}
			b = appendToolCall(b, p.ToolCall)
		}
		if calls > 0 {
			b = append(b, ']')
		}
		b = append(b, `},"logprobs":null,"finish_reason":`...)
		if s := finishToOpenAI(c.Finish, c.RawFinish); s != "" {
			b = appendJSONString(b, s)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if r.UsageKnown {
		b = append(b, `,"usage":`...)
		b = appendUsage(b, r.Usage)
	}
	return append(b, '}'), nil
}

// appendJoined appends, as a JSON string, the concatenated text of the
// parts of the given kind, or null if there are none. It fails on a part
// the format cannot carry.
func appendJoined(b []byte, parts []canon.Part, kind canon.PartKind) ([]byte, error) {
	n := 0
	for _, p := range parts {
		switch p.Kind {
		case kind:
			if n++; n == 1 {
				b = append(b, '"')
			}
			b = appendJSONStringBody(b, p.Text)
		case canon.PartImage, canon.PartToolResult:
			return nil, fmt.Errorf("openai: a chat completion cannot carry a %s part", p.Kind)
		}
	}
	if n == 0 {
		return append(b, "null"...), nil
	}
	return append(b, '"'), nil
}

// finishFromOpenAI maps a finish_reason to the canonical reason; "" is
// none.
func finishFromOpenAI(raw string) canon.FinishReason {
	switch raw {
	case "":
		return canon.FinishUnset
	case "stop":
		return canon.FinishStop
	case "length":
		return canon.FinishLength
	case "tool_calls":
		return canon.FinishToolCalls
	case "content_filter":
		return canon.FinishContentFilter
	}
	return canon.FinishOther
}

// finishToOpenAI returns the finish_reason for a canonical reason: the
// OpenAI name, or for FinishOther the upstream's own spelling ("stop" if it
// gave none); "" for none.
func finishToOpenAI(f canon.FinishReason, raw string) string {
	switch f {
	case canon.FinishStop:
		return "stop"
	case canon.FinishLength:
		return "length"
	case canon.FinishToolCalls:
		return "tool_calls"
	case canon.FinishContentFilter:
		return "content_filter"
	case canon.FinishOther:
		if raw != "" {
			return raw
		}
		return "stop"
	}
	return ""
}

// decodeUsage reads a Chat Completions usage object: prompt_tokens,
// completion_tokens, prompt_tokens_details.cached_tokens and
// .cache_write_tokens, completion_tokens_details.reasoning_tokens. Counts
// must be non-negative integers (or null); other members are ignored.
func decodeUsage(v []byte) (metering.Usage, error) {
	var u metering.Usage
	var raw [4][]byte
	if !pickMembers(v, []string{"prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"}, raw[:]) {
		return u, fmt.Errorf("%w: usage is not an object", errResponse)
	}
	var details [3][]byte
	if raw[2] != nil && !jsonx.IsNull(raw[2]) && !pickMembers(raw[2], []string{"cached_tokens", "cache_write_tokens"}, details[:2]) {
		return u, fmt.Errorf("%w: usage details are not an object", errResponse)
	}
	if raw[3] != nil && !jsonx.IsNull(raw[3]) && !pickMembers(raw[3], []string{"reasoning_tokens"}, details[2:]) {
		return u, fmt.Errorf("%w: usage details are not an object", errResponse)
	}
	for _, f := range [...]struct {
		v   []byte
		dst *int64
	}{
		{raw[0], &u.InputTokens}, {raw[1], &u.OutputTokens},
		{details[0], &u.CachedInputTokens}, {details[1], &u.CacheCreationTokens}, {details[2], &u.ReasoningTokens},
	} {
		if f.v == nil || jsonx.IsNull(f.v) {
			continue
		}
		n, ok := jsonx.Int(f.v)
		if !ok || n < 0 {
			return metering.Usage{}, fmt.Errorf("%w: usage count is not a non-negative integer", errResponse)
		}
		*f.dst = n
	}
	return u, nil
}

// appendUsage appends u as a Chat Completions usage object.
func appendUsage(b []byte, u metering.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.InputTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.OutputTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.Total(), 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CachedInputTokens, 10)
	if u.CacheCreationTokens != 0 {
		b = append(b, `,"cache_write_tokens":`...)
		b = strconv.AppendInt(b, u.CacheCreationTokens, 10)
	}
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, u.ReasoningTokens, 10)
	return append(b, "}}"...)
}

// pickMembers stores the values of the members of the object v named in
// names into dst (the last one wins) and ignores the others. It reports
// false if v is not an object.
func pickMembers(v []byte, names []string, dst [][]byte) bool {
	return jsonx.Each(v, func(m jsonx.Member) bool {
		escaped := bytes.IndexByte(m.Key, '\\') >= 0
		for k, name := range names {
			if (!escaped && string(m.Key) == name) || (escaped && m.KeyIs(name)) {
				dst[k] = m.Value
				break
			}
		}
		return true
	}) == nil
}

// optString decodes a string member that may be missing or null ("").
func optString(v []byte, name string) (string, error) {
	if v == nil || jsonx.IsNull(v) {
		return "", nil
	}
	s, ok := stringBytes(v)
	if !ok {
		return "", fmt.Errorf("%w: %s is not a string", errResponse, name)
	}
	return string(s), nil
}

// optUnixTime decodes Unix seconds; missing, null and 0 are the zero Time.
func optUnixTime(v []byte, name string) (time.Time, error) {
	if v == nil || jsonx.IsNull(v) {
		return time.Time{}, nil
	}
	n, ok := jsonx.Int(v)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %s is not an integer", errResponse, name)
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.Unix(n, 0), nil
}

// appendUnix appends t as Unix seconds, 0 for the zero Time.
func appendUnix(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, '0')
	}
	return strconv.AppendInt(b, t.Unix(), 10)
}
