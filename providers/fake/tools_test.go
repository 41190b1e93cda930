package fake_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/providers/fake"
)

// chatWithTool returns a chat completions body offering one tool with
// the given parameters schema.
func chatWithTool(text, params, extra string) string {
	return userChat("fake-echo", text, `,"tools":[{"type":"function","function":{"name":"f","parameters":`+params+`}}]`+extra)
}

func TestToolArguments(t *testing.T) {
	for _, tc := range []struct {
		name, schema, want string
	}{
		{"required, in its order", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"},"c":{"type":"boolean"}},"required":["c","a"]}`,
			`{"c":true,"a":"hi <there> & \"you\""}`},
		{"first property without required", `{"type":"object","properties":{"z":{"type":"number"},"a":{"type":"string"}}}`, `{"z":1}`},
		{"every type", `{"type":"object","properties":{"s":{"type":"string"},"i":{"type":"integer"},"n":{"type":"number"},"b":{"type":"boolean"},` +
			`"a":{"type":"array","items":{"type":"string"}},"o":{"type":"object"},"x":{},"u":{"type":"unknown"},"nl":{"type":"null"}},"required":["s","i","n","b","a","o","x","u","nl"]}`,
			`{"s":"hi <there> & \"you\"","i":1,"n":1,"b":true,"a":[],"o":{},"x":null,"u":null,"nl":null}`},
		{"enum and const", `{"type":"object","properties":{"unit":{"type":"string","enum":["celsius","kelvin"]},"v":{"const": 3},"e":{"enum":[{"k": [1, 2]}]}},"required":["unit","v","e"]}`,
			`{"unit":"celsius","v":3,"e":{"k":[1,2]}}`},
		{"nullable types", `{"type":"object","properties":{"a":{"type":["null","integer"]},"b":{"type":["string","null"]}},"required":["a","b"]}`,
			`{"a":1,"b":"hi <there> & \"you\""}`},
		{"Gemini's capitals", `{"type":"OBJECT","properties":{"a":{"type":"STRING"},"b":{"type":"BOOLEAN"}},"required":["a","b"]}`,
			`{"a":"hi <there> & \"you\"","b":true}`},
		{"required property without a schema", `{"type":"object","properties":{"a":{"type":"string"}},"required":["missing"]}`, `{"missing":null}`},
		{"required repeated", `{"type":"object","properties":{"a":{"type":"integer"}},"required":["a","a"]}`, `{"a":1}`},
		{"escaped property name", `{"type":"object","properties":{"\u00e9t\u00e9":{"type":"integer"}}}`, `{"été":1}`},
		{"no properties", `{"type":"object","properties":{}}`, `{}`},
		{"no schema", `null`, `{}`},
		{"not an object", `"string"`, `{}`},
		{"properties not an object", `{"properties":[1],"required":"a"}`, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(nil))
			resp, body := post(t, srv.URL+"/v1/chat/completions", chatWithTool(`hi <there> & "you"`, tc.schema, ""))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var c struct {
				Choices []struct {
					Message struct {
						ToolCalls []struct {
							Function struct{ Name, Arguments string }
						} `json:"tool_calls"`
					}
				}
			}
			if err := json.Unmarshal(body, &c); err != nil || len(c.Choices) != 1 || len(c.Choices[0].Message.ToolCalls) != 1 {
				t.Fatalf("%v: %s", err, body)
			}
			if got := c.Choices[0].Message.ToolCalls[0].Function.Arguments; got != tc.want {
				t.Errorf("arguments %s; want %s", got, tc.want)
			}
		})
	}
}

func TestOpenAIToolCallShape(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	const params = `{"type":"object","properties":{"city":{"type":"string"}}}`
	_, body := post(t, srv.URL+"/v1/chat/completions", chatWithTool("Paris", params, ""))
	var got completion
	var raw struct {
		Choices []struct {
			Message struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					ID, Type string
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			}
		}
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(body, &raw)
	m := raw.Choices[0].Message
	if m.Content != nil || len(m.ToolCalls) != 1 || !strings.HasPrefix(m.ToolCalls[0].ID, "call_fake") || m.ToolCalls[0].Type != "function" ||
		m.ToolCalls[0].Function.Name != "f" || m.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` {
		t.Errorf("message %s; want content null and one function call f({\"city\":\"Paris\"})", body)
	}
	if got.Choices[0].FinishReason != "tool_calls" || *got.Usage != (usage{2, 4, 6}) || got.SystemFingerprint != "fp_fake" {
		t.Errorf("finish %q, usage %+v; want tool_calls, 2+4", got.Choices[0].FinishReason, *got.Usage)
	}

	// Streamed: a chunk opens the call (role, index, id, type, name, empty
	// arguments), two chunks carry halves of the arguments, then finish and
	// usage, as OpenAI streams calls.
	_, stream := post(t, srv.URL+"/v1/chat/completions", chatWithTool("Paris", params, `,"stream":true,"stream_options":{"include_usage":true}`))
	type fn struct {
		Name      *string `json:"name"`
		Arguments string  `json:"arguments"`
	}
	type call struct {
		Index int     `json:"index"`
		ID    *string `json:"id"`
		Type  *string `json:"type"`
		Func  fn      `json:"function"`
	}
	type view struct {
		Role   string
		Calls  []call
		Finish *string
		Usage  *usage
	}
	var views []view
	for _, ev := range readSSE(t, stream) {
		if ev.Data == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Role      string `json:"role"`
					ToolCalls []call `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *usage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
			t.Fatal(err)
		}
		v := view{Usage: c.Usage}
		if len(c.Choices) > 0 {
			v.Role, v.Calls, v.Finish = c.Choices[0].Delta.Role, c.Choices[0].Delta.ToolCalls, c.Choices[0].FinishReason
		}
		views = append(views, v)
	}
	id, typ, name, finish := "", "function", "f", "tool_calls"
	if len(views) > 0 && len(views[0].Calls) > 0 && views[0].Calls[0].ID != nil {
		id = *views[0].Calls[0].ID
	}
	want := []view{
		{Role: "assistant", Calls: []call{{ID: &id, Type: &typ, Func: fn{Name: &name}}}},
		{Calls: []call{{Func: fn{Arguments: `{"city":`}}}},
		{Calls: []call{{Func: fn{Arguments: `"Paris"}`}}}},
		{Finish: &finish},
		{Usage: &usage{2, 4, 6}},
	}
	if diff := cmp.Diff(want, views); diff != "" || !strings.HasPrefix(id, "call_fake") {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
}

func TestOpenAIToolResult(t *testing.T) {
	srv := newServer(t, fake.Handler(&fake.Options{Chunks: 2}))
	body := `{"model":"fake-echo","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"messages":[` +
		`{"role":"user","content":"Paris"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_9","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]},` +
		`{"role":"tool","tool_call_id":"call_9","content":[{"type":"text","text":"sunny"}]}]}`
	_, b := post(t, srv.URL+"/v1/chat/completions", body)
	var got completion
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// Chunks applies to the answer: "tool get_weather" of its four words.
	prompt := fake.PromptTokens(len("Paris") + len(`{"city":"Paris"}`) + len("sunny"))
	if got.Choices[0].Message.Content != "tool get_weather" || got.Choices[0].FinishReason != "stop" || *got.Usage != (usage{prompt, 2, prompt + 2}) {
		t.Errorf("answer %s", b)
	}
}

// TestToolCallIDs: the same call gets the same ID; another call another.
func TestToolCallIDs(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	ids := map[string]string{}
	for _, text := range []string{"Paris", "Paris", "Rome"} {
		_, b := post(t, srv.URL+"/v1/messages", anthMsg("fake-echo", text, `,"tools":[{"name":"f","input_schema":{"type":"object","properties":{"q":{"type":"string"}}}}]`))
		var m struct {
			ID      string
			Content []struct{ ID string }
		}
		if err := json.Unmarshal(b, &m); err != nil || len(m.Content) != 1 {
			t.Fatalf("%v: %s", err, b)
		}
		if prev, ok := ids[text]; ok && prev != m.Content[0].ID {
			t.Errorf("%s: id %s, then %s", text, prev, m.Content[0].ID)
		}
		ids[text] = m.Content[0].ID
	}
	if ids["Paris"] == ids["Rome"] {
		t.Errorf("two different calls got the same id %s", ids["Paris"])
	}
}
