package providers

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decoded is what a test compares of a decoded Request.
type decoded struct {
	Model           string
	Stream          bool
	IncludeUsage    bool
	MaxOutputTokens int64
}

type decodeCase struct {
	name     string
	endpoint Endpoint
	body     string
	want     decoded
	span     string // the model value as it appears in body, quotes included
}

var decodeCases = []decodeCase{
	// model
	{"chat minimal", EndpointChat, `{"model":"gpt-4o","messages":[]}`, decoded{Model: "gpt-4o"}, `"gpt-4o"`},
	{"model last", EndpointChat, `{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o"}`, decoded{Model: "gpt-4o"}, `"gpt-4o"`},
	{"white space", EndpointChat, " \n\t{ \"model\" :\n \"m-1\" , \"stream\" : true }\r\n", decoded{Model: "m-1", Stream: true}, `"m-1"`},
	{"escaped value", EndpointChat, `{"model":"gpt\u002d4o"}`, decoded{Model: "gpt-4o"}, `"gpt\u002d4o"`},
	{"escaped quote in value", EndpointChat, `{"model":"a\"b"}`, decoded{Model: `a"b`}, `"a\"b"`},
	{"escaped key", EndpointChat, `{"mod\u0065l":"m"}`, decoded{Model: "m"}, `"m"`},
	{"unicode value", EndpointChat, `{"model":"modèle-é"}`, decoded{Model: "modèle-é"}, `"modèle-é"`},
	{"nested model ignored", EndpointChat, `{"metadata":{"model":"nested"},"messages":[{"model":"x"}],"model":"top"}`, decoded{Model: "top"}, `"top"`},
	{"model-like keys ignored", EndpointChat, `{"Model":"upper","models":"plural","model":"m"}`, decoded{Model: "m"}, `"m"`},

	// stream
	{"stream true", EndpointChat, `{"model":"m","stream":true}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"stream false", EndpointChat, `{"model":"m","stream":false}`, decoded{Model: "m"}, `"m"`},
	{"stream null", EndpointChat, `{"model":"m","stream":null}`, decoded{Model: "m"}, `"m"`},
	{"stream before model", EndpointResponses, `{"stream":true,"model":"m"}`, decoded{Model: "m", Stream: true}, `"m"`},

	// stream_options.include_usage
	{"include_usage true", EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, decoded{Model: "m", Stream: true, IncludeUsage: true}, `"m"`},
	{"include_usage false", EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":false}}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"include_usage null", EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":null}}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"include_usage missing", EndpointChat, `{"model":"m","stream":true,"stream_options":{"other":1}}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"stream_options empty", EndpointChat, `{"model":"m","stream":true,"stream_options":{}}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"stream_options null", EndpointChat, `{"model":"m","stream":true,"stream_options":null}`, decoded{Model: "m", Stream: true}, `"m"`},
	{"include_usage without stream", EndpointChat, `{"model":"m","stream_options":{"include_usage":true}}`, decoded{Model: "m", IncludeUsage: true}, `"m"`},
	{"include_usage after nested objects", EndpointChat, `{"model":"m","stream_options":{"x":{"include_usage":false},"include_usage":true}}`, decoded{Model: "m", IncludeUsage: true}, `"m"`},

	// output-token caps
	{"max_tokens", EndpointChat, `{"model":"m","max_tokens":100}`, decoded{Model: "m", MaxOutputTokens: 100}, `"m"`},
	{"max_completion_tokens", EndpointChat, `{"model":"m","max_completion_tokens":200}`, decoded{Model: "m", MaxOutputTokens: 200}, `"m"`},
	{"both caps: the larger", EndpointChat, `{"model":"m","max_tokens":300,"max_completion_tokens":200}`, decoded{Model: "m", MaxOutputTokens: 300}, `"m"`},
	{"both caps, other order", EndpointChat, `{"max_completion_tokens":500,"model":"m","max_tokens":20}`, decoded{Model: "m", MaxOutputTokens: 500}, `"m"`},
	{"cap null", EndpointChat, `{"model":"m","max_tokens":null,"max_completion_tokens":null}`, decoded{Model: "m"}, `"m"`},
	{"cap zero", EndpointChat, `{"model":"m","max_tokens":0}`, decoded{Model: "m"}, `"m"`},
	{"cap large", EndpointChat, `{"model":"m","max_tokens":9223372036854775807}`, decoded{Model: "m", MaxOutputTokens: 1<<63 - 1}, `"m"`},
	{"max_output_tokens ignored for chat", EndpointChat, `{"model":"m","max_output_tokens":"not checked"}`, decoded{Model: "m"}, `"m"`},
	{"responses max_output_tokens", EndpointResponses, `{"model":"m","input":"hi","max_output_tokens":64}`, decoded{Model: "m", MaxOutputTokens: 64}, `"m"`},
	{"responses ignores chat caps", EndpointResponses, `{"model":"m","max_tokens":"x","max_completion_tokens":-1}`, decoded{Model: "m"}, `"m"`},
	{"responses stream", EndpointResponses, `{"model":"m","stream":true,"max_output_tokens":null}`, decoded{Model: "m", Stream: true}, `"m"`},

	// embeddings
	{"embeddings", EndpointEmbeddings, `{"model":"text-embedding-3-small","input":"hello"}`, decoded{Model: "text-embedding-3-small"}, `"text-embedding-3-small"`},
	{"embeddings never stream", EndpointEmbeddings, `{"model":"e","input":["a"],"stream":true}`, decoded{Model: "e"}, `"e"`},
	{"embeddings ignore caps", EndpointEmbeddings, `{"model":"e","max_tokens":"x","max_output_tokens":7}`, decoded{Model: "e"}, `"e"`},
}

func TestDecodeOpenAI(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			req, perr := DecodeOpenAI(tc.endpoint, body)
			if perr != nil {
				t.Fatalf("DecodeOpenAI: %v", perr)
			}
			got := decoded{req.Model, req.Stream, req.IncludeUsage, req.MaxOutputTokens}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			if req.Dialect != DialectOpenAI || req.Endpoint != tc.endpoint {
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
			again, perr := DecodeOpenAI(tc.endpoint, rewritten)
			if perr != nil || again.Model != "upstream-x" {
				t.Errorf("after rewriting the span: model %v, error %v; want upstream-x", again, perr)
			}
		})
	}
}

// canary is in every refused body; no error may repeat it.
const canary = "CANARY-b7e2c91f"

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
	endpoint Endpoint
	body     string
	param    string
	code     string
}

// Every body carries the canary, so that a message quoting the body shows.
var refusalCases = []refusalCase{
	{"empty body", EndpointChat, ``, "", "invalid_json"},
	{"truncated", EndpointChat, `{"model":"` + canary, "", "invalid_json"},
	{"trailing garbage", EndpointChat, `{"model":"m"} ` + canary, "", "invalid_json"},
	{"two objects", EndpointChat, `{"model":"m"}{"x":"` + canary + `"}`, "", "invalid_json"},
	{"single quotes", EndpointChat, `{'model':'` + canary + `'}`, "", "invalid_json"},
	{"array", EndpointChat, `["` + canary + `"]`, "", "invalid_json"},
	{"string", EndpointChat, `"` + canary + `"`, "", "invalid_json"},
	{"null", EndpointChat, `null`, "", "invalid_json"},
	{"number", EndpointChat, `42`, "", "invalid_json"},
	{"model number", EndpointChat, `{"model":42,"messages":"` + canary + `"}`, "model", "invalid_type"},
	{"model null", EndpointChat, `{"model":null,"messages":"` + canary + `"}`, "model", "invalid_type"},
	{"model array", EndpointChat, `{"model":["` + canary + `"]}`, "model", "invalid_type"},
	{"model object", EndpointEmbeddings, `{"model":{"name":"` + canary + `"}}`, "model", "invalid_type"},
	{"model bool", EndpointResponses, `{"model":true,"input":"` + canary + `"}`, "model", "invalid_type"},
	{"model missing", EndpointChat, `{"messages":[{"role":"user","content":"` + canary + `"}]}`, "model", "missing_required_parameter"},
	{"model empty", EndpointChat, `{"model":"","messages":"` + canary + `"}`, "model", "missing_required_parameter"},
	{"model only nested", EndpointChat, `{"metadata":{"model":"` + canary + `"}}`, "model", "missing_required_parameter"},
	{"empty object", EndpointEmbeddings, `{}`, "model", "missing_required_parameter"},
	{"model duplicate", EndpointChat, `{"model":"` + canary + `","model":""}`, "model", "duplicate_parameter"},
	{"model duplicate, same value", EndpointChat, `{"model":"m","model":"m","x":"` + canary + `"}`, "model", "duplicate_parameter"},
	{"stream duplicate", EndpointChat, `{"model":"` + canary + `","stream":true,"stream":null}`, "stream", "duplicate_parameter"},
	{"stream_options duplicate", EndpointChat, `{"model":"` + canary + `","stream_options":{"include_usage":true},"stream_options":null}`, "stream_options", "duplicate_parameter"},
	{"include_usage duplicate", EndpointChat, `{"model":"` + canary + `","stream_options":{"include_usage":true,"include_usage":false}}`, "stream_options.include_usage", "duplicate_parameter"},
	{"cap duplicate", EndpointChat, `{"model":"` + canary + `","max_tokens":1,"max_tokens":null}`, "max_tokens", "duplicate_parameter"},
	{"cap duplicate, escaped", EndpointChat, `{"model":"` + canary + `","max_tokens":1,"max\u005ftokens":2}`, "max_tokens", "duplicate_parameter"},
	{"stream_options not an object", EndpointChat, `{"model":"` + canary + `","stream_options":[true]}`, "stream_options", "invalid_type"},
	{"invalid UTF-8 model", EndpointChat, "{\"model\":\"gpt\xff\",\"x\":\"" + canary + "\"}", "model", "invalid_value"},
	{"stream string", EndpointChat, `{"model":"` + canary + `","stream":"true"}`, "stream", "invalid_type"},
	{"stream number", EndpointChat, `{"model":"m","stream":1,"x":"` + canary + `"}`, "stream", "invalid_type"},
	{"stream wrong type on embeddings", EndpointEmbeddings, `{"model":"m","stream":"` + canary + `"}`, "stream", "invalid_type"},
	{"include_usage string", EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":"` + canary + `"}}`, "stream_options.include_usage", "invalid_type"},
	{"include_usage number", EndpointChat, `{"model":"` + canary + `","stream_options":{"include_usage":1}}`, "stream_options.include_usage", "invalid_type"},
	{"max_tokens negative", EndpointChat, `{"model":"` + canary + `","max_tokens":-1}`, "max_tokens", "invalid_type"},
	{"max_tokens fraction", EndpointChat, `{"model":"` + canary + `","max_tokens":1.5}`, "max_tokens", "invalid_type"},
	{"max_tokens exponent", EndpointChat, `{"model":"` + canary + `","max_tokens":1e3}`, "max_tokens", "invalid_type"},
	{"max_tokens string", EndpointChat, `{"model":"m","max_tokens":"` + canary + `"}`, "max_tokens", "invalid_type"},
	{"max_tokens overflow", EndpointChat, `{"model":"` + canary + `","max_tokens":9223372036854775808}`, "max_tokens", "invalid_type"},
	{"max_completion_tokens negative", EndpointChat, `{"model":"` + canary + `","max_completion_tokens":-5}`, "max_completion_tokens", "invalid_type"},
	{"max_completion_tokens bool", EndpointChat, `{"model":"` + canary + `","max_completion_tokens":true}`, "max_completion_tokens", "invalid_type"},
	{"max_output_tokens string", EndpointResponses, `{"model":"` + canary + `","max_output_tokens":"10"}`, "max_output_tokens", "invalid_type"},
	{"max_output_tokens object", EndpointResponses, `{"model":"m","max_output_tokens":{"n":"` + canary + `"}}`, "max_output_tokens", "invalid_type"},
	{"n zero", EndpointChat, `{"model":"` + canary + `","n":0}`, "n", "invalid_value"},
	{"n too large", EndpointChat, `{"model":"` + canary + `","n":129}`, "n", "invalid_value"},
	{"n fraction", EndpointChat, `{"model":"` + canary + `","n":1.5}`, "n", "invalid_value"},
	{"n duplicate", EndpointChat, `{"model":"` + canary + `","n":1,"n":2}`, "n", "duplicate_parameter"},
	{"escaped cap key", EndpointChat, `{"model":"` + canary + `","max\u005ftokens":-1}`, "max_tokens", "invalid_type"},
}

func TestDecodeOpenAIRefuses(t *testing.T) {
	for _, tc := range refusalCases {
		t.Run(tc.name, func(t *testing.T) {
			req, perr := DecodeOpenAI(tc.endpoint, []byte(tc.body))
			if perr == nil {
				t.Fatalf("DecodeOpenAI succeeded with %+v; want a 400", req)
			}
			if req != nil {
				t.Errorf("DecodeOpenAI returned a Request with its error")
			}
			got := Error{Status: perr.Status, Type: perr.Type, Param: perr.Param, Code: perr.Code}
			want := Error{Status: 400, Type: "invalid_request_error", Param: tc.param, Code: tc.code}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if !fixedMessages[perr.Message] {
				t.Errorf("Message = %q; want one of the fixed messages", perr.Message)
			}
			if tc.param != "" && !strings.Contains(perr.Message, "'"+tc.param+"'") && tc.code == "invalid_type" {
				t.Errorf("Message = %q; want it to name %q", perr.Message, tc.param)
			}
			for _, s := range []string{perr.Message, perr.Error(), string(perr.Body(DialectOpenAI))} {
				if strings.Contains(s, canary) {
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
		_, perr := DecodeOpenAI(EndpointChat, []byte(body))
		if (perr == nil) != tc.ok {
			t.Errorf("depth %d: error %v; want ok=%v", tc.depth, perr, tc.ok)
		}
	}
}

var endpoints = []Endpoint{EndpointChat, EndpointEmbeddings, EndpointResponses}

func FuzzDecodeOpenAI(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add(uint8(slices.Index(endpoints, tc.endpoint)), []byte(tc.body))
	}
	for _, tc := range refusalCases {
		f.Add(uint8(slices.Index(endpoints, tc.endpoint)), []byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, ep uint8, body []byte) {
		endpoint := endpoints[int(ep)%len(endpoints)]
		in := slices.Clone(body)
		req, perr := DecodeOpenAI(endpoint, body)
		if !bytes.Equal(in, body) {
			t.Fatalf("DecodeOpenAI changed its input")
		}
		if perr != nil {
			checkRefusal(t, body, perr)
			return
		}
		checkDecoded(t, endpoint, body, req)
	})
}

func checkRefusal(t *testing.T, body []byte, perr *Error) {
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

func checkDecoded(t *testing.T, endpoint Endpoint, body []byte, req *Request) {
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
	// encoding/json keeps the last of duplicate members, as DecodeOpenAI
	// does for top-level members.
	if !bytes.Equal(top["model"], span) {
		t.Fatalf(`encoding/json's "model" is %s; the span is %s`, top["model"], span)
	}
	// Beyond this point the reference is encoding/json, which keeps the
	// last of duplicate members, as OpenAI's own decoder does.
	mismatch := func(format string, args ...any) {
		t.Helper()
		if hasDuplicateKeys(body) || hasDuplicateKeys(top["stream_options"]) {
			// Duplicates of the members DecodeOpenAI reads are refused, so
			// these are duplicates of others, inside stream_options.
			t.Skip("duplicate members the decoder does not read")
		}
		t.Fatalf(format, args...)
	}
	wantStream := false
	if endpoint != EndpointEmbeddings {
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
	case EndpointChat:
		caps = []string{"max_tokens", "max_completion_tokens"}
	case EndpointResponses:
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
		endpoint Endpoint
		body     string
		want     int64
	}{
		{EndpointChat, `{"model":"m"}`, 1},
		{EndpointChat, `{"model":"m","n":3}`, 3},
		{EndpointChat, `{"model":"m","n":null}`, 1},
		{EndpointResponses, `{"model":"m","n":"not read"}`, 1},
	} {
		req, perr := DecodeOpenAI(tc.endpoint, []byte(tc.body))
		if perr != nil || req.Choices != tc.want {
			t.Errorf("%s: Choices %v, %v; want %d", tc.body, req, perr, tc.want)
		}
	}
}
