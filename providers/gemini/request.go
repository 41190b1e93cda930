package gemini

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// SyntheticIDPrefix starts every call ID that this package makes up for a
// Gemini function call or response that has none (see the package
// documentation). Encoders leave such IDs out.
const SyntheticIDPrefix = "gemini_"

func synthetic(id string) bool { return strings.HasPrefix(id, SyntheticIDPrefix) }

func requestCallID(content, part int) string {
	return SyntheticIDPrefix + "c" + strconv.Itoa(content) + "_p" + strconv.Itoa(part)
}

// RequestToCanon converts a generateContent request body into the
// canonical form. model is the model named in the path
// (models/{model}:generateContent), without the "models/" prefix, and
// stream says whether the path was :streamGenerateContent. The body must
// be valid JSON; it is not retained.
//
// Every member, at every depth, must be one the canonical form expresses.
// A known member it cannot express (safetySettings, cachedContent, labels,
// built-in tools such as googleSearch and codeExecution, audio, video and
// PDF data, executableCode, videoMetadata, responseModalities other than
// TEXT, speechConfig, logprobs, mediaResolution, includeThoughts, …) is
// refused with a 400 *providers.Error whose Param names it as the API
// spells it (generationConfig.responseModalities, contents[1].parts[0]),
// with Code "unsupported_parameter" or "unsupported_value". A member the
// converter does not know is refused with Code "unknown_parameter" and a
// fixed message naming at most the enclosing object. Null is the same as
// a missing member. No text of the body appears in an error.
//
// Function calls and responses without an id get synthetic IDs (see the
// package documentation).
func RequestToCanon(model string, stream bool, body []byte) (*canon.Request, *providers.Error) {
	if !jsonx.Valid(body) {
		return nil, errInvalidJSON()
	}
	top, perr := members(body, "", "contents", "systemInstruction", "tools", "toolConfig", "generationConfig",
		"model", "safetySettings", "cachedContent", "labels")
	if perr != nil {
		return nil, perr
	}
	for _, n := range []string{"safetySettings", "cachedContent", "labels"} {
		if top.has(n) {
			return nil, errUnsupported(path(n))
		}
	}
	r := &canon.Request{Model: model, Stream: stream}
	if top.has("model") {
		m, perr := top.str("model", "")
		if perr != nil {
			return nil, perr
		}
		if m != model && m != "models/"+model {
			return nil, errValue("model", "it differs from the model in the path.")
		}
	}
	if v, ok := top["systemInstruction"]; ok {
		msg, perr := decodeSystem(v)
		if perr != nil {
			return nil, perr
		}
		r.Messages = append(r.Messages, msg)
	}
	v, ok := top["contents"]
	if !ok {
		return nil, errMissing("contents")
	}
	msgs, perr := decodeContents(v)
	if perr != nil {
		return nil, perr
	}
	r.Messages = append(r.Messages, msgs...)
	if v, ok := top["tools"]; ok {
		if r.Tools, perr = decodeTools(v); perr != nil {
			return nil, perr
		}
	}
	if v, ok := top["toolConfig"]; ok {
		if r.ToolChoice, perr = decodeToolConfig(v); perr != nil {
			return nil, perr
		}
	}
	if v, ok := top["generationConfig"]; ok {
		if perr = decodeGenerationConfig(v, r); perr != nil {
			return nil, perr
		}
	}
	return r, nil
}

// Members of a part: those converted, then those refused.
var partNames = []string{"text", "thought", "thoughtSignature", "inlineData", "fileData", "functionCall", "functionResponse",
	"executableCode", "codeExecutionResult", "videoMetadata", "mediaResolution", "partMetadata", "toolCall", "toolResponse",
	"audioTranscription", "mediaProcessing", "speechMetadata"}

// decodeSystem reads systemInstruction: text parts only.
func decodeSystem(v []byte) (canon.Message, *providers.Error) {
	const p = path("systemInstruction")
	m := canon.Message{Role: canon.RoleSystem}
	o, perr := members(v, p, "role", "parts")
	if perr != nil {
		return m, perr
	}
	if o.has("role") {
		if _, perr := o.str("role", p); perr != nil {
			return m, perr
		}
	}
	if !o.has("parts") {
		return m, errMissing(p.dot("parts"))
	}
	parts, perr := elements(o["parts"], p.dot("parts"))
	if perr != nil {
		return m, perr
	}
	m.Parts = []canon.Part{}
	for j, e := range parts {
		pp := p.dot("parts").index(j)
		po, perr := members(e, pp, partNames...)
		if perr != nil {
			return m, perr
		}
		if len(po) != 1 || !po.has("text") {
			return m, errUnsupported(pp)
		}
		s, perr := po.str("text", pp)
		if perr != nil {
			return m, perr
		}
		m.Parts = append(m.Parts, canon.TextPart(s))
	}
	return m, nil
}

// pendingCall is a function call not yet answered.
type pendingCall struct{ id, name string }

// decodeContents reads contents. A user content's functionResponse parts
// become a RoleTool message, its other parts a RoleUser message, in their
// order (a content mixing both becomes several messages).
func decodeContents(v []byte) ([]canon.Message, *providers.Error) {
	const p = path("contents")
	contents, perr := elements(v, p)
	if perr != nil {
		return nil, perr
	}
	var msgs []canon.Message
	var pending []pendingCall
	for i, e := range contents {
		cp := p.index(i)
		o, perr := members(e, cp, "role", "parts")
		if perr != nil {
			return nil, perr
		}
		role := "user"
		if o.has("role") {
			if role, perr = o.str("role", cp); perr != nil {
				return nil, perr
			}
		}
		var base canon.Role
		switch role {
		case "user", "function":
			base = canon.RoleUser
		case "model":
			base = canon.RoleAssistant
		default:
			return nil, errValue(cp.dot("role"), "expected user or model.")
		}
		if !o.has("parts") {
			return nil, errMissing(cp.dot("parts"))
		}
		parts, perr := elements(o["parts"], cp.dot("parts"))
		if perr != nil {
			return nil, perr
		}
		if len(parts) == 0 {
			return nil, errValue(cp.dot("parts"), "a content must have at least one part.")
		}
		start := len(msgs)
		for j, pe := range parts {
			pp := cp.dot("parts").index(j)
			part, perr := decodePart(pp, base, pe, i, j, &pending)
			if perr != nil {
				return nil, perr
			}
			role := base
			if part.Kind == canon.PartToolResult {
				role = canon.RoleTool
			}
			if len(msgs) > start && msgs[len(msgs)-1].Role == role {
				msgs[len(msgs)-1].Parts = append(msgs[len(msgs)-1].Parts, part)
			} else {
				msgs = append(msgs, canon.Message{Role: role, Parts: []canon.Part{part}})
			}
		}
	}
	return msgs, nil
}

// decodePart reads the part at p of a content of the given role.
func decodePart(p path, role canon.Role, v []byte, ci, pj int, pending *[]pendingCall) (canon.Part, *providers.Error) {
	var part canon.Part
	o, perr := members(v, p, partNames...)
	if perr != nil {
		return part, perr
	}
	for _, n := range partNames[7:] {
		if o.has(n) {
			return part, errUnsupported(p.dot(n))
		}
	}
	if o.has("thoughtSignature") {
		if part.Signature, perr = o.str("thoughtSignature", p); perr != nil {
			return part, perr
		}
	}
	thought, perr := o.optBool("thought", p)
	if perr != nil {
		return part, perr
	}
	var kinds []string
	for _, n := range []string{"text", "inlineData", "fileData", "functionCall", "functionResponse"} {
		if o.has(n) {
			kinds = append(kinds, n)
		}
	}
	if len(kinds) != 1 {
		if len(kinds) == 0 && part.Signature != "" && role == canon.RoleAssistant {
			// A bare signature: Gemini sends one on an empty part.
			part.Kind = canon.PartText
			return part, nil
		}
		return part, errValue(p, "a part must hold exactly one of text, inlineData, fileData, functionCall and functionResponse.")
	}
	kind := kinds[0]
	if thought != nil && *thought && kind != "text" {
		return part, errUnsupported(p.dot("thought"))
	}
	switch kind {
	case "text":
		part.Kind = canon.PartText
		if thought != nil && *thought {
			if role != canon.RoleAssistant {
				return part, errUnsupported(p.dot("thought"))
			}
			part.Kind = canon.PartThinking
		}
		part.Text, perr = o.str("text", p)
		return part, perr
	case "inlineData", "fileData":
		if role != canon.RoleUser {
			return part, errUnsupported(p.dot(kind))
		}
		part.Kind = canon.PartImage
		part.Image, perr = decodeData(p.dot(kind), kind == "fileData", o[kind])
		return part, perr
	case "functionCall":
		if role != canon.RoleAssistant {
			return part, errUnsupported(p.dot(kind))
		}
		part.Kind = canon.PartToolCall
		part.ToolCall, perr = decodeFunctionCall(p.dot(kind), o[kind])
		if perr != nil {
			return part, perr
		}
		if part.ToolCall.ID == "" {
			part.ToolCall.ID = requestCallID(ci, pj)
		}
		*pending = append(*pending, pendingCall{part.ToolCall.ID, part.ToolCall.Name})
		return part, nil
	default: // functionResponse
		if role != canon.RoleUser {
			return part, errUnsupported(p.dot(kind))
		}
		part.Kind = canon.PartToolResult
		if part.Signature != "" {
			return part, errUnsupported(p.dot("thoughtSignature"))
		}
		part.ToolResult, perr = decodeFunctionResponse(p.dot(kind), o[kind], ci, pj, pending)
		return part, perr
	}
}

// decodeData reads inlineData {mimeType, data} or fileData {mimeType,
// fileUri}: images only.
func decodeData(p path, file bool, v []byte) (canon.Image, *providers.Error) {
	var img canon.Image
	names := []string{"mimeType", "data", "displayName"}
	if file {
		names = []string{"mimeType", "fileUri", "displayName"}
	}
	o, perr := members(v, p, names...)
	if perr != nil {
		return img, perr
	}
	if o.has("displayName") {
		return img, errUnsupported(p.dot("displayName"))
	}
	if !o.has("mimeType") {
		return img, errMissing(p.dot("mimeType"))
	}
	if img.MediaType, perr = o.str("mimeType", p); perr != nil {
		return img, perr
	}
	if !strings.HasPrefix(img.MediaType, "image/") {
		return img, errUnsupportedValue(p.dot("mimeType"))
	}
	if !o.has(names[1]) {
		return img, errMissing(p.dot(names[1]))
	}
	s, perr := o.str(names[1], p)
	if perr != nil {
		return img, perr
	}
	if s == "" {
		return img, errValue(p.dot(names[1]), "it must not be empty.")
	}
	if file {
		img.URL = s
	} else {
		img.Data = s
	}
	return img, nil
}

func decodeFunctionCall(p path, v []byte) (canon.ToolCall, *providers.Error) {
	var c canon.ToolCall
	o, perr := members(v, p, "id", "name", "args", "partialArgs", "willContinue")
	if perr != nil {
		return c, perr
	}
	for _, n := range []string{"partialArgs", "willContinue"} {
		if o.has(n) {
			return c, errUnsupported(p.dot(n))
		}
	}
	if o.has("id") {
		if c.ID, perr = o.str("id", p); perr != nil {
			return c, perr
		}
	}
	if c.Name, perr = o.name(p); perr != nil {
		return c, perr
	}
	c.Arguments = json.RawMessage("{}")
	if a, ok := o["args"]; ok {
		if !isObject(a) {
			return c, errType(p.dot("args"), "an object")
		}
		c.Arguments = compact(a)
	}
	return c, nil
}

func decodeFunctionResponse(p path, v []byte, ci, pj int, pending *[]pendingCall) (canon.ToolResult, *providers.Error) {
	var res canon.ToolResult
	o, perr := members(v, p, "id", "name", "response", "parts", "willContinue", "scheduling")
	if perr != nil {
		return res, perr
	}
	for _, n := range []string{"parts", "willContinue", "scheduling"} {
		if o.has(n) {
			return res, errUnsupported(p.dot(n))
		}
	}
	if o.has("id") {
		if res.CallID, perr = o.str("id", p); perr != nil {
			return res, perr
		}
	}
	if res.Name, perr = o.name(p); perr != nil {
		return res, perr
	}
	if !o.has("response") {
		return res, errMissing(p.dot("response"))
	}
	if !isObject(o["response"]) {
		return res, errType(p.dot("response"), "an object")
	}
	res.Content = []canon.Part{canon.TextPart(string(compact(o["response"])))}
	// Pair the response with its call: by id if given, else the earliest
	// pending call of the same name.
	k := -1
	for n, c := range *pending {
		if (res.CallID != "" && c.id == res.CallID) || (res.CallID == "" && c.name == res.Name) {
			k = n
			break
		}
	}
	if k >= 0 {
		res.CallID = (*pending)[k].id
		*pending = append((*pending)[:k], (*pending)[k+1:]...)
	} else if res.CallID == "" {
		res.CallID = requestCallID(ci, pj)
	}
	return res, nil
}

var declNames = []string{"name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"}

func decodeTools(v []byte) ([]canon.Tool, *providers.Error) {
	const p = path("tools")
	tools, perr := elements(v, p)
	if perr != nil {
		return nil, perr
	}
	var out []canon.Tool
	for i, e := range tools {
		tp := p.index(i)
		o, perr := members(e, tp, "functionDeclarations", "googleSearch", "googleSearchRetrieval", "codeExecution",
			"urlContext", "retrieval", "fileSearch", "computerUse", "googleMaps", "enterpriseWebSearch", "mcpServers",
			"parallelAiSearch", "exaAiSearch")
		if perr != nil {
			return nil, perr
		}
		for n := range o {
			if n != "functionDeclarations" {
				return nil, errUnsupported(tp.dot(n))
			}
		}
		decls, perr := elements(o["functionDeclarations"], tp.dot("functionDeclarations"))
		if perr != nil {
			return nil, perr
		}
		for j, d := range decls {
			dp := tp.dot("functionDeclarations").index(j)
			do, perr := members(d, dp, declNames...)
			if perr != nil {
				return nil, perr
			}
			for _, n := range declNames[4:] {
				if do.has(n) {
					return nil, errUnsupported(dp.dot(n))
				}
			}
			var t canon.Tool
			if t.Name, perr = do.name(dp); perr != nil {
				return nil, perr
			}
			if do.has("description") {
				if t.Description, perr = do.str("description", dp); perr != nil {
					return nil, perr
				}
			}
			if do.has("parameters") && do.has("parametersJsonSchema") {
				return nil, errValue(dp.dot("parameters"), "set only one of parameters and parametersJsonSchema.")
			}
			for _, n := range []string{"parameters", "parametersJsonSchema"} {
				if s, ok := do[n]; ok {
					if !isObject(s) {
						return nil, errType(dp.dot(n), "an object")
					}
					t.Parameters = compact(s)
				}
			}
			out = append(out, t)
		}
	}
	return out, nil
}

func decodeToolConfig(v []byte) (canon.ToolChoice, *providers.Error) {
	const p = path("toolConfig")
	var tc canon.ToolChoice
	o, perr := members(v, p, "functionCallingConfig", "retrievalConfig", "includeServerSideToolInvocations")
	if perr != nil {
		return tc, perr
	}
	for _, n := range []string{"retrievalConfig", "includeServerSideToolInvocations"} {
		if o.has(n) {
			return tc, errUnsupported(p.dot(n))
		}
	}
	fv, ok := o["functionCallingConfig"]
	if !ok {
		return tc, nil
	}
	fp := p.dot("functionCallingConfig")
	fo, perr := members(fv, fp, "mode", "allowedFunctionNames", "streamFunctionCallArguments")
	if perr != nil {
		return tc, perr
	}
	if fo.has("streamFunctionCallArguments") {
		return tc, errUnsupported(fp.dot("streamFunctionCallArguments"))
	}
	mode := ""
	if fo.has("mode") {
		if mode, perr = fo.str("mode", fp); perr != nil {
			return tc, perr
		}
	}
	var names []string
	if a, ok := fo["allowedFunctionNames"]; ok {
		if json.Unmarshal(a, &names) != nil {
			return tc, errType(fp.dot("allowedFunctionNames"), "an array of strings")
		}
	}
	switch mode {
	case "", "MODE_UNSPECIFIED":
		tc.Mode = canon.ToolChoiceUnset
	case "AUTO":
		tc.Mode = canon.ToolChoiceAuto
	case "NONE":
		tc.Mode = canon.ToolChoiceNone
	case "ANY":
		tc.Mode = canon.ToolChoiceRequired
		if len(names) == 1 {
			tc.Mode, tc.Name = canon.ToolChoiceTool, names[0]
			names = nil
		}
	case "VALIDATED":
		return tc, errUnsupportedValue(fp.dot("mode"))
	default:
		return tc, errValue(fp.dot("mode"), "expected AUTO, ANY or NONE.")
	}
	if len(names) > 0 {
		// Only ANY with a single name has a canonical form.
		return tc, errUnsupported(fp.dot("allowedFunctionNames"))
	}
	return tc, nil
}

var genNames = []string{"temperature", "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences", "seed",
	"presencePenalty", "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema", "thinkingConfig",
	"responseModalities",
	// Refused.
	"responseLogprobs", "logprobs", "speechConfig", "mediaResolution", "enableEnhancedCivicAnswers", "imageConfig",
	"routingConfig", "modelSelectionConfig", "audioTimestamp", "enableAffectiveDialog", "responseFormat", "translationConfig",
	"audioTranscriptionConfig"}

func decodeGenerationConfig(v []byte, r *canon.Request) *providers.Error {
	const p = path("generationConfig")
	o, perr := members(v, p, genNames...)
	if perr != nil {
		return perr
	}
	for _, n := range genNames[14:] {
		if o.has(n) {
			return errUnsupported(p.dot(n))
		}
	}
	set := func(err *providers.Error) {
		if perr == nil {
			perr = err
		}
	}
	var err *providers.Error
	r.Temperature, err = o.optFloat("temperature", p)
	set(err)
	r.TopP, err = o.optFloat("topP", p)
	set(err)
	r.TopK, err = o.optInt("topK", p)
	set(err)
	r.Choices, err = o.optInt("candidateCount", p)
	set(err)
	r.MaxOutputTokens, err = o.optInt("maxOutputTokens", p)
	set(err)
	r.Seed, err = o.optInt("seed", p)
	set(err)
	r.PresencePenalty, err = o.optFloat("presencePenalty", p)
	set(err)
	r.FrequencyPenalty, err = o.optFloat("frequencyPenalty", p)
	set(err)
	if perr != nil {
		return perr
	}
	if a, ok := o["stopSequences"]; ok {
		if json.Unmarshal(a, &r.Stop) != nil {
			return errType(p.dot("stopSequences"), "an array of strings")
		}
	}
	if a, ok := o["responseModalities"]; ok {
		var mods []string
		if json.Unmarshal(a, &mods) != nil {
			return errType(p.dot("responseModalities"), "an array of strings")
		}
		for _, m := range mods {
			if m != "TEXT" {
				return errUnsupportedValue(p.dot("responseModalities"))
			}
		}
	}
	mime := ""
	if o.has("responseMimeType") {
		if mime, perr = o.str("responseMimeType", p); perr != nil {
			return perr
		}
	}
	if o.has("responseSchema") && o.has("responseJsonSchema") {
		return errValue(p.dot("responseSchema"), "set only one of responseSchema and responseJsonSchema.")
	}
	var schema []byte
	for _, n := range []string{"responseSchema", "responseJsonSchema"} {
		if s, ok := o[n]; ok {
			if mime != "application/json" {
				return errValue(p.dot(n), "a schema requires responseMimeType application/json.")
			}
			if !isObject(s) {
				return errType(p.dot(n), "an object")
			}
			schema = compact(s)
		}
	}
	switch mime {
	case "":
	case "text/plain":
		r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatText}
	case "application/json":
		r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSON}
		if schema != nil {
			r.ResponseFormat.Type, r.ResponseFormat.Schema = canon.FormatJSONSchema, schema
		}
	default:
		return errUnsupportedValue(p.dot("responseMimeType"))
	}
	if tv, ok := o["thinkingConfig"]; ok {
		tp := p.dot("thinkingConfig")
		to, perr := members(tv, tp, "thinkingBudget", "thinkingLevel", "includeThoughts")
		if perr != nil {
			return perr
		}
		inc, perr := to.optBool("includeThoughts", tp)
		if perr != nil {
			return perr
		}
		if inc != nil && *inc {
			return errUnsupported(tp.dot("includeThoughts"))
		}
		reas := &canon.Reasoning{}
		if reas.BudgetTokens, perr = to.optInt("thinkingBudget", tp); perr != nil {
			return perr
		}
		if to.has("thinkingLevel") {
			lvl, perr := to.str("thinkingLevel", tp)
			if perr != nil {
				return perr
			}
			switch lvl {
			case "MINIMAL", "LOW", "MEDIUM", "HIGH":
				reas.Effort = strings.ToLower(lvl)
			case "THINKING_LEVEL_UNSPECIFIED":
			default:
				return errValue(tp.dot("thinkingLevel"), "expected MINIMAL, LOW, MEDIUM or HIGH.")
			}
		}
		if reas.BudgetTokens != nil || reas.Effort != "" {
			r.Reasoning = reas
		}
	}
	return nil
}
