package gemini

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/providers"
)

// decodeAt routes a POST of body to target through an http.ServeMux that
// mounts the door's routes, as the gateway does, and decodes it.
func decodeAt(t testing.TB, target, body string) (*providers.Request, *providers.Error) {
	t.Helper()
	var (
		req     *providers.Request
		perr    *providers.Error
		matched bool
	)
	mux := http.NewServeMux()
	for _, rt := range (FrontDoor{}).Routes() {
		mux.HandleFunc(rt.Pattern(), func(w http.ResponseWriter, r *http.Request) {
			matched = true
			req, perr = FrontDoor{}.Decode(rt, r, []byte(body))
		})
	}
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, target, strings.NewReader(body)))
	if !matched {
		t.Fatalf("no route matched POST %s", target)
	}
	return req, perr
}

const simpleBody = `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}`

func TestDecode(t *testing.T) {
	gen := func(m string) *providers.Request {
		return &providers.Request{Dialect: providers.DialectGemini, Endpoint: providers.EndpointChat, Model: m, Choices: 1}
	}
	stream := func(m string, array bool) *providers.Request {
		r := gen(m)
		r.Stream, r.ArrayStream = true, array
		return r
	}
	count := func(m string) *providers.Request {
		r := gen(m)
		r.Endpoint = providers.EndpointCountTokens
		return r
	}
	with := func(r *providers.Request, f func(*providers.Request)) *providers.Request { f(r); return r }
	cases := []struct {
		name, target, body string
		want               *providers.Request
	}{
		{"generate", "/v1beta/models/gemini-2.0-flash:generateContent", simpleBody, gen("gemini-2.0-flash")},
		{"stream array", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", simpleBody, stream("gemini-2.0-flash", true)},
		{"stream sse", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", simpleBody, stream("gemini-2.0-flash", false)},
		{"stream sse with key", "/v1beta/models/g:streamGenerateContent?key=AIzaSECRET&alt=sse", simpleBody, stream("g", false)},
		{"stream alt json", "/v1beta/models/g:streamGenerateContent?alt=json", simpleBody, stream("g", true)},
		{"stream $alt with enum encoding", "/v1beta/models/g:streamGenerateContent?%24alt=json%3Benum-encoding%3Dint", simpleBody, stream("g", true)},
		{"generate alt sse", "/v1beta/models/g:generateContent?alt=sse", simpleBody, gen("g")},
		{"count", "/v1beta/models/gemini-2.0-flash:countTokens", `{"contents":[{"parts":[{"text":"Hi"}]}]}`, count("gemini-2.0-flash")},
		{"count generateContentRequest", "/v1beta/models/g:countTokens",
			`{"generateContentRequest":{"model":"models/g","contents":[{"parts":[{"text":"Hi"}]}]}}`, count("g")},
		{"count ignores the rest", "/v1beta/models/g:countTokens", `{"contents":[],"generationConfig":"odd","maxOutputTokens":-1}`, count("g")},
		{"model with a slash", "/v1beta/models/google/gemini-pro:generateContent", simpleBody, gen("google/gemini-pro")},
		{"model with an escaped slash", "/v1beta/models/google%2Fgemini-pro:generateContent", simpleBody, gen("google/gemini-pro")},
		{"model with a colon", "/v1beta/models/ft:base:generateContent", simpleBody, gen("ft:base")},
		{"max output tokens", "/v1beta/models/g:generateContent",
			`{"contents":[],"generationConfig":{"temperature":0.2,"maxOutputTokens":100}}`,
			with(gen("g"), func(r *providers.Request) {
				r.MaxOutputTokens, r.MaxOutputParam = 100, "generationConfig.maxOutputTokens"
			})},
		{"proto names and a string integer", "/v1beta/models/g:generateContent",
			`{"contents":[],"generation_config":{"max_output_tokens":"200","candidate_count":"2"}}`,
			with(gen("g"), func(r *providers.Request) {
				r.MaxOutputTokens, r.MaxOutputParam, r.Choices = 200, "generationConfig.maxOutputTokens", 2
			})},
		{"escaped key", "/v1beta/models/g:generateContent",
			`{"contents":[],"generationConfig":{"max\u004FutputTokens":300}}`,
			with(gen("g"), func(r *providers.Request) {
				r.MaxOutputTokens, r.MaxOutputParam = 300, "generationConfig.maxOutputTokens"
			})},
		{"exponent", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"maxOutputTokens":1e3}}`,
			with(gen("g"), func(r *providers.Request) {
				r.MaxOutputTokens, r.MaxOutputParam = 1000, "generationConfig.maxOutputTokens"
			})},
		{"zero cap is unset", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"maxOutputTokens":0}}`, gen("g")},
		{"null config", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":null}`, gen("g")},
		{"candidates", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"candidateCount":3}}`,
			with(gen("g"), func(r *providers.Request) { r.Choices = 3 })},
		{"zero candidates is one", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"candidateCount":0}}`, gen("g")},
		{"images", "/v1beta/models/g:generateContent", `{"contents":[{"role":"user","parts":[
			{"text":"What is in these?"},
			{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}},
			{"inline_data":{"mime_type":"IMAGE/JPEG","data":"/9j/"}}]}]}`,
			with(gen("g"), func(r *providers.Request) { r.Images = 2 })},
		{"audio", "/v1beta/models/g:generateContent", `{"contents":[{"parts":[
			{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}},
			{"inlineData":{"mimeType":"audio/mp3","data":"SUQz"}}]}]}`,
			with(gen("g"), func(r *providers.Request) { r.Images, r.Unbounded = 1, "inlineData" })},
		{"file image", "/v1beta/models/g:generateContent", `{"contents":[{"parts":[
			{"fileData":{"mimeType":"image/png","fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc"}}]}]}`,
			with(gen("g"), func(r *providers.Request) { r.Images, r.Unbounded = 1, "fileData" })},
		{"file video", "/v1beta/models/g:generateContent", `{"contents":[{"parts":[
			{"file_data":{"mime_type":"video/mp4","file_uri":"https://www.youtube.com/watch?v=x"}}]}]}`,
			with(gen("g"), func(r *providers.Request) { r.Unbounded = "fileData" })},
		{"function response image", "/v1beta/models/g:generateContent", `{"contents":[{"role":"user","parts":[
			{"functionResponse":{"name":"shot","response":{},"parts":[{"inlineData":{"mimeType":"image/webp","data":"UklG"}}]}}]}]}`,
			with(gen("g"), func(r *providers.Request) { r.Images = 1 })},
		{"system instruction", "/v1beta/models/g:generateContent", `{"systemInstruction":{"parts":[{"inlineData":{"mimeType":"application/pdf","data":"JVBE"}}]},"contents":[]}`,
			with(gen("g"), func(r *providers.Request) { r.Unbounded = "inlineData" })},
		{"cached content", "/v1beta/models/g:generateContent", `{"contents":[],"cachedContent":"cachedContents/abc","tools":[{"googleSearch":{}}]}`,
			with(gen("g"), func(r *providers.Request) { r.Unbounded = "cachedContent" })},
		{"empty cached content", "/v1beta/models/g:generateContent", `{"contents":[],"cachedContent":""}`, gen("g")},
		{"google search", "/v1beta/models/g:generateContent", `{"contents":[],"tools":[{"functionDeclarations":[{"name":"f"}]},{"googleSearch":{}}]}`,
			with(gen("g"), func(r *providers.Request) { r.Unbounded = "googleSearch" })},
		{"code execution, proto name", "/v1beta/models/g:generateContent", `{"contents":[],"tools":[{"code_execution":{}}]}`,
			with(gen("g"), func(r *providers.Request) { r.Unbounded = "codeExecution" })},
		{"url context", "/v1beta/models/g:generateContent", `{"contents":[],"tools":[{"urlContext":{}}]}`,
			with(gen("g"), func(r *providers.Request) { r.Unbounded = "urlContext" })},
		{"unknown tool", "/v1beta/models/g:generateContent", `{"contents":[],"tools":[{"futureTool":{}}]}`,
			with(gen("g"), func(r *providers.Request) { r.Unbounded = "tools" })},
		{"function tools only", "/v1beta/models/g:generateContent", `{"contents":[],"tools":[{"functionDeclarations":[{"name":"f"}],"googleSearch":null}]}`, gen("g")},
		{"image output", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"responseModalities":["TEXT","IMAGE"]}}`,
			with(gen("g"), func(r *providers.Request) { r.Unbounded = "responseModalities" })},
		{"text output", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"responseModalities":["TEXT"]}}`, gen("g")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, perr := decodeAt(t, tc.target, tc.body)
			if perr != nil {
				t.Fatalf("Decode: %v", perr)
			}
			if string(got.Body) != tc.body {
				t.Errorf("Body changed")
			}
			got.Body = nil
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	const canary = "CANARY-7f3a"
	cases := []struct {
		name, target, body string
		status             int
		param, code        string
	}{
		{"unknown method", "/v1beta/models/" + canary + ":embedContent", simpleBody, 404, "", "unknown_url"},
		{"no method", "/v1beta/models/" + canary, simpleBody, 404, "", "unknown_url"},
		{"empty method", "/v1beta/models/g:", simpleBody, 404, "", "unknown_url"},
		{"no model", "/v1beta/models/:generateContent", simpleBody, 400, "model", "missing_required_parameter"},
		{"model not UTF-8", "/v1beta/models/%FF" + canary + ":generateContent", simpleBody, 400, "model", "invalid_value"},
		{"alt proto", "/v1beta/models/g:streamGenerateContent?alt=proto", simpleBody, 400, "alt", "unsupported_value"},
		{"bad query", "/v1beta/models/g:generateContent?alt=%zz", simpleBody, 400, "", "invalid_query"},
		{"not JSON", "/v1beta/models/g:generateContent", `{"contents":[` + canary, 400, "", "invalid_json"},
		{"empty body", "/v1beta/models/g:generateContent", ``, 400, "", "invalid_json"},
		{"array body", "/v1beta/models/g:generateContent", `[{"contents":[]}]`, 400, "", "invalid_json"},
		{"no contents", "/v1beta/models/g:generateContent", `{"prompt":"` + canary + `"}`, 400, "contents", "missing_required_parameter"},
		{"contents not an array", "/v1beta/models/g:generateContent", `{"contents":"` + canary + `"}`, 400, "contents", "invalid_type"},
		{"contents twice", "/v1beta/models/g:generateContent", `{"contents":[],"contents":[]}`, 400, "contents", "duplicate_parameter"},
		{"config not an object", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":"` + canary + `"}`, 400, "generationConfig", "invalid_type"},
		{"config twice", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{},"generation_config":{}}`, 400, "generationConfig", "duplicate_parameter"},
		{"cap negative", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"maxOutputTokens":-1}}`, 400, "generationConfig.maxOutputTokens", "invalid_value"},
		{"cap fraction", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"maxOutputTokens":1.5}}`, 400, "generationConfig.maxOutputTokens", "invalid_value"},
		{"cap text", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"maxOutputTokens":"` + canary + `"}}`, 400, "generationConfig.maxOutputTokens", "invalid_value"},
		{"cap beyond int32", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"maxOutputTokens":3000000000}}`, 400, "generationConfig.maxOutputTokens", "invalid_value"},
		{"cap bool", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"maxOutputTokens":true}}`, 400, "generationConfig.maxOutputTokens", "invalid_value"},
		{"cap twice", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"maxOutputTokens":10,"max_output_tokens":100000}}`,
			400, "generationConfig.maxOutputTokens", "duplicate_parameter"},
		{"candidates too many", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"candidateCount":129}}`, 400, "generationConfig.candidateCount", "invalid_value"},
		{"candidates negative", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"candidateCount":-2}}`, 400, "generationConfig.candidateCount", "invalid_value"},
		{"candidates twice", "/v1beta/models/g:generateContent", `{"contents":[],"generationConfig":{"candidateCount":1,"candidate_count":8}}`, 400, "generationConfig.candidateCount", "duplicate_parameter"},
		{"count without contents", "/v1beta/models/g:countTokens", `{"model":"` + canary + `"}`, 400, "contents", "missing_required_parameter"},
		{"count not JSON", "/v1beta/models/g:countTokens", canary, 400, "", "invalid_json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, perr := decodeAt(t, tc.target, tc.body)
			if perr == nil {
				t.Fatalf("Decode accepted it: %+v", req)
			}
			if perr.Status != tc.status || perr.Param != tc.param || perr.Code != tc.code {
				t.Errorf("error %d %q %q; want %d %q %q", perr.Status, perr.Param, perr.Code, tc.status, tc.param, tc.code)
			}
			if perr.Message == "" || strings.Contains(perr.Message, canary) || strings.Contains(string(perr.Body(providers.DialectGemini)), canary) {
				t.Errorf("message %q is empty or quotes the request", perr.Message)
			}
		})
	}
}

// TestDecodeWithoutPathValues decodes a request routed by a router that
// sets no path values: the model comes from the path itself.
func TestDecodeWithoutPathValues(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/gw/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", nil)
	req, perr := FrontDoor{}.Decode(routes[0], r, []byte(simpleBody))
	if perr != nil {
		t.Fatal(perr)
	}
	if req.Model != "gemini-2.5-pro" || !req.Stream || req.ArrayStream {
		t.Errorf("got model %q stream %v array %v; want gemini-2.5-pro, true, false", req.Model, req.Stream, req.ArrayStream)
	}
	if _, perr := (FrontDoor{}).Decode(routes[0], nil, []byte(simpleBody)); perr == nil || perr.Status != 404 {
		t.Errorf("Decode without a request: %v; want a 404", perr)
	}
}

var unboundedNames = map[string]bool{"": true, "cachedContent": true, "fileData": true, "inlineData": true, "responseModalities": true,
	"tools": true, "googleSearch": true, "googleSearchRetrieval": true, "codeExecution": true, "urlContext": true, "retrieval": true,
	"fileSearch": true, "computerUse": true, "googleMaps": true, "enterpriseWebSearch": true, "mcpServers": true}

// FuzzDecode checks that Decode never panics, answers every refusal with
// a 400 or 404 that does not quote the path or the body, and that what it
// accepts is consistent.
func FuzzDecode(f *testing.F) {
	const canary = "CANARY-7f3a"
	f.Add("gemini-2.0-flash:generateContent", "", []byte(simpleBody))
	f.Add("g:streamGenerateContent", "alt=sse&key=k", []byte(`{"contents":[],"generationConfig":{"maxOutputTokens":"5","candidateCount":2}}`))
	f.Add("g:streamGenerateContent", "$alt=json;enum-encoding=int", []byte(`{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"x"}}]}]}`))
	f.Add("g:countTokens", "", []byte(`{"generateContentRequest":{"contents":[]}}`))
	f.Add(canary+":embedContent", "alt=%zz", []byte(canary))
	f.Add("g:generateContent", "", []byte(`{"contents":[],"tools":[{"google_search":{}}],"cached_content":"c"}`))
	f.Add("g:generateContent", "", []byte(`{"contents":[{"parts":[{"functionResponse":{"parts":[{"fileData":{"mimeType":"image/png"}}]}}]}],"generation_config":{"max_output_tokens":1e3}}`))
	f.Fuzz(func(t *testing.T, model, query string, body []byte) {
		r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/v1beta/models/x", RawQuery: query}, Header: http.Header{}}
		r.SetPathValue("model", model)
		req, perr := FrontDoor{}.Decode(routes[0], r, body)
		if perr != nil {
			if (perr.Status != 400 && perr.Status != 404) || perr.Message == "" {
				t.Fatalf("error %+v; want a 400 or 404 with a message", perr)
			}
			if strings.Contains(string(perr.Body(providers.DialectGemini)), canary) {
				t.Fatalf("error body quotes the request: %s", perr.Body(providers.DialectGemini))
			}
			return
		}
		if req.Model == "" || !strings.HasPrefix(model, req.Model+":") {
			t.Fatalf("model %q from path %q", req.Model, model)
		}
		if req.ArrayStream && !req.Stream || req.Stream && req.Endpoint != providers.EndpointChat {
			t.Fatalf("stream %v, array %v for %s", req.Stream, req.ArrayStream, req.Endpoint)
		}
		if req.Choices < 1 || req.Choices > 128 || req.MaxOutputTokens < 0 || req.Images < 0 {
			t.Fatalf("choices %d, cap %d, images %d", req.Choices, req.MaxOutputTokens, req.Images)
		}
		if (req.MaxOutputTokens > 0) != (req.MaxOutputParam != "") {
			t.Fatalf("cap %d named %q", req.MaxOutputTokens, req.MaxOutputParam)
		}
		if !unboundedNames[req.Unbounded] {
			t.Fatalf("Unbounded %q is not a field name", req.Unbounded)
		}
		if req.ModelStart != 0 || req.ModelEnd != 0 {
			t.Fatalf("model span %d:%d; want none", req.ModelStart, req.ModelEnd)
		}
	})
}

// benchBody is a typical chat request: a system instruction, a few turns,
// an image, tools and a generation config.
func benchBody() []byte {
	var b strings.Builder
	b.WriteString(`{"systemInstruction":{"parts":[{"text":"You are a helpful assistant. Answer briefly and cite sources."}]},"contents":[`)
	for i := range 8 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"role":"user","parts":[{"text":"` + strings.Repeat("Tell me about the weather in Oslo today. ", 12) + `"}]},`)
		b.WriteString(`{"role":"model","parts":[{"text":"` + strings.Repeat("It is cold and clear, with light wind from the north. ", 12) + `"}]}`)
	}
	b.WriteString(`,{"role":"user","parts":[{"text":"And this?"},{"inlineData":{"mimeType":"image/png","data":"` + strings.Repeat("iVBORw0KGgo", 200) + `"}}]}],`)
	b.WriteString(`"tools":[{"functionDeclarations":[{"name":"weather","description":"Weather now","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}}}}]}],`)
	b.WriteString(`"generationConfig":{"temperature":0.7,"topP":0.9,"maxOutputTokens":1024,"candidateCount":1,"thinkingConfig":{"thinkingBudget":512}}}`)
	return []byte(b.String())
}

func BenchmarkDecode(b *testing.B) {
	body := benchBody()
	r := httptest.NewRequest(http.MethodPost, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", nil)
	r.SetPathValue("model", "gemini-2.5-flash:streamGenerateContent")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, perr := (FrontDoor{}).Decode(routes[0], r, body); perr != nil {
			b.Fatal(perr)
		}
	}
}
