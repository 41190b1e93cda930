package wicket_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/openai"
)

// otherDialect is an OpenAI upstream that claims another dialect, so that
// the gateway must take the translating path (OpenAI → canonical → OpenAI)
// to reach it.
type otherDialect struct{ *openai.Provider }

func (otherDialect) Dialect() providers.Dialect { return providers.DialectGemini }

// clientView is what an OpenAI SDK makes of a chat completion, streamed or
// not: the text, the finish reason, the tool calls and the usage.
type clientView struct {
	ID, Model, Content, Finish string
	Prompt, Completion, Total  int
	Chunks                     int
}

func viewOf(t *testing.T, body string, stream bool) clientView {
	t.Helper()
	var v clientView
	type msg struct {
		ID      string
		Model   string
		Choices []struct {
			Message, Delta struct{ Content string }
			FinishReason   string `json:"finish_reason"`
		}
		Usage *struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		}
	}
	add := func(m msg) {
		v.ID, v.Model = m.ID, m.Model
		for _, c := range m.Choices {
			v.Content += c.Message.Content + c.Delta.Content
			if c.FinishReason != "" {
				v.Finish = c.FinishReason
			}
		}
		if m.Usage != nil {
			v.Prompt, v.Completion, v.Total = m.Usage.PromptTokens, m.Usage.CompletionTokens, m.Usage.TotalTokens
		}
	}
	if !stream {
		var m msg
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		add(m)
		return v
	}
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("stream does not end with [DONE]: %q", body)
	}
	for _, block := range strings.Split(body, "\n\n") {
		data, ok := strings.CutPrefix(block, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var m msg
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("%v: %s", err, data)
		}
		v.Chunks++
		add(m)
	}
	return v
}

// A call that must be translated (the deployment speaks "another" dialect)
// gives the client the same answer as the pass-through path, streamed or
// not, with usage metered the same.
func TestForcedTranslationMatchesPassThrough(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, b []byte) {
		if strings.Contains(string(b), `"stream":true`) {
			sseUpstream(w, r, b)
			return
		}
		okUpstream(w, r, b)
	})
	p := up.provider(t, "openai").(*openai.Provider)
	e := newEnv(t, []providers.Model{
		{Name: "direct", Deployments: []providers.Deployment{{Provider: p, Model: "m"}}},
		{Name: "translated", Deployments: []providers.Deployment{{Provider: otherDialect{p}, Model: "m"}}},
	}, nil)
	for _, tc := range []struct {
		name, extra string
		stream      bool
	}{
		{"whole", ``, false},
		{"stream", `,"stream":true`, true},
		{"stream with usage", `,"stream":true,"stream_options":{"include_usage":true}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var views [2]clientView
			for i, model := range []string{"direct", "translated"} {
				resp := e.post(t, "/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]`+tc.extra+`}`)
				body := readAll(t, resp)
				if resp.StatusCode != 200 {
					t.Fatalf("%s: %d %s", model, resp.StatusCode, body)
				}
				views[i] = viewOf(t, body, tc.stream)
				ev := <-e.outcome
				if ev.UsageEstimated || ev.Usage.Total() == 0 {
					t.Errorf("%s: event usage %+v (estimated %v); want the upstream's", model, ev.Usage, ev.UsageEstimated)
				}
			}
			if tc.stream {
				views[0].Chunks, views[1].Chunks = 0, 0 // framing may differ; content may not
			}
			if diff := cmp.Diff(views[0], views[1]); diff != "" {
				t.Errorf("translated answer differs from pass-through (-direct +translated):\n%s", diff)
			}
			if views[1].Content == "" || views[1].Finish == "" {
				t.Errorf("translated view %+v; want content and a finish reason", views[1])
			}
		})
	}
	// A request feature the translation cannot carry is refused with 400,
	// never dropped.
	resp := e.post(t, "/v1/chat/completions", `{"model":"translated","messages":[],"logprobs":true}`)
	if body := readAll(t, resp); resp.StatusCode != 400 || !strings.Contains(body, "logprobs") {
		t.Errorf("untranslatable feature: %d %s; want 400 naming logprobs", resp.StatusCode, body)
	}
}

// Upstream failures on the translating path: an error status is answered
// in the client's dialect without the upstream's body, and a stream cut
// before its end aborts the client's connection.
func TestTranslationFailures(t *testing.T) {
	failing := newUpstream(t, errorUpstream(500, `{"error":{"message":"upstream secret detail","type":"server_error","param":null,"code":null}}`))
	cut := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: "+streamChunks[0]+"\n\n")
		io.WriteString(w, "data: "+streamChunks[1]+"\n\n") // no [DONE]
	})
	e := newEnv(t, []providers.Model{
		{Name: "failing", Deployments: []providers.Deployment{{Provider: otherDialect{failing.provider(t, "f").(*openai.Provider)}}}},
		{Name: "cut", Deployments: []providers.Deployment{{Provider: otherDialect{cut.provider(t, "c").(*openai.Provider)}}}},
	}, func(c *wicket.Config) { c.RetryBackoff = time.Microsecond })
	resp := e.post(t, "/v1/chat/completions", `{"model":"failing","messages":[{"role":"user","content":"hi"}]}`)
	if body := readAll(t, resp); resp.StatusCode != 500 || strings.Contains(body, "secret detail") || !strings.HasPrefix(body, `{"error":{`) {
		t.Errorf("upstream 500 through translation: %d %s; want 500 in OpenAI's shape without the upstream's text", resp.StatusCode, body)
	}
	if ev := <-e.outcome; ev.Status != 500 || ev.ErrorClass != metering.ClassUpstreamError {
		t.Errorf("event %d %q; want 500 upstream_error", ev.Status, ev.ErrorClass)
	}
	resp = e.post(t, "/v1/chat/completions", `{"model":"cut","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	_, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Error("a cut translated stream read as complete; want the connection aborted")
	}
	if ev := <-e.outcome; ev.ErrorClass != metering.ClassIncomplete {
		t.Errorf("event class %q; want incomplete", ev.ErrorClass)
	}
}

// TestTranslatedStreamFlushesBeforeWaiting: a translated stream reaches
// the client event by event: what the gateway wrote is flushed whenever
// it is about to wait for the upstream (a gateway that held the writes
// back until the end would deadlock here and fail by the test's deadline).
func TestTranslatedStreamFlushesBeforeWaiting(t *testing.T) {
	next := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i, word := range []string{"one", " two", " three"} {
			if i > 0 {
				select {
				case <-next:
				case <-r.Context().Done():
					return
				}
			}
			io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"`+word+`"},"finish_reason":null}]}`+"\n\n")
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
		io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}`+"\n\ndata: [DONE]\n\n")
	})
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), nil)
	resp := e.do(t, "POST", "/v1/messages", `{"model":"m","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"count"}]}`, anthropicHeader(e.key))
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	for i, word := range []string{"one", " two", " three"} {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("before %q: %v", word, err)
			}
			if strings.Contains(line, `"text_delta"`) {
				if !strings.Contains(line, `"text":"`+word+`"`) {
					t.Fatalf("delta %q; want %q", line, word)
				}
				break
			}
		}
		if i < 2 {
			next <- struct{}{}
		}
	}
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "event: message_stop") {
		t.Errorf("the stream's end %q; want message_stop", rest)
	}
	<-e.outcome
}
