package fake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/gemini"
	"github.com/wicket-gw/wicket/providers/openai"
)

// fuzzOptions bound what one fuzzed request may cost.
var fuzzOptions = &fake.Options{MaxBodyBytes: 64 << 10, Chunks: 0}

// serveFuzz runs h on one request in-process. A request that names the
// hanging model is skipped: it would wait for the safety deadline.
func serveFuzz(t *testing.T, h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var m struct{ Model string }
	if json.Unmarshal([]byte(body), &m) == nil && m.Model == "fake-hang" || strings.Contains(path, "fake-hang") {
		t.Skip()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ctx.Err() != nil {
		t.Fatalf("the handler ran into the safety deadline on %s", body)
	}
	return rec
}

// checkStatus fails unless status is one the fake may answer a POST with.
func checkStatus(t *testing.T, status int, body []byte) {
	t.Helper()
	switch status {
	case 200, 400, 413, 429, 500, 503:
	default:
		t.Fatalf("status %d: %s", status, body)
	}
}

func isStream(rec *httptest.ResponseRecorder) bool {
	return strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream")
}

func FuzzChatCompletions(f *testing.F) {
	for _, s := range []string{
		userChat("fake-echo", "Hello there", ""),
		userChat("fake-echo", "a b c", `,"stream":true,"stream_options":{"include_usage":true},"max_tokens":2`),
		chatWithTool("Paris", `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`, `,"stream":true`),
		chatWithTool("Paris", `{"type":"object"}`, `,"tool_choice":{"type":"function","function":{"name":"g"}}`),
		`{"model":"fake-echo","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"messages":[` +
			`{"role":"user","content":"Paris"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},` +
			`{"role":"tool","tool_call_id":"c","content":"sunny"}]}`,
		`{"model":"fake-error-429","messages":[{"role":"user","content":"x"}]}`,
		`{"model":5}`, `[]`, `null`,
	} {
		f.Add(s)
	}
	h := fake.Handler(fuzzOptions)
	f.Fuzz(func(t *testing.T, body string) {
		rec := serveFuzz(t, h, http.MethodPost, "/v1/chat/completions", body)
		b := rec.Body.Bytes()
		checkStatus(t, rec.Code, b)
		switch {
		case rec.Code != 200:
			var e struct {
				Error *struct{ Message, Type string }
			}
			if json.Unmarshal(b, &e) != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("error body %s is not OpenAI's", b)
			}
		case isStream(rec):
			decodeOpenAIStream(t, b)
		default:
			if _, err := openai.ResponseToCanon(b); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
		}
	})
}

func FuzzMessages(f *testing.F) {
	tools := `,"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]`
	for _, s := range []string{
		anthMsg("fake-echo", "Hello there", ""),
		anthMsg("fake-echo", "Hello there", `,"stream":true,"system":[{"type":"text","text":"s"}]`),
		anthMsg("fake-echo", "Paris", `,"stream":true`+tools),
		anthMsg("fake-echo", "Paris", tools+`,"tool_choice":{"type":"tool","name":"nope"}`),
		`{"model":"fake-echo","max_tokens":5` + tools + `,"messages":[{"role":"user","content":"Paris"},` +
			`{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"get_weather","input":{"city":"Paris"}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"sunny"},{"type":"text","text":"and?"}]}]}`,
		anthMsg("fake-error-503", "x", ""),
		`{"model":"fake-echo","messages":[]}`, `{"model":"fake-echo","max_tokens":1,"messages":[{"role":"x","content":1}]}`, `[`,
	} {
		f.Add(s, false)
	}
	f.Add(anthMsg("fake-echo", "count me", ""), true)
	h := fake.Handler(fuzzOptions)
	f.Fuzz(func(t *testing.T, body string, count bool) {
		path := "/v1/messages"
		if count {
			path += "/count_tokens"
		}
		rec := serveFuzz(t, h, http.MethodPost, path, body)
		b := rec.Body.Bytes()
		checkStatus(t, rec.Code, b)
		switch {
		case rec.Code != 200:
			var e struct {
				Type  string
				Error *struct{ Type, Message string }
				ID    string `json:"request_id"`
			}
			if json.Unmarshal(b, &e) != nil || e.Type != "error" || e.Error == nil || e.Error.Type == "" || e.ID != rec.Header().Get("Request-Id") {
				t.Fatalf("error body %s is not Anthropic's", b)
			}
		case count:
			var n struct {
				InputTokens *int64 `json:"input_tokens"`
			}
			if json.Unmarshal(b, &n) != nil || n.InputTokens == nil || *n.InputTokens < 0 {
				t.Fatalf("count %s", b)
			}
		case isStream(rec):
			decodeAnthropicStream(t, b)
		default:
			if _, err := anthropic.ResponseToCanon(b); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
		}
	})
}

func FuzzGenerateContent(f *testing.F) {
	for _, s := range []string{
		gemText("Hello there", ""),
		gemText("Paris", gemWeather),
		gemText("Paris", gemWeather+`,"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["x"]}}`),
		`{"system_instruction":{"parts":[{"text":"s"}]},"contents":[{"parts":[{"text":"a b"}]}],"generation_config":{"max_output_tokens":1}}`,
		`{"contents":[{"role":"user","parts":[{"text":"Paris"}]},{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},` +
			`{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"output":"sunny"}}}]}]}`,
		`{"generateContentRequest":{"contents":[{"parts":[{"text":"x"}]}]}}`,
		`{}`, `{"contents":5}`,
	} {
		for method := range byte(4) {
			f.Add(s, method)
		}
	}
	methods := []string{":generateContent", ":streamGenerateContent?alt=sse", ":streamGenerateContent", ":countTokens"}
	h := fake.Handler(fuzzOptions)
	f.Fuzz(func(t *testing.T, body string, method byte) {
		m := methods[int(method)%len(methods)]
		rec := serveFuzz(t, h, http.MethodPost, "/v1beta/models/fake-echo"+m, body)
		b := rec.Body.Bytes()
		checkStatus(t, rec.Code, b)
		switch {
		case rec.Code != 200:
			var e struct {
				Error *struct {
					Code            int
					Message, Status string
				}
			}
			if json.Unmarshal(b, &e) != nil || e.Error == nil || e.Error.Code != rec.Code || e.Error.Status == "" {
				t.Fatalf("error body %s is not Gemini's", b)
			}
		case m == ":countTokens":
			var n struct{ TotalTokens *int64 }
			if json.Unmarshal(b, &n) != nil || n.TotalTokens == nil || *n.TotalTokens < 0 {
				t.Fatalf("count %s", b)
			}
		case isStream(rec):
			decodeGeminiStream(t, b)
		case m == ":streamGenerateContent":
			var chunks []json.RawMessage
			if err := json.Unmarshal(b, &chunks); err != nil || len(chunks) == 0 {
				t.Fatalf("%v: %s", err, b)
			}
			for _, c := range chunks {
				if _, err := gemini.ResponseToCanon(c); err != nil {
					t.Fatalf("%v: %s", err, c)
				}
			}
		default:
			if _, err := gemini.ResponseToCanon(b); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
		}
	})
}

// FuzzToolArguments: whatever the parameters schema, a tool call's
// arguments are one JSON object, the same every time.
func FuzzToolArguments(f *testing.F) {
	for _, s := range []string{
		`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["b","a"]}`,
		`{"type":"object","properties":{"a":{"enum":[1]},"b":{"const":{"x":[]}},"c":{"type":["null","boolean"]}}}`,
		`{"type":"OBJECT","properties":{"\u00e9":{"type":"STRING"}}}`,
		`{"properties":[1],"required":"a"}`, `null`, `[]`, `{"required":[1,2]}`,
	} {
		f.Add(s, "hi <there>")
	}
	h := fake.Handler(fuzzOptions)
	f.Fuzz(func(t *testing.T, schema, text string) {
		body := chatWithTool(text, schema, "")
		if !json.Valid([]byte(schema)) || int64(len(body)) > fuzzOptions.MaxBodyBytes {
			t.Skip()
		}
		args := func() string {
			rec := serveFuzz(t, h, http.MethodPost, "/v1/chat/completions", body)
			var c struct {
				Choices []struct {
					Message struct {
						ToolCalls []struct{ Function struct{ Arguments string } } `json:"tool_calls"`
					}
				}
			}
			if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &c) != nil || len(c.Choices) != 1 || len(c.Choices[0].Message.ToolCalls) != 1 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			return c.Choices[0].Message.ToolCalls[0].Function.Arguments
		}
		a := args()
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(a), &obj); err != nil || obj == nil {
			t.Fatalf("arguments %s are not a JSON object: %v", a, err)
		}
		if b := args(); a != b {
			t.Fatalf("arguments differ: %s then %s", a, b)
		}
	})
}
