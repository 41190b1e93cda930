package openai

import (
	"bytes"
	"encoding/json"
	"io"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/providers"
)

// decoded is what a test compares of a decoded Request.
type decoded struct {
	Model           string
	Stream          bool
	IncludeUsage    bool
	MaxOutputTokens int64
	// Images and Unbounded are zero for every text-only case.
	Images    int64
	Unbounded string
}

type decodeCase struct {
	name     string
	endpoint providers.Endpoint
	body     string
	want     decoded
	span     string // the model value as it appears in body, quotes included
}

var decodeCases = []decodeCase{
	// model
	{"chat minimal", providers.EndpointChat, `{"model":"gpt-4o","messages":[]}`, decoded{Model: "gpt-4o"}, `"gpt-4o"`},
	{"model last", providers.EndpointChat, `{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o"}`, decoded{Model: "gpt-4o"}, `"gpt-4o"`},
	{"white space", providers.EndpointChat, " \n\t{ \"model\" :\n \"m-1\" , \"stream\" : true }\r\n", decoded{Model: "m-1", Stream: true}, `"m-1"`},
	{"escaped value", providers.EndpointChat, `{"model":"gpt\u002d4o"}`, decoded{Model: "gpt-4o"}, `"gpt\u002d4o"`},
	{"escaped quote in value", providers.EndpointChat, `{"model":"a\"b"}`, decoded{Model: `a"b`}, `"a\"b"`},
	{"escaped key", providers.EndpointChat, `{"mod\u0065l":"m"}`, decoded{Model: "m"}, `"m"`},
	{"unicode value", providers.EndpointChat, `{"model":"modèle-é"}`, decoded{Model: "modèle-é"}, `"modèle-é"`},
	{"nested model ignored", providers.EndpointChat, `{"metadata":{"model":"nested"},"messages":[{"model":"x"}],"model":"top"}`, decoded{Model: "top"}, `"top"`},
	{"model-like keys ignored", providers.EndpointChat, `{"Model":"upper","models":"plural","model":"m"}`, decoded{Model: "m"}, `"m"`},

	// stream
	{"stream true", providers.EndpointChat, `{"model":"m","stream":true}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"stream false", providers.EndpointChat, `{"model":"m","stream":false}`, decoded{Model: "m"}, `"m"`},
	{"stream null", providers.EndpointChat, `{"model":"m","stream":null}`, decoded{Model: "m"}, `"m"`},
	{"stream before model", providers.EndpointResponses, `{"stream":true,"model":"m"}`, decoded{Model: "m", Stream: true}, `"m"`},

	// stream_options.include_usage
	{"include_usage true", providers.EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, decoded{Model: "m", Stream: true, IncludeUsage: true}, `"m"`},
	{"include_usage false", providers.EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":false}}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"include_usage null", providers.EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":null}}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"include_usage missing", providers.EndpointChat, `{"model":"m","stream":true,"stream_options":{"other":1}}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"stream_options empty", providers.EndpointChat, `{"model":"m","stream":true,"stream_options":{}}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"stream_options null", providers.EndpointChat, `{"model":"m","stream":true,"stream_options":null}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"include_usage without stream", providers.EndpointChat, `{"model":"m","stream_options":{"include_usage":true}}`, decoded{Model: "m", IncludeUsage: true}, `"m"`},
	{"include_usage after nested objects", providers.EndpointChat, `{"model":"m","stream_options":{"x":{"include_usage":false},"include_usage":true}}`, decoded{Model: "m", IncludeUsage: true}, `"m"`},

	// output-token caps
	{"max_tokens", providers.EndpointChat, `{"model":"m","max_tokens":100}`, decoded{Model: "m", MaxOutputTokens: 100}, `"m"`},
	{"max_completion_tokens", providers.EndpointChat, `{"model":"m","max_completion_tokens":200}`, decoded{Model: "m", MaxOutputTokens: 200}, `"m"`},
	{"both caps: the larger", providers.EndpointChat, `{"model":"m","max_tokens":300,"max_completion_tokens":200}`, decoded{Model: "m", MaxOutputTokens: 300}, `"m"`},
	{"both caps, other order", providers.EndpointChat, `{"max_completion_tokens":500,"model":"m","max_tokens":20}`, decoded{Model: "m", MaxOutputTokens: 500}, `"m"`},
	{"cap null", providers.EndpointChat, `{"model":"m","max_tokens":null,"max_completion_tokens":null}`, decoded{Model: "m"}, `"m"`},
	{"cap zero", providers.EndpointChat, `{"model":"m","max_tokens":0}`, decoded{Model: "m"}, `"m"`},
	{"cap large", providers.EndpointChat, `{"model":"m","max_tokens":9223372036854775807}`, decoded{Model: "m", MaxOutputTokens: 1<<63 - 1}, `"m"`},
	{"max_output_tokens ignored for chat", providers.EndpointChat, `{"model":"m","max_output_tokens":"not checked"}`, decoded{Model: "m"}, `"m"`},
	{"responses max_output_tokens", providers.EndpointResponses, `{"model":"m","input":"hi","max_output_tokens":64}`, decoded{Model: "m", MaxOutputTokens: 64}, `"m"`},
	{"responses ignores chat caps", providers.EndpointResponses, `{"model":"m","max_tokens":"x","max_completion_tokens":-1}`, decoded{Model: "m"}, `"m"`},
	{"responses stream", providers.EndpointResponses, `{"model":"m","stream":true,"max_output_tokens":null}`, decoded{Model: "m", Stream: true}, `"m"`},

	// embeddings
	{"embeddings", providers.EndpointEmbeddings, `{"model":"text-embedding-3-small","input":"hello"}`, decoded{Model: "text-embedding-3-small"}, `"text-embedding-3-small"`},
	{"embeddings never stream", providers.EndpointEmbeddings, `{"model":"e","input":["a"],"stream":true}`, decoded{Model: "e"}, `"e"`},
	{"embeddings ignore caps", providers.EndpointEmbeddings, `{"model":"e","max_tokens":"x","max_output_tokens":7}`, decoded{Model: "e"}, `"e"`},
}

func TestDecodeOpenAI(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			req, perr := Decode(tc.endpoint, body)
			if perr != nil {
				t.Fatalf("Decode: %v", perr)
			}
			got := decoded{req.Model, req.Stream, req.IncludeUsage, req.MaxOutputTokens, req.Images, req.Unbounded}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			if req.Dialect != providers.DialectOpenAI || req.Endpoint != tc.endpoint {
				t.Errorf("Dialect, Endpoint = %v, %v; want openai, %v", req.Dialect, req.Endpoint, tc.endpoint)
			}
			if !bytes.Equal(req.Body, body) {
				t.Errorf("Body = %s; want the body unchanged", req.Body)
			}
			if req.ModelStart < 0 || req.ModelEnd > len(body) || req.ModelStart >= req.ModelEnd {
				t.Fatalf("ModelStart, ModelEnd = %d, %d; out of range for %d bytes", req.ModelStart, req.ModelEnd, len(body))
			}
			if span := string(body[req.ModelStart:req.ModelEnd]); span != tc.span {
				t.Errorf("Body[ModelStart:ModelEnd] = %s; want %s", span, tc.span)
			}
			// The span is where a rewrite goes: the body must stay an
			// object with the new model in it.
			rewritten := slices.Concat(body[:req.ModelStart], []byte(`"upstream-x"`), body[req.ModelEnd:])
			again, perr := Decode(tc.endpoint, rewritten)
			if perr != nil || again.Model != "upstream-x" {
				t.Errorf("after rewriting the span: model %v, error %v; want upstream-x", again, perr)
			}
		})
	}
}

// decodeCanary is in every refused body; no error may repeat it.
const decodeCanary = "CANARY-b7e2c91f"

var fixedMessages = map[string]bool{
	"We could not parse the JSON body of your request. The body must be a JSON object.": true,
	"Invalid type for 'model': expected a string.":                                      true,
	"Invalid value for 'model': expected valid UTF-8.":                                  true,
	"Invalid type for 'stream_options': expected an object.":                            true,
	"The parameter 'model' appears more than once.":                                     true,
	"The parameter 'stream' appears more than once.":                                    true,
	"The parameter 'stream_options' appears more than once.":                            true,
	"The parameter 'stream_options.include_usage' appears more than once.":              true,
	"The parameter 'max_tokens' appears more than once.":                                true,
	"The parameter 'max_completion_tokens' appears more than once.":                     true,
	"The parameter 'max_output_tokens' appears more than once.":                         true,
	"The parameter 'n' appears more than once.":                                         true,
	"Invalid value for 'n': expected an integer from 1 to 128.":                         true,
	"Invalid type for 'stream': expected a boolean.":                                    true,
	"Invalid type for 'stream_options.include_usage': expected a boolean.":              true,
	"Invalid value for 'max_tokens': expected a non-negative integer.":                  true,
	"Invalid value for 'max_completion_tokens': expected a non-negative integer.":       true,
	"Invalid value for 'max_output_tokens': expected a non-negative integer.":           true,
	"You must provide a model parameter.":                                               true,
}

var fixedParams = []string{"", "model", "stream", "stream_options", "stream_options.include_usage", "max_tokens", "max_completion_tokens", "max_output_tokens", "n"}

type refusalCase struct {
	name     string
	endpoint providers.Endpoint
	body     string
	param    string
	code     string
}

// Every body carries the decodeCanary, so that a message quoting the body shows.
var refusalCases = []refusalCase{
	{"empty body", providers.EndpointChat, ``, "", "invalid_json"},
	{"truncated", providers.EndpointChat, `{"model":"` + decodeCanary, "", "invalid_json"},
	{"trailing garbage", providers.EndpointChat, `{"model":"m"} ` + decodeCanary, "", "invalid_json"},
	{"two objects", providers.EndpointChat, `{"model":"m"}{"x":"` + decodeCanary + `"}`, "", "invalid_json"},
	{"single quotes", providers.EndpointChat, `{'model':'` + decodeCanary + `'}`, "", "invalid_json"},
	{"array", providers.EndpointChat, `["` + decodeCanary + `"]`, "", "invalid_json"},
	{"string", providers.EndpointChat, `"` + decodeCanary + `"`, "", "invalid_json"},
	{"null", providers.EndpointChat, `null`, "", "invalid_json"},
	{"number", providers.EndpointChat, `42`, "", "invalid_json"},
	{"model number", providers.EndpointChat, `{"model":42,"messages":"` + decodeCanary + `"}`, "model", "invalid_type"},
	{"model null", providers.EndpointChat, `{"model":null,"messages":"` + decodeCanary + `"}`, "model", "invalid_type"},
	{"model array", providers.EndpointChat, `{"model":["` + decodeCanary + `"]}`, "model", "invalid_type"},
	{"model object", providers.EndpointEmbeddings, `{"model":{"name":"` + decodeCanary + `"}}`, "model", "invalid_type"},
	{"model bool", providers.EndpointResponses, `{"model":true,"input":"` + decodeCanary + `"}`, "model", "invalid_type"},
	{"model missing", providers.EndpointChat, `{"messages":[{"role":"user","content":"` + decodeCanary + `"}]}`, "model", "missing_required_parameter"},
	{"model empty", providers.EndpointChat, `{"model":"","messages":"` + decodeCanary + `"}`, "model", "missing_required_parameter"},
	{"model only nested", providers.EndpointChat, `{"metadata":{"model":"` + decodeCanary + `"}}`, "model", "missing_required_parameter"},
	{"empty object", providers.EndpointEmbeddings, `{}`, "model", "missing_required_parameter"},
	{"model duplicate", providers.EndpointChat, `{"model":"` + decodeCanary + `","model":""}`, "model", "duplicate_parameter"},
	{"model duplicate, same value", providers.EndpointChat, `{"model":"m","model":"m","x":"` + decodeCanary + `"}`, "model", "duplicate_parameter"},
	{"stream duplicate", providers.EndpointChat, `{"model":"` + decodeCanary + `","stream":true,"stream":null}`, "stream", "duplicate_parameter"},
	{"stream_options duplicate", providers.EndpointChat, `{"model":"` + decodeCanary + `","stream_options":{"include_usage":true},"stream_options":null}`, "stream_options", "duplicate_parameter"},
	{"include_usage duplicate", providers.EndpointChat, `{"model":"` + decodeCanary + `","stream_options":{"include_usage":true,"include_usage":false}}`, "stream_options.include_usage", "duplicate_parameter"},
	{"cap duplicate", providers.EndpointChat, `{"model":"` + decodeCanary + `","max_tokens":1,"max_tokens":null}`, "max_tokens", "duplicate_parameter"},
	{"cap duplicate, escaped", providers.EndpointChat, `{"model":"` + decodeCanary + `","max_tokens":1,"max\u005ftokens":2}`, "max_tokens", "duplicate_parameter"},
	{"stream_options not an object", providers.EndpointChat, `{"model":"` + decodeCanary + `","stream_options":[true]}`, "stream_options", "invalid_type"},
	{"invalid UTF-8 model", providers.EndpointChat, "{\"model\":\"gpt\xff\",\"x\":\"" + decodeCanary + "\"}", "model", "invalid_value"},
	{"stream string", providers.EndpointChat, `{"model":"` + decodeCanary + `","stream":"true"}`, "stream", "invalid_type"},
	{"stream number", providers.EndpointChat, `{"model":"m","stream":1,"x":"` + decodeCanary + `"}`, "stream", "invalid_type"},
	{"stream wrong type on embeddings", providers.EndpointEmbeddings, `{"model":"m","stream":"` + decodeCanary + `"}`, "stream", "invalid_type"},
	{"include_usage string", providers.EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":"` + decodeCanary + `"}}`, "stream_options.include_usage", "invalid_type"},
	{"include_usage number", providers.EndpointChat, `{"model":"` + decodeCanary + `","stream_options":{"include_usage":1}}`, "stream_options.include_usage", "invalid_type"},
	{"max_tokens negative", providers.EndpointChat, `{"model":"` + decodeCanary + `","max_tokens":-1}`, "max_tokens", "invalid_type"},
	{"max_tokens fraction", providers.EndpointChat, `{"model":"` + decodeCanary + `","max_tokens":1.5}`, "max_tokens", "invalid_type"},
	{"max_tokens exponent", providers.EndpointChat, `{"model":"` + decodeCanary + `","max_tokens":1e3}`, "max_tokens", "invalid_type"},
	{"max_tokens string", providers.EndpointChat, `{"model":"m","max_tokens":"` + decodeCanary + `"}`, "max_tokens", "invalid_type"},
	{"max_tokens overflow", providers.EndpointChat, `{"model":"` + decodeCanary + `","max_tokens":9223372036854775808}`, "max_tokens", "invalid_type"},
	{"max_completion_tokens negative", providers.EndpointChat, `{"model":"` + decodeCanary + `","max_completion_tokens":-5}`, "max_completion_tokens", "invalid_type"},
	{"max_completion_tokens bool", providers.EndpointChat, `{"model":"` + decodeCanary + `","max_completion_tokens":true}`, "max_completion_tokens", "invalid_type"},
	{"max_output_tokens string", providers.EndpointResponses, `{"model":"` + decodeCanary + `","max_output_tokens":"10"}`, "max_output_tokens", "invalid_type"},
	{"max_output_tokens object", providers.EndpointResponses, `{"model":"m","max_output_tokens":{"n":"` + decodeCanary + `"}}`, "max_output_tokens", "invalid_type"},
	{"n zero", providers.EndpointChat, `{"model":"` + decodeCanary + `","n":0}`, "n", "invalid_value"},
	{"n too large", providers.EndpointChat, `{"model":"` + decodeCanary + `","n":129}`, "n", "invalid_value"},
	{"n fraction", providers.EndpointChat, `{"model":"` + decodeCanary + `","n":1.5}`, "n", "invalid_value"},
	{"n duplicate", providers.EndpointChat, `{"model":"` + decodeCanary + `","n":1,"n":2}`, "n", "duplicate_parameter"},
	{"escaped cap key", providers.EndpointChat, `{"model":"` + decodeCanary + `","max\u005ftokens":-1}`, "max_tokens", "invalid_type"},
}

func TestDecodeOpenAIRefuses(t *testing.T) {
	for _, tc := range refusalCases {
		t.Run(tc.name, func(t *testing.T) {
			req, perr := Decode(tc.endpoint, []byte(tc.body))
			if perr == nil {
				t.Fatalf("Decode succeeded with %+v; want a 400", req)
			}
			if req != nil {
				t.Errorf("Decode returned a Request with its error")
			}
			got := providers.Error{Status: perr.Status, Type: perr.Type, Param: perr.Param, Code: perr.Code}
			want := providers.Error{Status: 400, Type: "invalid_request_error", Param: tc.param, Code: tc.code}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if !fixedMessages[perr.Message] {
				t.Errorf("Message = %q; want one of the fixed messages", perr.Message)
			}
			if tc.param != "" && !strings.Contains(perr.Message, "'"+tc.param+"'") && tc.code == "invalid_type" {
				t.Errorf("Message = %q; want it to name %q", perr.Message, tc.param)
			}
			for _, s := range []string{perr.Message, perr.Error(), string(perr.Body(providers.DialectOpenAI))} {
				if strings.Contains(s, decodeCanary) {
					t.Errorf("%q quotes the body", s)
				}
			}
		})
	}
}

// TestDecodeOpenAIDepth documents the nesting limit of the picker: a valid
// body nested deeper than 64 levels inside a member is refused as
// unparseable.
func TestDecodeOpenAIDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		depth int
		ok    bool
	}{{1, true}, {64, true}, {65, false}} {
		body := `{"model":"m","tools":` + nest(tc.depth) + `}`
		_, perr := Decode(providers.EndpointChat, []byte(body))
		if (perr == nil) != tc.ok {
			t.Errorf("depth %d: error %v; want ok=%v", tc.depth, perr, tc.ok)
		}
	}
}

var endpoints = []providers.Endpoint{providers.EndpointChat, providers.EndpointEmbeddings, providers.EndpointResponses}

func FuzzDecodeOpenAI(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add(uint8(slices.Index(endpoints, tc.endpoint)), []byte(tc.body))
	}
	for _, tc := range refusalCases {
		f.Add(uint8(slices.Index(endpoints, tc.endpoint)), []byte(tc.body))
	}
	for _, tc := range inputCases {
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
		checkInputs(t, endpoint, body, req)
	})
}

func checkRefusal(t *testing.T, body []byte, perr *providers.Error) {
	t.Helper()
	if perr.Status != 400 || perr.Type != "invalid_request_error" {
		t.Fatalf("error %d %q; want 400 invalid_request_error", perr.Status, perr.Type)
	}
	if !fixedMessages[perr.Message] || !slices.Contains(fixedParams, perr.Param) {
		t.Fatalf("Message %q, Param %q; want fixed text", perr.Message, perr.Param)
	}
	switch perr.Code {
	case "invalid_json", "invalid_type", "invalid_value", "missing_required_parameter", "duplicate_parameter":
	default:
		t.Fatalf("Code = %q", perr.Code)
	}
	if perr.Code == "invalid_json" && json.Valid(body) && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) &&
		!tooDeep(body) {
		t.Fatalf("valid JSON object refused as unparseable")
	}
}

// tooDeep reports whether body nests arrays or objects more than 64 levels
// deep below the top-level object (the picker's documented limit).
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

func checkDecoded(t *testing.T, endpoint providers.Endpoint, body []byte, req *providers.Request) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("accepted invalid JSON")
	}
	if req.Model == "" {
		t.Fatalf("accepted an empty model")
	}
	if req.ModelStart < 0 || req.ModelEnd > len(body) || req.ModelStart >= req.ModelEnd {
		t.Fatalf("ModelStart, ModelEnd = %d, %d for %d bytes", req.ModelStart, req.ModelEnd, len(body))
	}
	span := body[req.ModelStart:req.ModelEnd]
	var s string
	if err := json.Unmarshal(span, &s); err != nil {
		t.Fatalf("Body[ModelStart:ModelEnd] = %s does not decode: %v", span, err)
	}
	if s != req.Model {
		t.Fatalf("span decodes to %q; Model = %q", s, req.Model)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatalf("accepted a body encoding/json refuses as an object: %v", err)
	}
	// encoding/json keeps the last of duplicate members, as Decode
	// does for top-level members.
	if !bytes.Equal(top["model"], span) {
		t.Fatalf(`encoding/json's "model" is %s; the span is %s`, top["model"], span)
	}
	// Beyond this point the reference is encoding/json, which keeps the
	// last of duplicate members, as OpenAI's own decoder does.
	mismatch := func(format string, args ...any) {
		t.Helper()
		if hasDuplicateKeys(body) || hasDuplicateKeys(top["stream_options"]) {
			// Duplicates of the members Decode reads are refused, so
			// these are duplicates of others, inside stream_options.
			t.Skip("duplicate members the decoder does not read")
		}
		t.Fatalf(format, args...)
	}
	wantStream := false
	if endpoint != providers.EndpointEmbeddings {
		_ = json.Unmarshal(top["stream"], &wantStream)
	}
	if req.Stream != wantStream {
		mismatch("stream %s; Stream = %v", top["stream"], req.Stream)
	}
	wantUsage := false
	var opts map[string]json.RawMessage
	if json.Unmarshal(top["stream_options"], &opts) == nil {
		_ = json.Unmarshal(opts["include_usage"], &wantUsage)
	}
	if wantUsage != req.IncludeUsage {
		mismatch("include_usage per encoding/json = %v; IncludeUsage = %v", wantUsage, req.IncludeUsage)
	}
	var caps []string
	switch endpoint {
	case providers.EndpointChat:
		caps = []string{"max_tokens", "max_completion_tokens"}
	case providers.EndpointResponses:
		caps = []string{"max_output_tokens"}
	}
	var want int64
	for _, k := range caps {
		v, ok := top[k]
		if !ok || string(v) == "null" {
			continue
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 0 {
			t.Fatalf("accepted %s: %s", k, v)
		}
		want = max(want, n)
	}
	if req.MaxOutputTokens != want {
		mismatch("MaxOutputTokens = %d; want %d", req.MaxOutputTokens, want)
	}
}

// hasDuplicateKeys reports whether the JSON object in data has a key twice
// at its top level.
func hasDuplicateKeys(data []byte) bool {
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) != nil {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(data))
	if _, err := d.Token(); err != nil {
		return false
	}
	n := 0
	for d.More() {
		if _, err := d.Token(); err != nil {
			return false
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return false
		}
		n++
	}
	return n != len(members)
}

func TestDecodeOpenAIChoices(t *testing.T) {
	for _, tc := range []struct {
		endpoint providers.Endpoint
		body     string
		want     int64
	}{
		{providers.EndpointChat, `{"model":"m"}`, 1},
		{providers.EndpointChat, `{"model":"m","n":3}`, 3},
		{providers.EndpointChat, `{"model":"m","n":null}`, 1},
		{providers.EndpointResponses, `{"model":"m","n":"not read"}`, 1},
	} {
		req, perr := Decode(tc.endpoint, []byte(tc.body))
		if perr != nil || req.Choices != tc.want {
			t.Errorf("%s: Choices %v, %v; want %d", tc.body, req, perr, tc.want)
		}
	}
}

// benchBody returns a chat (or responses) body of about size bytes: a
// system prompt, alternating turns of prose, and one user turn with parts
// (text and an image by URL), as a typical multi-turn vision request.
func benchBody(endpoint providers.Endpoint, size int) []byte {
	prose := strings.Repeat(`The quick brown fox jumps over the lazy dog; \"quoted\" text\n and more. `, 8)
	var b strings.Builder
	msgs, textPart, imagePart := "messages", "text", `{"type":"image_url","image_url":{"url":"https://example.com/cat.png","detail":"high"}}`
	if endpoint == providers.EndpointResponses {
		msgs, textPart, imagePart = "input", "input_text", `{"type":"input_image","image_url":"https://example.com/cat.png","detail":"high"}`
	}
	b.WriteString(`{"model":"gpt-4o-mini","stream":true,"max_tokens":512,"` + msgs + `":[{"role":"system","content":"You are terse."}`)
	for i := 0; b.Len() < size-1000; i++ {
		role := []string{"user", "assistant"}[i%2]
		b.WriteString(`,{"role":"` + role + `","content":"` + prose + `"}`)
	}
	b.WriteString(`,{"role":"user","content":[{"type":"` + textPart + `","text":"` + prose + `"},` + imagePart + `]}]}`)
	return []byte(b.String())
}

func BenchmarkDecodeOpenAI(b *testing.B) {
	for _, endpoint := range []providers.Endpoint{providers.EndpointChat, providers.EndpointResponses} {
		body := benchBody(endpoint, 20_000)
		if !json.Valid(body) {
			b.Fatalf("invalid benchmark body")
		}
		b.Run(string(endpoint)+"-20KB", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, perr := Decode(endpoint, body); perr != nil {
					b.Fatal(perr)
				}
			}
		})
	}
}

type inputCase struct {
	name      string
	endpoint  providers.Endpoint
	body      string
	images    int64
	unbounded string
}

// chatImage is a chat content part holding an image by URL.
const chatImage = `{"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"high"}}`

// respImage is a responses content part holding an image by URL.
const respImage = `{"type":"input_image","image_url":"https://example.com/a.png","detail":"high"}`

var inputCases = []inputCase{
	// Chat: text only.
	{"chat string content", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":"hi [image_url] \"type\":\"file\""}]}`, 0, ""},
	{"chat text parts", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`, 0, ""},
	{"chat refusal part", providers.EndpointChat, `{"model":"m","messages":[{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]}]}`, 0, ""},
	{"chat string parts", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":["a","b"]}]}`, 0, ""},
	{"chat function tools", providers.EndpointChat, `{"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}},{"type":"custom","custom":{"name":"c"}}],"messages":[]}`, 0, ""},
	{"chat tools with tool messages", providers.EndpointChat, `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"1","content":[{"type":"text","text":"42"}]}]}`, 0, ""},
	{"chat standard tiers", providers.EndpointChat, `{"model":"m","service_tier":"flex","messages":[{"role":"user","content":"x"}],"modalities":["text"],"audio":null,"web_search_options":null}`, 0, ""},
	{"chat prediction and moderation", providers.EndpointChat, `{"model":"m","prediction":{"type":"content","content":"x"},"moderation":{"model":"omni-moderation-latest"},"messages":[]}`, 0, ""},

	// Chat: images.
	{"chat one image", providers.EndpointChat, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},` + chatImage + `]}]}`, 1, ""},
	{"chat images across messages", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[` + chatImage + `,` + chatImage + `]},{"role":"assistant","content":"ok"},{"role":"user","content":[` + chatImage + `]}]}`, 3, ""},
	{"chat image in any role", providers.EndpointChat, `{"model":"m","messages":[{"role":"system","content":[` + chatImage + `]},{"role":"tool","content":[` + chatImage + `]}]}`, 2, ""},
	{"chat messages repeated: both counted", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[` + chatImage + `]}],"messages":[{"role":"user","content":[` + chatImage + `]}]}`, 2, ""},
	{"chat content repeated: both counted", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[` + chatImage + `],"content":[` + chatImage + `]}]}`, 2, ""},

	// Chat: unbounded inputs.
	{"chat input_audio", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`, 0, "input_audio"},
	{"chat file", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, 0, "file"},
	{"chat file after an image", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[` + chatImage + `,{"type":"file","file":{"file_data":"JVBERi0="}}]}]}`, 1, "file"},
	{"chat unknown part", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"input_video","url":"x"}]}]}`, 0, "messages"},
	{"chat untyped part", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":["look",{"image":"iVBORw0KGgo=","resize":512}]}]}`, 0, "messages"},
	{"chat part with null type", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":null,"image_url":{"url":"x"}}]}]}`, 0, "messages"},
	{"chat part with numeric type", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":3}]}]}`, 0, "messages"},
	{"chat audio output", providers.EndpointChat, `{"model":"gpt-4o-audio-preview","audio":{"voice":"alloy","format":"wav"},"messages":[]}`, 0, "audio"},
	{"chat audio modality", providers.EndpointChat, `{"model":"m","modalities":["text","audio"],"messages":[]}`, 0, "modalities"},
	{"chat earlier audio by ID", providers.EndpointChat, `{"model":"m","messages":[{"role":"assistant","audio":{"id":"audio_1"}},{"role":"user","content":"again"}]}`, 0, "audio"},
	{"chat web search", providers.EndpointChat, `{"model":"gpt-4o-search-preview","web_search_options":{},"messages":[]}`, 0, "web_search_options"},
	{"chat hosted tool", providers.EndpointChat, `{"model":"m","tools":[{"type":"function","function":{"name":"f"}},{"type":"web_search"}],"messages":[]}`, 0, "tools"},
	{"chat namespace is not a chat tool", providers.EndpointChat, `{"model":"m","tools":[{"type":"namespace","tools":[]}]}`, 0, "tools"},
	{"chat priority tier", providers.EndpointChat, `{"model":"m","service_tier":"priority","messages":[]}`, 0, "service_tier"},
	{"chat fast tier", providers.EndpointChat, `{"model":"m","service_tier":"fast"}`, 0, "service_tier"},
	{"chat first finding wins", providers.EndpointChat, `{"model":"m","audio":{"voice":"alloy"},"messages":[{"role":"user","content":[{"type":"file","file":{}}]}],"web_search_options":{}}`, 0, "audio"},
	{"chat first finding in order", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{}},{"type":"input_audio"}]}],"audio":{}}`, 0, "file"},

	// Chat: escapes and duplicates.
	{"chat escaped type key", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"\u0074ype":"image_url","image_url":{"url":"x"}}]}]}`, 1, ""},
	{"chat escaped type value", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"image\u005furl","image_url":{"url":"x"}}]}]}`, 1, ""},
	{"chat escaped containers", providers.EndpointChat, `{"model":"m","m\u0065ssages":[{"role":"user","\u0063ontent":[{"type":"\u0066ile"}]}]}`, 0, "file"},
	{"chat escaped audio modality", providers.EndpointChat, `{"model":"m","modalitie\u0073":["\u0061udio"]}`, 0, "modalities"},
	{"chat escaped tier", providers.EndpointChat, `{"model":"m","service_tier":"pr\u0069ority"}`, 0, "service_tier"},
	{"chat duplicate types, one an image", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","type":"image_url","image_url":{"url":"x"}}]}]}`, 1, ""},
	{"chat duplicate types, image first", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","text":"x","type":"text"}]}]}`, 1, ""},
	{"chat duplicate types, one unbounded", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","type":"input_audio"}]}]}`, 1, "input_audio"},
	{"chat duplicate types, null and image", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":null,"type":"image_url"}]}]}`, 1, ""},
	{"chat many duplicate types", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","type":"text","type":"text","type":"text","type":"text","type":"file"}]}]}`, 0, "file"},

	// Chat: nulls and wrong types are not counted.
	{"chat messages null", providers.EndpointChat, `{"model":"m","messages":null}`, 0, ""},
	{"chat messages object", providers.EndpointChat, `{"model":"m","messages":{"content":[` + chatImage + `]}}`, 0, ""},
	{"chat message not an object", providers.EndpointChat, `{"model":"m","messages":[null,1,"x",[` + chatImage + `]]}`, 0, ""},
	{"chat content object", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":` + chatImage + `}]}`, 0, ""},
	{"chat content parts null", providers.EndpointChat, `{"model":"m","messages":[{"role":"user","content":[null,1,true,[` + chatImage + `]]}]}`, 0, ""},
	{"chat modalities wrong type", providers.EndpointChat, `{"model":"m","modalities":"audio"}`, 0, ""},
	{"chat tools wrong types", providers.EndpointChat, `{"model":"m","tools":[null,"web_search",{"type":null},{"type":7}],"service_tier":3}`, 0, ""},
	{"chat responses fields ignored", providers.EndpointChat, `{"model":"m","input":[{"type":"input_file"}],"previous_response_id":"r","background":true}`, 0, ""},
	{"chat nested messages ignored", providers.EndpointChat, `{"model":"m","metadata":{"messages":[{"content":[` + chatImage + `]}]}}`, 0, ""},

	// Embeddings: bounded by bytes, nothing to report.
	{"embeddings", providers.EndpointEmbeddings, `{"model":"e","input":[{"type":"input_file"}],"messages":[{"content":[` + chatImage + `]}],"audio":{}}`, 0, ""},

	// Responses: text only.
	{"responses string input", providers.EndpointResponses, `{"model":"m","input":"hi"}`, 0, ""},
	{"responses easy message", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":"hi"}]}`, 0, ""},
	{"responses text parts", providers.EndpointResponses, `{"model":"m","instructions":"be brief","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"a"}]},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"b"},{"type":"refusal","refusal":"c"}]}]}`, 0, ""},
	{"responses function round trip", providers.EndpointResponses, `{"model":"m","tools":[{"type":"function","name":"f","parameters":{}},{"type":"custom","name":"c"}],"input":[{"type":"function_call","call_id":"1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"1","output":"42"},{"type":"custom_tool_call_output","call_id":"2","output":[{"type":"input_text","text":"x"}]}]}`, 0, ""},
	{"responses namespace of functions", providers.EndpointResponses, `{"model":"m","tools":[{"type":"namespace","name":"crm","description":"d","tools":[{"type":"function","name":"f"},{"type":"custom","name":"c"}]}]}`, 0, ""},
	{"responses shell output chunks", providers.EndpointResponses, `{"model":"m","input":[{"type":"shell_call_output","call_id":"1","output":[{"stdout":"ok","stderr":"","outcome":{"type":"exit","exit_code":0}}]}]}`, 0, ""},
	{"responses reasoning with its content", providers.EndpointResponses, `{"model":"m","input":[{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"s"}],"encrypted_content":"gAAAAA"}]}`, 0, ""},
	{"responses replayed tool calls", providers.EndpointResponses, `{"model":"m","input":[{"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q"}},{"type":"file_search_call","id":"fs_1","queries":["q"],"status":"completed","results":[{"text":"t"}]},{"type":"mcp_call","id":"mcp_1","name":"n","arguments":"{}","server_label":"s","output":"o"},{"type":"code_interpreter_call","id":"ci_1","outputs":[{"type":"logs","logs":"x"}]}]}`, 0, ""},
	{"responses standard fields", providers.EndpointResponses, `{"model":"m","input":"x","previous_response_id":null,"conversation":null,"prompt":null,"background":false,"context_management":[],"service_tier":"default","store":false,"include":["reasoning.encrypted_content"]}`, 0, ""},

	// Responses: images.
	{"responses one image", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"what?"},` + respImage + `]}]}`, 1, ""},
	{"responses image by file ID", providers.EndpointResponses, `{"model":"m","input":[{"type":"message","role":"user","content":[{"type":"input_image","file_id":"file-1","detail":"auto"}]}]}`, 1, ""},
	{"responses image in a tool output", providers.EndpointResponses, `{"model":"m","input":[{"type":"function_call_output","call_id":"1","output":[{"type":"input_text","text":"see"},` + respImage + `]}]}`, 1, ""},
	{"responses image in a custom tool output", providers.EndpointResponses, `{"model":"m","input":[{"type":"custom_tool_call_output","call_id":"1","output":[` + respImage + `]}]}`, 1, ""},
	{"responses screenshot", providers.EndpointResponses, `{"model":"computer-use-preview","input":[{"type":"computer_call_output","call_id":"1","output":{"type":"computer_screenshot","image_url":"data:image/png;base64,AAAA"}}]}`, 1, ""},
	{"responses generated image", providers.EndpointResponses, `{"model":"m","input":[{"type":"image_generation_call","id":"ig_1","status":"completed","result":"iVBORw0KGgo="}]}`, 1, ""},
	{"responses code interpreter image", providers.EndpointResponses, `{"model":"m","input":[{"type":"code_interpreter_call","id":"ci_1","outputs":[{"type":"image","url":"https://x/a.png"},{"type":"logs","logs":"l"}]}]}`, 1, ""},
	{"responses images add up", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":[` + respImage + `,` + respImage + `]},{"type":"computer_call_output","call_id":"1","output":{"type":"computer_screenshot","file_id":"f"}}]}`, 3, ""},

	// Responses: unbounded inputs.
	{"responses input_file", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}`, 0, "input_file"},
	{"responses input_audio", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`, 0, "input_audio"},
	{"responses file in a tool output", providers.EndpointResponses, `{"model":"m","input":[{"type":"function_call_output","call_id":"1","output":[{"type":"input_file","file_url":"https://x/a.pdf"}]}]}`, 0, "input_file"},
	{"responses unknown part", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":[{"type":"image_url","image_url":"x"}]}]}`, 0, "input"},
	{"responses untyped part", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":[{"text":"x"}]}]}`, 0, "input"},
	{"responses item_reference", providers.EndpointResponses, `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, 0, "item_reference"},
	{"responses untyped reference", providers.EndpointResponses, `{"model":"m","input":[{"id":"msg_1"}]}`, 0, "item_reference"},
	{"responses null type without role", providers.EndpointResponses, `{"model":"m","input":[{"type":null,"id":"msg_1"}]}`, 0, "item_reference"},
	{"responses stored reasoning", providers.EndpointResponses, `{"model":"m","input":[{"type":"reasoning","id":"rs_1","summary":[]}]}`, 0, "reasoning"},
	{"responses reasoning, empty content", providers.EndpointResponses, `{"model":"m","input":[{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":""}]}`, 0, "reasoning"},
	{"responses compaction", providers.EndpointResponses, `{"model":"m","input":[{"type":"compaction","encrypted_content":"gAAAAA"}]}`, 0, "compaction"},
	{"responses compaction trigger", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":"x"},{"type":"compaction_trigger"}]}`, 0, "compaction_trigger"},
	{"responses MCP approval", providers.EndpointResponses, `{"model":"m","input":[{"type":"mcp_approval_response","approval_request_id":"a","approve":true}]}`, 0, "mcp_approval_response"},
	{"responses unknown item", providers.EndpointResponses, `{"model":"m","input":[{"type":"video_call","id":"v"}]}`, 0, "input"},
	{"responses previous_response_id", providers.EndpointResponses, `{"model":"m","previous_response_id":"resp_1","input":"more"}`, 0, "previous_response_id"},
	{"responses conversation by ID", providers.EndpointResponses, `{"model":"m","conversation":"conv_1","input":"x"}`, 0, "conversation"},
	{"responses conversation object", providers.EndpointResponses, `{"model":"m","conversation":{"id":"conv_1"}}`, 0, "conversation"},
	{"responses stored prompt", providers.EndpointResponses, `{"model":"m","prompt":{"id":"pmpt_1","variables":{"x":"y"}}}`, 0, "prompt"},
	{"responses background", providers.EndpointResponses, `{"model":"m","background":true,"input":"x"}`, 0, "background"},
	{"responses compaction threshold", providers.EndpointResponses, `{"model":"m","context_management":[{"type":"compaction","compact_threshold":1000}]}`, 0, "context_management"},
	{"responses web search", providers.EndpointResponses, `{"model":"m","tools":[{"type":"web_search"}],"input":"news?"}`, 0, "tools"},
	{"responses tools of every hosted kind", providers.EndpointResponses, `{"model":"m","tools":[{"type":"function","name":"f"},{"type":"file_search","vector_store_ids":["v"]},{"type":"code_interpreter"},{"type":"mcp"}]}`, 0, "tools"},
	{"responses hosted tool in a namespace", providers.EndpointResponses, `{"model":"m","tools":[{"type":"namespace","name":"n","tools":[{"type":"function","name":"f"},{"type":"web_search"}]}]}`, 0, "tools"},
	{"responses nested namespace", providers.EndpointResponses, `{"model":"m","tools":[{"type":"namespace","name":"n","tools":[{"type":"namespace","name":"m","tools":[]}]}]}`, 0, "tools"},
	{"responses additional tools item", providers.EndpointResponses, `{"model":"m","input":[{"type":"additional_tools","role":"developer","tools":[{"type":"image_generation"}]}]}`, 0, "tools"},
	{"responses tool search output", providers.EndpointResponses, `{"model":"m","input":[{"type":"tool_search_output","tools":[{"type":"function","name":"f"},{"type":"file_search"}]}]}`, 0, "tools"},
	{"responses priority tier", providers.EndpointResponses, `{"model":"m","service_tier":"priority"}`, 0, "service_tier"},
	{"responses first finding wins", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":[` + respImage + `,{"type":"input_file","file_id":"f"}]}],"previous_response_id":"resp_1"}`, 1, "input_file"},

	// Responses: escapes and duplicates.
	{"responses escaped keys", providers.EndpointResponses, `{"model":"m","\u0069nput":[{"r\u006fle":"user","c\u006fntent":[{"\u0074ype":"input_image","image_url":"x"}]}]}`, 1, ""},
	{"responses escaped item type", providers.EndpointResponses, `{"model":"m","input":[{"type":"item\u005freference","id":"x"}]}`, 0, "item_reference"},
	{"responses escaped part type", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":[{"type":"input\u005ffile"}]}]}`, 0, "input_file"},
	{"responses escaped top-level key", providers.EndpointResponses, `{"model":"m","previous\u005fresponse_id":"r"}`, 0, "previous_response_id"},
	{"responses duplicate item types", providers.EndpointResponses, `{"model":"m","input":[{"type":"message","role":"user","content":"x","type":"item_reference","id":"y"}]}`, 0, "item_reference"},
	{"responses duplicate part types", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":[{"type":"input_text","type":"input_image","text":"x"}]}]}`, 1, ""},
	{"responses reasoning content after type", providers.EndpointResponses, `{"model":"m","input":[{"encrypted_content":"gAAAAA","type":"reasoning","id":"rs_1"}]}`, 0, ""},

	// Responses: nulls and wrong types are not counted.
	{"responses input null", providers.EndpointResponses, `{"model":"m","input":null}`, 0, ""},
	{"responses input object", providers.EndpointResponses, `{"model":"m","input":{"type":"item_reference"}}`, 0, ""},
	{"responses items not objects", providers.EndpointResponses, `{"model":"m","input":["x",1,null,[{"type":"item_reference"}]]}`, 0, ""},
	{"responses content not an array", providers.EndpointResponses, `{"model":"m","input":[{"role":"user","content":{"type":"input_file"}}]}`, 0, ""},
	{"responses background not true", providers.EndpointResponses, `{"model":"m","background":"true"}`, 0, ""},
	{"responses chat fields ignored", providers.EndpointResponses, `{"model":"m","messages":[{"content":[` + chatImage + `,{"type":"file"}]}],"audio":{},"modalities":["audio"],"web_search_options":{}}`, 0, ""},
}

func TestDecodeOpenAIInputs(t *testing.T) {
	for _, tc := range inputCases {
		t.Run(tc.name, func(t *testing.T) {
			req, perr := Decode(tc.endpoint, []byte(tc.body))
			if perr != nil {
				t.Fatalf("Decode: %v", perr)
			}
			if req.Images != tc.images || req.Unbounded != tc.unbounded {
				t.Errorf("Images, Unbounded = %d, %q; want %d, %q", req.Images, req.Unbounded, tc.images, tc.unbounded)
			}
		})
	}
}

// TestDecodeOpenAIInputsAllocs checks that scanning parts allocates
// nothing: a body full of parts costs what a body of plain text does.
func TestDecodeOpenAIInputsAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes allocation counts vary")
	}
	for _, endpoint := range []providers.Endpoint{providers.EndpointChat, providers.EndpointResponses} {
		plain := []byte(`{"model":"gpt-4o-mini","input":"x","messages":[]}`) // the model as in parts
		parts := benchBody(endpoint, 20_000)
		want := testing.AllocsPerRun(50, func() { Decode(endpoint, plain) })
		got := testing.AllocsPerRun(50, func() { Decode(endpoint, parts) })
		if got != want {
			t.Errorf("%s: %v allocations with parts; want %v, as for plain text", endpoint, got, want)
		}
	}
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// unboundedNames are the values Request.Unbounded may take.
var unboundedNames = []string{
	"", unboundedMessages, unboundedFile, unboundedAudio, unboundedModalities, unboundedWebSearchOptions,
	unboundedInputAudio, unboundedTools, unboundedServiceTier, unboundedInput, unboundedInputFile,
	unboundedItemReference, unboundedReasoning, unboundedCompaction, unboundedCompactionTrigger,
	unboundedMcpApproval, unboundedPreviousResponseID, unboundedConversation, unboundedPrompt,
	unboundedBackground, unboundedContextManagement,
}

// checkInputs checks Images and Unbounded: always in range, and, for a
// body without duplicate keys (where encoding/json sees what the upstream
// does), equal to what a plain reading of the rules with encoding/json
// finds.
func checkInputs(t *testing.T, endpoint providers.Endpoint, body []byte, req *providers.Request) {
	t.Helper()
	if !slices.Contains(unboundedNames, req.Unbounded) {
		t.Fatalf("Unbounded = %q; not one of the fixed names", req.Unbounded)
	}
	if req.Images < 0 || req.Images > int64(len(body)) {
		t.Fatalf("Images = %d for %d bytes", req.Images, len(body))
	}
	if endpoint == providers.EndpointEmbeddings && (req.Images != 0 || req.Unbounded != "") {
		t.Fatalf("embeddings: Images, Unbounded = %d, %q; want 0, \"\"", req.Images, req.Unbounded)
	}
	if hasDuplicateKeysDeep(body) {
		return
	}
	// Numbers as json.Number: JSON's grammar has no bound on them
	// ("1e700" is valid), which float64 has.
	var top map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		t.Fatalf("accepted a body encoding/json refuses: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("accepted a body with data after its object")
	}
	var ref refInputs
	switch endpoint {
	case providers.EndpointChat:
		ref.chat(top)
	case providers.EndpointResponses:
		ref.responses(top)
	}
	if req.Images != ref.images {
		t.Fatalf("Images = %d; the reference counts %d", req.Images, ref.images)
	}
	if (req.Unbounded == "") != (len(ref.found) == 0) || (req.Unbounded != "" && !ref.found[req.Unbounded]) {
		t.Fatalf("Unbounded = %q; the reference finds %v", req.Unbounded, ref.found)
	}
}

// refInputs restates the scanning rules over encoding/json's reading of a
// body, order aside: found holds every unbounded name, not the first.
type refInputs struct {
	images int64
	found  map[string]bool
}

func (r *refInputs) flag(name string) {
	if r.found == nil {
		r.found = map[string]bool{}
	}
	r.found[name] = true
}

func (r *refInputs) chat(top map[string]any) {
	for _, msg := range asArray(top["messages"]) {
		m, _ := msg.(map[string]any)
		for _, part := range asArray(m["content"]) {
			r.part(part, true, func(typ string) (bool, string) {
				switch typ {
				case "text", "refusal":
					return false, ""
				case "image_url":
					return true, ""
				case "input_audio", "file":
					return false, typ
				}
				return false, "messages"
			}, "messages")
		}
		if a, ok := m["audio"]; ok && a != nil {
			r.flag("audio")
		}
	}
	if a, ok := top["audio"]; ok && a != nil {
		r.flag("audio")
	}
	if slices.Contains(asArray(top["modalities"]), any("audio")) {
		r.flag("modalities")
	}
	if w, ok := top["web_search_options"]; ok && w != nil {
		r.flag("web_search_options")
	}
	r.tools(top["tools"], false)
	r.tier(top["service_tier"])
}

func (r *refInputs) responses(top map[string]any) {
	part := func(typ string) (bool, string) {
		switch typ {
		case "input_text", "output_text", "refusal", "reasoning_text", "summary_text":
			return false, ""
		case "input_image":
			return true, ""
		case "input_file", "input_audio":
			return false, typ
		}
		return false, "input"
	}
	for _, it := range asArray(top["input"]) {
		item, ok := it.(map[string]any)
		if !ok {
			continue
		}
		for _, p := range asArray(item["content"]) {
			r.part(p, true, part, "input")
		}
		for _, p := range asArray(item["output"]) {
			r.part(p, false, part, "input")
		}
		for _, o := range asArray(item["outputs"]) {
			if om, _ := o.(map[string]any); om["type"] == "image" {
				r.images++
			}
		}
		r.tools(item["tools"], true)
		typ, typed := item["type"].(string)
		switch {
		case !typed:
			if role, ok := item["role"]; !ok || role == nil {
				r.flag("item_reference")
			}
		case typ == "computer_call_output" || typ == "image_generation_call":
			r.images++
		case typ == "reasoning":
			if s, _ := item["encrypted_content"].(string); s == "" {
				r.flag("reasoning")
			}
		case typ == "item_reference" || typ == "compaction" || typ == "compaction_trigger" || typ == "mcp_approval_response":
			r.flag(typ)
		case !slices.Contains([]string{"message", "function_call", "function_call_output", "custom_tool_call",
			"custom_tool_call_output", "computer_call", "shell_call", "shell_call_output", "local_shell_call",
			"local_shell_call_output", "apply_patch_call", "apply_patch_call_output", "file_search_call",
			"web_search_call", "code_interpreter_call", "mcp_call", "mcp_list_tools", "mcp_approval_request",
			"tool_search_call", "tool_search_output", "additional_tools", "configuration_update", "program",
			"program_output"}, typ):
			r.flag("input")
		}
	}
	for _, k := range []string{"previous_response_id", "conversation", "prompt"} {
		if v, ok := top[k]; ok && v != nil {
			r.flag(k)
		}
	}
	if top["background"] == true {
		r.flag("background")
	}
	if v, ok := top["context_management"]; ok && v != nil {
		if a, isArray := v.([]any); !isArray || len(a) > 0 {
			r.flag("context_management")
		}
	}
	r.tools(top["tools"], true)
	r.tier(top["service_tier"])
}

// part applies rule to a content part; an object without a string type
// is unknown when strict, and text otherwise.
func (r *refInputs) part(p any, strict bool, rule func(string) (bool, string), unknown string) {
	m, ok := p.(map[string]any)
	if !ok {
		return
	}
	typ, ok := m["type"].(string)
	if !ok {
		if strict {
			r.flag(unknown)
		}
		return
	}
	image, name := rule(typ)
	if image {
		r.images++
	}
	if name != "" {
		r.flag(name)
	}
}

func (r *refInputs) tools(v any, namespaces bool) {
	for _, tool := range asArray(v) {
		m, _ := tool.(map[string]any)
		typ, ok := m["type"].(string)
		switch {
		case !ok, typ == "function", typ == "custom", typ == "namespace" && namespaces:
		default:
			r.flag("tools")
		}
		if namespaces {
			r.tools(m["tools"], false)
		}
	}
}

func (r *refInputs) tier(v any) {
	if s, ok := v.(string); ok && !slices.Contains([]string{"auto", "default", "flex", "scale"}, s) {
		r.flag("service_tier")
	}
}

func asArray(v any) []any {
	a, _ := v.([]any)
	return a
}

// hasDuplicateKeysDeep reports whether any object in the JSON value data
// has a key twice, keys compared after decoding escapes.
func hasDuplicateKeysDeep(data []byte) bool {
	d := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		keys     map[string]bool
		isObject bool
		wantKey  bool
	}
	var stack []frame
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		top := len(stack) - 1
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, isObject: true, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
		default:
			if top >= 0 && stack[top].isObject && stack[top].wantKey {
				k := tok.(string)
				if stack[top].keys[k] {
					return true
				}
				stack[top].keys[k] = true
				stack[top].wantKey = false
				continue
			}
		}
		// A value ended: the enclosing object expects a key next.
		if n := len(stack) - 1; n >= 0 && stack[n].isObject {
			stack[n].wantKey = true
		}
	}
}
