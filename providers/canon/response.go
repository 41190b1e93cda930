package canon

import (
	"time"

	"github.com/wicket-gw/wicket/metering"
)

// Response is a whole (non-streamed) answer in canonical form.
type Response struct {
	// ID is the upstream's ID for the answer.
	ID string
	// Model is the model that answered, as the upstream names it.
	Model string
	// Created is when the answer was made; the zero Time means the
	// upstream did not say (Anthropic never does), and an encoder whose
	// dialect requires a time writes 0 unless the caller sets one.
	Created time.Time
	// Choices holds the answers (OpenAI choices, Gemini candidates), in
	// order of their Index.
	Choices []Choice
	// Usage is the upstream's token count, valid when UsageKnown.
	Usage      metering.Usage
	UsageKnown bool
}

// Choice is one answer of a Response.
type Choice struct {
	// Index is the answer's position, from 0.
	Index int
	// Parts is the answer's content, in order: text, refusals, thinking
	// and tool calls.
	Parts []Part
	// Finish is why generation stopped; FinishUnset if the upstream did
	// not say.
	Finish FinishReason
	// RawFinish is the upstream's own spelling of the reason ("stop",
	// "end_turn", "MAX_TOKENS"), for logs and for the dialect it came
	// from; "" if none.
	RawFinish string
}

// FinishReason is why a choice stopped, in canonical terms.
type FinishReason uint8

// Finish reasons.
const (
	// FinishUnset means the upstream gave no reason.
	FinishUnset FinishReason = iota
	// FinishStop is a natural end or a stop sequence (OpenAI stop,
	// Anthropic end_turn and stop_sequence, Gemini STOP).
	FinishStop
	// FinishLength is the output cap or the context window (OpenAI
	// length, Anthropic max_tokens and model_context_window_exceeded,
	// Gemini MAX_TOKENS).
	FinishLength
	// FinishToolCalls means the model stopped to have tools called
	// (OpenAI tool_calls, Anthropic tool_use).
	FinishToolCalls
	// FinishContentFilter means a safety system cut the answer (OpenAI
	// content_filter, Anthropic refusal, Gemini SAFETY, RECITATION and
	// the like).
	FinishContentFilter
	// FinishOther is any other reason; RawFinish says which.
	FinishOther
)

// String returns the reason's lower-case name.
func (f FinishReason) String() string {
	switch f {
	case FinishUnset:
		return "unset"
	case FinishStop:
		return "stop"
	case FinishLength:
		return "length"
	case FinishToolCalls:
		return "tool_calls"
	case FinishContentFilter:
		return "content_filter"
	case FinishOther:
		return "other"
	}
	return "unknown"
}
