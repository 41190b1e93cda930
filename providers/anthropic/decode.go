package anthropic

import (
	"bytes"
	"net/http"
	"unicode/utf8"

	"github.com/wicket-gw/wicket/internal/jsonval"
	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/providers"
)

// Decode picks out of a Messages API request body (POST /v1/messages, or
// /v1/messages/count_tokens for EndpointCountTokens) what routing, limits
// and budgets need, without decoding the rest: model, stream and, for
// messages, max_tokens, which Anthropic requires (an integer of at least
// 1). A token count has neither stream nor an output cap: its Stream is
// false and MaxOutputTokens 0, whatever the body holds. Choices is always
// 1.
//
// It answers a body that is not a JSON object, whose picked fields are
// missing or have the wrong type, or that repeats one of them (parsers
// disagree on which copy wins, and the gateway must count what the
// upstream will act on), with a 400 *providers.Error naming the field,
// never quoting the body. A null member is a missing one.
//
// It also fills Images and Unbounded (the rules are on inputs); that scan
// never fails a request. Decode does not read headers: FrontDoor.Decode
// adds the client's anthropic-beta values.
func Decode(endpoint providers.Endpoint, body []byte) (*providers.Request, *providers.Error) {
	req := &providers.Request{Dialect: providers.DialectAnthropic, Endpoint: endpoint, Body: body, Choices: 1}
	if !jsonx.Valid(body) {
		return nil, errInvalidJSON()
	}
	chat := endpoint == providers.EndpointChat
	var (
		perr *providers.Error
		seen [numPicked]bool
		in   inputs
	)
	err := jsonx.Each(body, func(m jsonx.Member) bool {
		in.member(m)
		f, ok := pick(m, chat)
		if !ok {
			return true
		}
		if seen[f] {
			perr = errDuplicate(pickedNames[f])
			return false
		}
		seen[f] = true
		if jsonx.IsNull(m.Value) {
			return true
		}
		switch f {
		case pickModel:
			s, ok := jsonx.String(m.Value)
			if !ok {
				perr = errType("model", "a string")
				return false
			}
			if !utf8.ValidString(s) {
				perr = errValue("model", "must be valid UTF-8.")
				return false
			}
			req.Model, req.ModelStart, req.ModelEnd = s, m.Start, m.End
		case pickStream:
			b, ok := jsonx.Bool(m.Value)
			if !ok {
				perr = errType("stream", "a boolean")
				return false
			}
			req.Stream = b
		case pickMaxTokens:
			n, ok := jsonx.Int(m.Value)
			if !ok {
				perr = errType("max_tokens", "an integer")
				return false
			}
			if n < 1 {
				perr = errValue("max_tokens", "must be at least 1.")
				return false
			}
			req.MaxOutputTokens, req.MaxOutputParam = n, "max_tokens"
		}
		return true
	})
	if err != nil {
		return nil, errInvalidJSON()
	}
	if perr != nil {
		return nil, perr
	}
	if req.Model == "" {
		return nil, errMissing("model")
	}
	if chat && req.MaxOutputTokens == 0 {
		return nil, errMissing("max_tokens")
	}
	req.Images, req.Unbounded = in.images, in.unbounded
	return req, nil
}

// picked names the members Decode reads.
type picked uint8

const (
	pickModel picked = iota
	pickStream
	pickMaxTokens
	numPicked
)

// pickedNames spells each picked member as the API does, for errors: never
// the raw key from the body, which may be written with escapes.
var pickedNames = [numPicked]string{"model", "stream", "max_tokens"}

// pick reports which picked member m is, if any. A token count reads the
// model only.
func pick(m jsonx.Member, chat bool) (picked, bool) {
	switch {
	case m.KeyIs("model"):
		return pickModel, true
	case chat && m.KeyIs("stream"):
		return pickStream, true
	case chat && m.KeyIs("max_tokens"):
		return pickMaxTokens, true
	}
	return 0, false
}

func errDuplicate(name string) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "duplicate_parameter",
		Param: name, Message: name + ": appears more than once."}
}

// Unbounded names: what Request.Unbounded may hold, each spelled as the
// Messages API spells the parameter or input kind. Never text from a body.
const (
	unboundedMessages          = "messages"           // a content block of a kind not known to be bounded
	unboundedDocument          = "document"           // a PDF (inline or by URL), or a document source of a kind not known
	unboundedFile              = "file"               // an image or document by Files API ID
	unboundedContainerUpload   = "container_upload"   // a file loaded into the code execution container
	unboundedTools             = "tools"              // a server tool, or a client tool Anthropic defines (its definition's tokens are not in the body)
	unboundedContainer         = "container"          // a container reused from an earlier request
	unboundedMCPServers        = "mcp_servers"        // the upstream calls MCP servers itself
	unboundedContextManagement = "context_management" // an edit other than clearing, such as server-side compaction
	unboundedSpeed             = "speed"              // fast mode, priced above the standard rates
	unboundedInferenceGeo      = "inference_geo"      // a region priced above the standard rates
)

// inputs is what Decode learns of a request's inputs beyond its bytes. It
// walks only the containers that can hold non-text input and skips text
// values; it allocates only for keys or type values written with escapes.
//
// Content blocks, wherever they stand (messages[*].content, the content
// of a tool_result, the content source of a document, the document of a
// web_fetch_tool_result):
//   - image: an image (Images counts it, at its model's ceiling); one whose
//     source is a "file" (by Files API ID) is unbounded ("file").
//   - document: a "text" source is bounded by its bytes, and a "content"
//     source holds blocks, scanned by these rules; a "base64" or "url"
//     source is a PDF, whose pages each cost image tokens however few
//     bytes they take ("document"); a "file" source is unbounded
//     ("file"), and so is a source of another type ("document").
//   - tool_result: its content blocks are scanned.
//   - text, thinking, redacted_thinking, tool_use, search_result,
//     server_tool_use and the results of server tools, mcp_tool_use,
//     mcp_tool_result and tool_reference: bounded by their bytes.
//   - container_upload: unbounded ("container_upload").
//   - any other type, or none: unbounded ("messages"), since the gateway
//     cannot tell what it costs.
//
// A block with several "type" members counts as an image if any is
// "image", and as unbounded if any is unbounded; one with several
// "source" or "content" members is unbounded ("messages"), as the
// upstream may read either.
//
// Top-level members: tools[*] whose type is neither absent nor "custom"
// (server tools such as web_search_20250305 and code_execution_*, and
// client tools Anthropic defines such as bash_20250124, whose definitions
// add tokens the body does not hold); a non-null container; a non-empty
// mcp_servers; context_management with an edit whose type does not begin
// with "clear_"; speed "fast"; inference_geo other than "global".
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

// member scans one top-level member of a request.
func (in *inputs) member(m jsonx.Member) {
	switch {
	case m.KeyIs("messages"):
		jsonval.EachElem(m.Value, in.message)
	case m.KeyIs("tools"):
		jsonval.EachElem(m.Value, in.tool)
	case m.KeyIs("container"):
		if !jsonx.IsNull(m.Value) {
			in.flag(unboundedContainer)
		}
	case m.KeyIs("mcp_servers"):
		if !jsonx.IsNull(m.Value) && !jsonval.EmptyArray(m.Value) {
			in.flag(unboundedMCPServers)
		}
	case m.KeyIs("context_management"):
		in.contextManagement(m.Value)
	case m.KeyIs("speed"):
		if s, ok := jsonval.Contents(m.Value); ok && string(s) == "fast" {
			in.flag(unboundedSpeed)
		}
	case m.KeyIs("inference_geo"):
		if s, ok := jsonval.Contents(m.Value); ok && string(s) != "global" {
			in.flag(unboundedInferenceGeo)
		}
	}
}

// message scans one element of messages: its content, when an array of
// blocks (a string is text).
func (in *inputs) message(msg []byte) {
	if len(msg) == 0 || msg[0] != '{' {
		return
	}
	_ = jsonx.Each(msg, func(m jsonx.Member) bool {
		if m.KeyIs("content") {
			jsonval.EachElem(m.Value, in.block)
		}
		return true
	})
}

// Kinds of content block, as a set: a block may have several types.
const (
	kindImage      uint8 = 1 << iota
	kindDocument         // source rules apply
	kindToolResult       // content holds blocks
	kindWebFetch         // content.content is a document block
)

// block scans one content block.
func (in *inputs) block(v []byte) {
	if len(v) == 0 || v[0] != '{' {
		return // not a block: the upstream refuses the request
	}
	var (
		kinds           uint8
		typed           bool
		unbounded       string
		source, content []byte
		sources, conts  int
	)
	_ = jsonx.Each(v, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("type"):
			s, ok := jsonval.Contents(m.Value)
			if !ok {
				break // null or the wrong type: the upstream refuses it
			}
			typed = true
			k, name := blockType(s)
			kinds |= k
			if unbounded == "" {
				unbounded = name
			}
		case m.KeyIs("source"):
			source, sources = m.Value, sources+1
		case m.KeyIs("content"):
			content, conts = m.Value, conts+1
		}
		return true
	})
	if !typed {
		in.flag(unboundedMessages)
		return
	}
	if unbounded != "" {
		in.flag(unbounded)
	}
	if kinds&kindImage != 0 {
		in.images++
	}
	if (sources > 1 && kinds&(kindImage|kindDocument) != 0) || (conts > 1 && kinds&(kindToolResult|kindWebFetch) != 0) {
		in.flag(unboundedMessages)
	}
	if kinds&kindImage != 0 && source != nil {
		in.imageSource(source)
	}
	if kinds&kindDocument != 0 && source != nil {
		in.documentSource(source)
	}
	if kinds&kindToolResult != 0 && content != nil {
		jsonval.EachElem(content, in.block)
	}
	if kinds&kindWebFetch != 0 && len(content) > 0 && content[0] == '{' {
		if doc, _, _, ok := jsonx.Get(content, "content"); ok {
			in.block(doc)
		}
	}
}

// blockType is the rule for the type of a content block: the kinds whose
// members need a look, or the name of an unbounded kind.
func blockType(typ []byte) (kinds uint8, unbounded string) {
	switch string(typ) {
	case "text", "thinking", "redacted_thinking", "tool_use", "search_result", "server_tool_use",
		"web_search_tool_result", "code_execution_tool_result", "bash_code_execution_tool_result",
		"text_editor_code_execution_tool_result", "tool_search_tool_result", "mcp_tool_use",
		"mcp_tool_result", "tool_reference":
		// Content in the body, bounded by its bytes.
	case "image":
		return kindImage, ""
	case "document":
		return kindDocument, ""
	case "tool_result":
		return kindToolResult, ""
	case "web_fetch_tool_result":
		return kindWebFetch, ""
	case "container_upload":
		return 0, unboundedContainerUpload
	default:
		return 0, unboundedMessages
	}
	return 0, ""
}

// sourceTypes calls fn with each string "type" of the source object v and
// returns v's "content" member (the last, with a count of them).
func sourceTypes(v []byte, fn func(typ []byte)) (content []byte, contents int) {
	if len(v) == 0 || v[0] != '{' {
		return nil, 0
	}
	_ = jsonx.Each(v, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("type"):
			if s, ok := jsonval.Contents(m.Value); ok {
				fn(s)
			}
		case m.KeyIs("content"):
			content, contents = m.Value, contents+1
		}
		return true
	})
	return content, contents
}

// imageSource flags an image by Files API ID. Base64 and URL images are
// bounded by their model's image ceiling.
func (in *inputs) imageSource(v []byte) {
	sourceTypes(v, func(typ []byte) {
		if string(typ) == "file" {
			in.flag(unboundedFile)
		}
	})
}

// documentSource applies the document rules to a document's source.
func (in *inputs) documentSource(v []byte) {
	blocks := false
	content, contents := sourceTypes(v, func(typ []byte) {
		switch string(typ) {
		case "text":
		case "content":
			blocks = true
		case "file":
			in.flag(unboundedFile)
		default: // base64 and url: PDFs
			in.flag(unboundedDocument)
		}
	})
	if !blocks {
		return
	}
	if contents > 1 {
		in.flag(unboundedMessages)
	}
	jsonval.EachElem(content, in.block)
}

// tool flags a tool that is not a custom one (no type, or "custom").
func (in *inputs) tool(v []byte) {
	if len(v) == 0 || v[0] != '{' {
		return
	}
	_ = jsonx.Each(v, func(m jsonx.Member) bool {
		if m.KeyIs("type") {
			if s, ok := jsonval.Contents(m.Value); ok && string(s) != "custom" {
				in.flag(unboundedTools)
			}
		}
		return true
	})
}

// contextManagement flags edits other than clearing ones (clear_tool_uses_…,
// clear_thinking_…), which only shrink the context.
func (in *inputs) contextManagement(v []byte) {
	if len(v) == 0 || v[0] != '{' {
		return
	}
	_ = jsonx.Each(v, func(m jsonx.Member) bool {
		if !m.KeyIs("edits") {
			return true
		}
		jsonval.EachElem(m.Value, func(edit []byte) {
			sourceTypes(edit, func(typ []byte) {
				if !bytes.HasPrefix(typ, []byte("clear_")) {
					in.flag(unboundedContextManagement)
				}
			})
		})
		return true
	})
}
