package canon

import "strconv"

// Feature names a canonical feature that some dialect cannot express, in
// canonical terms, so that the client's front door can name the field in
// the client's own spelling when it refuses the request.
type Feature string

// Features that encoders refuse. A dialect package may refuse others with
// a Feature of its own naming, spelled the same way (snake_case, dotted
// paths for nested fields).
const (
	// FeatureTopK is Request.TopK.
	FeatureTopK Feature = "top_k"
	// FeatureFrequencyPenalty is Request.FrequencyPenalty.
	FeatureFrequencyPenalty Feature = "frequency_penalty"
	// FeaturePresencePenalty is Request.PresencePenalty.
	FeaturePresencePenalty Feature = "presence_penalty"
	// FeatureSeed is Request.Seed.
	FeatureSeed Feature = "seed"
	// FeatureChoices is Request.Choices above 1.
	FeatureChoices Feature = "choices"
	// FeatureUser is Request.User.
	FeatureUser Feature = "user"
	// FeatureParallelToolCalls is Request.ParallelToolCalls.
	FeatureParallelToolCalls Feature = "parallel_tool_calls"
	// FeatureToolChoice is a Request.ToolChoice mode.
	FeatureToolChoice Feature = "tool_choice"
	// FeatureToolStrict is Tool.Strict.
	FeatureToolStrict Feature = "tools.strict"
	// FeatureResponseFormat is a Request.ResponseFormat type or member.
	FeatureResponseFormat Feature = "response_format"
	// FeatureReasoningEffort is a Reasoning.Effort level.
	FeatureReasoningEffort Feature = "reasoning.effort"
	// FeatureReasoningBudget is Reasoning.BudgetTokens.
	FeatureReasoningBudget Feature = "reasoning.budget_tokens"
	// FeatureStop is Request.Stop (too many sequences, say).
	FeatureStop Feature = "stop"
	// FeatureRole is a message whose role the dialect cannot place where
	// it stands (a system message after the conversation began, for
	// dialects with a single system field).
	FeatureRole Feature = "messages.role"
	// FeaturePart is a part of a kind the dialect cannot place in its
	// message (an image in a tool result or a system message, say).
	FeaturePart Feature = "messages.parts"
	// FeatureImageDetail is an Image.Detail level.
	FeatureImageDetail Feature = "messages.parts.image.detail"
	// FeatureToolResultError is ToolResult.IsError.
	FeatureToolResultError Feature = "messages.parts.tool_result.is_error"
)

// UnsupportedError is the error an encoder returns for a canonical request
// that uses a feature its dialect cannot express. The gateway answers it
// with a 400 in the client's dialect, naming the field as the client spells
// it. It carries no text from the request.
type UnsupportedError struct {
	// Feature is what the dialect cannot express.
	Feature Feature
	// Message is the index in Request.Messages of the message at fault,
	// or -1 for a request-level feature.
	Message int
	// Part is the index in that message's Parts (for a part inside a tool
	// result, the tool result's index), or -1.
	Part int
}

// Unsupported returns an UnsupportedError for a request-level feature.
func Unsupported(f Feature) *UnsupportedError {
	return &UnsupportedError{Feature: f, Message: -1, Part: -1}
}

// UnsupportedAt returns an UnsupportedError for a feature of message msg,
// part part (-1 for the whole message).
func UnsupportedAt(f Feature, msg, part int) *UnsupportedError {
	return &UnsupportedError{Feature: f, Message: msg, Part: part}
}

// Error implements error.
func (e *UnsupportedError) Error() string {
	s := "canon: the target dialect cannot express " + string(e.Feature)
	if e.Message >= 0 {
		s += " (message " + strconv.Itoa(e.Message)
		if e.Part >= 0 {
			s += ", part " + strconv.Itoa(e.Part)
		}
		s += ")"
	}
	return s
}
