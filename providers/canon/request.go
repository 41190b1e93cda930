package canon

import "encoding/json"

// Request is one model call in canonical form. The zero value is a request
// with no model and no messages, every option unset.
type Request struct {
	// Model is the model name, as the client or the router gave it.
	Model string
	// Messages is the conversation, oldest first, system instructions
	// included (see [Request.SplitSystem]).
	Messages []Message
	// Tools are the functions the model may call.
	Tools []Tool
	// ToolChoice says whether and which tools the model must call; the
	// zero value leaves it to the upstream's default.
	ToolChoice ToolChoice
	// ParallelToolCalls, if set, allows or forbids more than one tool call
	// per turn (OpenAI parallel_tool_calls; Anthropic's
	// disable_parallel_tool_use is its negation).
	ParallelToolCalls *bool
	// ResponseFormat, if set, constrains the output to text, JSON or a JSON
	// schema.
	ResponseFormat *ResponseFormat
	// MaxOutputTokens, if set, caps the generated tokens of each choice
	// (OpenAI max_completion_tokens or max_tokens, Anthropic max_tokens,
	// Gemini maxOutputTokens).
	MaxOutputTokens *int64
	// Temperature, if set, is the sampling temperature; 0 is a value.
	Temperature *float64
	// TopP, if set, is the nucleus sampling mass.
	TopP *float64
	// TopK, if set, samples from the K likeliest tokens (Anthropic and
	// Gemini; OpenAI cannot express it).
	TopK *int64
	// FrequencyPenalty and PresencePenalty, if set, penalize repeated
	// tokens (OpenAI and Gemini).
	FrequencyPenalty *float64
	PresencePenalty  *float64
	// Stop holds the stop sequences; nil or empty means none.
	Stop []string
	// Stream asks for a streamed answer.
	Stream bool
	// Choices, if set, is how many answers to generate (OpenAI n, Gemini
	// candidateCount), as providers.Request.Choices counts them.
	Choices *int64
	// Seed, if set, asks for deterministic sampling (OpenAI and Gemini).
	Seed *int64
	// User is an opaque end-user identifier for the upstream's abuse
	// monitoring (OpenAI user, Anthropic metadata.user_id); empty means
	// none.
	User string
	// Reasoning, if set, configures the model's hidden reasoning.
	Reasoning *Reasoning
}

// Role is the author of a message.
type Role uint8

// Roles. The zero Role is not valid in a request.
const (
	// RoleSystem holds instructions from the application.
	RoleSystem Role = iota + 1
	// RoleDeveloper is OpenAI's newer spelling of RoleSystem; dialects
	// with one kind of instruction treat both alike.
	RoleDeveloper
	// RoleUser holds the end user's input.
	RoleUser
	// RoleAssistant holds the model's earlier output: text, refusals,
	// thinking and tool calls.
	RoleAssistant
	// RoleTool holds tool results ([PartToolResult]), and nothing else.
	RoleTool
)

// String returns the role's lower-case name, as OpenAI spells it.
func (r Role) String() string {
	switch r {
	case RoleSystem:
		return "system"
	case RoleDeveloper:
		return "developer"
	case RoleUser:
		return "user"
	case RoleAssistant:
		return "assistant"
	case RoleTool:
		return "tool"
	}
	return "unknown"
}

// IsSystem reports whether r is RoleSystem or RoleDeveloper.
func (r Role) IsSystem() bool { return r == RoleSystem || r == RoleDeveloper }

// Message is one turn of the conversation.
type Message struct {
	// Role is the author.
	Role Role
	// Parts is the content, in order. Which kinds a role may hold:
	// system and developer: text; user: text and images; assistant: text,
	// refusals, thinking and tool calls; tool: tool results.
	Parts []Part
}

// Text returns the concatenated text of m's PartText parts.
func (m *Message) Text() string {
	n, count := 0, 0
	var only string
	for i := range m.Parts {
		if m.Parts[i].Kind == PartText {
			n += len(m.Parts[i].Text)
			count++
			only = m.Parts[i].Text
		}
	}
	if count <= 1 {
		return only
	}
	b := make([]byte, 0, n)
	for i := range m.Parts {
		if m.Parts[i].Kind == PartText {
			b = append(b, m.Parts[i].Text...)
		}
	}
	return string(b)
}

// PartKind says what a Part holds.
type PartKind uint8

// Part kinds. The zero PartKind is not valid.
const (
	// PartText is text, in Part.Text.
	PartText PartKind = iota + 1
	// PartImage is an image, in Part.Image.
	PartImage
	// PartToolCall is a call the model made, in Part.ToolCall.
	PartToolCall
	// PartToolResult is the answer to a tool call, in Part.ToolResult.
	PartToolResult
	// PartThinking is the model's visible reasoning, in Part.Text, with
	// its signature, if any, in Part.Signature.
	PartThinking
	// PartRedactedThinking is reasoning the upstream encrypted (Anthropic
	// redacted_thinking): opaque data in Part.Signature, to be sent back
	// unchanged and never shown.
	PartRedactedThinking
	// PartRefusal is text with which the model declined to answer (OpenAI
	// refusal), in Part.Text. Dialects without refusals take it as text.
	PartRefusal
)

// String returns the kind's lower-case name.
func (k PartKind) String() string {
	switch k {
	case PartText:
		return "text"
	case PartImage:
		return "image"
	case PartToolCall:
		return "tool_call"
	case PartToolResult:
		return "tool_result"
	case PartThinking:
		return "thinking"
	case PartRedactedThinking:
		return "redacted_thinking"
	case PartRefusal:
		return "refusal"
	}
	return "unknown"
}

// Part is one piece of a message or a choice. Kind says which fields hold
// it; the others are zero.
type Part struct {
	// Kind says what the part holds.
	Kind PartKind
	// Text is the text of a PartText, PartRefusal or PartThinking.
	Text string
	// Image is the image of a PartImage.
	Image Image
	// ToolCall is the call of a PartToolCall.
	ToolCall ToolCall
	// ToolResult is the result of a PartToolResult.
	ToolResult ToolResult
	// Signature is an opaque token the upstream attached to the part and
	// expects back unchanged with the conversation: Anthropic's thinking
	// signature, Gemini's thoughtSignature (which may sit on any part,
	// function calls included), or the encrypted data of a
	// PartRedactedThinking. Dialects that have no place for it drop it;
	// only the upstream that made it can read it.
	Signature string
}

// Image is an image given by URL or inline as base64. Exactly one of URL
// and Data is set.
type Image struct {
	// URL is where the upstream fetches the image (http, https, or a
	// dialect's file reference such as Gemini's fileUri).
	URL string
	// MediaType is the image's MIME type, such as "image/png": required
	// with Data, optional with URL.
	MediaType string
	// Data is the image itself in standard base64 (with padding), as all
	// three dialects carry inline images. Converters pass it through
	// without decoding it; the upstream checks it.
	Data string
	// Detail is the resolution hint: "" (unset), "auto", "low", "high" or
	// "original", as OpenAI spells them (Gemini's mediaResolution maps to
	// the same levels).
	Detail string
}

// ToolCall is a call of a tool, as the model made it.
type ToolCall struct {
	// ID identifies the call; its result carries the same ID. Gemini may
	// leave it empty.
	ID string
	// Name is the tool's name.
	Name string
	// Arguments is the JSON text of the arguments as the model wrote it,
	// usually an object. Models can emit malformed JSON and a streamed
	// call is only the concatenation of its fragments, so it is not
	// guaranteed valid: an encoder whose dialect carries arguments as a
	// JSON object (Anthropic, Gemini) must check it with json.Valid.
	Arguments json.RawMessage
}

// ToolResult is the application's answer to a tool call.
type ToolResult struct {
	// CallID is the ID of the call answered.
	CallID string
	// Name is the tool's name, where the client's dialect gives it
	// (Gemini requires it; OpenAI does not carry it: see
	// [Request.ToolName]).
	Name string
	// Content is the result: text parts, and images where the dialect
	// allows them.
	Content []Part
	// IsError reports a failed call (Anthropic is_error).
	IsError bool
}

// TextPart returns a PartText holding s.
func TextPart(s string) Part { return Part{Kind: PartText, Text: s} }

// ImageURLPart returns a PartImage fetched from url.
func ImageURLPart(url string) Part { return Part{Kind: PartImage, Image: Image{URL: url}} }

// ImageDataPart returns a PartImage holding base64-encoded data of the
// given media type.
func ImageDataPart(mediaType, data string) Part {
	return Part{Kind: PartImage, Image: Image{MediaType: mediaType, Data: data}}
}

// ToolCallPart returns a PartToolCall.
func ToolCallPart(id, name string, arguments json.RawMessage) Part {
	return Part{Kind: PartToolCall, ToolCall: ToolCall{ID: id, Name: name, Arguments: arguments}}
}

// ToolResultPart returns a PartToolResult answering the call callID.
func ToolResultPart(callID string, content ...Part) Part {
	return Part{Kind: PartToolResult, ToolResult: ToolResult{CallID: callID, Content: content}}
}

// SplitSystem returns the leading system and developer messages of r and
// the messages after them, for dialects with a single system field. The
// rest may still hold system messages, which such dialects must refuse
// (their index in Messages is len(system) plus their index in rest).
func (r *Request) SplitSystem() (system, rest []Message) {
	n := 0
	for n < len(r.Messages) && r.Messages[n].Role.IsSystem() {
		n++
	}
	return r.Messages[:n], r.Messages[n:]
}

// ToolName returns the name of the tool call with the given ID among the
// assistant messages of r, or "" if none has it: for dialects whose tool
// results must name the tool (Gemini) when the client's dialect did not
// (OpenAI).
func (r *Request) ToolName(callID string) string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		for _, p := range r.Messages[i].Parts {
			if p.Kind == PartToolCall && p.ToolCall.ID == callID {
				return p.ToolCall.Name
			}
		}
	}
	return ""
}

// Tool is a function the model may call.
type Tool struct {
	// Name is the function's name.
	Name string
	// Description tells the model what the function does; "" means none.
	Description string
	// Parameters is the JSON Schema of the arguments, an object; nil means
	// the function takes none (or the dialect's default).
	Parameters json.RawMessage
	// Strict, if set, asks the upstream to hold the arguments to the
	// schema exactly (OpenAI and Anthropic strict).
	Strict *bool
}

// ToolChoiceMode says how the model must use its tools.
type ToolChoiceMode uint8

// Tool choice modes.
const (
	// ToolChoiceUnset leaves the choice to the upstream's default
	// (auto when tools are given).
	ToolChoiceUnset ToolChoiceMode = iota
	// ToolChoiceAuto lets the model decide.
	ToolChoiceAuto
	// ToolChoiceNone forbids tool calls.
	ToolChoiceNone
	// ToolChoiceRequired demands at least one call (OpenAI required,
	// Anthropic any, Gemini ANY).
	ToolChoiceRequired
	// ToolChoiceTool demands a call of the tool named in ToolChoice.Name.
	ToolChoiceTool
)

// String returns the mode's lower-case name.
func (m ToolChoiceMode) String() string {
	switch m {
	case ToolChoiceUnset:
		return "unset"
	case ToolChoiceAuto:
		return "auto"
	case ToolChoiceNone:
		return "none"
	case ToolChoiceRequired:
		return "required"
	case ToolChoiceTool:
		return "tool"
	}
	return "unknown"
}

// ToolChoice says whether and which tools the model must call. The zero
// value is unset.
type ToolChoice struct {
	// Mode is the kind of choice.
	Mode ToolChoiceMode
	// Name is the tool that ToolChoiceTool demands.
	Name string
}

// FormatType is the kind of output a ResponseFormat asks for.
type FormatType uint8

// Format types. The zero FormatType is not valid.
const (
	// FormatText is free text, every dialect's default, given explicitly.
	FormatText FormatType = iota + 1
	// FormatJSON is any JSON object (OpenAI json_object, Gemini
	// responseMimeType application/json without a schema).
	FormatJSON
	// FormatJSONSchema is JSON that follows ResponseFormat.Schema.
	FormatJSONSchema
)

// String returns the type's lower-case name.
func (t FormatType) String() string {
	switch t {
	case FormatText:
		return "text"
	case FormatJSON:
		return "json"
	case FormatJSONSchema:
		return "json_schema"
	}
	return "unknown"
}

// ResponseFormat constrains the model's output.
type ResponseFormat struct {
	// Type is the kind of output.
	Type FormatType
	// Name names the schema of a FormatJSONSchema (OpenAI requires one;
	// others have none).
	Name string
	// Description tells the model what the schema is for; "" means none.
	Description string
	// Schema is the JSON Schema of a FormatJSONSchema; nil means none.
	Schema json.RawMessage
	// Strict, if set, asks the upstream to hold the output to the schema
	// exactly.
	Strict *bool
}

// Reasoning configures a reasoning model's hidden thinking. Each dialect
// expresses a different subset: OpenAI an effort, Anthropic a budget (and
// an effort), Gemini a budget or a level.
type Reasoning struct {
	// Effort is the level, as OpenAI spells it: "none", "minimal", "low",
	// "medium", "high" or "xhigh"; "" means unset.
	Effort string
	// BudgetTokens, if set, caps the thinking tokens (Anthropic
	// budget_tokens, Gemini thinkingBudget, where 0 turns thinking off).
	BudgetTokens *int64
}
