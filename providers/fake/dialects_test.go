package fake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/gemini"
	"github.com/wicket-gw/wicket/providers/openai"
)

// dialect is one wire format as a test drives it: the request body the
// gateway would send for a canonical request (each dialect's
// RequestFromCanon), where it goes, and the answer read back with the
// dialect's own decoders.
type dialect struct {
	name string
	// idPrefix starts the answer's ID; callPrefix a tool call's ID.
	idPrefix, callPrefix string
	// argDeltas is how many argument deltas a streamed tool call has at
	// least (Gemini sends whole calls).
	argDeltas int
	encode    func(*canon.Request) ([]byte, error)
	path      func(r *canon.Request) string
	decode    func(t *testing.T, body []byte) *canon.Response
	stream    func(t *testing.T, body []byte) (*canon.Response, []canon.Event)
}

var dialects = []dialect{
	{
		name: "openai", idPrefix: "chatcmpl-fake", callPrefix: "call_fake", argDeltas: 2,
		encode: openai.RequestFromCanon,
		path:   func(*canon.Request) string { return "/v1/chat/completions" },
		decode: func(t *testing.T, b []byte) *canon.Response {
			t.Helper()
			r, err := openai.ResponseToCanon(b)
			if err != nil {
				t.Fatalf("openai.ResponseToCanon: %v\n%s", err, b)
			}
			return r
		},
		stream: decodeOpenAIStream,
	},
	{
		name: "anthropic", idPrefix: "msg_fake", callPrefix: "toolu_fake", argDeltas: 2,
		encode: anthropic.RequestFromCanon,
		path:   func(*canon.Request) string { return "/v1/messages" },
		decode: func(t *testing.T, b []byte) *canon.Response {
			t.Helper()
			r, err := anthropic.ResponseToCanon(b)
			if err != nil {
				t.Fatalf("anthropic.ResponseToCanon: %v\n%s", err, b)
			}
			return r
		},
		stream: decodeAnthropicStream,
	},
	{
		name: "gemini", idPrefix: "fake", callPrefix: gemini.SyntheticIDPrefix, argDeltas: 1,
		encode: gemini.RequestFromCanon,
		path: func(r *canon.Request) string {
			if r.Stream {
				return "/v1beta/models/" + url.PathEscape(r.Model) + ":streamGenerateContent?alt=sse"
			}
			return "/v1beta/models/" + url.PathEscape(r.Model) + ":generateContent"
		},
		decode: func(t *testing.T, b []byte) *canon.Response {
			t.Helper()
			r, err := gemini.ResponseToCanon(b)
			if err != nil {
				t.Fatalf("gemini.ResponseToCanon: %v\n%s", err, b)
			}
			return r
		},
		stream: decodeGeminiStream,
	},
}

// send posts r in dialect d to srv and returns the answer in canonical
// form, with the stream's events when r.Stream.
func (d dialect) send(t *testing.T, srv string, r *canon.Request) (*canon.Response, []canon.Event) {
	t.Helper()
	body, err := d.encode(r)
	if err != nil {
		t.Fatalf("%s RequestFromCanon: %v", d.name, err)
	}
	resp, b := doH(t, http.MethodPost, srv+d.path(r), string(body), "anthropic-version", "2023-06-01")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if r.Stream {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("Content-Type = %q; want an event stream", ct)
		}
		return d.stream(t, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", ct)
	}
	return d.decode(t, b), nil
}

// Tools and texts of the cases below.
var (
	weather = canon.Tool{Name: "get_weather", Parameters: json.RawMessage(
		`{"type":"object","properties":{"unit":{"type":"string","enum":["celsius","fahrenheit"]},"city":{"type":"string"},"days":{"type":"integer"}},"required":["city","days"]}`)}
	clock = canon.Tool{Name: "get_time", Parameters: json.RawMessage(`{"type":"object","properties":{"zone":{"type":"string"}}}`)}
)

func user(s string) canon.Message {
	return canon.Message{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart(s)}}
}

func i64(n int64) *int64 { return &n }

// want is a canonical answer as every dialect must give it.
type want struct {
	text string
	call *canon.ToolCall // name and arguments; the ID is the dialect's
	// promptBytes sizes the prompt (see the package documentation).
	promptBytes int
}

func (w want) usage() metering.Usage {
	out := int64(len(strings.Fields(w.text)))
	if w.call != nil {
		out = fake.PromptTokens(len(w.call.Arguments))
	}
	return metering.Usage{InputTokens: fake.PromptTokens(w.promptBytes), OutputTokens: out}
}

func TestDialects(t *testing.T) {
	toolConversation := []canon.Message{
		user("Paris"),
		{Role: canon.RoleAssistant, Parts: []canon.Part{
			canon.ToolCallPart("call_1", "get_weather", json.RawMessage(`{"city":"Paris","days":1}`))}},
		{Role: canon.RoleTool, Parts: []canon.Part{canon.ToolResultPart("call_1", canon.TextPart("sunny and warm"))}},
	}
	parallel := []canon.Message{
		user("Oslo"),
		{Role: canon.RoleAssistant, Parts: []canon.Part{
			canon.ToolCallPart("call_a", "get_weather", json.RawMessage(`{"city":"Oslo","days":1}`)),
			canon.ToolCallPart("call_b", "get_time", json.RawMessage(`{"zone":"CET"}`))}},
		{Role: canon.RoleTool, Parts: []canon.Part{
			canon.ToolResultPart("call_a", canon.TextPart("snow")),
			canon.ToolResultPart("call_b", canon.TextPart("noon"))}},
	}
	for _, tc := range []struct {
		name string
		opts *fake.Options
		req  canon.Request
		want want
	}{
		{"echo", nil, canon.Request{Messages: []canon.Message{user("Hello there, fake model!")}},
			want{text: "Hello there, fake model!", promptBytes: 24}},
		{"system and turns", nil, canon.Request{Messages: []canon.Message{
			{Role: canon.RoleSystem, Parts: []canon.Part{canon.TextPart("Be brief.")}},
			user("first question"),
			{Role: canon.RoleAssistant, Parts: []canon.Part{canon.TextPart("an answer")}},
			user("second question here"),
		}}, want{text: "second question here", promptBytes: 9 + 14 + 9 + 20}},
		{"output cap", nil, canon.Request{MaxOutputTokens: i64(2), Messages: []canon.Message{user("one two three four")}},
			want{text: "one two", promptBytes: 18}},
		{"Chunks", &fake.Options{Chunks: 5}, canon.Request{Messages: []canon.Message{user("a b")}},
			want{text: "a b a b a", promptBytes: 3}},
		{"tool call", nil, canon.Request{Tools: []canon.Tool{weather, clock}, Messages: []canon.Message{user("Paris")}},
			want{call: &canon.ToolCall{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris","days":1}`)}, promptBytes: 5}},
		{"tool call with auto choice", nil, canon.Request{Tools: []canon.Tool{weather}, ToolChoice: canon.ToolChoice{Mode: canon.ToolChoiceAuto},
			Messages: []canon.Message{user("Paris")}},
			want{call: &canon.ToolCall{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris","days":1}`)}, promptBytes: 5}},
		{"tool call required", nil, canon.Request{Tools: []canon.Tool{clock, weather}, ToolChoice: canon.ToolChoice{Mode: canon.ToolChoiceRequired},
			Messages: []canon.Message{user("what time is it")}},
			want{call: &canon.ToolCall{Name: "get_time", Arguments: json.RawMessage(`{"zone":"what time is it"}`)}, promptBytes: 15}},
		{"forced tool", nil, canon.Request{Tools: []canon.Tool{weather, clock}, ToolChoice: canon.ToolChoice{Mode: canon.ToolChoiceTool, Name: "get_time"},
			Messages: []canon.Message{user("Lima")}},
			want{call: &canon.ToolCall{Name: "get_time", Arguments: json.RawMessage(`{"zone":"Lima"}`)}, promptBytes: 4}},
		{"tool choice none", nil, canon.Request{Tools: []canon.Tool{weather}, ToolChoice: canon.ToolChoice{Mode: canon.ToolChoiceNone},
			Messages: []canon.Message{user("just talk")}},
			want{text: "just talk", promptBytes: 9}},
		{"tool result", nil, canon.Request{Tools: []canon.Tool{weather}, Messages: toolConversation},
			want{text: "tool get_weather said: sunny and warm", promptBytes: 5 + 25 + 14}},
		{"tool result, capped", nil, canon.Request{Tools: []canon.Tool{weather}, MaxOutputTokens: i64(3), Messages: toolConversation},
			want{text: "tool get_weather said:", promptBytes: 5 + 25 + 14}},
		{"parallel tool results", nil, canon.Request{Tools: []canon.Tool{weather, clock}, Messages: parallel},
			want{text: "tool get_weather said: snow tool get_time said: noon", promptBytes: 4 + 24 + 14 + 4 + 4}},
		{"a new question after a tool result", nil, canon.Request{Tools: []canon.Tool{weather},
			Messages: append(append([]canon.Message{}, toolConversation...),
				canon.Message{Role: canon.RoleAssistant, Parts: []canon.Part{canon.TextPart("It is sunny.")}}, user("Rome"))},
			want{call: &canon.ToolCall{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Rome","days":1}`)}, promptBytes: 5 + 25 + 14 + 12 + 4}},
	} {
		for _, d := range dialects {
			for _, stream := range []bool{false, true} {
				name := tc.name + "/" + d.name
				if stream {
					name += "/stream"
				}
				t.Run(name, func(t *testing.T) {
					srv := newServer(t, fake.Handler(tc.opts))
					req := tc.req
					req.Model, req.Stream = "fake-echo", stream
					got, evs := d.send(t, srv.URL, &req)
					if !strings.HasPrefix(got.ID, d.idPrefix) || got.Model != "fake-echo" {
						t.Errorf("id, model = %q, %q; want the %s prefix and fake-echo", got.ID, got.Model, d.idPrefix)
					}
					if !got.UsageKnown || got.Usage != tc.want.usage() {
						t.Errorf("usage = %+v (known %v); want %+v", got.Usage, got.UsageKnown, tc.want.usage())
					}
					c := only(t, got)
					if tc.want.call == nil {
						if c.Finish != canon.FinishStop {
							t.Errorf("finish = %v (%q); want stop", c.Finish, c.RawFinish)
						}
						if s := textOf(t, c); s != tc.want.text {
							t.Errorf("text = %q; want %q", s, tc.want.text)
						}
						return
					}
					if c.Finish != canon.FinishToolCalls {
						t.Errorf("finish = %v (%q); want tool calls", c.Finish, c.RawFinish)
					}
					call := callOf(t, c)
					if !strings.HasPrefix(call.ID, d.callPrefix) {
						t.Errorf("call id = %q; want the %s prefix", call.ID, d.callPrefix)
					}
					if call.Name != tc.want.call.Name || string(call.Arguments) != string(tc.want.call.Arguments) {
						t.Errorf("call %s(%s); want %s(%s)", call.Name, call.Arguments, tc.want.call.Name, tc.want.call.Arguments)
					}
					if stream {
						if n := deltas(evs, canon.PartToolCall); n < d.argDeltas {
							t.Errorf("%d argument deltas; want at least %d", n, d.argDeltas)
						}
					}
				})
			}
		}
	}
}

// TestStreamMatchesWhole: the stream of an answer, accumulated, is the
// whole answer, in every dialect.
func TestStreamMatchesWhole(t *testing.T) {
	srv := newServer(t, fake.Handler(&fake.Options{Chunks: 7}))
	for _, req := range []canon.Request{
		{Messages: []canon.Message{user("three little words")}},
		{Tools: []canon.Tool{weather}, Messages: []canon.Message{user("Zürich ünd <more>")}},
	} {
		for _, d := range dialects {
			t.Run(d.name, func(t *testing.T) {
				whole, stream := req, req
				whole.Model, stream.Model, stream.Stream = "fake-echo", "fake-echo", true
				w, _ := d.send(t, srv.URL, &whole)
				s, _ := d.send(t, srv.URL, &stream)
				if diff := cmp.Diff(w, s, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("whole (-) and streamed (+) answers differ:\n%s", diff)
				}
			})
		}
	}
}
