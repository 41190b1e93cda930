package anthropic

import (
	"net/http"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// FromUnsupported returns the 400 an Anthropic-dialect client gets when
// the upstream's dialect cannot express a feature of its request, naming
// the field as the Messages API spells it. A feature inside the
// conversation is named "messages" only: canonical message indexes do not
// match Anthropic's (the system prompt and tool results are placed
// differently).
func FromUnsupported(e *canon.UnsupportedError) *providers.Error {
	var name path
	switch e.Feature {
	case canon.FeatureTopK:
		name = "top_k"
	case canon.FeatureUser:
		name = "metadata.user_id"
	case canon.FeatureParallelToolCalls:
		name = "tool_choice.disable_parallel_tool_use"
	case canon.FeatureToolChoice:
		name = "tool_choice.type"
	case canon.FeatureToolStrict:
		name = "tools"
	case canon.FeatureReasoningEffort, canon.FeatureReasoningBudget:
		name = "thinking"
	case canon.FeatureStop:
		name = "stop_sequences"
	case canon.FeatureRole, canon.FeaturePart, canon.FeatureImageDetail, canon.FeatureToolResultError:
		name = "messages"
	}
	if name == "" {
		return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unsupported_parameter",
			Message: "The request uses a feature that the provider serving this model cannot express."}
	}
	return errUnsupported(name)
}
