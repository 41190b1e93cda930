package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

// errMessage is the error (wrapped) for a response or stream event that is
// not a message object Anthropic could have sent. It never carries body
// text.
var errMessage = errors.New("anthropic: malformed message")

// wireUsage is Anthropic's usage object: input_tokens excludes the cache
// reads and writes, which metering.Usage counts in InputTokens.
type wireUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	OutputTokensDetails      *struct {
		ThinkingTokens *int64 `json:"thinking_tokens"`
	} `json:"output_tokens_details"`
	CacheCreation *struct {
		Ephemeral1h *int64 `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
}

// merge overwrites the counts of u that w gives; raw keeps Anthropic's
// input, cache creation, cache read, thinking and 1-hour cache write counts
// across calls. Negative counts are ignored, and sums saturate.
func (w *wireUsage) merge(u *metering.Usage, raw *[5]int64) {
	take := func(v *int64, dst *int64) {
		if v != nil && *v >= 0 {
			*dst = *v
		}
	}
	take(w.InputTokens, &raw[0])
	take(w.CacheCreationInputTokens, &raw[1])
	take(w.CacheReadInputTokens, &raw[2])
	if w.OutputTokensDetails != nil {
		take(w.OutputTokensDetails.ThinkingTokens, &raw[3])
	}
	if w.CacheCreation != nil {
		take(w.CacheCreation.Ephemeral1h, &raw[4])
	}
	take(w.OutputTokens, &u.OutputTokens)
	u.InputTokens = addSat(addSat(raw[0], raw[1]), raw[2])
	u.CacheCreationTokens = raw[1]
	u.CacheWrite1hTokens = min(raw[4], raw[1])
	u.CachedInputTokens = raw[2]
	u.ReasoningTokens = min(raw[3], u.OutputTokens)
}

// appendUsage writes u in Anthropic's terms; output_tokens_details only
// when u has reasoning tokens.
func appendUsage(b []byte, u metering.Usage) []byte {
	in := u.InputTokens - u.CachedInputTokens - u.CacheCreationTokens
	if in < 0 {
		in = 0
	}
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, in)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = appendInt(b, u.CacheCreationTokens)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = appendInt(b, u.CachedInputTokens)
	if w1h := min(max(u.CacheWrite1hTokens, 0), u.CacheCreationTokens); w1h > 0 {
		b = append(b, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
		b = appendInt(b, u.CacheCreationTokens-w1h)
		b = append(b, `,"ephemeral_1h_input_tokens":`...)
		b = appendInt(b, w1h)
		b = append(b, '}')
	}
	b = append(b, `,"output_tokens":`...)
	b = appendInt(b, u.OutputTokens)
	if u.ReasoningTokens > 0 {
		b = append(b, `,"output_tokens_details":{"thinking_tokens":`...)
		b = appendInt(b, u.ReasoningTokens)
		b = append(b, '}')
	}
	return append(b, '}')
}

type wireBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Thinking  *string         `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"`
}

// part converts a response content block; citations and other members it
// has no use for are ignored.
func (w *wireBlock) part() (canon.Part, error) {
	switch w.Type {
	case "text":
		if w.Text == nil {
			return canon.Part{}, fmt.Errorf("%w: text block without text", errMessage)
		}
		return canon.TextPart(*w.Text), nil
	case "thinking":
		if w.Thinking == nil {
			return canon.Part{}, fmt.Errorf("%w: thinking block without thinking", errMessage)
		}
		return canon.Part{Kind: canon.PartThinking, Text: *w.Thinking, Signature: w.Signature}, nil
	case "redacted_thinking":
		return canon.Part{Kind: canon.PartRedactedThinking, Signature: w.Data}, nil
	case "tool_use":
		in := bytes.TrimSpace(w.Input)
		if len(in) == 0 || in[0] != '{' {
			return canon.Part{}, fmt.Errorf("%w: tool_use input is not an object", errMessage)
		}
		var c bytes.Buffer
		_ = json.Compact(&c, in)
		return canon.ToolCallPart(w.ID, w.Name, c.Bytes()), nil
	}
	// Server tool blocks and the like: the converters never ask for them.
	return canon.Part{}, fmt.Errorf("%w: unsupported content block type", errMessage)
}

// ResponseToCanon converts a Messages API message object (a non-streamed
// answer) into the canonical form, with one choice. Members it has no use
// for (container, citations, usage.server_tool_use, …) are ignored;
// stop_sequence, which the canonical form has no place for, is dropped. A
// body that is not a message object, or that holds a content block the
// canonical form cannot express, is an error wrapping a sentinel that
// carries no body text.
func ResponseToCanon(body []byte) (*canon.Response, error) {
	var w struct {
		ID         string      `json:"id"`
		Type       string      `json:"type"`
		Model      string      `json:"model"`
		Content    []wireBlock `json:"content"`
		StopReason *string     `json:"stop_reason"`
		Usage      *wireUsage  `json:"usage"`
	}
	if b := bytes.TrimSpace(body); len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("%w: not an object", errMessage)
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: not a message object", errMessage)
	}
	if w.Type != "message" {
		return nil, fmt.Errorf("%w: type is not message", errMessage)
	}
	r := &canon.Response{ID: w.ID, Model: w.Model, Choices: []canon.Choice{{Parts: []canon.Part{}}}}
	c := &r.Choices[0]
	for i := range w.Content {
		p, err := w.Content[i].part()
		if err != nil {
			return nil, err
		}
		c.Parts = append(c.Parts, p)
	}
	if w.StopReason != nil && *w.StopReason != "" {
		c.RawFinish = *w.StopReason
		c.Finish = finishFromAnthropic(c.RawFinish)
	}
	if w.Usage != nil {
		var raw [5]int64
		w.Usage.merge(&r.Usage, &raw)
		r.UsageKnown = true
	}
	return r, nil
}

// finishFromAnthropic maps a stop_reason to the canonical reason.
func finishFromAnthropic(raw string) canon.FinishReason {
	switch raw {
	case "end_turn", "stop_sequence":
		return canon.FinishStop
	case "max_tokens", "model_context_window_exceeded":
		return canon.FinishLength
	case "tool_use":
		return canon.FinishToolCalls
	case "refusal":
		return canon.FinishContentFilter
	}
	return canon.FinishOther
}

// finishToAnthropic returns the stop_reason for f: raw if it is
// Anthropic's spelling of f, else the usual spelling; "" for unset. Other
// reasons without an Anthropic spelling become end_turn.
func finishToAnthropic(f canon.FinishReason, raw string) string {
	switch raw {
	case "end_turn", "stop_sequence", "max_tokens", "model_context_window_exceeded", "tool_use", "refusal", "pause_turn":
		if finishFromAnthropic(raw) == f {
			return raw
		}
	}
	switch f {
	case canon.FinishUnset:
		return ""
	case canon.FinishLength:
		return "max_tokens"
	case canon.FinishToolCalls:
		return "tool_use"
	case canon.FinishContentFilter:
		return "refusal"
	}
	return "end_turn"
}

// ResponseFromCanon converts a canonical response into a Messages API
// message object. Anthropic answers with one choice: a response with more,
// or whose choice is not index 0, is refused with a
// *canon.UnsupportedError for FeatureChoices. Refusal parts are written as
// text; stop_sequence is always null (the canonical form does not keep
// it); a response whose usage is unknown reports zeros.
func ResponseFromCanon(r *canon.Response) ([]byte, error) {
	var c canon.Choice
	switch {
	case len(r.Choices) > 1 || (len(r.Choices) == 1 && r.Choices[0].Index != 0):
		return nil, canon.Unsupported(canon.FeatureChoices)
	case len(r.Choices) == 1:
		c = r.Choices[0]
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, r.Model)
	b = append(b, `,"content":[`...)
	var err error
	if b, err = appendParts(b, c.Parts, 0, false, false); err != nil {
		var u *canon.UnsupportedError
		if errors.As(err, &u) {
			return nil, fmt.Errorf("anthropic: a response cannot hold a %s part", c.Parts[u.Part].Kind)
		}
		return nil, err
	}
	b = append(b, `],"stop_reason":`...)
	if s := finishToAnthropic(c.Finish, c.RawFinish); s != "" {
		b = appendString(b, s)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"stop_sequence":null,"usage":`...)
	b = appendUsage(b, r.Usage)
	return append(b, '}'), nil
}
