package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// This file converts Chat Completions requests to and from the canonical
// form, and holds the small JSON reading and writing helpers that
// canon_response.go and canon_stream.go share: exact, case-sensitive member
// names (encoding/json matches names case-insensitively, which would let
// "Model" stand for "model"), no reflection, and no copy of a string that
// needs no unescaping.

// Top-level members of a chat completions request, as the API spells them.
// Only these names appear in errors: never a name taken from a body.
const (
	reqModel = iota
	reqMessages
	reqTemperature
	reqTopP
	reqFrequencyPenalty
	reqPresencePenalty
	reqMaxTokens
	reqMaxCompletionTokens
	reqN
	reqSeed
	reqStop
	reqStream
	reqStreamOptions
	reqTools
	reqToolChoice
	reqParallelToolCalls
	reqResponseFormat
	reqUser
	reqReasoningEffort
	reqLogprobs // false only
	reqStore    // false only
	// Known, and refused unless null: the canonical form cannot express
	// them.
	reqAudio
	reqFunctionCall
	reqFunctions
	reqLogitBias
	reqMetadata
	reqModalities
	reqModeration
	reqPrediction
	reqPromptCacheKey
	reqPromptCacheOptions
	reqPromptCacheRetention
	reqSafetyIdentifier
	reqServiceTier
	reqTopLogprobs
	reqVerbosity
	reqWebSearchOptions
	numReqMembers
)

var reqMemberNames = [numReqMembers]string{
	"model", "messages", "temperature", "top_p", "frequency_penalty", "presence_penalty",
	"max_tokens", "max_completion_tokens", "n", "seed", "stop", "stream", "stream_options",
	"tools", "tool_choice", "parallel_tool_calls", "response_format", "user", "reasoning_effort",
	"logprobs", "store",
	"audio", "function_call", "functions", "logit_bias", "metadata", "modalities", "moderation",
	"prediction", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention",
	"safety_identifier", "service_tier", "top_logprobs", "verbosity", "web_search_options",
}

// knownEffort reports whether s is a value of reasoning_effort.
func knownEffort(s string) bool {
	switch s {
	case "none", "minimal", "low", "medium", "high", "xhigh":
		return true
	}
	return false
}

// knownDetail reports whether s is a value of image_url.detail.
func knownDetail(s string) bool {
	switch s {
	case "auto", "low", "high", "original":
		return true
	}
	return false
}

// RequestToCanon converts a chat completions request body into the
// canonical form. The body must be valid JSON; it is not retained.
//
// Every member of the body, at every depth, must be one the canonical form
// expresses: a parameter it cannot express (audio, logprobs, logit_bias,
// metadata, modalities, prediction, prompt caching, service_tier,
// web_search_options, participant names, audio and file parts, custom
// tools, the deprecated functions, …) is refused with a 400
// *providers.Error whose Param names it as the API spells it (messages.[2].name)
// and whose Code is "unsupported_parameter" or, for a value such as a part
// type, "unsupported_value". A member the converter does not know is
// refused with Code "unknown_parameter" and a fixed message; Param then
// names the enclosing object at most, never text from the body. A member
// whose value is null is the same as a missing one, and logprobs and store
// may also be false (their defaults).
//
// The round trip through RequestFromCanon keeps the meaning, not the
// spelling: max_tokens becomes max_completion_tokens; stop is always an
// array; content that is a single text part becomes a string; an
// assistant's refusal may move between content and the refusal member; the
// stream flag appears only when true and then with
// stream_options.include_usage true (the gateway meters every stream;
// include_obfuscation concerns OpenAI's own padding, which translated
// streams never carry); empty strings (user, descriptions) and empty
// arrays (stop, tool_calls) are left out.
func RequestToCanon(body []byte) (*canon.Request, *providers.Error) {
	if !jsonx.Valid(body) {
		return nil, errInvalidJSON()
	}
	var raw [numReqMembers][]byte
	if perr := collectMembers(body, param{}, reqMemberNames[:], raw[:]); perr != nil {
		return nil, perr
	}
	r := &canon.Request{}
	var perr *providers.Error
	set := func(i int) bool { return perr == nil && raw[i] != nil && !jsonx.IsNull(raw[i]) }
	name := func(i int) param { return member(reqMemberNames[i]) }

	for i := reqAudio; i < numReqMembers; i++ {
		if set(i) {
			return nil, errUnsupported(name(i))
		}
	}
	for _, i := range [...]int{reqLogprobs, reqStore} {
		if set(i) {
			b, ok := jsonx.Bool(raw[i])
			if !ok {
				return nil, errType(name(i), "a boolean")
			}
			if b {
				return nil, errUnsupported(name(i))
			}
		}
	}

	if set(reqModel) {
		r.Model, perr = stringValue(raw[reqModel], name(reqModel))
	}
	if perr == nil && r.Model == "" {
		perr = errMissing(name(reqModel))
	}
	if perr == nil && (raw[reqMessages] == nil || jsonx.IsNull(raw[reqMessages])) {
		perr = errMissing(name(reqMessages))
	}
	if set(reqMessages) {
		r.Messages, perr = decodeMessages(raw[reqMessages])
	}
	r.Temperature = optFloat(raw[reqTemperature], name(reqTemperature), &perr)
	r.TopP = optFloat(raw[reqTopP], name(reqTopP), &perr)
	r.FrequencyPenalty = optFloat(raw[reqFrequencyPenalty], name(reqFrequencyPenalty), &perr)
	r.PresencePenalty = optFloat(raw[reqPresencePenalty], name(reqPresencePenalty), &perr)
	maxTokens := optCount(raw[reqMaxTokens], name(reqMaxTokens), &perr)
	r.MaxOutputTokens = optCount(raw[reqMaxCompletionTokens], name(reqMaxCompletionTokens), &perr)
	if perr == nil && maxTokens != nil {
		if r.MaxOutputTokens != nil && *r.MaxOutputTokens != *maxTokens {
			perr = errValue(name(reqMaxTokens), "it differs from 'max_completion_tokens'; set only one.")
		}
		r.MaxOutputTokens = maxTokens
	}
	r.Choices = optInt(raw[reqN], name(reqN), &perr)
	r.Seed = optInt(raw[reqSeed], name(reqSeed), &perr)
	if set(reqStop) {
		r.Stop, perr = decodeStop(raw[reqStop])
	}
	if set(reqStream) {
		b, ok := jsonx.Bool(raw[reqStream])
		if !ok {
			perr = errType(name(reqStream), "a boolean")
		}
		r.Stream = b
	}
	if set(reqStreamOptions) {
		perr = checkStreamOptions(raw[reqStreamOptions])
	}
	if set(reqTools) {
		r.Tools, perr = decodeTools(raw[reqTools])
	}
	if set(reqToolChoice) {
		r.ToolChoice, perr = decodeToolChoice(raw[reqToolChoice])
	}
	if set(reqParallelToolCalls) {
		b, ok := jsonx.Bool(raw[reqParallelToolCalls])
		if !ok {
			perr = errType(name(reqParallelToolCalls), "a boolean")
		}
		r.ParallelToolCalls = &b
	}
	if set(reqResponseFormat) {
		r.ResponseFormat, perr = decodeResponseFormat(raw[reqResponseFormat])
	}
	if set(reqUser) {
		r.User, perr = stringValue(raw[reqUser], name(reqUser))
	}
	if set(reqReasoningEffort) {
		var effort string
		effort, perr = stringValue(raw[reqReasoningEffort], name(reqReasoningEffort))
		if perr == nil && !knownEffort(effort) {
			perr = errUnsupportedValue(name(reqReasoningEffort))
		}
		r.Reasoning = &canon.Reasoning{Effort: effort}
	}
	if perr != nil {
		return nil, perr
	}
	return r, nil
}

// Members of a message, as the API spells them.
const (
	msgRole = iota
	msgContent
	msgName
	msgRefusal
	msgToolCalls
	msgToolCallID
	msgAudio
	msgFunctionCall
	numMsgMembers
)

var msgMemberNames = [numMsgMembers]string{"role", "content", "name", "refusal", "tool_calls", "tool_call_id", "audio", "function_call"}

func decodeMessages(v []byte) ([]canon.Message, *providers.Error) {
	var msgs []canon.Message
	var perr *providers.Error
	if !eachElement(v, func(i int, e []byte) bool {
		var m canon.Message
		m, perr = decodeMessage(member("messages").index(i), e)
		msgs = append(msgs, m)
		return perr == nil
	}) {
		return nil, errType(member("messages"), "an array")
	}
	return msgs, perr
}

// decodeMessage reads the message at p.
func decodeMessage(p param, v []byte) (canon.Message, *providers.Error) {
	var m canon.Message
	var raw [numMsgMembers][]byte
	if perr := collectMembers(v, p, msgMemberNames[:], raw[:]); perr != nil {
		return m, perr
	}
	given := func(k int) bool { return raw[k] != nil && !jsonx.IsNull(raw[k]) }
	at := func(k int) param { return p.dot(msgMemberNames[k]) }
	if !given(msgRole) {
		return m, errMissing(at(msgRole))
	}
	role, ok := stringBytes(raw[msgRole])
	if !ok {
		return m, errType(at(msgRole), "a string")
	}
	// Members each role may have; a member of another role is unknown.
	allowed := []int{msgRole, msgContent, msgName}
	switch string(role) {
	case "system":
		m.Role = canon.RoleSystem
	case "developer":
		m.Role = canon.RoleDeveloper
	case "user":
		m.Role = canon.RoleUser
	case "assistant":
		m.Role = canon.RoleAssistant
		allowed = append(allowed, msgRefusal, msgToolCalls, msgAudio, msgFunctionCall)
	case "tool":
		m.Role = canon.RoleTool
		allowed = []int{msgRole, msgContent, msgToolCallID}
	case "function":
		return m, errUnsupportedValue(at(msgRole))
	default:
		return m, errValue(at(msgRole), "expected one of system, developer, user, assistant or tool.")
	}
	for k := range raw {
		if raw[k] != nil && !slices.Contains(allowed, k) {
			return m, errUnknown(p)
		}
	}
	for _, k := range [...]int{msgName, msgAudio, msgFunctionCall} {
		if given(k) {
			return m, errUnsupported(at(k))
		}
	}
	var perr *providers.Error
	switch m.Role {
	case canon.RoleTool:
		if !given(msgToolCallID) {
			return m, errMissing(at(msgToolCallID))
		}
		var res canon.ToolResult
		if res.CallID, perr = stringValue(raw[msgToolCallID], at(msgToolCallID)); perr != nil {
			return m, perr
		}
		if !given(msgContent) {
			return m, errMissing(at(msgContent))
		}
		if res.Content, perr = decodeContent(at(msgContent), m.Role, raw[msgContent]); perr != nil {
			return m, perr
		}
		m.Parts = []canon.Part{{Kind: canon.PartToolResult, ToolResult: res}}
		return m, nil
	case canon.RoleAssistant:
		if given(msgContent) {
			if m.Parts, perr = decodeContent(at(msgContent), m.Role, raw[msgContent]); perr != nil {
				return m, perr
			}
		}
		if given(msgRefusal) {
			s, perr := stringValue(raw[msgRefusal], at(msgRefusal))
			if perr != nil {
				return m, perr
			}
			m.Parts = append(m.Parts, canon.Part{Kind: canon.PartRefusal, Text: s})
		}
		if given(msgToolCalls) {
			ok := eachElement(raw[msgToolCalls], func(j int, e []byte) bool {
				var part canon.Part
				part, perr = decodeToolCall(at(msgToolCalls).index(j), e)
				m.Parts = append(m.Parts, part)
				return perr == nil
			})
			if !ok {
				return m, errType(at(msgToolCalls), "an array")
			}
		}
		return m, perr
	default:
		if !given(msgContent) {
			return m, errMissing(at(msgContent))
		}
		m.Parts, perr = decodeContent(at(msgContent), m.Role, raw[msgContent])
		return m, perr
	}
}

// Members of a content part.
const (
	partType = iota
	partText
	partImageURL
	partRefusal
	partInputAudio
	partFile
	partPromptCacheBreakpoint
	numPartMembers
)

var partMemberNames = [numPartMembers]string{"type", "text", "image_url", "refusal", "input_audio", "file", "prompt_cache_breakpoint"}

// decodeContent reads the content at p of a message of the given role: a
// string (one text part) or an array of parts of the kinds the role allows.
func decodeContent(p param, role canon.Role, v []byte) ([]canon.Part, *providers.Error) {
	if len(v) > 0 && v[0] == '"' {
		s, perr := stringValue(v, p)
		if perr != nil {
			return nil, perr
		}
		return []canon.Part{canon.TextPart(s)}, nil
	}
	parts := []canon.Part{}
	var perr *providers.Error
	ok := eachElement(v, func(j int, e []byte) bool {
		var part canon.Part
		part, perr = decodePart(p.index(j), role, e)
		parts = append(parts, part)
		return perr == nil
	})
	if !ok {
		return nil, errType(p, "a string or an array")
	}
	return parts, perr
}

// decodePart reads the content part at p.
func decodePart(p param, role canon.Role, v []byte) (canon.Part, *providers.Error) {
	var raw [numPartMembers][]byte
	if perr := collectMembers(v, p, partMemberNames[:], raw[:]); perr != nil {
		return canon.Part{}, perr
	}
	at := func(k int) param { return p.dot(partMemberNames[k]) }
	if raw[partPromptCacheBreakpoint] != nil && !jsonx.IsNull(raw[partPromptCacheBreakpoint]) {
		return canon.Part{}, errUnsupported(at(partPromptCacheBreakpoint))
	}
	if raw[partType] == nil {
		return canon.Part{}, errMissing(at(partType))
	}
	typ, ok := stringBytes(raw[partType])
	if !ok {
		return canon.Part{}, errType(at(partType), "a string")
	}
	var mem int // the one member the type carries
	var part canon.Part
	switch string(typ) {
	case "text":
		mem, part.Kind = partText, canon.PartText
	case "image_url":
		mem, part.Kind = partImageURL, canon.PartImage
		if role != canon.RoleUser {
			return part, errUnsupportedValue(at(partType))
		}
	case "refusal":
		mem, part.Kind = partRefusal, canon.PartRefusal
		if role != canon.RoleAssistant {
			return part, errUnsupportedValue(at(partType))
		}
	default: // input_audio, file, and types not known
		return part, errUnsupportedValue(at(partType))
	}
	for k := partText; k < partPromptCacheBreakpoint; k++ {
		if k != mem && raw[k] != nil {
			return part, errUnknown(p)
		}
	}
	if raw[mem] == nil || jsonx.IsNull(raw[mem]) {
		return part, errMissing(at(mem))
	}
	var perr *providers.Error
	if part.Kind == canon.PartImage {
		part.Image, perr = decodeImageURL(at(mem), raw[mem])
	} else {
		part.Text, perr = stringValue(raw[mem], at(mem))
	}
	return part, perr
}

// decodeImageURL reads {"url": …, "detail": …}. A data URL
// (data:<media type>;base64,<data>) becomes inline data.
func decodeImageURL(p param, v []byte) (canon.Image, *providers.Error) {
	var img canon.Image
	var raw [2][]byte
	if perr := collectMembers(v, p, []string{"url", "detail"}, raw[:]); perr != nil {
		return img, perr
	}
	if raw[0] == nil || jsonx.IsNull(raw[0]) {
		return img, errMissing(p.dot("url"))
	}
	url, perr := stringValue(raw[0], p.dot("url"))
	if perr != nil {
		return img, perr
	}
	if raw[1] != nil && !jsonx.IsNull(raw[1]) {
		if img.Detail, perr = stringValue(raw[1], p.dot("detail")); perr != nil {
			return img, perr
		}
		if !knownDetail(img.Detail) {
			return img, errUnsupportedValue(p.dot("detail"))
		}
	}
	if rest, ok := strings.CutPrefix(url, "data:"); ok {
		mt, data, ok := strings.Cut(rest, ";base64,")
		if !ok || mt == "" || strings.ContainsAny(mt, ";,") {
			return img, errValue(p.dot("url"), "a data URL must have the form data:<media type>;base64,<data>.")
		}
		img.MediaType, img.Data = mt, data
		return img, nil
	}
	if url == "" {
		return img, errValue(p.dot("url"), "expected a URL.")
	}
	img.URL = url
	return img, nil
}

// decodeToolCall reads the tool call at p:
// {"id": …, "type": "function", "function": {"name": …, "arguments": …}}.
func decodeToolCall(p param, v []byte) (canon.Part, *providers.Error) {
	var raw [4][]byte
	if perr := collectMembers(v, p, []string{"id", "type", "function", "custom"}, raw[:]); perr != nil {
		return canon.Part{}, perr
	}
	if raw[1] == nil || jsonx.IsNull(raw[1]) {
		return canon.Part{}, errMissing(p.dot("type"))
	}
	typ, ok := stringBytes(raw[1])
	if !ok {
		return canon.Part{}, errType(p.dot("type"), "a string")
	}
	if string(typ) != "function" {
		return canon.Part{}, errUnsupportedValue(p.dot("type"))
	}
	if raw[3] != nil {
		return canon.Part{}, errUnknown(p)
	}
	for k, name := range [...]string{"id", "type", "function"} {
		if raw[k] == nil || jsonx.IsNull(raw[k]) {
			return canon.Part{}, errMissing(p.dot(name))
		}
	}
	fp := p.dot("function")
	var fn [2][]byte
	if perr := collectMembers(raw[2], fp, []string{"name", "arguments"}, fn[:]); perr != nil {
		return canon.Part{}, perr
	}
	for k, name := range [...]string{"name", "arguments"} {
		if fn[k] == nil || jsonx.IsNull(fn[k]) {
			return canon.Part{}, errMissing(fp.dot(name))
		}
	}
	var tc canon.ToolCall
	var perr *providers.Error
	if tc.ID, perr = stringValue(raw[0], p.dot("id")); perr != nil {
		return canon.Part{}, perr
	}
	if tc.Name, perr = stringValue(fn[0], fp.dot("name")); perr != nil {
		return canon.Part{}, perr
	}
	var buf [256]byte
	args, ok := unquoteJSON(fn[1], buf[:0])
	if !ok {
		return canon.Part{}, errType(fp.dot("arguments"), "a string")
	}
	tc.Arguments = json.RawMessage(slices.Clone(args))
	return canon.Part{Kind: canon.PartToolCall, ToolCall: tc}, nil
}

func decodeStop(v []byte) ([]string, *providers.Error) {
	p := member("stop")
	if len(v) > 0 && v[0] == '"' {
		s, perr := stringValue(v, p)
		return []string{s}, perr
	}
	var stop []string
	var perr *providers.Error
	if !eachElement(v, func(j int, e []byte) bool {
		var s string
		s, perr = stringValue(e, p.index(j))
		stop = append(stop, s)
		return perr == nil
	}) {
		return nil, errType(p, "a string or an array of strings")
	}
	return stop, perr
}

// checkStreamOptions accepts include_usage (which the front door reads;
// the converter always asks for usage) and include_obfuscation (OpenAI's
// own padding, which a translated stream never carries).
func checkStreamOptions(v []byte) *providers.Error {
	p := member("stream_options")
	names := []string{"include_usage", "include_obfuscation"}
	var raw [2][]byte
	if perr := collectMembers(v, p, names, raw[:]); perr != nil {
		return perr
	}
	for k, name := range names {
		if raw[k] != nil && !jsonx.IsNull(raw[k]) {
			if _, ok := jsonx.Bool(raw[k]); !ok {
				return errType(p.dot(name), "a boolean")
			}
		}
	}
	return nil
}

// decodeTools reads [{"type": "function", "function": {…}}, …].
func decodeTools(v []byte) ([]canon.Tool, *providers.Error) {
	var tools []canon.Tool
	var perr *providers.Error
	if !eachElement(v, func(j int, e []byte) bool {
		var t canon.Tool
		t, perr = decodeTool(member("tools").index(j), e)
		tools = append(tools, t)
		return perr == nil
	}) {
		return nil, errType(member("tools"), "an array")
	}
	return tools, perr
}

// decodeTool reads the tool at p.
func decodeTool(p param, v []byte) (canon.Tool, *providers.Error) {
	var t canon.Tool
	var raw [3][]byte
	if perr := collectMembers(v, p, []string{"type", "function", "custom"}, raw[:]); perr != nil {
		return t, perr
	}
	if raw[0] == nil {
		return t, errMissing(p.dot("type"))
	}
	typ, ok := stringBytes(raw[0])
	if !ok {
		return t, errType(p.dot("type"), "a string")
	}
	if string(typ) != "function" {
		return t, errUnsupportedValue(p.dot("type"))
	}
	if raw[2] != nil {
		return t, errUnknown(p)
	}
	fp := p.dot("function")
	if raw[1] == nil || jsonx.IsNull(raw[1]) {
		return t, errMissing(fp)
	}
	var fn [4][]byte
	if perr := collectMembers(raw[1], fp, []string{"name", "description", "parameters", "strict"}, fn[:]); perr != nil {
		return t, perr
	}
	if fn[0] == nil || jsonx.IsNull(fn[0]) {
		return t, errMissing(fp.dot("name"))
	}
	var perr *providers.Error
	if t.Name, perr = stringValue(fn[0], fp.dot("name")); perr != nil {
		return t, perr
	}
	if fn[1] != nil && !jsonx.IsNull(fn[1]) {
		if t.Description, perr = stringValue(fn[1], fp.dot("description")); perr != nil {
			return t, perr
		}
	}
	if fn[2] != nil && !jsonx.IsNull(fn[2]) {
		if fn[2][0] != '{' {
			return t, errType(fp.dot("parameters"), "an object")
		}
		t.Parameters = json.RawMessage(slices.Clone(fn[2]))
	}
	if fn[3] != nil && !jsonx.IsNull(fn[3]) {
		b, ok := jsonx.Bool(fn[3])
		if !ok {
			return t, errType(fp.dot("strict"), "a boolean")
		}
		t.Strict = &b
	}
	return t, nil
}

// decodeToolChoice reads "none", "auto", "required" or
// {"type": "function", "function": {"name": …}}.
func decodeToolChoice(v []byte) (canon.ToolChoice, *providers.Error) {
	p := member("tool_choice")
	var tc canon.ToolChoice
	if v[0] == '"' {
		s, ok := stringBytes(v)
		if !ok {
			return tc, errType(p, "a string or an object")
		}
		switch string(s) {
		case "none":
			tc.Mode = canon.ToolChoiceNone
		case "auto":
			tc.Mode = canon.ToolChoiceAuto
		case "required":
			tc.Mode = canon.ToolChoiceRequired
		default:
			return tc, errValue(p, "expected none, auto, required or an object.")
		}
		return tc, nil
	}
	var raw [4][]byte
	if perr := collectMembers(v, p, []string{"type", "function", "allowed_tools", "custom"}, raw[:]); perr != nil {
		return tc, perr
	}
	if raw[0] == nil {
		return tc, errMissing(p.dot("type"))
	}
	typ, ok := stringBytes(raw[0])
	if !ok {
		return tc, errType(p.dot("type"), "a string")
	}
	if string(typ) != "function" {
		return tc, errUnsupportedValue(p.dot("type"))
	}
	if raw[2] != nil || raw[3] != nil {
		return tc, errUnknown(p)
	}
	fp := p.dot("function")
	if raw[1] == nil || jsonx.IsNull(raw[1]) {
		return tc, errMissing(fp)
	}
	var fn [1][]byte
	if perr := collectMembers(raw[1], fp, []string{"name"}, fn[:]); perr != nil {
		return tc, perr
	}
	if fn[0] == nil || jsonx.IsNull(fn[0]) {
		return tc, errMissing(fp.dot("name"))
	}
	var perr *providers.Error
	tc.Mode = canon.ToolChoiceTool
	if tc.Name, perr = stringValue(fn[0], fp.dot("name")); perr == nil && tc.Name == "" {
		perr = errValue(fp.dot("name"), "expected a non-empty name.")
	}
	return tc, perr
}

// decodeResponseFormat reads {"type": "text"}, {"type": "json_object"} or
// {"type": "json_schema", "json_schema": {…}}.
func decodeResponseFormat(v []byte) (*canon.ResponseFormat, *providers.Error) {
	p := member("response_format")
	var raw [2][]byte
	if perr := collectMembers(v, p, []string{"type", "json_schema"}, raw[:]); perr != nil {
		return nil, perr
	}
	if raw[0] == nil {
		return nil, errMissing(p.dot("type"))
	}
	typ, ok := stringBytes(raw[0])
	if !ok {
		return nil, errType(p.dot("type"), "a string")
	}
	f := &canon.ResponseFormat{}
	switch string(typ) {
	case "text":
		f.Type = canon.FormatText
	case "json_object":
		f.Type = canon.FormatJSON
	case "json_schema":
		f.Type = canon.FormatJSONSchema
	default:
		return nil, errUnsupportedValue(p.dot("type"))
	}
	if f.Type != canon.FormatJSONSchema {
		if raw[1] != nil {
			return nil, errUnknown(p)
		}
		return f, nil
	}
	sp := p.dot("json_schema")
	if raw[1] == nil || jsonx.IsNull(raw[1]) {
		return nil, errMissing(sp)
	}
	var js [4][]byte
	if perr := collectMembers(raw[1], sp, []string{"name", "description", "schema", "strict"}, js[:]); perr != nil {
		return nil, perr
	}
	if js[0] == nil || jsonx.IsNull(js[0]) {
		return nil, errMissing(sp.dot("name"))
	}
	var perr *providers.Error
	if f.Name, perr = stringValue(js[0], sp.dot("name")); perr != nil {
		return nil, perr
	}
	if f.Name == "" {
		return nil, errValue(sp.dot("name"), "expected a non-empty name.")
	}
	if js[1] != nil && !jsonx.IsNull(js[1]) {
		if f.Description, perr = stringValue(js[1], sp.dot("description")); perr != nil {
			return nil, perr
		}
	}
	if js[2] != nil && !jsonx.IsNull(js[2]) {
		if js[2][0] != '{' {
			return nil, errType(sp.dot("schema"), "an object")
		}
		f.Schema = json.RawMessage(slices.Clone(js[2]))
	}
	if js[3] != nil && !jsonx.IsNull(js[3]) {
		b, ok := jsonx.Bool(js[3])
		if !ok {
			return nil, errType(sp.dot("strict"), "a boolean")
		}
		f.Strict = &b
	}
	return f, nil
}

// optFloat reads a number member (nil if missing or null); a fault goes to
// *perr unless it already holds one.
func optFloat(v []byte, p param, perr **providers.Error) *float64 {
	if *perr != nil || v == nil || jsonx.IsNull(v) {
		return nil
	}
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		*perr = errType(p, "a number")
		return nil
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		*perr = errValue(p, "the number is out of range.")
		return nil
	}
	return &f
}

// optInt reads an integer member (nil if missing or null).
func optInt(v []byte, p param, perr **providers.Error) *int64 {
	if *perr != nil || v == nil || jsonx.IsNull(v) {
		return nil
	}
	n, ok := jsonx.Int(v)
	if !ok {
		*perr = errType(p, "an integer")
		return nil
	}
	return &n
}

// optCount reads a non-negative integer member (nil if missing or null).
func optCount(v []byte, p param, perr **providers.Error) *int64 {
	n := optInt(v, p, perr)
	if n != nil && *n < 0 {
		*perr = errValue(p, "expected a non-negative integer.")
		return nil
	}
	return n
}

// param is the path of a request member as OpenAI spells it in errors
// (messages.[2].content.[0].image_url.url). It is a value built from the
// names above and indexes, never from body text, and becomes a string only
// when an error reports it, so that decoding allocates nothing for it.
type param struct {
	n   int
	seg [6]string // names; "" where the segment is an index
	idx [6]int
}

// member returns the path of a top-level member.
func member(name string) param { return param{}.dot(name) }

// dot returns the path of member name of the object at p. Paths deeper
// than p can hold stay at the enclosing path.
func (p param) dot(name string) param {
	if p.n < len(p.seg) {
		p.seg[p.n] = name
		p.n++
	}
	return p
}

// index returns the path of element i of the array at p.
func (p param) index(i int) param {
	if p.n < len(p.seg) {
		p.seg[p.n], p.idx[p.n] = "", i
		p.n++
	}
	return p
}

// String returns the path as OpenAI spells it; "" for the whole body.
func (p param) String() string {
	var b []byte
	for k := range p.n {
		if k > 0 {
			b = append(b, '.')
		}
		if p.seg[k] == "" {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(p.idx[k]), 10)
			b = append(b, ']')
		} else {
			b = append(b, p.seg[k]...)
		}
	}
	return string(b)
}

// RequestFromCanon converts a canonical request into a chat completions
// request body. The output cap becomes max_completion_tokens (rename it for
// servers that know only max_tokens); a streamed request asks for
// stream_options.include_usage, since the gateway meters every stream.
//
// It returns an *canon.UnsupportedError for what Chat Completions cannot
// express: top_k, a reasoning budget, a tool result marked as an error, an
// image anywhere but in a user message, a part of a kind its role cannot
// hold. Deliberately left out, since the format has no place for them and
// the model would gain nothing from them: thinking and redacted-thinking
// parts of earlier assistant turns (Chat Completions carries no reasoning
// from turn to turn), part signatures (only the upstream that made them can
// read them), and tool names on tool results (OpenAI matches results to
// calls by ID). An assistant turn's text and refusals come before its tool
// calls, as the format orders them. A json_schema format without a name is
// named "response", since OpenAI requires one. Any other error means the
// request is malformed (an unknown role or part kind, an invalid schema,
// a number that JSON cannot hold).
func RequestFromCanon(r *canon.Request) ([]byte, error) {
	if r.TopK != nil {
		return nil, canon.Unsupported(canon.FeatureTopK)
	}
	if r.Reasoning != nil {
		if r.Reasoning.BudgetTokens != nil {
			return nil, canon.Unsupported(canon.FeatureReasoningBudget)
		}
		if r.Reasoning.Effort != "" && !knownEffort(r.Reasoning.Effort) {
			return nil, canon.Unsupported(canon.FeatureReasoningEffort)
		}
	}
	b := make([]byte, 0, 512)
	b = append(b, `{"model":`...)
	b = appendJSONString(b, r.Model)
	b = append(b, `,"messages":[`...)
	var err error
	first := true
	for i := range r.Messages {
		if b, err = appendMessage(b, r.Messages, i, &first); err != nil {
			return nil, err
		}
	}
	b = append(b, ']')
	if len(r.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i, t := range r.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":"function","function":{"name":`...)
			b = appendJSONString(b, t.Name)
			if t.Description != "" {
				b = append(b, `,"description":`...)
				b = appendJSONString(b, t.Description)
			}
			if t.Parameters != nil {
				if !jsonx.Valid(t.Parameters) {
					return nil, errors.New("openai: tool parameters are not valid JSON")
				}
				b = append(b, `,"parameters":`...)
				b = append(b, t.Parameters...)
			}
			if t.Strict != nil {
				b = append(b, `,"strict":`...)
				b = strconv.AppendBool(b, *t.Strict)
			}
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	switch r.ToolChoice.Mode {
	case canon.ToolChoiceUnset:
	case canon.ToolChoiceAuto:
		b = append(b, `,"tool_choice":"auto"`...)
	case canon.ToolChoiceNone:
		b = append(b, `,"tool_choice":"none"`...)
	case canon.ToolChoiceRequired:
		b = append(b, `,"tool_choice":"required"`...)
	case canon.ToolChoiceTool:
		if r.ToolChoice.Name == "" {
			return nil, errors.New("openai: tool choice names no tool")
		}
		b = append(b, `,"tool_choice":{"type":"function","function":{"name":`...)
		b = appendJSONString(b, r.ToolChoice.Name)
		b = append(b, "}}"...)
	default:
		return nil, errors.New("openai: unknown tool choice mode")
	}
	if r.ParallelToolCalls != nil {
		b = append(b, `,"parallel_tool_calls":`...)
		b = strconv.AppendBool(b, *r.ParallelToolCalls)
	}
	if f := r.ResponseFormat; f != nil {
		switch f.Type {
		case canon.FormatText:
			b = append(b, `,"response_format":{"type":"text"}`...)
		case canon.FormatJSON:
			b = append(b, `,"response_format":{"type":"json_object"}`...)
		case canon.FormatJSONSchema:
			name := f.Name
			if name == "" {
				name = "response"
			}
			b = append(b, `,"response_format":{"type":"json_schema","json_schema":{"name":`...)
			b = appendJSONString(b, name)
			if f.Description != "" {
				b = append(b, `,"description":`...)
				b = appendJSONString(b, f.Description)
			}
			if f.Schema != nil {
				if !jsonx.Valid(f.Schema) {
					return nil, errors.New("openai: response schema is not valid JSON")
				}
				b = append(b, `,"schema":`...)
				b = append(b, f.Schema...)
			}
			if f.Strict != nil {
				b = append(b, `,"strict":`...)
				b = strconv.AppendBool(b, *f.Strict)
			}
			b = append(b, "}}"...)
		default:
			return nil, errors.New("openai: unknown response format type")
		}
	}
	if r.MaxOutputTokens != nil {
		b = append(b, `,"max_completion_tokens":`...)
		b = strconv.AppendInt(b, *r.MaxOutputTokens, 10)
	}
	for _, f := range [...]struct {
		name string
		v    *float64
	}{{"temperature", r.Temperature}, {"top_p", r.TopP}, {"frequency_penalty", r.FrequencyPenalty}, {"presence_penalty", r.PresencePenalty}} {
		if f.v == nil {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		if b, err = appendJSONFloat(b, *f.v); err != nil {
			return nil, err
		}
	}
	if len(r.Stop) > 0 {
		b = append(b, `,"stop":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	if r.Choices != nil {
		b = append(b, `,"n":`...)
		b = strconv.AppendInt(b, *r.Choices, 10)
	}
	if r.Seed != nil {
		b = append(b, `,"seed":`...)
		b = strconv.AppendInt(b, *r.Seed, 10)
	}
	if r.User != "" {
		b = append(b, `,"user":`...)
		b = appendJSONString(b, r.User)
	}
	if r.Reasoning != nil && r.Reasoning.Effort != "" {
		b = append(b, `,"reasoning_effort":`...)
		b = appendJSONString(b, r.Reasoning.Effort)
	}
	if r.Stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(b, '}'), nil
}

// appendMessage appends message i of msgs; a tool message becomes one
// OpenAI message per result. first tracks the separating commas.
func appendMessage(b []byte, msgs []canon.Message, i int, first *bool) ([]byte, error) {
	m := &msgs[i]
	sep := func() {
		if !*first {
			b = append(b, ',')
		}
		*first = false
	}
	switch m.Role {
	case canon.RoleSystem, canon.RoleDeveloper, canon.RoleUser:
		for j, p := range m.Parts {
			if p.Kind != canon.PartText && (p.Kind != canon.PartImage || m.Role != canon.RoleUser) {
				return nil, canon.UnsupportedAt(canon.FeaturePart, i, j)
			}
			if p.Kind == canon.PartImage && p.Image.Detail != "" && !knownDetail(p.Image.Detail) {
				return nil, canon.UnsupportedAt(canon.FeatureImageDetail, i, j)
			}
		}
		sep()
		b = append(b, `{"role":`...)
		b = appendJSONString(b, m.Role.String())
		b = append(b, `,"content":`...)
		return appendContent(b, m.Parts)
	case canon.RoleTool:
		if len(m.Parts) == 0 {
			return nil, errors.New("openai: tool message without a result")
		}
		for j, p := range m.Parts {
			if p.Kind != canon.PartToolResult {
				return nil, canon.UnsupportedAt(canon.FeaturePart, i, j)
			}
			if p.ToolResult.IsError {
				return nil, canon.UnsupportedAt(canon.FeatureToolResultError, i, j)
			}
			for _, c := range p.ToolResult.Content {
				if c.Kind != canon.PartText {
					return nil, canon.UnsupportedAt(canon.FeaturePart, i, j)
				}
			}
			sep()
			b = append(b, `{"role":"tool","tool_call_id":`...)
			b = appendJSONString(b, p.ToolResult.CallID)
			b = append(b, `,"content":`...)
			b, _ = appendContent(b, p.ToolResult.Content)
		}
		return b, nil
	case canon.RoleAssistant:
		var texts, calls int // textual parts; tool calls
		for j, p := range m.Parts {
			switch p.Kind {
			case canon.PartText, canon.PartRefusal:
				texts++
			case canon.PartToolCall:
				calls++
			case canon.PartThinking, canon.PartRedactedThinking:
			default:
				return nil, canon.UnsupportedAt(canon.FeaturePart, i, j)
			}
		}
		sep()
		b = append(b, `{"role":"assistant"`...)
		b = appendAssistantText(b, m.Parts, texts)
		if calls > 0 {
			b = append(b, `,"tool_calls":[`...)
			n := 0
			for _, p := range m.Parts {
				if p.Kind != canon.PartToolCall {
					continue
				}
				if n++; n > 1 {
					b = append(b, ',')
				}
				b = appendToolCall(b, p.ToolCall)
			}
			b = append(b, ']')
		}
		return append(b, '}'), nil
	}
	return nil, errors.New("openai: message has an unknown role")
}

// appendContent appends the value of a content member and closes the
// message: a string for a single text part, else an array of text and
// image parts.
func appendContent(b []byte, parts []canon.Part) ([]byte, error) {
	if len(parts) == 1 && parts[0].Kind == canon.PartText {
		b = appendJSONString(b, parts[0].Text)
		return append(b, '}'), nil
	}
	b = append(b, '[')
	for j, p := range parts {
		if j > 0 {
			b = append(b, ',')
		}
		if p.Kind == canon.PartText {
			b = append(b, `{"type":"text","text":`...)
			b = appendJSONString(b, p.Text)
			b = append(b, '}')
			continue
		}
		img := &p.Image
		b = append(b, `{"type":"image_url","image_url":{"url":`...)
		if img.URL != "" {
			b = appendJSONString(b, img.URL)
		} else {
			if img.MediaType == "" {
				return nil, errors.New("openai: inline image without a media type")
			}
			b = append(b, `"data:`...)
			b = appendJSONStringBody(b, img.MediaType)
			b = append(b, ";base64,"...)
			b = appendJSONStringBody(b, img.Data)
			b = append(b, '"')
		}
		if img.Detail != "" {
			b = append(b, `,"detail":`...)
			b = appendJSONString(b, img.Detail)
		}
		b = append(b, "}}"...)
	}
	return append(b, "]}"...), nil
}

// appendAssistantText appends an assistant message's content and refusal
// members: a string content and a refusal when the textual parts are at
// most one text followed by at most one refusal, else a content array.
func appendAssistantText(b []byte, parts []canon.Part, texts int) []byte {
	var text, refusal *canon.Part
	simple := true
	for j := range parts {
		switch p := &parts[j]; p.Kind {
		case canon.PartText:
			if text != nil || refusal != nil {
				simple = false
			}
			text = p
		case canon.PartRefusal:
			if refusal != nil {
				simple = false
			}
			refusal = p
		}
	}
	if texts == 0 {
		return b
	}
	if simple {
		if text != nil {
			b = append(b, `,"content":`...)
			b = appendJSONString(b, text.Text)
		}
		if refusal != nil {
			b = append(b, `,"refusal":`...)
			b = appendJSONString(b, refusal.Text)
		}
		return b
	}
	b = append(b, `,"content":[`...)
	n := 0
	for _, p := range parts {
		var typ string
		switch p.Kind {
		case canon.PartText:
			typ = `{"type":"text","text":`
		case canon.PartRefusal:
			typ = `{"type":"refusal","refusal":`
		default:
			continue
		}
		if n++; n > 1 {
			b = append(b, ',')
		}
		b = append(b, typ...)
		b = appendJSONString(b, p.Text)
		b = append(b, '}')
	}
	return append(b, ']')
}

// FromUnsupported returns the 400 an OpenAI-dialect client gets when the
// upstream's dialect cannot express a feature of its request, naming the
// parameter as the OpenAI API spells it.
func FromUnsupported(e *canon.UnsupportedError) *providers.Error {
	name := ""
	switch e.Feature {
	case canon.FeatureChoices:
		name = "n"
	case canon.FeatureReasoningEffort, canon.FeatureReasoningBudget:
		name = "reasoning_effort"
	case canon.FeatureToolStrict:
		name = "tools"
	case canon.FeatureTopK, canon.FeatureFrequencyPenalty, canon.FeaturePresencePenalty, canon.FeatureSeed,
		canon.FeatureUser, canon.FeatureParallelToolCalls, canon.FeatureToolChoice, canon.FeatureResponseFormat,
		canon.FeatureStop:
		name = string(e.Feature)
	default:
		if e.Message >= 0 {
			return errUnsupported(member("messages").index(e.Message))
		}
	}
	if name == "" {
		return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unsupported_parameter",
			Message: "The request uses a feature that the provider serving this model cannot express."}
	}
	return errUnsupported(member(name))
}

// Errors for RequestToCanon. Param and messages are built from the names
// above and indexes only, never from body text.

func errInvalidJSON() *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_json",
		Message: "We could not parse the JSON body of your request. The body must be a JSON object."}
}

func errUnknown(p param) *providers.Error {
	name := p.String()
	msg := "The request has a parameter that this gateway does not recognize."
	if name != "" {
		msg = "The request has a parameter in '" + name + "' that this gateway does not recognize."
	}
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unknown_parameter", Param: name, Message: msg}
}

func errUnsupported(p param) *providers.Error {
	name := p.String()
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unsupported_parameter", Param: name,
		Message: "The parameter '" + name + "' is not supported by the provider serving this model."}
}

func errUnsupportedValue(p param) *providers.Error {
	name := p.String()
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unsupported_value", Param: name,
		Message: "The value of '" + name + "' is not supported by the provider serving this model."}
}

func errType(p param, want string) *providers.Error {
	name := p.String()
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_type", Param: name,
		Message: "Invalid type for '" + name + "': expected " + want + "."}
}

// errValue reports an invalid value; detail says why, as a sentence.
func errValue(p param, detail string) *providers.Error {
	name := p.String()
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_value", Param: name,
		Message: "Invalid value for '" + name + "': " + detail}
}

func errMissing(p param) *providers.Error {
	name := p.String()
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "missing_required_parameter", Param: name,
		Message: "Missing required parameter: '" + name + "'."}
}

// JSON helpers.

// collectMembers stores the value of each member of the object v whose
// name is names[k] in dst[k] (the last one wins, as encoding/json decides
// duplicates). A member with another name is refused as unknown, with
// param naming the object; a v that is not an object is a type error.
func collectMembers(v []byte, p param, names []string, dst [][]byte) *providers.Error {
	var perr *providers.Error
	var kbuf [64]byte
	err := jsonx.Each(v, func(m jsonx.Member) bool {
		key := m.Key
		if bytes.IndexByte(key, '\\') >= 0 {
			dec, ok := unquoteRawKey(m.Key, kbuf[:0])
			if !ok {
				perr = errUnknown(p)
				return false
			}
			key = dec
		}
		for k, name := range names {
			if string(key) == name {
				dst[k] = m.Value
				return true
			}
		}
		perr = errUnknown(p)
		return false
	})
	if err != nil {
		if p.n == 0 {
			return errInvalidJSON()
		}
		return errType(p, "an object")
	}
	return perr
}

// unquoteRawKey decodes a member key given without its quotes.
func unquoteRawKey(key, scratch []byte) ([]byte, bool) {
	q := make([]byte, 0, len(key)+2)
	q = append(append(append(q, '"'), key...), '"')
	return unquoteJSON(q, scratch)
}

// eachElement calls fn for each element of the JSON array v, in order,
// until fn returns false. It reports false if v is not an array.
func eachElement(v []byte, fn func(i int, e []byte) bool) bool {
	i := skipJSONSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return false
	}
	i = skipJSONSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return true
	}
	for n := 0; ; n++ {
		start, end, ok := jsonx.ValueAt(v, i)
		if !ok {
			return false
		}
		if !fn(n, v[start:end]) {
			return true
		}
		i = skipJSONSpace(v, end)
		if i >= len(v) {
			return false
		}
		switch v[i] {
		case ']':
			return true
		case ',':
			i++
		default:
			return false
		}
	}
}

func skipJSONSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// stringValue decodes a JSON string value, or returns a type error for p.
func stringValue(v []byte, p param) (string, *providers.Error) {
	var buf [256]byte
	s, ok := unquoteJSON(v, buf[:0])
	if !ok {
		return "", errType(p, "a string")
	}
	return string(s), nil
}

// stringBytes decodes a JSON string value; the result may alias v.
func stringBytes(v []byte) ([]byte, bool) {
	return unquoteJSON(v, nil)
}

// unquoteJSON decodes the JSON string v (quotes included). When v holds
// no escapes and is valid UTF-8, the result aliases v; otherwise it is
// appended to scratch. Invalid UTF-8 and lone surrogates become U+FFFD, as
// encoding/json decodes them.
func unquoteJSON(v, scratch []byte) ([]byte, bool) {
	if s, ok := unquoteSimple(v); ok {
		return s, true
	}
	return appendUnquoted(scratch[:0], v)
}

// unquoteSimple returns the inside of the JSON string v if it needs no
// decoding: no escapes, no quotes or control characters, valid UTF-8.
func unquoteSimple(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	s := v[1 : len(v)-1]
	ascii := true
	for _, c := range s {
		switch {
		case c < 0x20 || c == '"' || c == '\\':
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(s) {
		return nil, false
	}
	return s, true
}

// appendUnquoted appends the decoded JSON string v (quotes included) to
// out.
func appendUnquoted(out, v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	s := v[1 : len(v)-1]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, false
			}
			e := s[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(s, i)
				if !ok {
					return nil, false
				}
				i += 4
				if utf16IsSurrogate(r) {
					r2, ok := rune(-1), false
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, ok = hex4(s, i+2)
					}
					if ok && r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000 {
						r = (r-0xd800)<<10 + (r2 - 0xdc00) + 0x10000
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, false
			}
		case c < 0x20 || c == '"':
			return nil, false
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, s[i:i+size]...)
			}
			i += size
		}
	}
	return out, true
}

func utf16IsSurrogate(r rune) bool { return r >= 0xd800 && r < 0xe000 }

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendJSONString appends s as a JSON string.
func appendJSONString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	b = appendJSONStringBody(b, s)
	return append(b, '"')
}

// appendJSONStringBody appends s escaped for a JSON string, without the
// quotes: quotes, backslashes and control characters escaped, U+2028 and
// U+2029 escaped (as encoding/json does, for JavaScript), invalid UTF-8
// replaced by U+FFFD.
func appendJSONStringBody[S ~string | ~[]byte](b []byte, s S) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		var buf [utf8.UTFMax]byte
		n := copy(buf[:], s[i:])
		r, size := utf8.DecodeRune(buf[:n])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// appendJSONFloat appends f as a JSON number; NaN and infinities have no
// JSON form.
func appendJSONFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, errors.New("openai: a number is not finite")
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64), nil
}

// appendToolCall appends an assistant message's tool call:
// {"id":…,"type":"function","function":{"name":…,"arguments":…}}.
func appendToolCall(b []byte, c canon.ToolCall) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, c.ID)
	b = append(b, `,"type":"function","function":{"name":`...)
	b = appendJSONString(b, c.Name)
	b = append(b, `,"arguments":`...)
	b = appendJSONString(b, c.Arguments)
	return append(b, "}}"...)
}
