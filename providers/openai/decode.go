package openai

import (
	"net/http"
	"unicode/utf8"

	"github.com/wicket-gw/wicket/internal/jsonval"
	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// maxChoices is the largest n (answers per chat request) Decode
// accepts, as OpenAI does.
const maxChoices = canon.MaxChoices

// Decode picks out of an OpenAI-dialect request body what routing
// and limits need, without decoding the rest: model, stream,
// stream_options.include_usage, the output-token cap (max_tokens or
// max_completion_tokens for chat, max_output_tokens for responses) and,
// for chat, n. It
// answers a body that is not a JSON object, whose picked fields have the
// wrong type, or that repeats one of them (parsers disagree on which copy
// wins, and the gateway must count what the upstream will act on), with a
// 400 *Error naming the field, never quoting the body.
//
// For chat completions and responses it also fills Images and Unbounded
// (the rules are on inputs): a body's bytes bound its text tokens, but not
// its images, files or audio, nor content the upstream pulls in on its
// own. That scan never fails a request: nulls and values of the wrong type
// are not counted, keys written with escapes count as their decoded name,
// and a part or item with several "type" members counts as an image if any
// is an image type and as unbounded if any is not a text or image type.
func Decode(endpoint providers.Endpoint, body []byte) (*providers.Request, *providers.Error) {
	req := &providers.Request{Dialect: providers.DialectOpenAI, Endpoint: endpoint, Body: body, Choices: 1}
	if !jsonx.Valid(body) {
		return nil, badRequest("", "invalid_json", "We could not parse the JSON body of your request. The body must be a JSON object.")
	}
	var perr *providers.Error
	var seen [numPicked]bool
	once := func(f picked) bool {
		if seen[f] {
			perr = badRequest(pickedNames[f], "duplicate_parameter", "The parameter '"+pickedNames[f]+"' appears more than once.")
			return false
		}
		seen[f] = true
		return true
	}
	var in inputs
	err := jsonx.Each(body, func(m jsonx.Member) bool {
		switch endpoint {
		case providers.EndpointChat:
			in.chatMember(m)
		case providers.EndpointResponses:
			in.responsesMember(m)
		}
		f, ok := pick(m, endpoint)
		if !ok {
			return true
		}
		if !once(f) {
			return false
		}
		switch f {
		case pickModel:
			s, ok := jsonx.String(m.Value)
			if !ok {
				perr = badRequest("model", "invalid_type", "Invalid type for 'model': expected a string.")
				return false
			}
			if !utf8.ValidString(s) {
				perr = badRequest("model", "invalid_value", "Invalid value for 'model': expected valid UTF-8.")
				return false
			}
			req.Model, req.ModelStart, req.ModelEnd = s, m.Start, m.End
		case pickStream:
			if jsonx.IsNull(m.Value) {
				break
			}
			b, ok := jsonx.Bool(m.Value)
			if !ok {
				perr = badRequest("stream", "invalid_type", "Invalid type for 'stream': expected a boolean.")
				return false
			}
			req.Stream = b
		case pickStreamOptions:
			if jsonx.IsNull(m.Value) {
				break
			}
			perr = decodeStreamOptions(m.Value, req)
			if perr != nil {
				return false
			}
		case pickChoices:
			if jsonx.IsNull(m.Value) {
				break
			}
			n, ok := jsonx.Int(m.Value)
			if !ok || n < 1 || n > maxChoices {
				perr = badRequest("n", "invalid_value", "Invalid value for 'n': expected an integer from 1 to 128.")
				return false
			}
			req.Choices = n
		default: // an output-token cap
			if jsonx.IsNull(m.Value) {
				break
			}
			n, ok := jsonx.Int(m.Value)
			if !ok || n < 0 {
				name := pickedNames[f]
				perr = badRequest(name, "invalid_type", "Invalid value for '"+name+"': expected a non-negative integer.")
				return false
			}
			if n >= req.MaxOutputTokens {
				req.MaxOutputTokens, req.MaxOutputParam = n, pickedNames[f]
			}
		}
		return true
	})
	if err != nil {
		return nil, badRequest("", "invalid_json", "We could not parse the JSON body of your request. The body must be a JSON object.")
	}
	if perr != nil {
		return nil, perr
	}
	if req.Model == "" {
		return nil, badRequest("model", "missing_required_parameter", "You must provide a model parameter.")
	}
	if endpoint == providers.EndpointEmbeddings {
		req.Stream = false
	}
	req.Images, req.Unbounded = in.images, in.unbounded
	return req, nil
}

// picked names the members Decode reads.
type picked uint8

const (
	pickModel picked = iota
	pickStream
	pickStreamOptions
	pickMaxTokens
	pickMaxCompletionTokens
	pickMaxOutputTokens
	pickChoices
	numPicked
)

// pickedNames spells each picked member as the API does, for errors: never
// the raw key from the body, which may be written with escapes.
var pickedNames = [numPicked]string{"model", "stream", "stream_options", "max_tokens", "max_completion_tokens", "max_output_tokens", "n"}

func pick(m jsonx.Member, endpoint providers.Endpoint) (picked, bool) {
	switch {
	case m.KeyIs("model"):
		return pickModel, true
	case m.KeyIs("stream"):
		return pickStream, true
	case m.KeyIs("stream_options"):
		return pickStreamOptions, true
	case endpoint == providers.EndpointChat && m.KeyIs("max_tokens"):
		return pickMaxTokens, true
	case endpoint == providers.EndpointChat && m.KeyIs("max_completion_tokens"):
		return pickMaxCompletionTokens, true
	case endpoint == providers.EndpointResponses && m.KeyIs("max_output_tokens"):
		return pickMaxOutputTokens, true
	case endpoint == providers.EndpointChat && m.KeyIs("n"):
		return pickChoices, true
	}
	return 0, false
}

// decodeStreamOptions reads include_usage, refusing a repeated one.
func decodeStreamOptions(v []byte, req *providers.Request) *providers.Error {
	const name = "stream_options.include_usage"
	count := 0
	var perr *providers.Error
	err := jsonx.Each(v, func(m jsonx.Member) bool {
		if !m.KeyIs("include_usage") {
			return true
		}
		if count++; count > 1 {
			perr = badRequest(name, "duplicate_parameter", "The parameter '"+name+"' appears more than once.")
			return false
		}
		if jsonx.IsNull(m.Value) {
			return true
		}
		b, ok := jsonx.Bool(m.Value)
		if !ok {
			perr = badRequest(name, "invalid_type", "Invalid type for '"+name+"': expected a boolean.")
			return false
		}
		req.IncludeUsage = b
		return true
	})
	if err != nil {
		return badRequest("stream_options", "invalid_type", "Invalid type for 'stream_options': expected an object.")
	}
	return perr
}

func badRequest(param, code, msg string) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Code: code, Message: msg}
}

// Unbounded names: what Request.Unbounded may hold, each spelled as the
// OpenAI API spells the parameter or input kind. Never text from a body.
const (
	// Chat completions.
	unboundedMessages         = "messages"           // a content part of a kind not known to be text or an image
	unboundedFile             = "file"               // a file part (PDF and the like)
	unboundedAudio            = "audio"              // audio output, or an assistant message's earlier audio by ID
	unboundedModalities       = "modalities"         // "audio" among the output modalities
	unboundedWebSearchOptions = "web_search_options" // search results enter the context
	// Both.
	unboundedInputAudio  = "input_audio"  // an audio part
	unboundedTools       = "tools"        // a tool the upstream runs itself
	unboundedServiceTier = "service_tier" // a tier priced above the standard rates
	// Responses.
	unboundedInput              = "input" // an item or part of a kind not known to be bounded
	unboundedInputFile          = "input_file"
	unboundedItemReference      = "item_reference"        // a stored item, by ID
	unboundedReasoning          = "reasoning"             // a stored reasoning item, by ID, without its encrypted content
	unboundedCompaction         = "compaction"            // an opaque compaction summary
	unboundedCompactionTrigger  = "compaction_trigger"    // a compaction pass, billed on its own
	unboundedMcpApproval        = "mcp_approval_response" // approves a call the upstream then makes to an MCP server
	unboundedPreviousResponseID = "previous_response_id"  // stored context
	unboundedConversation       = "conversation"          // stored context
	unboundedPrompt             = "prompt"                // a stored prompt template
	unboundedBackground         = "background"            // billed after the reply, which carries no usage
	unboundedContextManagement  = "context_management"    // server-side compaction passes
)

// inputs is what Decode learns of a request's inputs beyond its
// bytes. It walks only the containers that can hold non-text input and
// skips text values; it allocates only for keys or type values written
// with escapes.
//
// Chat completions:
//   - messages[*].content, when an array of parts: "text" and "refusal"
//     are text, "image_url" an image, "input_audio" and "file" unbounded;
//     a part of another type, or with no type, is unbounded ("messages"),
//     since the gateway cannot tell what it costs.
//   - messages[*].audio (an earlier audio answer, by ID), audio,
//     modalities containing "audio", web_search_options: unbounded.
//   - tools[*] of a type other than "function" or "custom": unbounded.
//   - service_tier other than "auto", "default", "flex" or "scale":
//     unbounded ("priority" and "fast" cost more than the price table).
//
// Responses:
//   - input, when an array of items. A message (type "message", or no
//     type and a role) has its content parts checked: "input_text",
//     "output_text", "refusal", "reasoning_text" and "summary_text" are
//     text, "input_image" an image, "input_file" and "input_audio"
//     unbounded, any other part unbounded ("input"). The output of a
//     function_call_output or custom_tool_call_output, when an array of
//     parts, follows the same rules; a computer_call_output (a screenshot)
//     and an image_generation_call (its image) count as an image, as does
//     each "image" output of a code_interpreter_call.
//   - Items that are references or opaque: item_reference (or an item with
//     neither type nor role, which the API reads as a reference), a
//     reasoning item without encrypted_content (the upstream fetches it by
//     ID), compaction, compaction_trigger, mcp_approval_response, and any
//     item type not known to carry its content in the body ("input").
//   - previous_response_id, conversation and prompt (non-null),
//     background (true), context_management (non-empty), tools[*] other
//     than "function", "custom" and namespaces of those, and service_tier
//     as for chat: unbounded.
type inputs struct {
	images    int64
	unbounded string
}

// flag records name if nothing was recorded before: Unbounded names the
// first finding.
func (in *inputs) flag(name string) {
	if in.unbounded == "" {
		in.unbounded = name
	}
}

// chatMember scans one top-level member of a chat completions request.
func (in *inputs) chatMember(m jsonx.Member) {
	switch {
	case m.KeyIs("messages"):
		jsonval.EachElem(m.Value, in.chatMessage)
	case m.KeyIs("audio"):
		in.flagSet(m.Value, unboundedAudio)
	case m.KeyIs("modalities"):
		jsonval.EachElem(m.Value, func(v []byte) {
			if s, ok := jsonval.Contents(v); ok && string(s) == "audio" {
				in.flag(unboundedModalities)
			}
		})
	case m.KeyIs("web_search_options"):
		in.flagSet(m.Value, unboundedWebSearchOptions)
	case m.KeyIs("tools"):
		in.tools(m.Value, false)
	case m.KeyIs("service_tier"):
		in.serviceTier(m.Value)
	}
}

// chatMessage scans one element of messages.
func (in *inputs) chatMessage(msg []byte) {
	_ = jsonx.Each(msg, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("content"):
			jsonval.EachElem(m.Value, in.chatPart)
		case m.KeyIs("audio"):
			in.flagSet(m.Value, unboundedAudio)
		}
		return true
	})
}

// chatPart scans one content part of a chat message. A string part (an
// undocumented form of text) is text.
func (in *inputs) chatPart(part []byte) {
	var t types
	if t.read(part, ruleChatPart) {
		in.add(&t, unboundedMessages)
	}
}

// chatPartType is the rule for the type of a chat content part.
func chatPartType(t *types, typ []byte) {
	switch string(typ) {
	case "text", "refusal":
	case "image_url":
		t.image = true
	case "input_audio":
		t.flag(unboundedInputAudio)
	case "file":
		t.flag(unboundedFile)
	default:
		t.flag(unboundedMessages)
	}
}

// responsesMember scans one top-level member of a responses request.
func (in *inputs) responsesMember(m jsonx.Member) {
	switch {
	case m.KeyIs("input"):
		jsonval.EachElem(m.Value, in.responsesItem)
	case m.KeyIs("previous_response_id"):
		in.flagSet(m.Value, unboundedPreviousResponseID)
	case m.KeyIs("conversation"):
		in.flagSet(m.Value, unboundedConversation)
	case m.KeyIs("prompt"):
		in.flagSet(m.Value, unboundedPrompt)
	case m.KeyIs("background"):
		if b, ok := jsonx.Bool(m.Value); ok && b {
			in.flag(unboundedBackground)
		}
	case m.KeyIs("context_management"):
		if !jsonx.IsNull(m.Value) && !jsonval.EmptyArray(m.Value) {
			in.flag(unboundedContextManagement)
		}
	case m.KeyIs("tools"):
		in.tools(m.Value, true)
	case m.KeyIs("service_tier"):
		in.serviceTier(m.Value)
	}
}

// responsesItem scans one item of input in one pass over its members,
// whatever their order: content, output and outputs arrays are scanned as
// they come (only items that may hold parts there have them), and the
// rules that depend on the item's type apply once all members are read.
func (in *inputs) responsesItem(item []byte) {
	if len(item) == 0 || item[0] != '{' {
		return // not an item: the upstream refuses the request
	}
	var (
		t         types
		role      bool // a non-null role: a message, if no type says otherwise
		encrypted bool // a reasoning item that carries its content
		images    int64
	)
	_ = jsonx.Each(item, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("type"):
			t.add(m.Value, ruleItem)
		case m.KeyIs("role"):
			role = role || !jsonx.IsNull(m.Value)
		case m.KeyIs("content"):
			jsonval.EachElem(m.Value, in.responsesContentPart)
		case m.KeyIs("output"):
			jsonval.EachElem(m.Value, in.responsesOutputPart)
		case m.KeyIs("outputs"):
			jsonval.EachElem(m.Value, func(v []byte) {
				var o types
				if o.read(v, ruleCodeInterpreterOutput) && o.image {
					images++
				}
			})
		case m.KeyIs("tools"):
			in.tools(m.Value, true)
		case m.KeyIs("encrypted_content"):
			if s, ok := jsonval.Contents(m.Value); ok && len(s) > 0 {
				encrypted = true
			}
		}
		return true
	})
	in.images += images
	switch {
	case t.typed:
		if t.reasoning && !encrypted {
			t.flag(unboundedReasoning)
		}
		in.add(&t, unboundedInput)
	case !role:
		in.flag(unboundedItemReference)
	}
}

// itemType is the rule for the type of a responses input item.
func itemType(t *types, typ []byte) {
	switch string(typ) {
	case "message", "function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output",
		"computer_call", "shell_call", "shell_call_output", "local_shell_call", "local_shell_call_output",
		"apply_patch_call", "apply_patch_call_output", "file_search_call", "web_search_call",
		"code_interpreter_call", "mcp_call", "mcp_list_tools", "mcp_approval_request",
		"tool_search_call", "tool_search_output", "additional_tools", "configuration_update",
		"program", "program_output":
		// Content in the body, bounded by its bytes; parts, outputs and
		// tools are scanned apart.
	case "reasoning":
		t.reasoning = true // judged once its encrypted content is known
	case "computer_call_output", "image_generation_call":
		t.image = true // a screenshot; a generated image
	case "item_reference":
		t.flag(unboundedItemReference)
	case "compaction":
		t.flag(unboundedCompaction)
	case "compaction_trigger":
		t.flag(unboundedCompactionTrigger)
	case "mcp_approval_response":
		t.flag(unboundedMcpApproval)
	default:
		t.flag(unboundedInput)
	}
}

// codeInterpreterOutputType is the rule for the type of an output of a
// code interpreter call: logs or an image.
func codeInterpreterOutputType(t *types, typ []byte) {
	if string(typ) == "image" {
		t.image = true
	}
}

// responsesContentPart scans one part of an item's content.
func (in *inputs) responsesContentPart(part []byte) {
	var t types
	if t.read(part, ruleResponsesPart) {
		in.add(&t, unboundedInput)
	}
}

// responsesOutputPart scans one element of an item's output array. A
// function or custom tool output holds typed parts, which follow the
// content rules; a shell call output holds untyped chunks of text.
func (in *inputs) responsesOutputPart(part []byte) {
	var t types
	if t.read(part, ruleResponsesPart) && t.typed {
		in.add(&t, unboundedInput)
	}
}

// responsesPartType is the rule for the type of a responses content part.
func responsesPartType(t *types, typ []byte) {
	switch string(typ) {
	case "input_text", "output_text", "refusal", "reasoning_text", "summary_text":
	case "input_image":
		t.image = true
	case "input_file":
		t.flag(unboundedInputFile)
	case "input_audio":
		t.flag(unboundedInputAudio)
	default:
		t.flag(unboundedInput)
	}
}

// tools flags any tool the upstream runs itself: every type but "function"
// and "custom" and, where namespaces are allowed (responses), "namespace",
// whose own tools must then be functions or custom tools.
func (in *inputs) tools(v []byte, namespaces bool) {
	jsonval.EachElem(v, func(tool []byte) {
		if len(tool) == 0 || tool[0] != '{' {
			return
		}
		_ = jsonx.Each(tool, func(m jsonx.Member) bool {
			switch {
			case m.KeyIs("type"):
				s, ok := jsonval.Contents(m.Value)
				if !ok {
					break // null or the wrong type: the upstream refuses it
				}
				switch string(s) {
				case "function", "custom":
				case "namespace":
					if !namespaces {
						in.flag(unboundedTools)
					}
				default:
					in.flag(unboundedTools)
				}
			case namespaces && m.KeyIs("tools"):
				in.tools(m.Value, false) // a namespace's tools; no nesting
			}
			return true
		})
	})
}

// serviceTier flags a tier other than the standard and cheaper ones.
func (in *inputs) serviceTier(v []byte) {
	s, ok := jsonval.Contents(v)
	if !ok {
		return
	}
	switch string(s) {
	case "auto", "default", "flex", "scale":
	default:
		in.flag(unboundedServiceTier)
	}
}

// flagSet flags name if v is not null.
func (in *inputs) flagSet(v []byte, name string) {
	if !jsonx.IsNull(v) {
		in.flag(name)
	}
}

// add records a scanned part or item: an image if any of its types is an
// image type, and the first unbounded kind among its types. One with no
// type at all is unknown: unbounded under the container's name.
func (in *inputs) add(t *types, unknown string) {
	if !t.typed {
		in.flag(unknown)
		return
	}
	if t.image {
		in.images++
	}
	if t.unbounded != "" {
		in.flag(t.unbounded)
	}
}

// types is what a rule made of the "type" members of one object. Null
// and non-string types are ignored, as the upstream refuses them.
type types struct {
	typed     bool // some type was a string
	image     bool
	reasoning bool // for items: a reasoning item
	unbounded string
}

// A rule says what the type of one kind of object means.
type rule uint8

const (
	ruleChatPart              rule = iota // chatPartType
	ruleResponsesPart                     // responsesPartType
	ruleItem                              // itemType
	ruleCodeInterpreterOutput             // codeInterpreterOutputType
)

// read applies r to each type of the object v; ok is false if v is not an
// object (a string part is text; anything else the upstream refuses).
func (t *types) read(v []byte, r rule) bool {
	if len(v) == 0 || v[0] != '{' {
		return false
	}
	_ = jsonx.Each(v, func(m jsonx.Member) bool {
		if m.KeyIs("type") {
			t.add(m.Value, r)
		}
		return true
	})
	return true
}

// add applies r to the type value v, if it is a string. (A switch rather
// than a func value keeps t on the caller's stack.)
func (t *types) add(v []byte, r rule) {
	s, ok := jsonval.Contents(v)
	if !ok {
		return
	}
	t.typed = true
	switch r {
	case ruleChatPart:
		chatPartType(t, s)
	case ruleResponsesPart:
		responsesPartType(t, s)
	case ruleItem:
		itemType(t, s)
	case ruleCodeInterpreterOutput:
		codeInterpreterOutputType(t, s)
	}
}

func (t *types) flag(name string) {
	if t.unbounded == "" {
		t.unbounded = name
	}
}
