package gemini

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/providers/canon"
)

// semantic decodes a JSON text to any, for comparisons that ignore
// spelling (member order, spaces, number forms).
func semantic(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return v
}

// requestFixtures are Gemini bodies whose round trip must be exact (want
// "" means the body itself).
var requestFixtures = []struct {
	name, body, want string
}{
	{"text", `{"contents":[{"role":"user","parts":[{"text":"Hello"}]}]}`, ""},
	{"system", `{"systemInstruction":{"parts":[{"text":"Be brief."},{"text":"Be kind."}]},
		"contents":[{"role":"user","parts":[{"text":"Hi"}]},{"role":"model","parts":[{"text":"Hello!"}]},{"role":"user","parts":[{"text":"Bye"}]}]}`, ""},
	{"system role given", `{"systemInstruction":{"role":"system","parts":[{"text":"S"}]},"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}`,
		`{"systemInstruction":{"parts":[{"text":"S"}]},"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}`},
	{"inline image", `{"contents":[{"role":"user","parts":[{"text":"What is this?"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]}]}`, ""},
	{"file image", `{"contents":[{"role":"user","parts":[{"fileData":{"mimeType":"image/jpeg","fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc"}}]}]}`, ""},
	{"function turns", `{"contents":[
		{"role":"user","parts":[{"text":"Weather in Oslo and Rome?"}]},
		{"role":"model","parts":[{"functionCall":{"name":"weather","args":{"city":"Oslo"}},"thoughtSignature":"c2ln"},{"functionCall":{"name":"weather","args":{"city":"Rome"}}}]},
		{"role":"user","parts":[{"functionResponse":{"name":"weather","response":{"temp":3}}},{"functionResponse":{"name":"weather","response":{"temp":19}}}]},
		{"role":"model","parts":[{"text":"Cold and warm."}]}],
		"tools":[{"functionDeclarations":[{"name":"weather","description":"Weather now","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}}}}]}],
		"toolConfig":{"functionCallingConfig":{"mode":"AUTO"}}}`, ""},
	{"function ids", `{"contents":[
		{"role":"model","parts":[{"functionCall":{"id":"a1","name":"f","args":{}}}]},
		{"role":"user","parts":[{"functionResponse":{"id":"a1","name":"f","response":{"output":"ok"}}}]}]}`, ""},
	{"parameters spelled openapi", `{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT"}}]}]}`,
		`{"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f","parametersJsonSchema":{"type":"OBJECT"}}]}]}`},
	{"function role", `{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f"}}]},{"role":"function","parts":[{"functionResponse":{"name":"f","response":{}}}]}]}`,
		`{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"f","response":{}}}]}]}`},
	{"thinking", `{"contents":[{"role":"user","parts":[{"text":"q"}]},{"role":"model","parts":[{"text":"hmm","thought":true,"thoughtSignature":"AAA="},{"text":"a"}]}]}`, ""},
	{"tool choice", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"tools":[{"functionDeclarations":[{"name":"f"},{"name":"g"}]}],
		"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["g"]}}}`, ""},
	{"tool choice none", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"toolConfig":{"functionCallingConfig":{"mode":"NONE"}}}`, ""},
	{"json schema", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"responseMimeType":"application/json",
		"responseJsonSchema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}}}`, ""},
	{"response schema spelled openapi", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"responseMimeType":"application/json","responseSchema":{"type":"STRING"}}}`,
		`{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":{"type":"STRING"}}}`},
	{"json any", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"responseMimeType":"application/json"}}`, ""},
	{"stop and sampling", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"stopSequences":["END","\n\n"],
		"temperature":0,"topP":0.9,"topK":40,"candidateCount":2,"maxOutputTokens":256,"seed":7,"presencePenalty":0.5,"frequencyPenalty":-0.5}}`, ""},
	{"temperature unset", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"maxOutputTokens":5}}`, ""},
	{"thinking budget", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}`, ""},
	{"thinking level", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"thinkingConfig":{"thinkingLevel":"LOW","includeThoughts":false}}}`,
		`{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"thinkingConfig":{"thinkingLevel":"LOW"}}}`},
	{"nulls", `{"contents":[{"role":"user","parts":[{"text":"q","thought":null}]}],"safetySettings":null,"generationConfig":{"temperature":null}}`,
		`{"contents":[{"role":"user","parts":[{"text":"q"}]}]}`},
	{"text modality", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"responseModalities":["TEXT"],"temperature":1}}`,
		`{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"temperature":1}}`},
	{"model in body", `{"model":"models/gemini-2.5-flash","contents":[{"role":"user","parts":[{"text":"q"}]}]}`,
		`{"contents":[{"role":"user","parts":[{"text":"q"}]}]}`},
}

func TestRequestRoundTrip(t *testing.T) {
	for _, tc := range requestFixtures {
		t.Run(tc.name, func(t *testing.T) {
			r, perr := RequestToCanon("gemini-2.5-flash", true, []byte(tc.body))
			if perr != nil {
				t.Fatalf("RequestToCanon: %v", perr)
			}
			if r.Model != "gemini-2.5-flash" || !r.Stream {
				t.Errorf("Model, Stream = %q, %v; want gemini-2.5-flash, true", r.Model, r.Stream)
			}
			out, err := RequestFromCanon(r)
			if err != nil {
				t.Fatalf("RequestFromCanon: %v", err)
			}
			want := tc.want
			if want == "" {
				want = tc.body
			}
			if d := cmp.Diff(semantic(t, []byte(want)), semantic(t, out)); d != "" {
				t.Errorf("round trip (-want +got):\n%s\ngot %s", d, out)
			}
		})
	}
}

func TestRequestToCanon(t *testing.T) {
	body := requestFixtures[5].body // function turns
	r, perr := RequestToCanon("m", false, []byte(body))
	if perr != nil {
		t.Fatal(perr)
	}
	sig := canon.ToolCallPart("gemini_c1_p0", "weather", json.RawMessage(`{"city":"Oslo"}`))
	sig.Signature = "c2ln"
	res := func(id, text string) canon.Part {
		p := canon.ToolResultPart(id, canon.TextPart(text))
		p.ToolResult.Name = "weather"
		return p
	}
	want := &canon.Request{
		Model: "m",
		Messages: []canon.Message{
			{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("Weather in Oslo and Rome?")}},
			{Role: canon.RoleAssistant, Parts: []canon.Part{sig,
				canon.ToolCallPart("gemini_c1_p1", "weather", json.RawMessage(`{"city":"Rome"}`))}},
			{Role: canon.RoleTool, Parts: []canon.Part{res("gemini_c1_p0", `{"temp":3}`), res("gemini_c1_p1", `{"temp":19}`)}},
			{Role: canon.RoleAssistant, Parts: []canon.Part{canon.TextPart("Cold and warm.")}},
		},
		Tools:      []canon.Tool{{Name: "weather", Description: "Weather now", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
		ToolChoice: canon.ToolChoice{Mode: canon.ToolChoiceAuto},
	}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("RequestToCanon (-want +got):\n%s", d)
	}

	// Temperature 0 is a value; no temperature is unset.
	zero, _ := RequestToCanon("m", false, []byte(`{"contents":[{"parts":[{"text":"q"}]}],"generationConfig":{"temperature":0}}`))
	unset, _ := RequestToCanon("m", false, []byte(`{"contents":[{"parts":[{"text":"q"}]}]}`))
	if zero.Temperature == nil || *zero.Temperature != 0 || unset.Temperature != nil {
		t.Errorf("Temperature = %v, %v; want 0, nil", zero.Temperature, unset.Temperature)
	}
	// One allowed name with ANY names a tool; a response without a
	// pending call gets an ID of its own.
	r, perr = RequestToCanon("m", false, []byte(`{"contents":[{"parts":[{"functionResponse":{"name":"f","response":{}}}]}],
		"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}}`))
	if perr != nil {
		t.Fatal(perr)
	}
	if got := r.Messages[0].Parts[0].ToolResult.CallID; got != "gemini_c0_p0" {
		t.Errorf("CallID = %q; want gemini_c0_p0", got)
	}
	if r.ToolChoice != (canon.ToolChoice{Mode: canon.ToolChoiceTool, Name: "f"}) {
		t.Errorf("ToolChoice = %+v; want tool f", r.ToolChoice)
	}
}

const canary = "CANARY-7f3a"

func TestRequestRefusals(t *testing.T) {
	user := func(part string) string { return `{"contents":[{"role":"user","parts":[` + part + `]}]}` }
	cases := []struct {
		name, body, param, code string
	}{
		{"invalid json", `{"contents":` + canary, "", "invalid_json"},
		{"not an object", `["` + canary + `"]`, "", "invalid_json"},
		{"unknown top", `{"` + canary + `":1,"contents":[]}`, "", "unknown_parameter"},
		{"unknown case", `{"Contents":[]}`, "", "unknown_parameter"},
		{"escaped key", `{"con\u0074ents":[]}`, "", "unknown_parameter"},
		{"unknown in part", user(`{"text":"x","` + canary + `":1}`), "contents[0].parts[0]", "unknown_parameter"},
		{"missing contents", `{}`, "contents", "missing_required_parameter"},
		{"safety", `{"contents":[],"safetySettings":[{"category":"` + canary + `"}]}`, "safetySettings", "unsupported_parameter"},
		{"cached", `{"contents":[],"cachedContent":"` + canary + `"}`, "cachedContent", "unsupported_parameter"},
		{"google search", `{"contents":[],"tools":[{"googleSearch":{}}]}`, "tools[0].googleSearch", "unsupported_parameter"},
		{"code execution", `{"contents":[],"tools":[{"codeExecution":{}}]}`, "tools[0].codeExecution", "unsupported_parameter"},
		{"audio", user(`{"inlineData":{"mimeType":"audio/mp3","data":"` + canary + `"}}`), "contents[0].parts[0].inlineData.mimeType", "unsupported_value"},
		{"pdf", user(`{"inlineData":{"mimeType":"application/pdf","data":"x"}}`), "contents[0].parts[0].inlineData.mimeType", "unsupported_value"},
		{"video file", user(`{"fileData":{"mimeType":"video/mp4","fileUri":"` + canary + `"}}`), "contents[0].parts[0].fileData.mimeType", "unsupported_value"},
		{"executable code", user(`{"executableCode":{"code":"` + canary + `"}}`), "contents[0].parts[0].executableCode", "unsupported_parameter"},
		{"bad mime", `{"contents":[],"generationConfig":{"responseMimeType":"` + canary + `"}}`, "generationConfig.responseMimeType", "unsupported_value"},
		{"image modality", `{"contents":[],"generationConfig":{"responseModalities":["TEXT","IMAGE"]}}`, "generationConfig.responseModalities", "unsupported_value"},
		{"speech", `{"contents":[],"generationConfig":{"speechConfig":{}}}`, "generationConfig.speechConfig", "unsupported_parameter"},
		{"include thoughts", `{"contents":[],"generationConfig":{"thinkingConfig":{"includeThoughts":true}}}`, "generationConfig.thinkingConfig.includeThoughts", "unsupported_parameter"},
		{"two allowed", `{"contents":[],"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["a","b"]}}}`, "toolConfig.functionCallingConfig.allowedFunctionNames", "unsupported_parameter"},
		{"bad mode", `{"contents":[],"toolConfig":{"functionCallingConfig":{"mode":"` + canary + `"}}}`, "toolConfig.functionCallingConfig.mode", "invalid_value"},
		{"bad role", `{"contents":[{"role":"` + canary + `","parts":[{"text":"x"}]}]}`, "contents[0].role", "invalid_value"},
		{"string temperature", `{"contents":[],"generationConfig":{"temperature":"` + canary + `"}}`, "generationConfig.temperature", "invalid_type"},
		{"fractional topK", `{"contents":[],"generationConfig":{"topK":1.5}}`, "generationConfig.topK", "invalid_type"},
		{"args not object", `{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","args":"` + canary + `"}}]}]}`, "contents[0].parts[0].functionCall.args", "invalid_type"},
		{"call from user", user(`{"functionCall":{"name":"f"}}`), "contents[0].parts[0].functionCall", "unsupported_parameter"},
		{"image from model", `{"contents":[{"role":"model","parts":[{"inlineData":{"mimeType":"image/png","data":"x"}}]}]}`, "contents[0].parts[0].inlineData", "unsupported_parameter"},
		{"two kinds", user(`{"text":"x","inlineData":{"mimeType":"image/png","data":"x"}}`), "contents[0].parts[0]", "invalid_value"},
		{"system image", `{"contents":[],"systemInstruction":{"parts":[{"inlineData":{"mimeType":"image/png","data":"x"}}]}}`, "systemInstruction.parts[0]", "unsupported_parameter"},
		{"model mismatch", `{"model":"` + canary + `","contents":[]}`, "model", "invalid_value"},
		{"labels", `{"contents":[],"labels":{"` + canary + `":"x"}}`, "labels", "unsupported_parameter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, perr := RequestToCanon("m", false, []byte(tc.body))
			if perr == nil {
				t.Fatalf("RequestToCanon = %+v; want an error", r)
			}
			if perr.Status != 400 || perr.Param != tc.param || perr.Code != tc.code {
				t.Errorf("got %d %q %q; want 400 %q %q", perr.Status, perr.Param, perr.Code, tc.param, tc.code)
			}
			if strings.Contains(perr.Message+perr.Param+perr.Code+perr.Type, canary) {
				t.Errorf("error echoes body text: %+v", perr)
			}
		})
	}
}

func TestRequestFromCanonUnsupported(t *testing.T) {
	base := func() *canon.Request {
		return &canon.Request{Model: "m", Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("q")}}}}
	}
	no, yes := false, true
	cases := []struct {
		name string
		edit func(r *canon.Request)
		want *canon.UnsupportedError
	}{
		{"user", func(r *canon.Request) { r.User = "u" }, canon.Unsupported(canon.FeatureUser)},
		{"no parallel", func(r *canon.Request) { r.ParallelToolCalls = &no }, canon.Unsupported(canon.FeatureParallelToolCalls)},
		{"strict tool", func(r *canon.Request) { r.Tools = []canon.Tool{{Name: "f", Strict: &yes}} }, canon.Unsupported(canon.FeatureToolStrict)},
		{"late system", func(r *canon.Request) {
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleDeveloper, Parts: []canon.Part{canon.TextPart("s")}})
		}, canon.UnsupportedAt(canon.FeatureRole, 1, -1)},
		{"url image without type", func(r *canon.Request) {
			r.Messages[0].Parts = append(r.Messages[0].Parts, canon.ImageURLPart("https://example.com/cat"))
		}, canon.UnsupportedAt(canon.FeaturePart, 0, 1)},
		{"detail", func(r *canon.Request) {
			r.Messages[0].Parts[0] = canon.Part{Kind: canon.PartImage, Image: canon.Image{URL: "u", MediaType: "image/png", Detail: "low"}}
		}, canon.UnsupportedAt(canon.FeatureImageDetail, 0, 0)},
		{"effort xhigh", func(r *canon.Request) { r.Reasoning = &canon.Reasoning{Effort: "xhigh"} }, canon.Unsupported(canon.FeatureReasoningEffort)},
		{"strict format", func(r *canon.Request) {
			r.ResponseFormat = &canon.ResponseFormat{Type: canon.FormatJSONSchema, Strict: &yes}
		}, canon.Unsupported(canon.FeatureResponseFormat)},
		{"image in tool result", func(r *canon.Request) {
			r.Messages = append(r.Messages,
				canon.Message{Role: canon.RoleAssistant, Parts: []canon.Part{canon.ToolCallPart("c", "f", nil)}},
				canon.Message{Role: canon.RoleTool, Parts: []canon.Part{canon.ToolResultPart("c", canon.ImageDataPart("image/png", "x"))}})
		}, canon.UnsupportedAt(canon.FeaturePart, 2, 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.edit(r)
			_, err := RequestFromCanon(r)
			var ue *canon.UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v; want an UnsupportedError", err)
			}
			if d := cmp.Diff(tc.want, ue); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestRequestFromCanonToolResults(t *testing.T) {
	r := &canon.Request{Model: "m", Messages: []canon.Message{
		{Role: canon.RoleSystem, Parts: []canon.Part{canon.TextPart("S")}},
		{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("q"), {Kind: canon.PartImage, Image: canon.Image{URL: "gs://b/cat.png", MediaType: "image/png"}}}},
		{Role: canon.RoleAssistant, Parts: []canon.Part{
			{Kind: canon.PartRedactedThinking, Signature: "opaque"},
			canon.ToolCallPart("call_1", "f", json.RawMessage(`{"a":1}`)),
			canon.ToolCallPart("call_2", "g", nil)}},
		{Role: canon.RoleTool, Parts: []canon.Part{canon.ToolResultPart("call_1", canon.TextPart("plain"))}},
		{Role: canon.RoleTool, Parts: []canon.Part{{Kind: canon.PartToolResult, ToolResult: canon.ToolResult{
			CallID: "call_2", Content: []canon.Part{canon.TextPart("boom")}, IsError: true}}}},
	}}
	out, err := RequestFromCanon(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"systemInstruction":{"parts":[{"text":"S"}]},"contents":[
		{"role":"user","parts":[{"text":"q"},{"fileData":{"mimeType":"image/png","fileUri":"gs://b/cat.png"}}]},
		{"role":"model","parts":[{"functionCall":{"id":"call_1","name":"f","args":{"a":1}}},{"functionCall":{"id":"call_2","name":"g","args":{}}}]},
		{"role":"user","parts":[{"functionResponse":{"id":"call_1","name":"f","response":{"output":"plain"}}},
			{"functionResponse":{"id":"call_2","name":"g","response":{"error":"boom"}}}]}]}`
	if d := cmp.Diff(semantic(t, []byte(want)), semantic(t, out)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
