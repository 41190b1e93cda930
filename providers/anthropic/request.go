package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// DefaultMaxTokens is the max_tokens RequestFromCanon writes when the
// canonical request sets no output cap: Anthropic requires one, and 4096
// is within every current model's output limit.
const DefaultMaxTokens = 4096

// Top-level members that the canonical form expresses.
var reqKnown = []string{
	"model", "messages", "system", "max_tokens", "temperature", "top_p", "top_k",
	"stop_sequences", "stream", "metadata", "tools", "tool_choice", "thinking",
}

// Top-level members Anthropic defines that the canonical form cannot
// express; refused unless null.
var reqUnsupported = []string{
	"cache_control", "container", "context_management", "mcp_servers", "service_tier",
	"output_format", "output_config", "inference_geo", "diagnostics", "speed",
}

// RequestToCanon converts a Messages API request body into the canonical
// form. The body must be valid JSON; it is not retained.
//
// model, messages and max_tokens are required. The system prompt (a string
// or text blocks) becomes a leading canonical system message; tool_result
// blocks of a user message become canonical tool messages, and any other
// blocks of that message a user message after them, in order. thinking
// {type "enabled", budget_tokens} sets Reasoning.BudgetTokens and
// {type "disabled"} sets it to 0; tool_choice.disable_parallel_tool_use is
// the negation of ParallelToolCalls.
//
// A field the canonical form cannot express (cache_control, citations,
// document and other block types, server tools, mcp_servers, container,
// service_tier, …) is refused with a 400 *providers.Error whose Param
// names it as Anthropic spells it (messages.0.content.1.cache_control). A
// field the converter does not know is refused with a fixed message naming
// the enclosing object at most, never text from the body. A member whose
// value is null is the same as a missing one.
func RequestToCanon(body []byte) (*canon.Request, *providers.Error) {
	if !jsonx.Valid(body) {
		return nil, errInvalidJSON()
	}
	all := append(append([]string(nil), reqKnown...), reqUnsupported...)
	o, perr := decodeObject(body, "", all...)
	if perr != nil {
		return nil, perr
	}
	for _, n := range reqUnsupported {
		if o.has(n) {
			return nil, errUnsupported(path(n))
		}
	}
	r := &canon.Request{}
	if !o.has("model") {
		return nil, errMissing("model")
	}
	if r.Model, perr = decodeString(o.get("model"), "model"); perr != nil {
		return nil, perr
	}
	if r.Model == "" {
		return nil, errMissing("model")
	}
	if !o.has("max_tokens") {
		return nil, errMissing("max_tokens")
	}
	if r.MaxOutputTokens, perr = decodeInt(o.get("max_tokens"), "max_tokens"); perr != nil {
		return nil, perr
	}
	if *r.MaxOutputTokens < 1 {
		return nil, errValue("max_tokens", "must be at least 1.")
	}
	if o.has("system") {
		sys, perr := decodeSystem(o.get("system"))
		if perr != nil {
			return nil, perr
		}
		r.Messages = append(r.Messages, sys)
	}
	if !o.has("messages") {
		return nil, errMissing("messages")
	}
	msgs, perr := decodeArray(o.get("messages"), "messages")
	if perr != nil {
		return nil, perr
	}
	for i, m := range msgs {
		if r.Messages, perr = decodeMessage(r.Messages, path("messages").index(i), m); perr != nil {
			return nil, perr
		}
	}
	for _, f := range []struct {
		name string
		dst  **float64
	}{{"temperature", &r.Temperature}, {"top_p", &r.TopP}} {
		if o.has(f.name) {
			if *f.dst, perr = decodeFloat(o.get(f.name), path(f.name)); perr != nil {
				return nil, perr
			}
		}
	}
	if o.has("top_k") {
		if r.TopK, perr = decodeInt(o.get("top_k"), "top_k"); perr != nil {
			return nil, perr
		}
	}
	if o.has("stop_sequences") {
		a, perr := decodeArray(o.get("stop_sequences"), "stop_sequences")
		if perr != nil {
			return nil, perr
		}
		for i, v := range a {
			s, perr := decodeString(v, path("stop_sequences").index(i))
			if perr != nil {
				return nil, perr
			}
			r.Stop = append(r.Stop, s)
		}
	}
	if o.has("stream") {
		if r.Stream, perr = decodeBool(o.get("stream"), "stream"); perr != nil {
			return nil, perr
		}
	}
	if o.has("metadata") {
		md, perr := decodeObject(o.get("metadata"), "metadata", "user_id")
		if perr != nil {
			return nil, perr
		}
		if md.has("user_id") {
			if r.User, perr = decodeString(md.get("user_id"), "metadata.user_id"); perr != nil {
				return nil, perr
			}
		}
	}
	if o.has("tools") {
		a, perr := decodeArray(o.get("tools"), "tools")
		if perr != nil {
			return nil, perr
		}
		for i, v := range a {
			t, perr := decodeTool(path("tools").index(i), v)
			if perr != nil {
				return nil, perr
			}
			r.Tools = append(r.Tools, t)
		}
	}
	if o.has("tool_choice") {
		if perr = decodeToolChoice(r, o.get("tool_choice")); perr != nil {
			return nil, perr
		}
	}
	if o.has("thinking") {
		if r.Reasoning, perr = decodeThinking(o.get("thinking")); perr != nil {
			return nil, perr
		}
	}
	return r, nil
}

func decodeSystem(v json.RawMessage) (canon.Message, *providers.Error) {
	m := canon.Message{Role: canon.RoleSystem}
	if bytes.TrimSpace(v)[0] == '"' {
		s, perr := decodeString(v, "system")
		m.Parts = []canon.Part{canon.TextPart(s)}
		return m, perr
	}
	a, perr := decodeArray(v, "system")
	if perr != nil {
		return m, errType("system", "a string or an array of text blocks")
	}
	for i, b := range a {
		p := path("system").index(i)
		o, perr := decodeBlock(b, p)
		if perr != nil {
			return m, perr
		}
		if typ, _ := decodeString(o.get("type"), p.dot("type")); typ != "text" {
			return m, errUnsupportedValue(p.dot("type"))
		}
		s, perr := decodeString(o.get("text"), p.dot("text"))
		if perr != nil {
			return m, perr
		}
		m.Parts = append(m.Parts, canon.TextPart(s))
	}
	return m, nil
}

// blockMembers are the members of every content block type the converter
// knows; decodeBlock checks that a block of a given type holds only its
// own (and refuses cache_control and citations).
var blockMembers = map[string][]string{
	"text":              {"text"},
	"image":             {"source"},
	"tool_use":          {"id", "name", "input"},
	"tool_result":       {"tool_use_id", "content", "is_error"},
	"thinking":          {"thinking", "signature"},
	"redacted_thinking": {"data"},
}

// decodeBlock decodes a content block with a type string, refusing
// cache_control and citations (unless null) and unknown members; a type
// the converter does not know is an unsupported value.
func decodeBlock(v json.RawMessage, p path) (object, *providers.Error) {
	probe, ok := memberType(v)
	if !ok {
		return nil, errType(p, "an object")
	}
	if isNull(probe) {
		return nil, errMissing(p.dot("type"))
	}
	typ, perr := decodeString(probe, p.dot("type"))
	if perr != nil {
		return nil, perr
	}
	known, ok := blockMembers[typ]
	if !ok {
		return nil, errUnsupportedValue(p.dot("type"))
	}
	o, perr := decodeObject(v, p, append([]string{"type", "cache_control", "citations"}, known...)...)
	if perr != nil {
		return nil, perr
	}
	for _, n := range [...]string{"cache_control", "citations"} {
		if o.has(n) {
			return nil, errUnsupported(p.dot(n))
		}
	}
	return o, nil
}

func decodeMessage(out []canon.Message, p path, v json.RawMessage) ([]canon.Message, *providers.Error) {
	o, perr := decodeObject(v, p, "role", "content")
	if perr != nil {
		return out, perr
	}
	if !o.has("role") {
		return out, errMissing(p.dot("role"))
	}
	roleName, perr := decodeString(o.get("role"), p.dot("role"))
	if perr != nil {
		return out, perr
	}
	var role canon.Role
	switch roleName {
	case "user":
		role = canon.RoleUser
	case "assistant":
		role = canon.RoleAssistant
	default:
		return out, errValue(p.dot("role"), "must be \"user\" or \"assistant\".")
	}
	if !o.has("content") {
		return out, errMissing(p.dot("content"))
	}
	cp := p.dot("content")
	if bytes.TrimSpace(o.get("content"))[0] == '"' {
		s, perr := decodeString(o.get("content"), cp)
		return append(out, canon.Message{Role: role, Parts: []canon.Part{canon.TextPart(s)}}), perr
	}
	blocks, perr := decodeArray(o.get("content"), cp)
	if perr != nil {
		return out, errType(cp, "a string or an array of content blocks")
	}
	cur := canon.Message{Role: role, Parts: []canon.Part{}}
	flush := func() {
		if len(cur.Parts) > 0 {
			out = append(out, cur)
		}
	}
	for j, b := range blocks {
		bp := cp.index(j)
		part, perr := decodePart(role, bp, b)
		if perr != nil {
			return out, perr
		}
		// Tool results become tool messages; a user's other blocks after
		// them a user message, in order.
		want := role
		if part.Kind == canon.PartToolResult {
			want = canon.RoleTool
		}
		if want != cur.Role {
			flush()
			cur = canon.Message{Role: want}
		}
		cur.Parts = append(cur.Parts, part)
	}
	if len(blocks) == 0 {
		return append(out, cur), nil // an empty content array stays a message
	}
	flush()
	return out, nil
}

func decodePart(role canon.Role, p path, v json.RawMessage) (canon.Part, *providers.Error) {
	o, perr := decodeBlock(v, p)
	if perr != nil {
		return canon.Part{}, perr
	}
	typ, _ := decodeString(o.get("type"), p.dot("type"))
	allowed := false
	switch typ {
	case "text":
		allowed = true
	case "image", "tool_result":
		allowed = role == canon.RoleUser
	case "tool_use", "thinking", "redacted_thinking":
		allowed = role == canon.RoleAssistant
	}
	if !allowed {
		return canon.Part{}, errValue(p.dot("type"), "this block type is not allowed in a message of this role.")
	}
	str := func(name string, required bool) (string, *providers.Error) {
		if !o.has(name) {
			if required {
				return "", errMissing(p.dot(name))
			}
			return "", nil
		}
		return decodeString(o.get(name), p.dot(name))
	}
	switch typ {
	case "text":
		s, perr := str("text", true)
		return canon.TextPart(s), perr
	case "image":
		img, perr := decodeImage(p.dot("source"), o)
		return canon.Part{Kind: canon.PartImage, Image: img}, perr
	case "tool_use":
		id, perr := str("id", true)
		if perr != nil {
			return canon.Part{}, perr
		}
		name, perr := str("name", true)
		if perr != nil {
			return canon.Part{}, perr
		}
		in := bytes.TrimSpace(o.get("input"))
		if len(in) == 0 || in[0] != '{' {
			return canon.Part{}, errType(p.dot("input"), "an object")
		}
		var c bytes.Buffer
		_ = json.Compact(&c, in) // valid: the whole body is
		return canon.ToolCallPart(id, name, c.Bytes()), nil
	case "tool_result":
		id, perr := str("tool_use_id", true)
		if perr != nil {
			return canon.Part{}, perr
		}
		tr := canon.ToolResult{CallID: id}
		if o.has("is_error") {
			if tr.IsError, perr = decodeBool(o.get("is_error"), p.dot("is_error")); perr != nil {
				return canon.Part{}, perr
			}
		}
		if o.has("content") {
			if tr.Content, perr = decodeResultContent(p.dot("content"), o.get("content")); perr != nil {
				return canon.Part{}, perr
			}
		}
		return canon.Part{Kind: canon.PartToolResult, ToolResult: tr}, nil
	case "thinking":
		s, perr := str("thinking", true)
		if perr != nil {
			return canon.Part{}, perr
		}
		sig, perr := str("signature", false)
		return canon.Part{Kind: canon.PartThinking, Text: s, Signature: sig}, perr
	default: // redacted_thinking
		data, perr := str("data", true)
		return canon.Part{Kind: canon.PartRedactedThinking, Signature: data}, perr
	}
}

func decodeResultContent(p path, v json.RawMessage) ([]canon.Part, *providers.Error) {
	if bytes.TrimSpace(v)[0] == '"' {
		s, perr := decodeString(v, p)
		return []canon.Part{canon.TextPart(s)}, perr
	}
	a, perr := decodeArray(v, p)
	if perr != nil {
		return nil, errType(p, "a string or an array of content blocks")
	}
	parts := []canon.Part{}
	for i, b := range a {
		bp := p.index(i)
		o, perr := decodeBlock(b, bp)
		if perr != nil {
			return nil, perr
		}
		typ, _ := decodeString(o.get("type"), bp.dot("type"))
		switch typ {
		case "text":
			if !o.has("text") {
				return nil, errMissing(bp.dot("text"))
			}
			s, perr := decodeString(o.get("text"), bp.dot("text"))
			if perr != nil {
				return nil, perr
			}
			parts = append(parts, canon.TextPart(s))
		case "image":
			img, perr := decodeImage(bp.dot("source"), o)
			if perr != nil {
				return nil, perr
			}
			parts = append(parts, canon.Part{Kind: canon.PartImage, Image: img})
		default:
			return nil, errValue(bp.dot("type"), "a tool result holds text and image blocks only.")
		}
	}
	return parts, nil
}

func decodeImage(p path, block object) (canon.Image, *providers.Error) {
	if !block.has("source") {
		return canon.Image{}, errMissing(p)
	}
	probe, ok := memberType(block.get("source"))
	if !ok {
		return canon.Image{}, errType(p, "an object")
	}
	typ, perr := decodeString(probe, p.dot("type"))
	if perr != nil {
		return canon.Image{}, perr
	}
	var img canon.Image
	switch typ {
	case "base64":
		o, perr := decodeObject(block.get("source"), p, "type", "media_type", "data")
		if perr != nil {
			return img, perr
		}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"media_type", &img.MediaType}, {"data", &img.Data}} {
			if !o.has(f.name) {
				return img, errMissing(p.dot(f.name))
			}
			if *f.dst, perr = decodeString(o.get(f.name), p.dot(f.name)); perr != nil {
				return img, perr
			}
		}
	case "url":
		o, perr := decodeObject(block.get("source"), p, "type", "url")
		if perr != nil {
			return img, perr
		}
		if !o.has("url") {
			return img, errMissing(p.dot("url"))
		}
		if img.URL, perr = decodeString(o.get("url"), p.dot("url")); perr != nil {
			return img, perr
		}
		if img.URL == "" {
			return img, errValue(p.dot("url"), "must not be empty.")
		}
	default:
		return img, errUnsupportedValue(p.dot("type"))
	}
	return img, nil
}

// Members of a custom tool that the canonical form cannot express.
var toolUnsupported = []string{"cache_control", "eager_input_streaming", "defer_loading", "allowed_callers", "input_examples"}

func decodeTool(p path, v json.RawMessage) (canon.Tool, *providers.Error) {
	probe, ok := memberType(v)
	if !ok {
		return canon.Tool{}, errType(p, "an object")
	}
	if !isNull(probe) {
		// Server tools (web_search_…, bash_…, text_editor_…) have a type;
		// only custom tools are functions.
		typ, perr := decodeString(probe, p.dot("type"))
		if perr != nil {
			return canon.Tool{}, perr
		}
		if typ != "custom" {
			return canon.Tool{}, errUnsupportedValue(p.dot("type"))
		}
	}
	o, perr := decodeObject(v, p, append([]string{"type", "name", "description", "input_schema", "strict"}, toolUnsupported...)...)
	if perr != nil {
		return canon.Tool{}, perr
	}
	for _, n := range toolUnsupported {
		if o.has(n) {
			return canon.Tool{}, errUnsupported(p.dot(n))
		}
	}
	var t canon.Tool
	if !o.has("name") {
		return t, errMissing(p.dot("name"))
	}
	if t.Name, perr = decodeString(o.get("name"), p.dot("name")); perr != nil {
		return t, perr
	}
	if o.has("description") {
		if t.Description, perr = decodeString(o.get("description"), p.dot("description")); perr != nil {
			return t, perr
		}
	}
	if !o.has("input_schema") {
		return t, errMissing(p.dot("input_schema"))
	}
	in := bytes.TrimSpace(o.get("input_schema"))
	if in[0] != '{' {
		return t, errType(p.dot("input_schema"), "an object")
	}
	var c bytes.Buffer
	_ = json.Compact(&c, in)
	t.Parameters = c.Bytes()
	if o.has("strict") {
		b, perr := decodeBool(o.get("strict"), p.dot("strict"))
		if perr != nil {
			return t, perr
		}
		t.Strict = &b
	}
	return t, nil
}

func decodeToolChoice(r *canon.Request, v json.RawMessage) *providers.Error {
	const p = path("tool_choice")
	o, perr := decodeObject(v, p, "type", "name", "disable_parallel_tool_use")
	if perr != nil {
		return perr
	}
	if !o.has("type") {
		return errMissing(p.dot("type"))
	}
	typ, perr := decodeString(o.get("type"), p.dot("type"))
	if perr != nil {
		return perr
	}
	switch typ {
	case "auto":
		r.ToolChoice.Mode = canon.ToolChoiceAuto
	case "any":
		r.ToolChoice.Mode = canon.ToolChoiceRequired
	case "none":
		r.ToolChoice.Mode = canon.ToolChoiceNone
	case "tool":
		r.ToolChoice.Mode = canon.ToolChoiceTool
		if !o.has("name") {
			return errMissing(p.dot("name"))
		}
		if r.ToolChoice.Name, perr = decodeString(o.get("name"), p.dot("name")); perr != nil {
			return perr
		}
	default:
		return errUnsupportedValue(p.dot("type"))
	}
	if o.has("name") && typ != "tool" {
		return errUnknown(p)
	}
	if o.has("disable_parallel_tool_use") {
		if typ == "none" {
			return errUnknown(p)
		}
		b, perr := decodeBool(o.get("disable_parallel_tool_use"), p.dot("disable_parallel_tool_use"))
		if perr != nil {
			return perr
		}
		b = !b
		r.ParallelToolCalls = &b
	}
	return nil
}

func decodeThinking(v json.RawMessage) (*canon.Reasoning, *providers.Error) {
	const p = path("thinking")
	o, perr := decodeObject(v, p, "type", "budget_tokens", "display")
	if perr != nil {
		return nil, perr
	}
	if o.has("display") {
		return nil, errUnsupported(p.dot("display"))
	}
	if !o.has("type") {
		return nil, errMissing(p.dot("type"))
	}
	typ, perr := decodeString(o.get("type"), p.dot("type"))
	if perr != nil {
		return nil, perr
	}
	switch typ {
	case "enabled":
		if !o.has("budget_tokens") {
			return nil, errMissing(p.dot("budget_tokens"))
		}
		n, perr := decodeInt(o.get("budget_tokens"), p.dot("budget_tokens"))
		if perr != nil {
			return nil, perr
		}
		if *n < 1 {
			return nil, errValue(p.dot("budget_tokens"), "must be at least 1.")
		}
		return &canon.Reasoning{BudgetTokens: n}, nil
	case "disabled":
		if o.has("budget_tokens") {
			return nil, errUnknown(p)
		}
		zero := int64(0)
		return &canon.Reasoning{BudgetTokens: &zero}, nil
	}
	return nil, errUnsupportedValue(p.dot("type"))
}

// RequestFromCanon converts a canonical request into a Messages API body.
//
// The leading system messages become the system field (a string for one
// text part, text blocks otherwise); a later one is refused. Adjacent tool
// messages become one user message of tool_result blocks, together with
// the user message that follows them, if any. With no output cap,
// max_tokens is DefaultMaxTokens. Reasoning.BudgetTokens 0 is thinking
// {type "disabled"}; ParallelToolCalls is written as
// tool_choice.disable_parallel_tool_use (with type "auto" if no choice is
// set). A refusal part is written as text; an image URL's MediaType is
// left out (Anthropic's url source has none) and a data: URL becomes a
// base64 source. Deliberate omissions, which Anthropic has no place for: a
// tool result's Name, and a Signature on a part other than thinking
// (Gemini's). A thinking part is written with its signature even when it
// is empty (a thinking part from another upstream has none that Anthropic
// would accept).
//
// It returns a *canon.UnsupportedError for what Anthropic cannot express:
// frequency and presence penalties, seed, more than one choice, a response
// format other than text, a reasoning effort, image detail, a system
// message after the conversation began, parts a role cannot hold, and
// parallel_tool_calls with tool choice none. Tool arguments that are not a
// JSON object, and NaN or infinite numbers, are plain errors.
func RequestFromCanon(r *canon.Request) ([]byte, error) {
	switch {
	case r.FrequencyPenalty != nil:
		return nil, canon.Unsupported(canon.FeatureFrequencyPenalty)
	case r.PresencePenalty != nil:
		return nil, canon.Unsupported(canon.FeaturePresencePenalty)
	case r.Seed != nil:
		return nil, canon.Unsupported(canon.FeatureSeed)
	case r.Choices != nil && *r.Choices != 1:
		return nil, canon.Unsupported(canon.FeatureChoices)
	case r.ResponseFormat != nil && r.ResponseFormat.Type != canon.FormatText:
		return nil, canon.Unsupported(canon.FeatureResponseFormat)
	case r.Reasoning != nil && r.Reasoning.Effort != "":
		return nil, canon.Unsupported(canon.FeatureReasoningEffort)
	case r.ParallelToolCalls != nil && r.ToolChoice.Mode == canon.ToolChoiceNone:
		return nil, canon.Unsupported(canon.FeatureParallelToolCalls)
	}
	if r.Model == "" {
		return nil, errors.New("anthropic: request has no model")
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"model":`...)
	b = appendString(b, r.Model)
	maxTokens := int64(DefaultMaxTokens)
	if r.MaxOutputTokens != nil {
		maxTokens = *r.MaxOutputTokens
	}
	b = append(b, `,"max_tokens":`...)
	b = appendInt(b, maxTokens)
	system, rest := r.SplitSystem()
	if len(system) > 0 {
		var texts []string
		for i, m := range system {
			for j, p := range m.Parts {
				if p.Kind != canon.PartText {
					return nil, canon.UnsupportedAt(canon.FeaturePart, i, j)
				}
				texts = append(texts, p.Text)
			}
		}
		b = append(b, `,"system":`...)
		if len(texts) == 1 {
			b = appendString(b, texts[0])
		} else {
			b = append(b, '[')
			for i, t := range texts {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"type":"text","text":`...)
				b = appendString(b, t)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
	}
	b = append(b, `,"messages":[`...)
	var err error
	first := true
	for i := 0; i < len(rest); {
		at := len(system) + i
		m := rest[i]
		if !first {
			b = append(b, ',')
		}
		first = false
		switch m.Role {
		case canon.RoleSystem, canon.RoleDeveloper:
			return nil, canon.UnsupportedAt(canon.FeatureRole, at, -1)
		case canon.RoleAssistant:
			b = append(b, `{"role":"assistant","content":[`...)
			if b, err = appendParts(b, m.Parts, at, false, false); err != nil {
				return nil, err
			}
			b = append(b, "]}"...)
			i++
		case canon.RoleUser, canon.RoleTool:
			// Tool messages and the user message after them make one user
			// message, tool results first, as Anthropic requires.
			b = append(b, `{"role":"user","content":[`...)
			n := 0
			for i < len(rest) && rest[i].Role == canon.RoleTool {
				if n > 0 && len(rest[i].Parts) > 0 {
					b = append(b, ',')
				}
				if b, err = appendParts(b, rest[i].Parts, len(system)+i, true, false); err != nil {
					return nil, err
				}
				n += len(rest[i].Parts)
				i++
			}
			if i < len(rest) && rest[i].Role == canon.RoleUser {
				if n > 0 && len(rest[i].Parts) > 0 {
					b = append(b, ',')
				}
				if b, err = appendParts(b, rest[i].Parts, len(system)+i, false, true); err != nil {
					return nil, err
				}
				i++
			}
			b = append(b, "]}"...)
		default:
			return nil, canon.UnsupportedAt(canon.FeatureRole, at, -1)
		}
	}
	b = append(b, ']')
	for _, f := range []struct {
		name string
		v    *float64
	}{{"temperature", r.Temperature}, {"top_p", r.TopP}} {
		if f.v != nil {
			b = append(b, `,"`+f.name+`":`...)
			if b, err = appendFloat(b, *f.v); err != nil {
				return nil, errors.New("anthropic: " + f.name + " is not a finite number")
			}
		}
	}
	if r.TopK != nil {
		b = append(b, `,"top_k":`...)
		b = appendInt(b, *r.TopK)
	}
	if len(r.Stop) > 0 {
		b = append(b, `,"stop_sequences":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if r.Stream {
		b = append(b, `,"stream":true`...)
	}
	if r.User != "" {
		b = append(b, `,"metadata":{"user_id":`...)
		b = appendString(b, r.User)
		b = append(b, '}')
	}
	if len(r.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i, t := range r.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, t.Name)
			if t.Description != "" {
				b = append(b, `,"description":`...)
				b = appendString(b, t.Description)
			}
			b = append(b, `,"input_schema":`...)
			if len(t.Parameters) == 0 {
				b = append(b, `{"type":"object","properties":{}}`...)
			} else {
				if !isObject(t.Parameters) {
					return nil, errors.New("anthropic: tool parameters are not a JSON object")
				}
				b = appendCompact(b, t.Parameters)
			}
			if t.Strict != nil {
				b = append(b, `,"strict":`...)
				b = appendBool(b, *t.Strict)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if r.ToolChoice.Mode != canon.ToolChoiceUnset || r.ParallelToolCalls != nil {
		b = append(b, `,"tool_choice":{"type":`...)
		switch r.ToolChoice.Mode {
		case canon.ToolChoiceUnset, canon.ToolChoiceAuto:
			b = append(b, `"auto"`...)
		case canon.ToolChoiceNone:
			b = append(b, `"none"`...)
		case canon.ToolChoiceRequired:
			b = append(b, `"any"`...)
		case canon.ToolChoiceTool:
			b = append(b, `"tool","name":`...)
			b = appendString(b, r.ToolChoice.Name)
		default:
			return nil, canon.Unsupported(canon.FeatureToolChoice)
		}
		if r.ParallelToolCalls != nil {
			b = append(b, `,"disable_parallel_tool_use":`...)
			b = appendBool(b, !*r.ParallelToolCalls)
		}
		b = append(b, '}')
	}
	if r.Reasoning != nil && r.Reasoning.BudgetTokens != nil {
		if *r.Reasoning.BudgetTokens == 0 {
			b = append(b, `,"thinking":{"type":"disabled"}`...)
		} else {
			b = append(b, `,"thinking":{"type":"enabled","budget_tokens":`...)
			b = appendInt(b, *r.Reasoning.BudgetTokens)
			b = append(b, '}')
		}
	}
	return append(b, '}'), nil
}

// appendParts appends the content blocks of one canonical message (msg is
// its index in Request.Messages). tool says it is a tool message; user a
// user message.
func appendParts(b []byte, parts []canon.Part, msg int, tool, user bool) ([]byte, error) {
	assistant := !tool && !user
	for j, p := range parts {
		if j > 0 {
			b = append(b, ',')
		}
		ok := false
		switch p.Kind {
		case canon.PartText:
			ok = !tool
		case canon.PartImage:
			ok = user
		case canon.PartToolResult:
			ok = tool
		case canon.PartToolCall, canon.PartThinking, canon.PartRedactedThinking, canon.PartRefusal:
			ok = assistant
		}
		if !ok {
			return nil, canon.UnsupportedAt(canon.FeaturePart, msg, j)
		}
		var err error
		switch p.Kind {
		case canon.PartText, canon.PartRefusal:
			b = append(b, `{"type":"text","text":`...)
			b = appendString(b, p.Text)
			b = append(b, '}')
		case canon.PartImage:
			if b, err = appendImage(b, p.Image, msg, j); err != nil {
				return nil, err
			}
		case canon.PartThinking:
			b = append(b, `{"type":"thinking","thinking":`...)
			b = appendString(b, p.Text)
			b = append(b, `,"signature":`...)
			b = appendString(b, p.Signature)
			b = append(b, '}')
		case canon.PartRedactedThinking:
			b = append(b, `{"type":"redacted_thinking","data":`...)
			b = appendString(b, p.Signature)
			b = append(b, '}')
		case canon.PartToolCall:
			b = append(b, `{"type":"tool_use","id":`...)
			b = appendString(b, p.ToolCall.ID)
			b = append(b, `,"name":`...)
			b = appendString(b, p.ToolCall.Name)
			b = append(b, `,"input":`...)
			args := bytes.TrimSpace(p.ToolCall.Arguments)
			if len(args) == 0 {
				b = append(b, "{}"...)
			} else {
				if !isObject(args) {
					return nil, errors.New("anthropic: tool call arguments are not a JSON object")
				}
				b = appendCompact(b, args)
			}
			b = append(b, '}')
		case canon.PartToolResult:
			tr := p.ToolResult
			b = append(b, `{"type":"tool_result","tool_use_id":`...)
			b = appendString(b, tr.CallID)
			if tr.IsError {
				b = append(b, `,"is_error":true`...)
			}
			if len(tr.Content) > 0 {
				b = append(b, `,"content":[`...)
				for k, c := range tr.Content {
					if k > 0 {
						b = append(b, ',')
					}
					switch c.Kind {
					case canon.PartText:
						b = append(b, `{"type":"text","text":`...)
						b = appendString(b, c.Text)
						b = append(b, '}')
					case canon.PartImage:
						if b, err = appendImage(b, c.Image, msg, j); err != nil {
							return nil, err
						}
					default:
						return nil, canon.UnsupportedAt(canon.FeaturePart, msg, j)
					}
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
	}
	return b, nil
}

func appendImage(b []byte, img canon.Image, msg, part int) ([]byte, error) {
	if img.Detail != "" {
		return nil, canon.UnsupportedAt(canon.FeatureImageDetail, msg, part)
	}
	mediaType, data := img.MediaType, img.Data
	if img.URL != "" {
		rest, isData := strings.CutPrefix(img.URL, "data:")
		if !isData {
			b = append(b, `{"type":"image","source":{"type":"url","url":`...)
			b = appendString(b, img.URL)
			return append(b, "}}"...), nil
		}
		mt, d, ok := strings.Cut(rest, ";base64,")
		if !ok {
			return nil, canon.UnsupportedAt(canon.FeaturePart, msg, part)
		}
		mediaType, data = mt, d
	}
	b = append(b, `{"type":"image","source":{"type":"base64","media_type":`...)
	b = appendString(b, mediaType)
	b = append(b, `,"data":`...)
	b = appendString(b, data)
	return append(b, "}}"...), nil
}
