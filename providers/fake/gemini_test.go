package fake_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/gemini"
)

// gemText returns a generateContent body with one user content.
func gemText(text, extra string) string {
	q, _ := json.Marshal(text)
	return `{"contents":[{"role":"user","parts":[{"text":` + string(q) + `}]}]` + extra + `}`
}

const gemWeather = `,"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":` +
	`{"type":"OBJECT","properties":{"days":{"type":"INTEGER"},"city":{"type":"STRING"}},"required":["city"]}}]}]`

func TestGeminiGenerate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		model  string
		body   string
		want   string
		call   string // the arguments of a get_weather call, if one is wanted
		prompt int
	}{
		{"text", "fake-echo", gemText("Hello there, fake model!", ""), "Hello there, fake model!", "", 24},
		{"any model name", "gemini-2.5-flash", gemText("a b", ""), "a b", "", 3},
		{"system instruction and turns", "fake-echo", `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[` +
			`{"role":"user","parts":[{"text":"first"}]},{"role":"model","parts":[{"text":"an answer"},{"text":"hidden","thought":true}]},` +
			`{"role":"user","parts":[{"text":"second "},{"inlineData":{"mimeType":"image/png","data":"AAAA"}},{"text":"question"}]}]}`,
			"second question", "", 9 + 5 + 9 + 15},
		{"snake_case members", "fake-echo", `{"system_instruction":{"parts":[{"text":"Be brief."}]},"generation_config":{"max_output_tokens":1},` +
			`"contents":[{"parts":[{"text":"one two"}]}]}`, "one", "", 9 + 7},
		{"maxOutputTokens caps words", "fake-echo", gemText("one two three", `,"generationConfig":{"maxOutputTokens":2,"temperature":0.1}`), "one two", "", 13},
		{"members the fake has no use for", "fake-echo", gemText("still fine",
			`,"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],"cachedContent":"cachedContents/x"`), "still fine", "", 10},
		{"tool call", "fake-echo", gemText("Paris", gemWeather), "", `{"city":"Paris"}`, 5},
		{"parametersJsonSchema", "fake-echo", gemText("Paris", `,"tools":[{"googleSearch":{}},{"functionDeclarations":[{"name":"get_weather",`+
			`"parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}}}}]}]`), "", `{"city":"Paris"}`, 5},
		{"mode NONE", "fake-echo", gemText("Paris", gemWeather+`,"toolConfig":{"functionCallingConfig":{"mode":"NONE"}}`), "Paris", "", 5},
		{"mode ANY with allowed names", "fake-echo", gemText("Paris", `,"tools":[{"functionDeclarations":[{"name":"a"},{"name":"get_weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}}}}]}],`+
			`"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}}`), "", `{"city":"Paris"}`, 5},
		{"function response", "fake-echo", `{"contents":[{"role":"user","parts":[{"text":"Paris"}]},` +
			`{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city": "Paris"}}}]},` +
			`{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"temperature":21,"sky":"clear"}}}]}]` + gemWeather + `}`,
			`tool get_weather said: {"temperature":21,"sky":"clear"}`, "", 5 + 16 + 32},
		{"function role", "fake-echo", `{"contents":[{"role":"user","parts":[{"text":"Paris"}]},` +
			`{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},` +
			`{"role":"function","parts":[{"functionResponse":{"name":"get_weather","response":{"error":"no such city"}}}]}]}`,
			`tool get_weather said: no such city`, "", 5 + 16 + 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(nil))
			resp, body := post(t, srv.URL+"/v1beta/models/"+tc.model+":generateContent", tc.body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			var raw struct {
				Candidates []struct {
					Content struct {
						Role  string
						Parts []map[string]json.RawMessage
					}
					FinishReason string
				}
				UsageMetadata map[string]int64
				ResponseID    string
				ModelVersion  string
			}
			if err := json.Unmarshal(body, &raw); err != nil || len(raw.Candidates) != 1 {
				t.Fatalf("%v: %s", err, body)
			}
			cand := raw.Candidates[0]
			if cand.FinishReason != "STOP" || cand.Content.Role != "model" || raw.ModelVersion != tc.model || !strings.HasPrefix(raw.ResponseID, "fake") {
				t.Errorf("answer %s; want STOP, role model, modelVersion %s, a fake responseId", body, tc.model)
			}
			out := int64(len(strings.Fields(tc.want)))
			if tc.call != "" {
				out = fake.PromptTokens(len(tc.call))
				if fc := cand.Content.Parts[0]["functionCall"]; !bytes.Contains(fc, []byte(`"name":"get_weather"`)) || bytes.Contains(fc, []byte(`"id"`)) {
					t.Errorf("functionCall %s; want get_weather without an id, as Gemini sends calls", fc)
				}
			}
			in := fake.PromptTokens(tc.prompt)
			if diff := cmp.Diff(map[string]int64{"promptTokenCount": in, "candidatesTokenCount": out, "totalTokenCount": in + out}, raw.UsageMetadata); diff != "" {
				t.Errorf("usageMetadata (-want +got):\n%s", diff)
			}
			got, err := gemini.ResponseToCanon(body)
			if err != nil {
				t.Fatal(err)
			}
			c := only(t, got)
			if tc.call != "" {
				if call := callOf(t, c); call.Name != "get_weather" || string(call.Arguments) != tc.call || c.Finish != canon.FinishToolCalls {
					t.Errorf("call %s(%s), finish %v; want get_weather(%s), tool calls", call.Name, call.Arguments, c.Finish, tc.call)
				}
				return
			}
			if s := textOf(t, c); s != tc.want {
				t.Errorf("text %q; want %q", s, tc.want)
			}
		})
	}
}

func TestGeminiStream(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		chunks int // SSE events
	}{
		{"text", gemText("streams arrive word by word", ""), 6},
		{"no words", gemText("x", `,"generationConfig":{"maxOutputTokens":0}`), 1},
		{"tool call", gemText("Paris", gemWeather), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(nil))
			resp, sse := post(t, srv.URL+"/v1beta/models/fake-echo:streamGenerateContent?alt=sse", tc.body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), sse)
			}
			// Google frames each chunk as one data line and CRLF CRLF.
			events := strings.Split(strings.TrimSuffix(string(sse), "\r\n\r\n"), "\r\n\r\n")
			if !strings.HasSuffix(string(sse), "\r\n\r\n") || len(events) != tc.chunks {
				t.Fatalf("%d events; want %d, each ending in CRLF CRLF:\n%q", len(events), tc.chunks, sse)
			}
			var datas []json.RawMessage
			for _, ev := range events {
				data, ok := strings.CutPrefix(ev, "data: ")
				if !ok || strings.ContainsAny(data, "\r\n") || !json.Valid([]byte(data)) {
					t.Fatalf("event %q is not one data line of JSON", ev)
				}
				datas = append(datas, json.RawMessage(data))
			}
			got, _ := decodeGeminiStream(t, sse)
			_, whole := post(t, srv.URL+"/v1beta/models/fake-echo:generateContent", tc.body)
			want, err := gemini.ResponseToCanon(whole)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Choices, got.Choices); diff != "" || got.Usage != want.Usage {
				t.Errorf("streamed answer differs from the whole one (-whole +streamed):\n%s\nusage %+v; want %+v", diff, got.Usage, want.Usage)
			}
			// Without alt=sse, the same chunks come as one JSON array.
			resp, arr := post(t, srv.URL+"/v1beta/models/fake-echo:streamGenerateContent", tc.body)
			var elems []json.RawMessage
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(arr, &elems) != nil {
				t.Fatalf("array form: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), arr)
			}
			if diff := cmp.Diff(datas, elems); diff != "" {
				t.Errorf("array elements differ from the SSE chunks (-sse +array):\n%s", diff)
			}
		})
	}
}

func TestGeminiErrorModels(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	for model, want := range map[string]struct {
		status    int
		grpc, msg string
	}{
		"fake-error-429": {429, "RESOURCE_EXHAUSTED", "Rate limit reached for fake-error-429."},
		"fake-error-500": {500, "INTERNAL", "The fake server had an error while processing your request."},
		"fake-error-503": {503, "UNAVAILABLE", "The fake engine is currently overloaded."},
	} {
		for _, method := range []string{":generateContent", ":streamGenerateContent?alt=sse", ":streamGenerateContent", ":countTokens"} {
			t.Run(model+method, func(t *testing.T) {
				resp, body := post(t, srv.URL+"/v1beta/models/"+model+method, gemText("hi", ""))
				wantBody := `{"error":{"code":` + strconv.Itoa(want.status) + `,"message":"` + want.msg + `","status":"` + want.grpc + `"}}` + "\n"
				if resp.StatusCode != want.status || string(body) != wantBody || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("got %d %s; want %d %s", resp.StatusCode, body, want.status, wantBody)
				}
			})
		}
	}
}

func TestGeminiRefusals(t *testing.T) {
	for _, tc := range []struct {
		name         string
		opts         *fake.Options
		method, path string
		body         string
		status       int
		grpc, msg    string // msg: a prefix of the message
	}{
		{"bad JSON", nil, "POST", "/v1beta/models/fake-echo:generateContent", `{"contents":`, 400, "INVALID_ARGUMENT", "Invalid JSON payload"},
		{"not an object", nil, "POST", "/v1beta/models/fake-echo:generateContent", `[]`, 400, "INVALID_ARGUMENT", "Invalid JSON payload"},
		{"contents of the wrong type", nil, "POST", "/v1beta/models/fake-echo:generateContent", `{"contents":"hi"}`, 400, "INVALID_ARGUMENT", "Invalid JSON payload"},
		{"no contents", nil, "POST", "/v1beta/models/fake-echo:generateContent", `{}`, 400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents"},
		{"countTokens without contents", nil, "POST", "/v1beta/models/fake-echo:countTokens", `{"generateContentRequest":{}}`, 400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents"},
		{"unknown method", nil, "POST", "/v1beta/models/fake-echo:embedContent", gemText("x", ""), 404, "NOT_FOUND", "Method not found."},
		{"forced function not offered", nil, "POST", "/v1beta/models/fake-echo:generateContent",
			gemText("x", gemWeather+`,"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["other"]}}`), 400, "INVALID_ARGUMENT", "toolConfig."},
		{"too large", &fake.Options{MaxBodyBytes: 16}, "POST", "/v1beta/models/fake-echo:generateContent", gemText("too long for sixteen bytes", ""), 413, "INVALID_ARGUMENT", "Request body too large."},
		{"GET a method", nil, "GET", "/v1beta/models/fake-echo:generateContent", "", 404, "NOT_FOUND", "Unknown fake endpoint."},
		{"POST the model list", nil, "POST", "/v1beta/models", "{}", 404, "NOT_FOUND", "Unknown fake endpoint."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(tc.opts))
			resp, body := doH(t, tc.method, srv.URL+tc.path, tc.body)
			var e struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
					Status  string `json:"status"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if resp.StatusCode != tc.status || e.Error.Code != tc.status || e.Error.Status != tc.grpc || !strings.HasPrefix(e.Error.Message, tc.msg) {
				t.Errorf("got %d %s; want %d %s %q…", resp.StatusCode, body, tc.status, tc.grpc, tc.msg)
			}
		})
	}
}

func TestGeminiCountTokens(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	contents := `"contents":[{"role":"user","parts":[{"text":"Paris"}]},{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},` +
		`{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"output":"sunny"}}}]}]`
	conv := len("Paris") + len(`{"city":"Paris"}`) + len("sunny")
	want := fake.PromptTokens(len("You are terse.") + conv)
	withSystem := `{"systemInstruction":{"parts":[{"text":"You are terse."}]},` + contents + gemWeather + `}`
	for _, tc := range []struct {
		name, body string
		want       int64
	}{
		{"generateContentRequest", `{"generateContentRequest":{"model":"models/fake-echo",` + withSystem[1:] + `}`, want},
		// systemInstruction is not a member of countTokens' own body.
		{"contents", `{` + contents + `,"systemInstruction":{"parts":[{"text":"You are terse."}]}}`, fake.PromptTokens(conv)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, srv.URL+"/v1beta/models/fake-echo:countTokens", tc.body)
			if resp.StatusCode != http.StatusOK || string(body) != `{"totalTokens":`+strconv.FormatInt(tc.want, 10)+"}\n" {
				t.Errorf("got %d %s; want totalTokens %d", resp.StatusCode, body, tc.want)
			}
		})
	}
	_, body := post(t, srv.URL+"/v1beta/models/fake-echo:generateContent", withSystem)
	got, err := gemini.ResponseToCanon(body)
	if err != nil {
		t.Fatal(err)
	}
	if got.Usage.InputTokens != want {
		t.Errorf("generateContent counted %d input tokens; countTokens %d", got.Usage.InputTokens, want)
	}
}

func TestModelListDialects(t *testing.T) {
	openAI := func(t *testing.T, b []byte) {
		var l struct{ Object string }
		if json.Unmarshal(b, &l) != nil || l.Object != "list" {
			t.Errorf("list %s; want OpenAI's", b)
		}
	}
	gem := func(t *testing.T, b []byte) {
		type model struct {
			Name, Version, DisplayName string
			SupportedGenerationMethods []string
		}
		var l struct{ Models []model }
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		var want []model
		for _, m := range fake.Models {
			want = append(want, model{"models/" + m, "fake", m, []string{"generateContent", "streamGenerateContent", "countTokens"}})
		}
		if diff := cmp.Diff(want, l.Models); diff != "" {
			t.Errorf("Gemini list (-want +got):\n%s", diff)
		}
	}
	anth := func(t *testing.T, b []byte) {
		var l struct{ Data []struct{ Type string } }
		if json.Unmarshal(b, &l) != nil || len(l.Data) == 0 || l.Data[0].Type != "model" {
			t.Errorf("list %s; want Anthropic's", b)
		}
	}
	for _, tc := range []struct {
		name   string
		path   string
		header []string
		check  func(*testing.T, []byte)
	}{
		{"OpenAI", "/v1/models", nil, openAI},
		{"v1beta", "/v1beta/models", nil, gem},
		{"v1alpha with a prefix", "/gemini/v1alpha/models", nil, gem},
		{"x-goog-api-key", "/v1/models", []string{"x-goog-api-key", "k"}, gem},
		{"key parameter", "/v1/models?key=k&pageSize=50", nil, gem},
		{"anthropic-version", "/v1/models", []string{"anthropic-version", "2023-06-01"}, anth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(nil))
			resp, body := doH(t, http.MethodGet, srv.URL+tc.path, "", tc.header...)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			tc.check(t, body)
		})
	}
}

// TestSameUsageAcrossDialects: the same conversation costs the same tokens
// in every dialect, counted or answered.
func TestSameUsageAcrossDialects(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	const system, question = "Answer in one word.", "What is the capital of France?"
	want := metering.Usage{InputTokens: fake.PromptTokens(len(system) + len(question)), OutputTokens: 6}
	q, _ := json.Marshal(question)
	anthBody := `{"model":"fake-echo","max_tokens":9,"system":"` + system + `","messages":[{"role":"user","content":` + string(q) + `}]}`
	gemBody := `{"systemInstruction":{"parts":[{"text":"` + system + `"}]},"contents":[{"role":"user","parts":[{"text":` + string(q) + `}]}]}`
	for i, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"fake-echo","messages":[{"role":"system","content":"` + system + `"},{"role":"user","content":` + string(q) + `}]}`},
		{"/v1/messages", anthBody},
		{"/v1beta/models/fake-echo:generateContent", gemBody},
	} {
		_, body := post(t, srv.URL+tc.path, tc.body)
		if got := dialects[i].decode(t, body); got.Usage != want {
			t.Errorf("%s usage %+v; want %+v", dialects[i].name, got.Usage, want)
		}
	}
	_, a := post(t, srv.URL+"/v1/messages/count_tokens", anthBody)
	_, g := post(t, srv.URL+"/v1beta/models/fake-echo:countTokens", `{"generateContentRequest":`+gemBody+`}`)
	n := strconv.FormatInt(want.InputTokens, 10)
	if string(a) != `{"input_tokens":`+n+"}\n" || string(g) != `{"totalTokens":`+n+"}\n" {
		t.Errorf("counts %s and %s; want %s", a, g, n)
	}
}
