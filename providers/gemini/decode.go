package gemini

import (
	"bytes"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wicket-gw/wicket/internal/jsonval"
	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// The methods a model path may call, after its colon:
// models/{model}:generateContent.
const (
	actionGenerate = "generateContent"
	actionStream   = "streamGenerateContent"
	actionCount    = "countTokens"
)

// Decode implements providers.FrontDoor for the POST route
// /v1beta/models/{model}:{method}. The model and the method come from the
// path (split at its last colon): generateContent is EndpointChat,
// streamGenerateContent EndpointChat streamed (as a JSON array unless the
// query says alt=sse), countTokens EndpointCountTokens; any other method
// is a 404. The model stays in the path, so ModelStart and ModelEnd are 0.
// A key in the query (?key=) is the gateway's authentication's to read;
// Decode ignores it.
//
// The body of a generateContent call must be a JSON object with a
// contents array. Decode reads generationConfig.maxOutputTokens
// (MaxOutputTokens) and generationConfig.candidateCount (Choices; 0 means
// 1, as in Gemini), and scans the inputs for Images and Unbounded (see
// inputs). Like Google's own parser it reads each member under its JSON
// name or its proto name (generation_config.max_output_tokens), and an
// integer as a number or a string ("8192"), so that no spelling the
// upstream acts on escapes the gateway's count; a field given twice, under
// either name, is refused, as parsers disagree on which copy wins. A
// countTokens body must be a JSON object with contents or
// generateContentRequest; nothing else of it is read.
//
// Malformed input is refused with a 400 *providers.Error naming the field
// in Param, never quoting the body or the path.
func (FrontDoor) Decode(_ providers.Route, r *http.Request, body []byte) (*providers.Request, *providers.Error) {
	target := modelPath(r)
	i := strings.LastIndexByte(target, ':')
	if i < 0 {
		return nil, errUnknownURL()
	}
	model, action := target[:i], target[i+1:]
	req := &providers.Request{Dialect: providers.DialectGemini, Model: model, Body: body, Choices: 1}
	switch action {
	case actionGenerate:
		req.Endpoint = providers.EndpointChat
	case actionStream:
		req.Endpoint, req.Stream = providers.EndpointChat, true
	case actionCount:
		req.Endpoint = providers.EndpointCountTokens
	default:
		return nil, errUnknownURL()
	}
	if model == "" {
		return nil, badRequest("model", "missing_required_parameter", "The model name in the URL is missing.")
	}
	if !utf8.ValidString(model) {
		return nil, badRequest("model", "invalid_value", "The model name in the URL must be valid UTF-8.")
	}
	alt, perr := altParam(r)
	if perr != nil {
		return nil, perr
	}
	req.ArrayStream = req.Stream && alt != "sse"
	if !jsonx.Valid(body) {
		return nil, errInvalidJSON()
	}
	if req.Endpoint == providers.EndpointCountTokens {
		return req, decodeCount(body)
	}
	if perr := decodeGenerate(req, body); perr != nil {
		return nil, perr
	}
	return req, nil
}

// modelPath returns what follows /models/ in r's path: the {model}
// wildcard when the route was matched by http.ServeMux, else the rest of
// the path after its first "/models/" (for routers that set no path
// values).
func modelPath(r *http.Request) string {
	if r == nil {
		return ""
	}
	if v := r.PathValue("model"); v != "" {
		return v
	}
	if r.URL == nil {
		return ""
	}
	const marker = "/models/"
	if i := strings.Index(r.URL.Path, marker); i >= 0 {
		return r.URL.Path[i+len(marker):]
	}
	return ""
}

// altParam returns the response form the query asks for: "" (the
// default), "json" or "sse", from alt or $alt, without the parameters
// after a semicolon ("json;enum-encoding=int", as Google's REST clients
// send). Other forms (proto, media) cannot be served: 400.
func altParam(r *http.Request) (string, *providers.Error) {
	if r == nil || r.URL == nil || r.URL.RawQuery == "" {
		return "", nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", badRequest("", "invalid_query", "The query string of the URL is malformed.")
	}
	alt := q.Get("alt")
	if alt == "" {
		alt = q.Get("$alt")
	}
	alt, _, _ = strings.Cut(alt, ";")
	switch alt {
	case "", "json", "sse":
		return alt, nil
	}
	return "", badRequest("alt", "unsupported_value", "The response form asked for with 'alt' is not supported; use json or sse.")
}

// decodeCount checks a countTokens body: an object with contents or
// generateContentRequest.
func decodeCount(body []byte) *providers.Error {
	found := false
	err := jsonx.Each(body, func(m jsonx.Member) bool {
		if !jsonx.IsNull(m.Value) && (m.KeyIs("contents") || m.KeyIs("generateContentRequest") || m.KeyIs("generate_content_request")) {
			found = true
		}
		return true
	})
	if err != nil {
		return errInvalidJSON()
	}
	if !found {
		return errMissing("contents")
	}
	return nil
}

// field names a member Decode reads, for duplicate detection and errors.
type field uint8

const (
	fieldContents field = iota
	fieldGenerationConfig
	fieldMaxOutputTokens
	fieldCandidateCount
	numFields
)

// fieldNames spells each field as the API does, for errors: never the
// raw key from the body, which may be written with escapes or in its
// proto spelling.
var fieldNames = [numFields]string{"contents", "generationConfig", "generationConfig.maxOutputTokens", "generationConfig.candidateCount"}

// keyIs reports whether m's key is the JSON name or the proto name of a
// field.
func keyIs(m jsonx.Member, jsonName, protoName string) bool {
	return m.KeyIs(jsonName) || m.KeyIs(protoName)
}

// decodeGenerate reads a generateContent body into req.
func decodeGenerate(req *providers.Request, body []byte) *providers.Error {
	var perr *providers.Error
	var seen [numFields]bool
	once := func(f field) *providers.Error {
		if seen[f] {
			return badRequest(fieldNames[f], "duplicate_parameter", "The field '"+fieldNames[f]+"' appears more than once.")
		}
		seen[f] = true
		return nil
	}
	var in inputs
	err := jsonx.Each(body, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("contents"):
			if perr = once(fieldContents); perr != nil {
				return false
			}
			if len(m.Value) == 0 || m.Value[0] != '[' {
				perr = errType("contents", "an array")
				return false
			}
			jsonval.EachElem(m.Value, in.content)
		case keyIs(m, "systemInstruction", "system_instruction"):
			in.content(m.Value)
		case keyIs(m, "generationConfig", "generation_config"):
			if perr = once(fieldGenerationConfig); perr != nil {
				return false
			}
			if jsonx.IsNull(m.Value) {
				break
			}
			if m.Value[0] != '{' {
				perr = errType("generationConfig", "an object")
				return false
			}
			perr = decodeGenConfig(m.Value, req, &in, once)
			return perr == nil
		case keyIs(m, "cachedContent", "cached_content"):
			if s, ok := jsonval.Contents(m.Value); ok && len(s) > 0 {
				in.flag(unboundedCachedContent)
			}
		case m.KeyIs("tools"):
			jsonval.EachElem(m.Value, in.tool)
		}
		return true
	})
	if err != nil {
		return errInvalidJSON()
	}
	if perr != nil {
		return perr
	}
	if !seen[fieldContents] {
		return errMissing("contents")
	}
	req.Images, req.Unbounded = in.images, in.unbounded
	return nil
}

// decodeGenConfig reads the members of generationConfig that routing and
// budgets need.
func decodeGenConfig(v []byte, req *providers.Request, in *inputs, once func(field) *providers.Error) *providers.Error {
	var perr *providers.Error
	_ = jsonx.Each(v, func(m jsonx.Member) bool {
		switch {
		case keyIs(m, "maxOutputTokens", "max_output_tokens"):
			if perr = once(fieldMaxOutputTokens); perr != nil {
				return false
			}
			if jsonx.IsNull(m.Value) {
				break
			}
			n, ok := protoInt(m.Value)
			if !ok || n < 0 {
				perr = badRequest(fieldNames[fieldMaxOutputTokens], "invalid_value",
					"Invalid value at 'generationConfig.maxOutputTokens': expected a non-negative integer.")
				return false
			}
			req.MaxOutputTokens = n
			req.MaxOutputParam = ""
			if n > 0 {
				req.MaxOutputParam = fieldNames[fieldMaxOutputTokens]
			}
		case keyIs(m, "candidateCount", "candidate_count"):
			if perr = once(fieldCandidateCount); perr != nil {
				return false
			}
			if jsonx.IsNull(m.Value) {
				break
			}
			n, ok := protoInt(m.Value)
			if !ok || n < 0 || n > canon.MaxChoices {
				perr = badRequest(fieldNames[fieldCandidateCount], "invalid_value",
					"Invalid value at 'generationConfig.candidateCount': expected an integer from 1 to 128.")
				return false
			}
			req.Choices = max(n, 1) // 0 is unset: one candidate
		case keyIs(m, "responseModalities", "response_modalities"):
			jsonval.EachElem(m.Value, func(v []byte) {
				if s, ok := jsonval.Contents(v); ok && !strings.EqualFold(string(s), "TEXT") {
					in.flag(unboundedResponseModalities)
				}
			})
		}
		return true
	})
	return perr
}

// protoInt reads an int32 field as Google's JSON parser does: a number,
// or a string holding one; an exponent or a zero fraction (1e3, 100.0) is
// allowed when the value is whole. ok is false for anything else and for
// values outside int32.
func protoInt(v []byte) (int64, bool) {
	if len(v) > 0 && v[0] == '"' {
		s, ok := jsonx.String(v)
		if !ok {
			return 0, false
		}
		v = []byte(s)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(v), 64)
		if ferr != nil || f != math.Trunc(f) {
			return 0, false
		}
		if f < math.MinInt32 || f > math.MaxInt32 {
			return 0, false
		}
		n = int64(f)
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, false
	}
	return n, true
}

func badRequest(param, code, msg string) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Code: code, Message: msg}
}

// errUnknownURL answers a path that names no method this door serves. It
// does not echo the path.
func errUnknownURL() *providers.Error {
	return &providers.Error{Status: http.StatusNotFound, Code: "unknown_url",
		Message: "The requested URL was not found on this server."}
}

// Unbounded names: what Request.Unbounded may hold, each spelled as the
// Gemini API spells the field. Never text from a body.
const (
	unboundedCachedContent      = "cachedContent"      // stored context
	unboundedFileData           = "fileData"           // a file the upstream fetches (Files API, YouTube, Cloud Storage)
	unboundedInlineData         = "inlineData"         // inline data that is not an image: audio, video, PDF
	unboundedResponseModalities = "responseModalities" // audio or image output
	unboundedTools              = "tools"              // a tool the upstream runs itself, of a kind not named below
)

// serverTools maps the members of a tools element that the upstream runs
// itself (search, code execution, fetching URLs, …), in both spellings,
// to their JSON name. Their results enter the context at a cost the
// request cannot bound.
var serverTools = map[string]string{
	"googleSearch": "googleSearch", "google_search": "googleSearch",
	"googleSearchRetrieval": "googleSearchRetrieval", "google_search_retrieval": "googleSearchRetrieval",
	"codeExecution": "codeExecution", "code_execution": "codeExecution",
	"urlContext": "urlContext", "url_context": "urlContext",
	"retrieval":  "retrieval",
	"fileSearch": "fileSearch", "file_search": "fileSearch",
	"computerUse": "computerUse", "computer_use": "computerUse",
	"googleMaps": "googleMaps", "google_maps": "googleMaps",
	"enterpriseWebSearch": "enterpriseWebSearch", "enterprise_web_search": "enterpriseWebSearch",
	"mcpServers": "mcpServers", "mcp_servers": "mcpServers",
}

// inputs is what Decode learns of a request's inputs beyond its bytes.
//
//   - A part's inlineData with an image/* mimeType is an image; inline
//     data of another type (audio, video, PDF) is unbounded
//     ("inlineData"): its tokens do not follow from its bytes.
//   - A part's fileData is unbounded ("fileData"): the upstream fetches
//     the file, whose size the request does not show; one with an image
//     mimeType also counts as an image.
//   - The parts of a functionResponse (multimodal function results)
//     follow the same rules.
//   - cachedContent (stored context), a tools element with any member but
//     functionDeclarations (googleSearch, codeExecution, urlContext, …,
//     named as the API spells them; "tools" for a member not known), and
//     responseModalities other than TEXT are unbounded.
//
// The scan never fails a request: nulls and values of the wrong type are
// not counted (the upstream refuses them), and keys written with escapes
// count as their decoded name.
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

// content scans a Content object: its parts.
func (in *inputs) content(v []byte) {
	if len(v) == 0 || v[0] != '{' {
		return
	}
	_ = jsonx.Each(v, func(m jsonx.Member) bool {
		if m.KeyIs("parts") {
			jsonval.EachElem(m.Value, in.part)
		}
		return true
	})
}

// part scans one part (or one part of a functionResponse).
func (in *inputs) part(v []byte) {
	if len(v) == 0 || v[0] != '{' {
		return
	}
	_ = jsonx.Each(v, func(m jsonx.Member) bool {
		switch {
		case keyIs(m, "inlineData", "inline_data"):
			in.blob(m.Value, false)
		case keyIs(m, "fileData", "file_data"):
			in.blob(m.Value, true)
		case keyIs(m, "functionResponse", "function_response"):
			if len(m.Value) > 0 && m.Value[0] == '{' {
				_ = jsonx.Each(m.Value, func(m jsonx.Member) bool {
					if m.KeyIs("parts") {
						jsonval.EachElem(m.Value, in.part)
					}
					return true
				})
			}
		}
		return true
	})
}

// blob scans inlineData or fileData.
func (in *inputs) blob(v []byte, file bool) {
	if len(v) == 0 || v[0] != '{' {
		return
	}
	image := false
	_ = jsonx.Each(v, func(m jsonx.Member) bool {
		if keyIs(m, "mimeType", "mime_type") {
			if s, ok := jsonval.Contents(m.Value); ok && len(s) >= len("image/") && strings.EqualFold(string(s[:len("image/")]), "image/") {
				image = true
			}
		}
		return true
	})
	if image {
		in.images++
	}
	switch {
	case file:
		in.flag(unboundedFileData)
	case !image:
		in.flag(unboundedInlineData)
	}
}

// tool scans one element of tools.
func (in *inputs) tool(v []byte) {
	if len(v) == 0 || v[0] != '{' {
		return
	}
	_ = jsonx.Each(v, func(m jsonx.Member) bool {
		if jsonx.IsNull(m.Value) || keyIs(m, "functionDeclarations", "function_declarations") {
			return true
		}
		key := m.Key
		if bytes.IndexByte(key, '\\') >= 0 {
			s, _ := jsonx.String(append(append([]byte{'"'}, key...), '"')) // rare: escapes allocate
			key = []byte(s)
		}
		if name, known := serverTools[string(key)]; known {
			in.flag(name)
		} else {
			in.flag(unboundedTools)
		}
		return true
	})
}
