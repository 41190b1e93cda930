package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wicket-gw/wicket/providers"
)

// Request bodies written from the Messages API reference, one per shape.
const (
	imgBase64 = `{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}`
	imgURL    = `{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}`
	imgFile   = `{"type":"image","source":{"type":"file","file_id":"file_011CNha8iCJcU1wXNR6q4V8w"}}`
	docPDF    = `{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQ="}}`
	docURL    = `{"type":"document","source":{"type":"url","url":"https://example.com/a.pdf"}}`
	docFile   = `{"type":"document","source":{"type":"file","file_id":"file_011"}}`
	docText   = `{"type":"document","source":{"type":"text","media_type":"text/plain","data":"The grass is green."},"title":"Facts","citations":{"enabled":true}}`
	docBlocks = `{"type":"document","source":{"type":"content","content":[{"type":"text","text":"A chart:"},` + imgBase64 + `]}}`
	webSearch = `{"type":"web_search_20250305","name":"web_search","max_uses":5}`
	userText  = `{"role":"user","content":"Hello, Claude"}`
)

func userBlocks(blocks ...string) string {
	return `{"role":"user","content":[` + strings.Join(blocks, ",") + `]}`
}

func msgBody(extra string, msgs ...string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[` + strings.Join(msgs, ",") + `]` + extra + `}`
}

type decodeCase struct {
	name      string
	endpoint  providers.Endpoint
	body      string
	model     string
	stream    bool
	max       int64
	images    int64
	unbounded string
}

var decodeCases = []decodeCase{
	{name: "minimal", endpoint: providers.EndpointChat, body: msgBody("", userText), model: "claude-sonnet-4-5", max: 1024},
	{name: "system string, stream, sampling", endpoint: providers.EndpointChat,
		body:  `{"model":"claude-opus-4-1","system":"You are terse.","stream":true,"temperature":0.2,"top_k":5,"stop_sequences":["END"],"max_tokens":64,"messages":[` + userText + `]}`,
		model: "claude-opus-4-1", stream: true, max: 64},
	{name: "system text blocks with cache_control", endpoint: providers.EndpointChat,
		body:  msgBody(`"system":[{"type":"text","text":"Long instructions","cache_control":{"type":"ephemeral","ttl":"1h"}}],"metadata":{"user_id":"u-1","model":5}`, userText),
		model: "claude-sonnet-4-5", max: 1024},
	{name: "custom tools and a tool round trip", endpoint: providers.EndpointChat,
		body: msgBody(`"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"location":{"type":"string"}}}},{"type":"custom","name":"t2","input_schema":{"type":"object"}}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}`,
			userText,
			`{"role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"location":"Oslo","type":"image"}}]}`,
			userBlocks(`{"type":"tool_result","tool_use_id":"toolu_01A","content":"15 degrees"}`, `{"type":"tool_result","tool_use_id":"toolu_01B","is_error":true,"content":[{"type":"text","text":"failed"}]}`)),
		model: "claude-sonnet-4-5", max: 1024},
	{name: "images, in a tool result too", endpoint: providers.EndpointChat,
		body:  msgBody("", userBlocks(imgBase64, imgURL, `{"type":"text","text":"What is this \"type\":\"image\"?"}`), userBlocks(`{"type":"tool_result","tool_use_id":"t","content":[`+imgBase64+`,{"type":"text","text":"shot"}]}`)),
		model: "claude-sonnet-4-5", max: 1024, images: 3},
	{name: "thinking", endpoint: providers.EndpointChat,
		body: msgBody(`"thinking":{"type":"enabled","budget_tokens":2048}`, userText,
			`{"role":"assistant","content":[{"type":"thinking","thinking":"Let me see.","signature":"EqQBCgIYAhIM"},{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},{"type":"text","text":"Hi"}]}`),
		model: "claude-sonnet-4-5", max: 1024},
	{name: "bounded documents and search results", endpoint: providers.EndpointChat,
		body:  msgBody("", userBlocks(docText, docBlocks, `{"type":"search_result","source":"https://example.com","title":"T","content":[{"type":"text","text":"x"}]}`)),
		model: "claude-sonnet-4-5", max: 1024, images: 1},
	{name: "server tool results in the conversation", endpoint: providers.EndpointChat,
		body: msgBody("", userText, `{"role":"assistant","content":[{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"q"}},{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://e.com","title":"E","encrypted_content":"abc"}]},`+
			`{"type":"web_fetch_tool_result","tool_use_id":"srvtoolu_2","content":{"type":"web_fetch_result","url":"https://e.com","content":`+docText+`}}]}`),
		model: "claude-sonnet-4-5", max: 1024},
	{name: "escaped keys and white space", endpoint: providers.EndpointChat,
		body:  ` { "mod\u0065l" : "claude-haiku-4-5" , "max_t\u006fkens" : 8 , "str\u0065am" : false , "messages" : [ ` + userText + ` ] } `,
		model: "claude-haiku-4-5", max: 8},
	{name: "escaped model", endpoint: providers.EndpointChat, body: `{"model":"claude\u002dx\n","max_tokens":1,"messages":[]}`, model: "claude-x\n", max: 1},
	{name: "null stream", endpoint: providers.EndpointChat, body: `{"model":"m","max_tokens":1,"stream":null,"messages":[]}`, model: "m", max: 1},
	{name: "standard speed and global inference", endpoint: providers.EndpointChat,
		body: msgBody(`"speed":"standard","inference_geo":"global","mcp_servers":[],"container":null,"context_management":{"edits":[{"type":"clear_tool_uses_20250919"},{"type":"clear_thinking_20251015"}]}`, userText), model: "claude-sonnet-4-5", max: 1024},
	{name: "count tokens", endpoint: providers.EndpointCountTokens,
		body:  `{"model":"claude-sonnet-4-5","system":"s","messages":[` + userBlocks(imgURL) + `],"tools":[{"name":"f","input_schema":{"type":"object"}}]}`,
		model: "claude-sonnet-4-5", images: 1},
	{name: "count tokens ignores stream and max_tokens", endpoint: providers.EndpointCountTokens,
		body: `{"model":"m","stream":"x","max_tokens":-1,"messages":[]}`, model: "m"},
}

// Requests whose cost the body does not bound.
var inputCases = []decodeCase{
	{name: "web search tool", body: msgBody(`"tools":[{"name":"f","input_schema":{}},`+webSearch+`]`, userText), unbounded: "tools"},
	{name: "client tool Anthropic defines", body: msgBody(`"tools":[{"type":"bash_20250124","name":"bash"}]`, userText), unbounded: "tools"},
	{name: "code execution", body: msgBody(`"tools":[{"type":"code_execution_20250825","name":"code_execution"}]`, userText), unbounded: "tools"},
	{name: "mcp servers", body: msgBody(`"mcp_servers":[{"type":"url","url":"https://mcp.example.com","name":"x"}]`, userText), unbounded: "mcp_servers"},
	{name: "container", body: msgBody(`"container":"container_011"`, userText), unbounded: "container"},
	{name: "pdf inline", body: msgBody("", userBlocks(docPDF)), unbounded: "document"},
	{name: "pdf by url", body: msgBody("", userBlocks(docURL)), unbounded: "document"},
	{name: "document by file", body: msgBody("", userBlocks(docFile)), unbounded: "file"},
	{name: "document source unknown", body: msgBody("", userBlocks(`{"type":"document","source":{"type":"audio"}}`)), unbounded: "document"},
	{name: "image by file", body: msgBody("", userBlocks(imgFile)), images: 1, unbounded: "file"},
	{name: "container upload", body: msgBody("", userBlocks(`{"type":"container_upload","file_id":"file_1"}`)), unbounded: "container_upload"},
	{name: "unknown block", body: msgBody("", userBlocks(`{"type":"audio","source":{}}`)), unbounded: "messages"},
	{name: "untyped block", body: msgBody("", userBlocks(`{"text":"x"}`)), unbounded: "messages"},
	{name: "fast mode", body: msgBody(`"speed":"fast"`, userText), unbounded: "speed"},
	{name: "us inference", body: msgBody(`"inference_geo":"us"`, userText), unbounded: "inference_geo"},
	{name: "compaction", body: msgBody(`"context_management":{"edits":[{"type":"clear_tool_uses_20250919"},{"type":"compact_20260112"}]}`, userText), unbounded: "context_management"},
	{name: "pdf fetched earlier", body: msgBody("", `{"role":"assistant","content":[{"type":"web_fetch_tool_result","tool_use_id":"s","content":{"type":"web_fetch_result","url":"u","content":`+docPDF+`}}]}`), unbounded: "document"},
	{name: "pdf in a tool result", body: msgBody("", userBlocks(`{"type":"tool_result","tool_use_id":"t","content":[`+docURL+`]}`)), unbounded: "document"},
	{name: "image by file in a document", body: msgBody("", userBlocks(`{"type":"document","source":{"type":"content","content":[`+imgFile+`]}}`)), images: 1, unbounded: "file"},
	{name: "two sources", body: msgBody("", userBlocks(`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"x"},"source":{"type":"url","url":"u"}}`)), images: 1, unbounded: "messages"},
	{name: "two types, one an image", body: msgBody("", userBlocks(`{"type":"text","type":"image","source":{"type":"url","url":"u"}}`)), images: 1},
	{name: "escaped type", body: msgBody("", userBlocks(`{"type":"\u0069mage","source":{"type":"fil\u0065","file_id":"f"}}`)), images: 1, unbounded: "file"},
	{name: "first finding named", body: `{"tools":[` + webSearch + `],"model":"m","max_tokens":1,"messages":[` + userBlocks(docPDF) + `],"speed":"fast"}`, unbounded: "tools"},
	{name: "messages before tools", body: `{"model":"m","max_tokens":1,"messages":[` + userBlocks(docPDF) + `],"tools":[` + webSearch + `]}`, unbounded: "document"},
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			req, perr := Decode(tc.endpoint, []byte(tc.body))
			if perr != nil {
				t.Fatalf("Decode: %v", perr)
			}
			if req.Dialect != providers.DialectAnthropic || req.Endpoint != tc.endpoint || req.Choices != 1 || string(req.Body) != tc.body {
				t.Errorf("got dialect %v, endpoint %v, choices %d; want anthropic, %v, 1, the body", req.Dialect, req.Endpoint, req.Choices, tc.endpoint)
			}
			if req.Model != tc.model || req.Stream != tc.stream || req.MaxOutputTokens != tc.max {
				t.Errorf("got model %q stream %v max %d; want %q %v %d", req.Model, req.Stream, req.MaxOutputTokens, tc.model, tc.stream, tc.max)
			}
			wantParam := ""
			if tc.max > 0 {
				wantParam = "max_tokens"
			}
			if req.MaxOutputParam != wantParam {
				t.Errorf("MaxOutputParam = %q; want %q", req.MaxOutputParam, wantParam)
			}
			if req.Images != tc.images || req.Unbounded != tc.unbounded {
				t.Errorf("got images %d unbounded %q; want %d %q", req.Images, req.Unbounded, tc.images, tc.unbounded)
			}
			var m string
			if err := json.Unmarshal([]byte(tc.body[req.ModelStart:req.ModelEnd]), &m); err != nil || m != tc.model {
				t.Errorf("body[ModelStart:ModelEnd] = %q; want the model value", tc.body[req.ModelStart:req.ModelEnd])
			}
			if req.Header != nil {
				t.Errorf("Header = %v; want nil from Decode", req.Header)
			}
		})
	}
}

func TestDecodeInputs(t *testing.T) {
	for _, tc := range inputCases {
		t.Run(tc.name, func(t *testing.T) {
			req, perr := Decode(providers.EndpointChat, []byte(tc.body))
			if perr != nil {
				t.Fatalf("Decode: %v", perr)
			}
			if req.Images != tc.images || req.Unbounded != tc.unbounded {
				t.Errorf("got images %d unbounded %q; want %d %q", req.Images, req.Unbounded, tc.images, tc.unbounded)
			}
		})
	}
}

type refusalCase struct {
	name     string
	endpoint providers.Endpoint
	body     string
	param    string
	code     string
}

var refusalCases = []refusalCase{
	{"empty", providers.EndpointChat, ``, "", "invalid_json"},
	{"not JSON", providers.EndpointChat, `{"model":"` + secret, "", "invalid_json"},
	{"an array", providers.EndpointChat, `[{"model":"m"}]`, "", "invalid_json"},
	{"a string", providers.EndpointChat, `"` + secret + `"`, "", "invalid_json"},
	{"trailing data", providers.EndpointChat, `{"model":"m","max_tokens":1} {}`, "", "invalid_json"},
	{"too deep", providers.EndpointChat, `{"model":"m","max_tokens":1,"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, "", "invalid_json"},
	{"no model", providers.EndpointChat, `{"max_tokens":1,"messages":[{"role":"user","content":"` + secret + `"}]}`, "model", "missing_required_parameter"},
	{"null model", providers.EndpointChat, `{"model":null,"max_tokens":1}`, "model", "missing_required_parameter"},
	{"empty model", providers.EndpointChat, `{"model":"","max_tokens":1}`, "model", "missing_required_parameter"},
	{"model a number", providers.EndpointChat, `{"model":7,"max_tokens":1}`, "model", "invalid_type"},
	{"model an object", providers.EndpointChat, `{"model":{"name":"` + secret + `"},"max_tokens":1}`, "model", "invalid_type"},
	{"model not UTF-8", providers.EndpointChat, "{\"model\":\"" + secret + "\xff\",\"max_tokens\":1}", "model", "invalid_value"},
	{"model twice", providers.EndpointChat, `{"model":"a","max_tokens":1,"model":"` + secret + `"}`, "model", "duplicate_parameter"},
	{"model twice, escaped", providers.EndpointChat, `{"model":"a","max_tokens":1,"m\u006fdel":"b"}`, "model", "duplicate_parameter"},
	{"stream a string", providers.EndpointChat, `{"model":"m","max_tokens":1,"stream":"` + secret + `"}`, "stream", "invalid_type"},
	{"stream twice", providers.EndpointChat, `{"model":"m","max_tokens":1,"stream":false,"stream":true}`, "stream", "duplicate_parameter"},
	{"no max_tokens", providers.EndpointChat, `{"model":"m","messages":[]}`, "max_tokens", "missing_required_parameter"},
	{"null max_tokens", providers.EndpointChat, `{"model":"m","max_tokens":null}`, "max_tokens", "missing_required_parameter"},
	{"zero max_tokens", providers.EndpointChat, `{"model":"m","max_tokens":0}`, "max_tokens", "invalid_value"},
	{"negative max_tokens", providers.EndpointChat, `{"model":"m","max_tokens":-5}`, "max_tokens", "invalid_value"},
	{"fractional max_tokens", providers.EndpointChat, `{"model":"m","max_tokens":1.5}`, "max_tokens", "invalid_type"},
	{"exponent max_tokens", providers.EndpointChat, `{"model":"m","max_tokens":1e3}`, "max_tokens", "invalid_type"},
	{"string max_tokens", providers.EndpointChat, `{"model":"m","max_tokens":"100"}`, "max_tokens", "invalid_type"},
	{"huge max_tokens", providers.EndpointChat, `{"model":"m","max_tokens":99999999999999999999}`, "max_tokens", "invalid_type"},
	{"max_tokens twice, one null", providers.EndpointChat, `{"model":"m","max_tokens":null,"max_tokens":5}`, "max_tokens", "duplicate_parameter"},
	{"count tokens without model", providers.EndpointCountTokens, `{"messages":[]}`, "model", "missing_required_parameter"},
	{"count tokens not JSON", providers.EndpointCountTokens, `{`, "", "invalid_json"},
}

// fixedParams are the only Params a refusal may name.
var fixedParams = []string{"", "model", "stream", "max_tokens"}

func TestDecodeRefusals(t *testing.T) {
	for _, tc := range refusalCases {
		t.Run(tc.name, func(t *testing.T) {
			req, perr := Decode(tc.endpoint, []byte(tc.body))
			if perr == nil {
				t.Fatalf("Decode accepted it: %+v", req)
			}
			if perr.Param != tc.param || perr.Code != tc.code {
				t.Errorf("got param %q code %q; want %q %q", perr.Param, perr.Code, tc.param, tc.code)
			}
			checkRefusal(t, []byte(tc.body), perr)
			if strings.Contains(perr.Message, secret) || strings.Contains(string(perr.Body(providers.DialectAnthropic)), secret) {
				t.Errorf("the refusal quotes the body: %q", perr.Message)
			}
		})
	}
}

func checkRefusal(t *testing.T, body []byte, perr *providers.Error) {
	t.Helper()
	if perr.Status != http.StatusBadRequest || perr.Type != "invalid_request_error" || perr.Message == "" {
		t.Fatalf("refusal %+v; want a 400 invalid_request_error with a message", perr)
	}
	if !slices.Contains(fixedParams, perr.Param) {
		t.Fatalf("Param %q; want one of %q", perr.Param, fixedParams)
	}
	if !strings.HasPrefix(perr.Message, perr.Param) {
		t.Fatalf("Message %q does not name %q", perr.Message, perr.Param)
	}
	switch perr.Code {
	case "invalid_json", "invalid_type", "invalid_value", "missing_required_parameter", "duplicate_parameter":
	default:
		t.Fatalf("Code = %q", perr.Code)
	}
	if perr.Code == "invalid_json" && json.Valid(body) && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) && !tooDeep(body) {
		t.Fatalf("a valid JSON object refused as unparseable")
	}
}

// tooDeep reports whether body nests arrays or objects more than 64
// levels below the top-level object (the picker's documented limit).
func tooDeep(body []byte) bool {
	depth, deepest := 0, 0
	d := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return deepest > 65
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

func TestFrontDoorDecodeHeader(t *testing.T) {
	var door FrontDoor
	body := msgBody("", userText)
	r := httptest.NewRequest(http.MethodPost, "/v1/messages", nil)
	r.Header.Add("anthropic-beta", "prompt-caching-2024-07-31,pdfs-2024-09-25")
	r.Header.Add("Anthropic-Beta", "context-1m-2025-08-07")
	r.Header.Set("Anthropic-Version", "2023-06-01")
	r.Header.Set("X-Api-Key", secret)
	req, perr := door.Decode(routes[0], r, []byte(body))
	if perr != nil {
		t.Fatal(perr)
	}
	want := http.Header{"Anthropic-Beta": {"prompt-caching-2024-07-31,pdfs-2024-09-25", "context-1m-2025-08-07"}}
	if fmt.Sprint(req.Header) != fmt.Sprint(want) {
		t.Errorf("Header = %v; want %v", req.Header, want)
	}
	r.Header.Set("Anthropic-Beta", "changed")
	if req.Header.Get("Anthropic-Beta") == "changed" {
		t.Errorf("Header aliases the client's request headers")
	}
	// No beta: no header; a count tokens route reads as one.
	req, perr = door.Decode(routes[1], httptest.NewRequest(http.MethodPost, "/v1/messages/count_tokens", nil), []byte(`{"model":"m","messages":[]}`))
	if perr != nil || req.Header != nil || req.Endpoint != providers.EndpointCountTokens {
		t.Errorf("count tokens: %+v, %v; want no header, EndpointCountTokens", req, perr)
	}
	if _, perr := door.Decode(routes[0], r, []byte(`{"model":"m"}`)); perr == nil || perr.Param != "max_tokens" {
		t.Errorf("door.Decode without max_tokens: %v", perr)
	}
}

func FuzzDecode(f *testing.F) {
	endpoints := []providers.Endpoint{providers.EndpointChat, providers.EndpointCountTokens}
	for _, tc := range decodeCases {
		f.Add(uint8(slices.Index(endpoints, tc.endpoint)), []byte(tc.body))
	}
	for _, tc := range inputCases {
		f.Add(uint8(0), []byte(tc.body))
	}
	for _, tc := range refusalCases {
		f.Add(uint8(slices.Index(endpoints, tc.endpoint)), []byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, ep uint8, body []byte) {
		endpoint := endpoints[int(ep)%len(endpoints)]
		in := slices.Clone(body)
		req, perr := Decode(endpoint, body)
		if !bytes.Equal(in, body) {
			t.Fatalf("Decode changed its input")
		}
		if perr != nil {
			checkRefusal(t, body, perr)
			return
		}
		checkDecoded(t, endpoint, body, req)
	})
}

// checkDecoded compares what Decode picked with what encoding/json reads
// of the same body.
func checkDecoded(t *testing.T, endpoint providers.Endpoint, body []byte, req *providers.Request) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("accepted invalid JSON")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatalf("accepted a body that is not an object: %v", err)
	}
	if req.Model == "" || !utf8.ValidString(req.Model) {
		t.Fatalf("model %q; want non-empty UTF-8", req.Model)
	}
	var model string
	if err := json.Unmarshal(top["model"], &model); err != nil || model != req.Model {
		t.Fatalf("model %q; encoding/json reads %q (%v)", req.Model, model, err)
	}
	if req.ModelStart < 0 || req.ModelEnd > len(body) || req.ModelStart >= req.ModelEnd {
		t.Fatalf("ModelStart, ModelEnd = %d, %d for %d bytes", req.ModelStart, req.ModelEnd, len(body))
	}
	var span string
	if err := json.Unmarshal(body[req.ModelStart:req.ModelEnd], &span); err != nil || span != req.Model {
		t.Fatalf("body[ModelStart:ModelEnd] reads %q (%v); want %q", span, err, req.Model)
	}
	if endpoint == providers.EndpointChat {
		n, err := strconv.ParseInt(string(top["max_tokens"]), 10, 64)
		if err != nil || n < 1 || n != req.MaxOutputTokens || req.MaxOutputParam != "max_tokens" {
			t.Fatalf("max_tokens %d (%q); encoding/json reads %s", req.MaxOutputTokens, req.MaxOutputParam, top["max_tokens"])
		}
		var stream *bool
		if err := json.Unmarshal(top["stream"], &stream); top["stream"] != nil && err != nil {
			t.Fatalf("accepted stream %s", top["stream"])
		}
		if (stream != nil && *stream) != req.Stream {
			t.Fatalf("stream %v; encoding/json reads %s", req.Stream, top["stream"])
		}
	} else if req.Stream || req.MaxOutputTokens != 0 || req.MaxOutputParam != "" {
		t.Fatalf("count tokens with stream %v, max %d", req.Stream, req.MaxOutputTokens)
	}
	if req.Choices != 1 || req.Images < 0 {
		t.Fatalf("choices %d images %d", req.Choices, req.Images)
	}
	switch req.Unbounded {
	case "", unboundedMessages, unboundedDocument, unboundedFile, unboundedContainerUpload, unboundedTools, unboundedContainer,
		unboundedMCPServers, unboundedContextManagement, unboundedSpeed, unboundedInferenceGeo:
	default:
		t.Fatalf("Unbounded %q is not a fixed name", req.Unbounded)
	}
	if !bytes.ContainsRune(body, '\\') && req.Images > int64(bytes.Count(body, []byte(`"image"`))) {
		t.Fatalf("%d images from %d \"image\" strings", req.Images, bytes.Count(body, []byte(`"image"`)))
	}
}

// benchBody returns a Messages request of about size bytes: a system
// prompt, tools, and a conversation of text turns with two images.
func benchBody(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"model":"claude-sonnet-4-5","max_tokens":4096,"stream":true,"system":[{"type":"text","text":"You are a helpful assistant.","cache_control":{"type":"ephemeral"}}],`)
	b.WriteString(`"tools":[{"name":"get_weather","description":"Get the weather","input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}],"messages":[`)
	b.WriteString(userBlocks(imgURL, imgBase64, `{"type":"text","text":"Describe these."}`))
	for i := 0; b.Len() < size; i++ {
		role := "assistant"
		if i%2 == 1 {
			role = "user"
		}
		fmt.Fprintf(&b, `,{"role":%q,"content":[{"type":"text","text":"Turn %d: %s"}]}`, role, i, strings.Repeat("lorem ipsum dolor sit amet ", 12))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func BenchmarkDecode(b *testing.B) {
	body := benchBody(20_000)
	if !json.Valid(body) {
		b.Fatal("invalid benchmark body")
	}
	b.Run("messages-20KB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			req, perr := Decode(providers.EndpointChat, body)
			if perr != nil || req.Images != 2 {
				b.Fatal(perr)
			}
		}
	})
}
