package fake_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/providers/fake"
)

// anthMsg returns a Messages API body with one user message.
func anthMsg(model, text, extra string) string {
	q, _ := json.Marshal(text)
	return `{"model":"` + model + `","max_tokens":1024,"messages":[{"role":"user","content":` + string(q) + `}]` + extra + `}`
}

// keys returns the member names of the JSON object b, sorted.
func keys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestAnthropicMessage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   *fake.Options
		body   string
		want   string
		prompt int
	}{
		{"string content", nil, anthMsg("fake-echo", "Hello there, fake model!", ""), "Hello there, fake model!", 24},
		{"blocks and a system prompt", nil, `{"model":"fake-echo","max_tokens":50,"system":"Be brief.","messages":[{"role":"user","content":[` +
			`{"type":"text","text":"Hello "},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},{"type":"text","text":"world"}]}]}`,
			"Hello world", 9 + 11},
		{"system blocks", nil, `{"model":"fake-echo","max_tokens":50,"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],` +
			`"messages":[{"role":"user","content":"hi"}]}`, "hi", 9 + 2},
		{"last user message", nil, `{"model":"fake-echo","max_tokens":50,"messages":[{"role":"user","content":"first question"},` +
			`{"role":"assistant","content":"an answer"},{"role":"user","content":"second question here"}]}`, "second question here", 14 + 9 + 20},
		{"max_tokens caps words", nil, `{"model":"fake-echo","max_tokens":2,"messages":[{"role":"user","content":"one two three"}]}`, "one two", 13},
		{"Chunks", &fake.Options{Chunks: 5}, anthMsg("fake-echo", "a b", ""), "a b a b a", 3},
		{"members the fake has no use for", nil, anthMsg("claude-sonnet-4-5", "still fine",
			`,"metadata":{"user_id":"u"},"temperature":0.5,"thinking":{"type":"enabled","budget_tokens":1024},"service_tier":"auto","stop_sequences":["x"]`),
			"still fine", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(tc.opts))
			resp, body := post(t, srv.URL+"/v1/messages", tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if id := resp.Header.Get("Request-Id"); !strings.HasPrefix(id, "req_fake") {
				t.Errorf("request-id = %q; want the req_fake prefix", id)
			}
			if diff := cmp.Diff([]string{"content", "id", "model", "role", "stop_reason", "stop_sequence", "type", "usage"}, keys(t, body)); diff != "" {
				t.Errorf("message members (-want +got):\n%s", diff)
			}
			var raw struct {
				Type, Role   string
				StopSequence *string `json:"stop_sequence"`
				Usage        json.RawMessage
			}
			_ = json.Unmarshal(body, &raw)
			if raw.Type != "message" || raw.Role != "assistant" || raw.StopSequence != nil {
				t.Errorf("type, role, stop_sequence = %q, %q, %v; want message, assistant, null", raw.Type, raw.Role, raw.StopSequence)
			}
			if diff := cmp.Diff([]string{"cache_creation_input_tokens", "cache_read_input_tokens", "input_tokens", "output_tokens"}, keys(t, raw.Usage)); diff != "" {
				t.Errorf("usage members (-want +got):\n%s", diff)
			}
			got, err := anthropic.ResponseToCanon(body)
			if err != nil {
				t.Fatal(err)
			}
			var req struct{ Model string }
			_ = json.Unmarshal([]byte(tc.body), &req)
			if !strings.HasPrefix(got.ID, "msg_fake") || got.Model != req.Model {
				t.Errorf("id, model = %q, %q", got.ID, got.Model)
			}
			c := only(t, got)
			if s := textOf(t, c); s != tc.want || c.RawFinish != "end_turn" {
				t.Errorf("answer %q (%s); want %q (end_turn)", s, c.RawFinish, tc.want)
			}
			wantUsage := metering.Usage{InputTokens: fake.PromptTokens(tc.prompt), OutputTokens: int64(len(strings.Fields(tc.want)))}
			if got.Usage != wantUsage {
				t.Errorf("usage = %+v; want %+v", got.Usage, wantUsage)
			}
		})
	}
}

func TestAnthropicStream(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		types []string // the event types, in order
		text  string
	}{
		{"text", anthMsg("fake-echo", "streams arrive word by word", `,"stream":true`),
			[]string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_delta",
				"content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"},
			"streams arrive word by word"},
		{"no words", `{"model":"fake-echo","max_tokens":0,"stream":true,"messages":[{"role":"user","content":"x"}]}`,
			[]string{"message_start", "message_delta", "message_stop"}, ""},
		{"tool call", anthMsg("fake-echo", "Paris", `,"stream":true,"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]`),
			[]string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop",
				"message_delta", "message_stop"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(nil))
			resp, body := post(t, srv.URL+"/v1/messages", tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			for k, want := range map[string]string{"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q; want %q", k, got, want)
				}
			}
			var types []string
			for _, ev := range readSSE(t, body) {
				types = append(types, ev.Type)
				var data struct{ Type string }
				if err := json.Unmarshal([]byte(ev.Data), &data); err != nil || data.Type != ev.Type {
					t.Errorf("event %s: data %s (%v); want a JSON object of the same type", ev.Type, ev.Data, err)
				}
			}
			if diff := cmp.Diff(tc.types, types); diff != "" {
				t.Errorf("event types (-want +got):\n%s", diff)
			}
			got, evs := decodeAnthropicStream(t, body)
			// message_start already carries the input tokens.
			if i := slices.IndexFunc(evs, func(e canon.Event) bool { return e.Kind == canon.EventUsage }); i < 0 || evs[i].Usage.InputTokens != got.Usage.InputTokens || got.Usage.InputTokens == 0 {
				t.Errorf("first usage event %d of %+v; want the input tokens %d", i, evs, got.Usage.InputTokens)
			}
			if c := only(t, got); tc.text != "" && textOf(t, c) != tc.text {
				t.Errorf("text %q; want %q", textOf(t, c), tc.text)
			}
		})
	}
}

func TestAnthropicToolCallShape(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	_, body := post(t, srv.URL+"/v1/messages", anthMsg("fake-echo", "Paris",
		`,"tools":[{"type":"web_search_20250305","name":"web_search"},{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]`))
	var m struct {
		Content []struct {
			Type, ID, Name string
			Input          map[string]any
		}
		StopReason string `json:"stop_reason"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 1 || m.Content[0].Type != "tool_use" || !strings.HasPrefix(m.Content[0].ID, "toolu_fake") ||
		m.Content[0].Name != "get_weather" || m.Content[0].Input["city"] != "Paris" || m.StopReason != "tool_use" {
		t.Errorf("answer %s; want one tool_use of get_weather with city Paris (the server tool is not called), stop_reason tool_use", body)
	}
}

func TestAnthropicErrorModels(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	for model, want := range map[string]struct {
		status    int
		typ, msg  string
		retryable string
	}{
		"fake-error-429": {429, "rate_limit_error", "Rate limit reached for fake-error-429.", "1"},
		"fake-error-500": {500, "api_error", "The fake server had an error while processing your request.", ""},
		"fake-error-503": {503, "overloaded_error", "The fake engine is currently overloaded.", ""},
	} {
		for _, tc := range []struct{ name, path, body string }{
			{"messages", "/v1/messages", anthMsg(model, "hi", "")},
			{"stream", "/v1/messages", anthMsg(model, "hi", `,"stream":true`)},
			{"count_tokens", "/v1/messages/count_tokens", anthMsg(model, "hi", "")},
		} {
			t.Run(model+"/"+tc.name, func(t *testing.T) {
				resp, body := post(t, srv.URL+tc.path, tc.body)
				id := resp.Header.Get("Request-Id")
				wantBody := `{"type":"error","error":{"type":"` + want.typ + `","message":"` + want.msg + `"},"request_id":"` + id + `"}` + "\n"
				if resp.StatusCode != want.status || string(body) != wantBody || !strings.HasPrefix(id, "req_fake") {
					t.Errorf("got %d %s (request-id %q); want %d %s", resp.StatusCode, body, id, want.status, wantBody)
				}
				if got := resp.Header.Get("Retry-After"); got != want.retryable {
					t.Errorf("Retry-After = %q; want %q", got, want.retryable)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
			})
		}
	}
}

func TestAnthropicRefusals(t *testing.T) {
	for _, tc := range []struct {
		name         string
		opts         *fake.Options
		method, path string
		body         string
		status       int
		typ, msg     string // msg: a prefix of the message
	}{
		{"bad JSON", nil, "POST", "/v1/messages", `{"model":`, 400, "invalid_request_error", "The request body is not valid JSON"},
		{"not an object", nil, "POST", "/v1/messages", `[1]`, 400, "invalid_request_error", "The request body is not valid JSON"},
		{"null", nil, "POST", "/v1/messages", `null`, 400, "invalid_request_error", "The request body is not valid JSON"},
		{"no model", nil, "POST", "/v1/messages", `{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "model: Field required"},
		{"no messages", nil, "POST", "/v1/messages", `{"model":"fake-echo","max_tokens":5}`, 400, "invalid_request_error", "messages: Field required"},
		{"no max_tokens", nil, "POST", "/v1/messages", `{"model":"fake-echo","messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "max_tokens: Field required"},
		{"empty messages", nil, "POST", "/v1/messages", `{"model":"fake-echo","max_tokens":5,"messages":[]}`, 400, "invalid_request_error", "messages: at least one message"},
		{"system role in messages", nil, "POST", "/v1/messages", `{"model":"fake-echo","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, 400, "invalid_request_error", "messages.0.role"},
		{"content of the wrong type", nil, "POST", "/v1/messages", `{"model":"fake-echo","max_tokens":5,"messages":[{"role":"user","content":5}]}`, 400, "invalid_request_error", "messages.0.content"},
		{"forced tool not offered", nil, "POST", "/v1/messages", anthMsg("fake-echo", "x", `,"tools":[{"name":"a","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"b"}`),
			400, "invalid_request_error", "tool_choice: "},
		{"too large", &fake.Options{MaxBodyBytes: 16}, "POST", "/v1/messages", anthMsg("fake-echo", "too long for sixteen bytes", ""), 413, "request_too_large", "Request body too large."},
		{"count_tokens without model", nil, "POST", "/v1/messages/count_tokens", `{"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "model: Field required"},
		{"GET messages", nil, "GET", "/v1/messages", "", 404, "not_found_error", "Unknown fake endpoint."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(tc.opts))
			resp, body := doH(t, tc.method, srv.URL+tc.path, tc.body, "anthropic-version", "2023-06-01")
			var e struct {
				Type  string `json:"type"`
				Error struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if resp.StatusCode != tc.status || e.Type != "error" || e.Error.Type != tc.typ || !strings.HasPrefix(e.Error.Message, tc.msg) {
				t.Errorf("got %d %s; want %d with %s %q…", resp.StatusCode, body, tc.status, tc.typ, tc.msg)
			}
			if tc.method == "POST" && (e.RequestID == "" || e.RequestID != resp.Header.Get("Request-Id")) {
				t.Errorf("request_id %q; want the request-id header %q", e.RequestID, resp.Header.Get("Request-Id"))
			}
		})
	}
}

func TestAnthropicCountTokens(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	const conv = `"system":"You are terse.","tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],` +
		`"messages":[{"role":"user","content":"Paris"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"get_weather","input":{"city": "Paris"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"sunny"}]}]}]`
	resp, body := post(t, srv.URL+"/v1/messages/count_tokens", `{"model":"fake-echo",`+conv+`}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	want := fake.PromptTokens(len("You are terse.") + len("Paris") + len(`{"city":"Paris"}`) + len("sunny"))
	if string(body) != `{"input_tokens":`+strconv.FormatInt(want, 10)+"}\n" {
		t.Errorf("body %s; want input_tokens %d", body, want)
	}
	_, msg := post(t, srv.URL+"/v1/messages", `{"model":"fake-echo","max_tokens":99,`+conv+`}`)
	got, err := anthropic.ResponseToCanon(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Usage.InputTokens != want {
		t.Errorf("messages counted %d input tokens; count_tokens %d", got.Usage.InputTokens, want)
	}
	if s := textOf(t, only(t, got)); s != "tool get_weather said: sunny" {
		t.Errorf("answer %q", s)
	}
}

func TestAnthropicModels(t *testing.T) {
	srv := newServer(t, fake.Handler(&fake.Options{Created: 86400}))
	resp, body := doH(t, http.MethodGet, srv.URL+"/v1/models", "", "anthropic-version", "2023-06-01")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	type model struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		CreatedAt   string `json:"created_at"`
	}
	var got struct {
		Data    []model `json:"data"`
		HasMore bool    `json:"has_more"`
		FirstID string  `json:"first_id"`
		LastID  string  `json:"last_id"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	var wantData []model
	for _, m := range fake.Models {
		wantData = append(wantData, model{"model", m, m, "1970-01-02T00:00:00Z"})
	}
	if diff := cmp.Diff(wantData, got.Data); diff != "" || got.HasMore || got.FirstID != fake.Models[0] || got.LastID != fake.Models[len(fake.Models)-1] {
		t.Errorf("list %s; diff (-want +got):\n%s", body, diff)
	}
}
