package fake_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/openai"
)

// waitLimit bounds every wait for an event that must happen; reaching it
// fails the test (it is never slept through on success).
const waitLimit = 10 * time.Second

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// do sends one request and returns the response with its whole body.
func do(t *testing.T, method, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodPost, url, body)
}

// userChat returns a chat request body with one user message.
func userChat(model, text string, extra string) string {
	q, _ := json.Marshal(text)
	return `{"model":"` + model + `","messages":[{"role":"user","content":` + string(q) + `}]` + extra + `}`
}

type usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

type message struct {
	Role    string  `json:"role"`
	Content string  `json:"content"`
	Refusal *string `json:"refusal"`
}

type choice struct {
	Index        int     `json:"index"`
	Message      message `json:"message"`
	Logprobs     *string `json:"logprobs"`
	FinishReason string  `json:"finish_reason"`
}

type completion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []choice `json:"choices"`
	Usage             *usage   `json:"usage"`
	SystemFingerprint string   `json:"system_fingerprint"`
}

func wantCompletion(model, text string, created, prompt, words int64) completion {
	return completion{
		Object: "chat.completion", Created: created, Model: model,
		Choices:           []choice{{Message: message{Role: "assistant", Content: text}, FinishReason: "stop"}},
		Usage:             &usage{PromptTokens: prompt, CompletionTokens: words, TotalTokens: prompt + words},
		SystemFingerprint: "fp_fake",
	}
}

func TestChatCompletion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   *fake.Options
		body   string
		want   string // echoed text
		prompt int    // bytes of all message texts
	}{
		{"string content", nil, userChat("fake-echo", "Hello there, fake model!", ""), "Hello there, fake model!", 24},
		{"text parts", nil, `{"model":"fake-echo","messages":[{"role":"user","content":[` +
			`{"type":"text","text":"Hello "},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"world"}]}]}`,
			"Hello world", 11},
		{"last user message", nil, `{"model":"fake-echo","messages":[` +
			`{"role":"system","content":"Be brief."},{"role":"user","content":"first question"},` +
			`{"role":"assistant","content":"an answer"},{"role":"user","content":"second question here"}]}`,
			"second question here", 9 + 14 + 9 + 20},
		{"white space collapsed", nil, userChat("fake-echo", "  many   spaces\there \n", ""), "many spaces here", 22},
		{"empty message", nil, userChat("fake-echo", "", ""), "…", 0},
		{"no user message", nil, `{"model":"fake-echo","messages":[{"role":"system","content":"only system"}]}`, "…", 11},
		{"any other model echoes", nil, userChat("my-model", "a b", ""), "a b", 3},
		{"max_tokens caps words", nil, userChat("fake-echo", "one two three four five", `,"max_tokens":2`), "one two", 23},
		{"max_completion_tokens caps words", nil, userChat("fake-echo", "one two three four five", `,"max_completion_tokens":3`), "one two three", 23},
		{"cap above the answer", nil, userChat("fake-echo", "one two", `,"max_tokens":50`), "one two", 7},
		{"cap null", nil, userChat("fake-echo", "one two", `,"max_tokens":null`), "one two", 7},
		{"Chunks repeats words", &fake.Options{Chunks: 5}, userChat("fake-echo", "a b", ""), "a b a b a", 3},
		{"Chunks cuts words", &fake.Options{Chunks: 2}, userChat("fake-echo", "a b c d", ""), "a b", 7},
		{"Chunks then max_tokens", &fake.Options{Chunks: 50}, userChat("fake-echo", "x", `,"max_tokens":4`), "x x x x", 1},
		{"Created", &fake.Options{Created: 42}, userChat("fake-echo", "t", ""), "t", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(tc.opts))
			resp, body := post(t, srv.URL+"/v1/chat/completions", tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q; want application/json", ct)
			}
			var got completion
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			var req struct{ Model string }
			_ = json.Unmarshal([]byte(tc.body), &req)
			created := int64(1_700_000_000)
			if tc.opts != nil && tc.opts.Created != 0 {
				created = tc.opts.Created
			}
			want := wantCompletion(req.Model, tc.want, created, fake.PromptTokens(tc.prompt), int64(len(strings.Fields(tc.want))))
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(completion{}, "ID")); diff != "" {
				t.Errorf("completion (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(got.ID, "chatcmpl-fake") {
				t.Errorf("id = %q; want the chatcmpl-fake prefix", got.ID)
			}
			// OpenAI sends these as explicit nulls.
			for _, s := range []string{`"refusal":null`, `"logprobs":null`} {
				if !bytes.Contains(body, []byte(s)) {
					t.Errorf("body lacks %s: %s", s, body)
				}
			}
		})
	}
}

func TestPromptTokens(t *testing.T) {
	for n, want := range map[int]int64{0: 0, 1: 1, 3: 1, 4: 1, 5: 2, 8: 2, 9: 3, 400: 100, 401: 101} {
		if got := fake.PromptTokens(n); got != want {
			t.Errorf("PromptTokens(%d) = %d; want %d", n, got, want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	first, second := newServer(t, fake.Handler(nil)), newServer(t, fake.Handler(nil))
	for _, tc := range []struct{ name, method, path, body string }{
		{"chat", "POST", "/v1/chat/completions", userChat("fake-echo", "the same question", "")},
		{"stream", "POST", "/v1/chat/completions", userChat("fake-echo", "the same question", `,"stream":true,"stream_options":{"include_usage":true}`)},
		{"embeddings", "POST", "/v1/embeddings", `{"model":"fake-embed","input":["x","y"]}`},
		{"models", "GET", "/v1/models", ""},
		{"anthropic", "POST", "/v1/messages", anthMsg("fake-echo", "the same question", "")},
		{"anthropic stream", "POST", "/v1/messages", anthMsg("fake-echo", "the same question", `,"stream":true`)},
		{"anthropic tool call", "POST", "/v1/messages", anthMsg("fake-echo", "the same question",
			`,"stream":true,"tools":[{"name":"f","input_schema":{"type":"object","properties":{"q":{"type":"string"}}}}]`)},
		{"gemini", "POST", "/v1beta/models/fake-echo:generateContent", gemText("the same question", "")},
		{"gemini stream", "POST", "/v1beta/models/fake-echo:streamGenerateContent?alt=sse", gemText("the same question", gemWeather)},
		{"gemini models", "GET", "/v1beta/models", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, a1 := do(t, tc.method, first.URL+tc.path, tc.body)
			_, a2 := do(t, tc.method, first.URL+tc.path, tc.body)
			_, a3 := do(t, tc.method, second.URL+tc.path, tc.body)
			if !bytes.Equal(a1, a2) || !bytes.Equal(a1, a3) {
				t.Errorf("answers differ:\n%s\n%s\n%s", a1, a2, a3)
			}
		})
	}
	// Different questions get different ids.
	_, a := post(t, first.URL+"/v1/chat/completions", userChat("fake-echo", "question one", ""))
	_, b := post(t, first.URL+"/v1/chat/completions", userChat("fake-echo", "question two", ""))
	var ca, cb completion
	_ = json.Unmarshal(a, &ca)
	_ = json.Unmarshal(b, &cb)
	if ca.ID == cb.ID {
		t.Errorf("two different questions got the same id %q", ca.ID)
	}
}

// sseEvents splits an event stream into the data of its events, checking
// that each is one "data: " line followed by a blank line.
func sseEvents(t *testing.T, body []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(body, []byte("\n\n")) {
		t.Fatalf("stream does not end with a blank line: %q", body)
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("event %q is not a single data line", ev)
		}
		out = append(out, data)
	}
	return out
}

// chunkView is what a test compares of one chat.completion.chunk.
type chunkView struct {
	Role, Content string
	Finish        *string
	Choices       int
	UsageKey      bool // the chunk has a "usage" member
	Usage         *usage
}

type rawChunk struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Created           int64  `json:"created"`
	Model             string `json:"model"`
	SystemFingerprint string `json:"system_fingerprint"`
	Choices           []struct {
		Index int `json:"index"`
		Delta struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"delta"`
		Logprobs     *string `json:"logprobs"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

// parseStream checks the stream's framing and common fields, and returns
// its chunks (without the final [DONE]).
func parseStream(t *testing.T, model string, body []byte) []chunkView {
	t.Helper()
	events := sseEvents(t, body)
	if len(events) == 0 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", body)
	}
	var out []chunkView
	var id string
	for i, data := range events[:len(events)-1] {
		var c rawChunk
		var members map[string]json.RawMessage
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("chunk %d: %v: %s", i, err, data)
		}
		_ = json.Unmarshal([]byte(data), &members)
		if i == 0 {
			id = c.ID
		}
		if c.ID != id || !strings.HasPrefix(id, "chatcmpl-fake") || c.Object != "chat.completion.chunk" ||
			c.Created != 1_700_000_000 || c.Model != model || c.SystemFingerprint != "fp_fake" {
			t.Errorf("chunk %d common fields: %s", i, data)
		}
		v := chunkView{Choices: len(c.Choices), Usage: c.Usage}
		_, v.UsageKey = members["usage"]
		if len(c.Choices) > 0 {
			ch := c.Choices[0]
			v.Role, v.Content, v.Finish = ch.Delta.Role, ch.Delta.Content, ch.FinishReason
			if ch.Index != 0 {
				t.Errorf("chunk %d choice index %d", i, ch.Index)
			}
		}
		out = append(out, v)
	}
	return out
}

// wantChunks is the chunk sequence of a streamed answer of words.
func wantChunks(words []string, prompt int64, includeUsage bool) []chunkView {
	var out []chunkView
	for i, w := range words {
		v := chunkView{Content: w, Choices: 1, UsageKey: includeUsage}
		if i == 0 {
			v.Role = "assistant"
		} else {
			v.Content = " " + w
		}
		out = append(out, v)
	}
	stop := "stop"
	out = append(out, chunkView{Finish: &stop, Choices: 1, UsageKey: includeUsage})
	if includeUsage {
		n := int64(len(words))
		out = append(out, chunkView{UsageKey: true, Usage: &usage{prompt, n, prompt + n}})
	}
	return out
}

func TestChatStream(t *testing.T) {
	const text = "streams arrive word by word"
	words := strings.Fields(text)
	for _, tc := range []struct {
		name         string
		extra        string
		includeUsage bool
	}{
		{"no stream_options", `,"stream":true`, false},
		{"include_usage false", `,"stream":true,"stream_options":{"include_usage":false}`, false},
		{"stream_options null", `,"stream":true,"stream_options":null`, false},
		{"include_usage true", `,"stream":true,"stream_options":{"include_usage":true}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(nil))
			resp, body := post(t, srv.URL+"/v1/chat/completions", userChat("fake-echo", text, tc.extra))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache"} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q; want %q", k, got, want)
				}
			}
			got := parseStream(t, "fake-echo", body)
			want := wantChunks(words, fake.PromptTokens(len(text)), tc.includeUsage)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChatStreamLength(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  *fake.Options
		text  string
		extra string
		words []string
	}{
		{"Chunks 50", &fake.Options{Chunks: 50}, "alpha beta", "", repeat([]string{"alpha", "beta"}, 50)},
		{"Chunks 1", &fake.Options{Chunks: 1}, "alpha beta", "", []string{"alpha"}},
		{"max_tokens", nil, "one two three four", `,"max_tokens":3`, []string{"one", "two", "three"}},
		{"max_completion_tokens with Chunks", &fake.Options{Chunks: 50}, "w", `,"max_completion_tokens":7`, repeat([]string{"w"}, 7)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(tc.opts))
			_, body := post(t, srv.URL+"/v1/chat/completions", userChat("fake-echo", tc.text, `,"stream":true`+tc.extra))
			got := parseStream(t, "fake-echo", body)
			want := wantChunks(tc.words, fake.PromptTokens(len(tc.text)), false)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
			content := 0
			for _, c := range got {
				if c.Content != "" {
					content++
				}
			}
			if content != len(tc.words) {
				t.Errorf("%d content chunks; want %d", content, len(tc.words))
			}
		})
	}
}

func repeat(words []string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = words[i%len(words)]
	}
	return out
}

// countingWriter counts the handler's writes; Unwrap keeps
// http.ResponseController's Flush working through it.
type countingWriter struct {
	http.ResponseWriter
	mu     sync.Mutex
	writes int
	header bool
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	w.mu.Unlock()
	return w.ResponseWriter.Write(p)
}

func (w *countingWriter) WriteHeader(code int) {
	w.mu.Lock()
	w.header = true
	w.mu.Unlock()
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *countingWriter) counts() (writes int, header bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, w.header
}

// returned is what a tracked handler reports when it returns.
type returned struct {
	writes int
	header bool
	ctxErr error // the request context's error at that moment
}

// tracked wraps h so that each call reports on done when it returns.
func tracked(h http.Handler) (http.Handler, <-chan returned) {
	done := make(chan returned, 16)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		h.ServeHTTP(cw, r)
		n, hdr := cw.counts()
		done <- returned{writes: n, header: hdr, ctxErr: r.Context().Err()}
	}), done
}

func waitReturn(t *testing.T, done <-chan returned) returned {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(waitLimit):
		t.Fatalf("handler still running %v after the client left", waitLimit)
		return returned{}
	}
}

func TestChatStreamClientCancels(t *testing.T) {
	const chunks = 1000 // with the delay, 20s if nothing stops it
	h, done := tracked(fake.Handler(&fake.Options{Chunks: chunks, ChunkDelay: 20 * time.Millisecond}))
	srv := newServer(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions",
		strings.NewReader(userChat("fake-echo", "slow", `,"stream":true`)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "data: {") {
		t.Fatalf("first line %q, %v", first, err)
	}
	cancel()
	resp.Body.Close()
	r := waitReturn(t, done)
	if r.writes >= chunks {
		t.Errorf("handler wrote %d times; want it to stop early", r.writes)
	}
	if r.ctxErr == nil {
		t.Errorf("handler returned before its request was canceled")
	}
}

func TestErrorModels(t *testing.T) {
	bodies := map[string]string{
		"fake-error-429": `{"error":{"message":"Rate limit reached for fake-error-429.","type":"requests","param":null,"code":"rate_limit_exceeded"}}` + "\n",
		"fake-error-500": `{"error":{"message":"The fake server had an error while processing your request.","type":"server_error","param":null,"code":null}}` + "\n",
		"fake-error-503": `{"error":{"message":"The fake engine is currently overloaded.","type":"server_error","param":null,"code":null}}` + "\n",
	}
	statuses := map[string]int{"fake-error-429": 429, "fake-error-500": 500, "fake-error-503": 503}
	srv := newServer(t, fake.Handler(nil))
	for model, want := range bodies {
		for _, tc := range []struct{ name, path, body string }{
			{"chat", "/v1/chat/completions", userChat(model, "hi", "")},
			{"stream", "/v1/chat/completions", userChat(model, "hi", `,"stream":true,"stream_options":{"include_usage":true}`)},
			{"embeddings", "/v1/embeddings", `{"model":"` + model + `","input":"hi"}`},
		} {
			t.Run(model+"/"+tc.name, func(t *testing.T) {
				resp, body := post(t, srv.URL+tc.path, tc.body)
				if resp.StatusCode != statuses[model] {
					t.Errorf("status = %d; want %d", resp.StatusCode, statuses[model])
				}
				if string(body) != want {
					t.Errorf("body = %s; want %s", body, want)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				wantRetry := ""
				if model == "fake-error-429" {
					wantRetry = "1"
				}
				if got := resp.Header.Get("Retry-After"); got != wantRetry {
					t.Errorf("Retry-After = %q; want %q", got, wantRetry)
				}
			})
		}
	}
}

// bodyEOF is a request body that closes eof once it has been read to the
// end.
type bodyEOF struct {
	r    io.Reader
	once sync.Once
	eof  chan struct{}
}

func (b *bodyEOF) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.once.Do(func() { close(b.eof) })
	}
	return n, err
}

func (b *bodyEOF) Close() error { return nil }

func TestHangReturnsOnlyWhenCanceled(t *testing.T) {
	for _, tc := range []struct{ name, path, body string }{
		{"chat", "/v1/chat/completions", userChat("fake-hang", "hello?", "")},
		{"stream", "/v1/chat/completions", userChat("fake-hang", "hello?", `,"stream":true`)},
		{"embeddings", "/v1/embeddings", `{"model":"fake-hang","input":"x"}`},
		{"anthropic", "/v1/messages", anthMsg("fake-hang", "hello?", "")},
		{"anthropic stream", "/v1/messages", anthMsg("fake-hang", "hello?", `,"stream":true`)},
		{"anthropic count_tokens", "/v1/messages/count_tokens", anthMsg("fake-hang", "hello?", "")},
		{"gemini", "/v1beta/models/fake-hang:generateContent", gemText("hello?", "")},
		{"gemini stream", "/v1beta/models/fake-hang:streamGenerateContent?alt=sse", gemText("hello?", "")},
		{"gemini countTokens", "/v1beta/models/fake-hang:countTokens", gemText("hello?", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, done := tracked(fake.Handler(nil))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			body := &bodyEOF{r: strings.NewReader(tc.body), eof: make(chan struct{})}
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, tc.path, body)
			go h.ServeHTTP(httptest.NewRecorder(), req)
			select {
			case <-body.eof: // the handler has read the request
			case r := <-done:
				t.Fatalf("handler returned before reading its body: %+v", r)
			case <-time.After(waitLimit):
				t.Fatal("handler did not read its body")
			}
			cancel()
			r := waitReturn(t, done)
			if r.ctxErr == nil {
				t.Errorf("handler returned before the request was canceled")
			}
			if r.writes != 0 || r.header {
				t.Errorf("handler wrote %d times (header written: %v); want nothing", r.writes, r.header)
			}
		})
	}
}

func TestHangOverHTTP(t *testing.T) {
	h, done := tracked(fake.Handler(nil))
	srv := newServer(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions",
		strings.NewReader(userChat("fake-hang", "hello?", "")))
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d; want the client to give up", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v; want the client's deadline", err)
	}
	if r := waitReturn(t, done); r.writes != 0 || r.header {
		t.Errorf("hang wrote an answer: %+v", r)
	}
}

type embeddingList struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage struct {
		PromptTokens int64 `json:"prompt_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage"`
}

func embed(t *testing.T, srv *httptest.Server, body string) embeddingList {
	t.Helper()
	resp, b := post(t, srv.URL+"/v1/embeddings", body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var out embeddingList
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return out
}

func TestEmbeddings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   *fake.Options
		body   string
		inputs []string
		dims   int
	}{
		{"string", nil, `{"model":"fake-embed","input":"hello world"}`, []string{"hello world"}, 8},
		{"array", nil, `{"model":"fake-embed","input":["a","bb","ccc"]}`, []string{"a", "bb", "ccc"}, 8},
		{"empty string", nil, `{"model":"fake-embed","input":""}`, []string{""}, 8},
		{"Dimensions", &fake.Options{Dimensions: 256}, `{"model":"text-embedding-3-small","input":["x","y"]}`, []string{"x", "y"}, 256},
		{"one dimension", &fake.Options{Dimensions: 1}, `{"model":"e","input":"z"}`, []string{"z"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(tc.opts))
			got := embed(t, srv, tc.body)
			var req struct{ Model string }
			_ = json.Unmarshal([]byte(tc.body), &req)
			if got.Object != "list" || got.Model != req.Model {
				t.Errorf("object, model = %q, %q; want list, %q", got.Object, got.Model, req.Model)
			}
			if len(got.Data) != len(tc.inputs) {
				t.Fatalf("%d vectors; want %d", len(got.Data), len(tc.inputs))
			}
			n := 0
			for i, in := range tc.inputs {
				n += len(in)
				d := got.Data[i]
				if d.Object != "embedding" || d.Index != i {
					t.Errorf("data[%d]: object %q index %d", i, d.Object, d.Index)
				}
				if len(d.Embedding) != tc.dims {
					t.Fatalf("data[%d]: %d dimensions; want %d", i, len(d.Embedding), tc.dims)
				}
				var sq float64
				for _, x := range d.Embedding {
					sq += x * x
				}
				if norm := math.Sqrt(sq); math.Abs(norm-1) > 1e-3 {
					t.Errorf("data[%d]: norm %v; want 1", i, norm)
				}
				// The same input alone gets the same vector.
				q, _ := json.Marshal(in)
				alone := embed(t, srv, `{"model":"`+req.Model+`","input":`+string(q)+`}`)
				if diff := cmp.Diff(d.Embedding, alone.Data[0].Embedding); diff != "" {
					t.Errorf("data[%d] differs from the same input alone (-batch +alone):\n%s", i, diff)
				}
			}
			if want := fake.PromptTokens(n); got.Usage.PromptTokens != want || got.Usage.TotalTokens != want {
				t.Errorf("usage = %+v; want %d prompt and total tokens", got.Usage, want)
			}
		})
	}
}

func TestEmbeddingsDiffer(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	got := embed(t, srv, `{"model":"fake-embed","input":["cat","dog","cat "]}`)
	for i := range got.Data {
		for j := i + 1; j < len(got.Data); j++ {
			if cmp.Equal(got.Data[i].Embedding, got.Data[j].Embedding) {
				t.Errorf("inputs %d and %d got the same vector", i, j)
			}
		}
	}
}

func TestModels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    *fake.Options
		path    string
		created int64
	}{
		{"v1", nil, "/v1/models", 1_700_000_000},
		{"no prefix", nil, "/models", 1_700_000_000},
		{"Created", &fake.Options{Created: 7}, "/openai/v1/models", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(tc.opts))
			resp, body := do(t, http.MethodGet, srv.URL+tc.path, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			type model struct {
				ID      string `json:"id"`
				Object  string `json:"object"`
				Created int64  `json:"created"`
				OwnedBy string `json:"owned_by"`
			}
			var got struct {
				Object string  `json:"object"`
				Data   []model `json:"data"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			want := struct {
				Object string  `json:"object"`
				Data   []model `json:"data"`
			}{Object: "list"}
			for _, id := range fake.Models {
				want.Data = append(want.Data, model{id, "model", tc.created, "wicket-fake"})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("models (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	errBody := func(typ, code, msg string) string {
		return `{"error":{"message":"` + msg + `","type":"` + typ + `","param":null,"code":"` + code + `"}}` + "\n"
	}
	notFound := errBody("invalid_request_error", "not_found", "Unknown fake endpoint.")
	badJSON := errBody("invalid_request_error", "invalid_json", "We could not parse the JSON body of your request.")
	for _, tc := range []struct {
		name         string
		opts         *fake.Options
		method, path string
		body         string
		status       int
		want         string
	}{
		{"unknown path", nil, "GET", "/v1/nope", "", 404, notFound},
		{"root", nil, "GET", "/", "", 404, notFound},
		{"POST models", nil, "POST", "/v1/models", "{}", 404, notFound},
		{"GET chat", nil, "GET", "/v1/chat/completions", "", 404, notFound},
		{"GET embeddings", nil, "GET", "/v1/embeddings", "", 404, notFound},
		{"responses not served", nil, "POST", "/v1/responses", `{"model":"fake-echo","input":"hi"}`, 404, notFound},
		{"chat bad JSON", nil, "POST", "/v1/chat/completions", `{"model":`, 400, badJSON},
		{"chat not an object", nil, "POST", "/v1/chat/completions", `[1]`, 400, badJSON},
		{"chat model wrong type", nil, "POST", "/v1/chat/completions", `{"model":5,"messages":[]}`, 400, badJSON},
		{"embeddings bad JSON", nil, "POST", "/v1/embeddings", `nope`, 400, badJSON},
		{"chat without model", nil, "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, 400,
			errBody("invalid_request_error", "missing_required_parameter", "You must provide a model parameter.")},
		{"chat without messages", nil, "POST", "/v1/chat/completions", `{"model":"fake-echo"}`, 400,
			errBody("invalid_request_error", "missing_required_parameter", "Missing required parameter: 'messages'.")},
		{"chat empty messages", nil, "POST", "/v1/chat/completions", `{"model":"fake-echo","messages":[]}`, 400,
			errBody("invalid_request_error", "missing_required_parameter", "Missing required parameter: 'messages'.")},
		{"embeddings empty array", nil, "POST", "/v1/embeddings", `{"model":"fake-embed","input":[]}`, 400,
			errBody("invalid_request_error", "invalid_type", "Invalid type for 'input': expected a string or an array of strings.")},
		{"embeddings numbers", nil, "POST", "/v1/embeddings", `{"model":"fake-embed","input":[1,2]}`, 400,
			errBody("invalid_request_error", "invalid_type", "Invalid type for 'input': expected a string or an array of strings.")},
		{"embeddings without input", nil, "POST", "/v1/embeddings", `{"model":"fake-embed"}`, 400,
			errBody("invalid_request_error", "invalid_type", "Invalid type for 'input': expected a string or an array of strings.")},
		{"body too large", &fake.Options{MaxBodyBytes: 16}, "POST", "/v1/chat/completions", userChat("fake-echo", "too long for sixteen bytes", ""), 413,
			errBody("invalid_request_error", "request_too_large", "Request body too large.")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, fake.Handler(tc.opts))
			resp, body := do(t, tc.method, srv.URL+tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d; want %d", resp.StatusCode, tc.status)
			}
			if string(body) != tc.want {
				t.Errorf("body = %s; want %s", body, tc.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

// --- NewProvider and Transport ---

// decodeCall decodes body as a client's OpenAI request and binds it to a
// deployment on p, sending upstream (or the public name when empty).
func decodeCall(t *testing.T, p providers.Provider, endpoint providers.Endpoint, body, upstream string) *providers.Call {
	t.Helper()
	req, perr := openai.Decode(endpoint, []byte(body))
	if perr != nil {
		t.Fatalf("openai.Decode(%s): %v", body, perr)
	}
	r, err := providers.NewRouter([]providers.Model{{Name: req.Model, Deployments: []providers.Deployment{{Provider: p, Model: upstream}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := r.Route(req.Model)
	if err != nil {
		t.Fatal(err)
	}
	d := plan.At(0)
	return &providers.Call{Request: req, Deployment: d, UpstreamModel: plan.UpstreamModel(d)}
}

var pathOf = map[providers.Endpoint]string{
	providers.EndpointChat:       "/v1/chat/completions",
	providers.EndpointEmbeddings: "/v1/embeddings",
}

func TestProviderMatchesHandler(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	const text = "relay me exactly"
	chatUsage := metering.Usage{InputTokens: fake.PromptTokens(len(text)), OutputTokens: 3}
	for _, tc := range []struct {
		name       string
		endpoint   providers.Endpoint
		body       string
		status     int
		usage      metering.Usage
		usageKnown bool
		stream     bool
	}{
		{"chat", providers.EndpointChat, userChat("fake-echo", text, ""), 200, chatUsage, true, false},
		{"chat with caps", providers.EndpointChat, userChat("fake-echo", text, `,"max_tokens":2`), 200,
			metering.Usage{InputTokens: chatUsage.InputTokens, OutputTokens: 2}, true, false},
		{"stream with usage", providers.EndpointChat, userChat("fake-echo", text, `,"stream":true,"stream_options":{"include_usage":true}`), 200, chatUsage, true, true},
		{"embeddings", providers.EndpointEmbeddings, `{"model":"fake-embed","input":["ab","cde"]}`, 200, metering.Usage{InputTokens: fake.PromptTokens(5)}, true, false},
		{"429", providers.EndpointChat, userChat("fake-error-429", text, ""), 429, metering.Usage{}, false, false},
		{"500", providers.EndpointChat, userChat("fake-error-500", text, ""), 500, metering.Usage{}, false, false},
		{"503 on a stream", providers.EndpointChat, userChat("fake-error-503", text, `,"stream":true,"stream_options":{"include_usage":true}`), 503, metering.Usage{}, false, false},
		{"400 from the fake", providers.EndpointChat, `{"model":"fake-echo","messages":[]}`, 400, metering.Usage{}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			href, want := post(t, srv.URL+pathOf[tc.endpoint], tc.body)
			if href.StatusCode != tc.status {
				t.Fatalf("test premise: over HTTP status %d; want %d", href.StatusCode, tc.status)
			}
			p := fake.NewProvider(nil)
			if p.Name() != "fake" || p.Dialect() != providers.DialectOpenAI {
				t.Errorf("Name, Dialect = %q, %v; want fake, openai", p.Name(), p.Dialect())
			}
			resp, err := p.Send(context.Background(), decodeCall(t, p, tc.endpoint, tc.body, ""))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			defer resp.Close()
			if resp.StatusCode() != tc.status {
				t.Errorf("StatusCode() = %d; want %d", resp.StatusCode(), tc.status)
			}
			h := resp.Header()
			if got, want := h.Get("Content-Type"), href.Header.Get("Content-Type"); got != want {
				t.Errorf("Content-Type = %q; want %q", got, want)
			}
			if tc.stream {
				if h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
					t.Errorf("stream headers = %v", h)
				}
			}
			// The upstream's own rate-limit advice is not the client's.
			if v := h.Get("Retry-After"); v != "" {
				t.Errorf("Retry-After = %q relayed; want it dropped", v)
			}
			rec := httptest.NewRecorder()
			res, err := resp.Relay(rec)
			if err != nil {
				t.Fatalf("Relay: %v", err)
			}
			if got := rec.Body.Bytes(); !bytes.Equal(got, want) {
				t.Errorf("relayed:\n%s\nover HTTP:\n%s", got, want)
			}
			if res.Usage != tc.usage || res.UsageKnown != tc.usageKnown {
				t.Errorf("usage = %+v (known %v); want %+v (%v)", res.Usage, res.UsageKnown, tc.usage, tc.usageKnown)
			}
			if res.BytesWritten != int64(len(want)) {
				t.Errorf("BytesWritten = %d; want %d", res.BytesWritten, len(want))
			}
			if tc.stream {
				if n := int64(len(sseEvents(t, want))); res.Events != n {
					t.Errorf("Events = %d; want %d", res.Events, n)
				}
			}
			if res.FirstByte.IsZero() {
				t.Errorf("FirstByte not set")
			}
			if err := resp.Close(); err != nil {
				t.Errorf("Close after Relay: %v", err)
			}
		})
	}
}

// TestProviderStreamWithoutUsage: the gateway asks the upstream for usage
// the client did not ask for, reads it, and keeps the usage-only chunk
// from the client.
func TestProviderStreamWithoutUsage(t *testing.T) {
	srv := newServer(t, fake.Handler(nil))
	const text = "count my tokens anyway"
	// What the upstream sends once the gateway added include_usage...
	_, upstream := post(t, srv.URL+"/v1/chat/completions", userChat("fake-echo", text, `,"stream":true,"stream_options":{"include_usage":true}`))
	// ...and what a client that did not ask for usage must get: the stream
	// the upstream sends without include_usage, byte for byte (no
	// usage-only chunk, no "usage":null members).
	_, want := post(t, srv.URL+"/v1/chat/completions", userChat("fake-echo", text, `,"stream":true`))
	if bytes.Equal(want, upstream) {
		t.Fatal("test premise: the upstream stream with usage differs")
	}
	for _, extra := range []string{
		`,"stream":true`,
		`,"stream":true,"stream_options":{"include_usage":false}`,
		`,"stream":true,"stream_options":null`,
	} {
		t.Run(extra, func(t *testing.T) {
			p := fake.NewProvider(nil)
			resp, err := p.Send(context.Background(), decodeCall(t, p, providers.EndpointChat, userChat("fake-echo", text, extra), ""))
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			res, err := resp.Relay(rec)
			if err != nil {
				t.Fatalf("Relay: %v", err)
			}
			if got := rec.Body.String(); got != string(want) {
				t.Errorf("relayed:\n%s\nwant:\n%s", got, want)
			}
			wantUsage := metering.Usage{InputTokens: fake.PromptTokens(len(text)), OutputTokens: 4}
			if !res.UsageKnown || res.Usage != wantUsage {
				t.Errorf("usage = %+v (known %v); want %+v", res.Usage, res.UsageKnown, wantUsage)
			}
		})
	}
}

// TestProviderStreamsEnd: every stream the fake sends ends with its
// terminal event, [DONE], so the adapter relays it as whole; a stream
// without one is an error (see the openai package's tests).
func TestProviderStreamsEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  *fake.Options
		extra string
	}{
		{"plain", nil, `,"stream":true`},
		{"with usage", nil, `,"stream":true,"stream_options":{"include_usage":true}`},
		{"no words", nil, `,"stream":true,"max_tokens":0`},
		{"no words with usage", nil, `,"stream":true,"max_completion_tokens":0,"stream_options":{"include_usage":true}`},
		{"Chunks", &fake.Options{Chunks: 40}, `,"stream":true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fake.NewProvider(tc.opts)
			resp, err := p.Send(context.Background(), decodeCall(t, p, providers.EndpointChat, userChat("fake-echo", "end me", tc.extra), ""))
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			res, err := resp.Relay(rec)
			if err != nil {
				t.Fatalf("Relay: %v", err)
			}
			events := sseEvents(t, rec.Body.Bytes())
			if len(events) == 0 || events[len(events)-1] != "[DONE]" {
				t.Errorf("relayed stream does not end with [DONE]: %q", rec.Body)
			}
			if res.Events != int64(len(events)) {
				t.Errorf("Events = %d; want %d", res.Events, len(events))
			}
		})
	}
}

func TestProviderUpstreamModel(t *testing.T) {
	p := fake.NewProvider(nil)
	for _, tc := range []struct {
		name, public, upstream string
		status                 int
	}{
		{"alias rewritten", "my-assistant", "fake-echo", 200},
		{"rewritten to an error model", "safe-looking", "fake-error-429", 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := p.Send(context.Background(), decodeCall(t, p, providers.EndpointChat, userChat(tc.public, "hi", ""), tc.upstream))
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			if _, err := resp.Relay(rec); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != tc.status {
				t.Errorf("status %d; want %d", resp.StatusCode(), tc.status)
			}
			if tc.status == 200 {
				var c completion
				_ = json.Unmarshal(rec.Body.Bytes(), &c)
				if c.Model != tc.upstream {
					t.Errorf("the fake answered as %q; want the upstream name %q", c.Model, tc.upstream)
				}
			}
		})
	}
}

// trackedProvider is NewProvider's construction around a tracked handler,
// so that a test sees the handler goroutine end.
func trackedProvider(t *testing.T, opts *fake.Options) (providers.Provider, <-chan returned) {
	t.Helper()
	h, done := tracked(fake.Handler(opts))
	p, err := openai.New(&openai.Options{
		Name: "fake", BaseURL: "http://fake.invalid/v1",
		Client: &http.Client{Transport: fake.Transport(h)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, done
}

// cancelOnWrite cancels a context on its first body write.
type cancelOnWrite struct {
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	defer w.cancel()
	return w.ResponseRecorder.Write(p)
}

func TestProviderCancelMidStream(t *testing.T) {
	const chunks = 1000 // 20s at the delay below, if nothing stops it
	opts := &fake.Options{Chunks: chunks, ChunkDelay: 20 * time.Millisecond}
	body := userChat("fake-echo", "cancel me", `,"stream":true`)
	for _, tc := range []struct {
		name    string
		tracked bool
	}{{"NewProvider", false}, {"Transport", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				p    providers.Provider
				done <-chan returned
			)
			if tc.tracked {
				p, done = trackedProvider(t, opts)
			} else {
				p = fake.NewProvider(opts)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp, err := p.Send(ctx, decodeCall(t, p, providers.EndpointChat, body, ""))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Close()
			w := &cancelOnWrite{ResponseRecorder: httptest.NewRecorder(), cancel: cancel}
			relayed := make(chan error, 1)
			var res providers.Result
			go func() {
				var err error
				res, err = resp.Relay(w)
				relayed <- err
			}()
			var relayErr error
			select {
			case relayErr = <-relayed:
			case <-time.After(waitLimit):
				t.Fatalf("Relay still running %v after the context was canceled", waitLimit)
			}
			if res.Events < 1 || res.Events >= chunks {
				t.Errorf("Events = %d; want the stream cut after the first", res.Events)
			}
			if tc.tracked {
				if r := waitReturn(t, done); r.ctxErr == nil {
					t.Errorf("handler returned before its request was canceled")
				}
			}
			if relayErr == nil {
				t.Errorf("Relay of a canceled stream returned no error; the answer is incomplete")
			}
		})
	}
}

func TestProviderCloseWithoutRelay(t *testing.T) {
	p, done := trackedProvider(t, &fake.Options{Chunks: 1000, ChunkDelay: 20 * time.Millisecond})
	resp, err := p.Send(context.Background(), decodeCall(t, p, providers.EndpointChat, userChat("fake-echo", "x", `,"stream":true`), ""))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 200 {
		t.Fatalf("status %d", resp.StatusCode())
	}
	// A gateway falling back to another deployment closes the answer
	// unread; the handler must end.
	if err := resp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := resp.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if r := waitReturn(t, done); r.writes >= 1000 {
		t.Errorf("handler ran to the end (%d writes)", r.writes)
	}
}

func TestProviderHang(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		timeout bool
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Millisecond)
		}, true},
		{"canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(30*time.Millisecond, cancel)
			return ctx, cancel
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, done := trackedProvider(t, nil)
			ctx, cancel := tc.ctx()
			defer cancel()
			resp, err := p.Send(ctx, decodeCall(t, p, providers.EndpointChat, userChat("fake-hang", "anyone?", ""), ""))
			if err == nil {
				resp.Close()
				t.Fatalf("Send answered %d; want an error", resp.StatusCode())
			}
			ue, ok := errors.AsType[*providers.UpstreamError](err)
			if !ok {
				t.Fatalf("Send error %T %v; want *providers.UpstreamError", err, err)
			}
			if ue.Timeout != tc.timeout {
				t.Errorf("Timeout = %v; want %v", ue.Timeout, tc.timeout)
			}
			if strings.Contains(err.Error(), "fake.invalid") {
				t.Errorf("error %q carries the URL", err)
			}
			if r := waitReturn(t, done); r.writes != 0 || r.ctxErr == nil {
				t.Errorf("hang handler: %+v; want no writes and a canceled request", r)
			}
		})
	}
}

func TestTransport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		status  int
		header  http.Header
		length  int64
		body    string
		readErr bool
	}{
		{"status, headers and body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Test", "a")
			w.Header().Set("Content-Length", "5")
			w.WriteHeader(http.StatusCreated)
			w.Header().Set("X-Late", "not sent") // after the header: not seen
			io.WriteString(w, "hello")
		}, 201, http.Header{"X-Test": {"a"}, "Content-Length": {"5"}}, 5, "hello", false},
		{"implicit 200 on write", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "x")
		}, 200, http.Header{}, -1, "x", false},
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, 200, http.Header{}, -1, "", false},
		{"echoes the request", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			io.WriteString(w, r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Req")+" "+string(b))
		}, 200, http.Header{}, -1, "POST /v1/x yes {}", false},
		{"panic mid-body", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			panic("boom")
		}, 200, http.Header{}, -1, "partial", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Transport: fake.Transport(tc.h)}
			req, _ := http.NewRequest(http.MethodPost, "http://fake.invalid/v1/x", strings.NewReader("{}"))
			req.Header.Set("X-Req", "yes")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if (err != nil) != tc.readErr {
				t.Errorf("read error %v; want error: %v", err, tc.readErr)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d; want %d", resp.StatusCode, tc.status)
			}
			if diff := cmp.Diff(tc.header, resp.Header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if resp.ContentLength != tc.length {
				t.Errorf("ContentLength = %d; want %d", resp.ContentLength, tc.length)
			}
			if string(b) != tc.body {
				t.Errorf("body = %q; want %q", b, tc.body)
			}
		})
	}
}

func TestTransportBodyCloseEndsHandler(t *testing.T) {
	// No delay: the handler writes as fast as the reader reads, so only
	// the closed body can stop it.
	h, done := tracked(fake.Handler(&fake.Options{Chunks: 1_000_000}))
	c := &http.Client{Transport: fake.Transport(h)}
	resp, err := c.Post("http://fake.invalid/v1/chat/completions", "application/json",
		strings.NewReader(userChat("fake-echo", "x", `,"stream":true`)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Body.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := waitReturn(t, done); r.writes >= 1_000_000 {
		t.Errorf("handler wrote everything (%d writes)", r.writes)
	}
}

func TestTransportCanceledBeforeHeader(t *testing.T) {
	h, done := tracked(fake.Handler(nil))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://fake.invalid/v1/chat/completions",
		strings.NewReader(userChat("fake-hang", "x", "")))
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := fake.Transport(h).RoundTrip(req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("RoundTrip error = %v; want context.Canceled", err)
	}
	if r := waitReturn(t, done); r.writes != 0 {
		t.Errorf("handler wrote %d times", r.writes)
	}
}

func TestTransportCancelEndsBodyWithError(t *testing.T) {
	// The handler returns as soon as the request is canceled, as the
	// fake's streams and any well-behaved handler do.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		<-r.Context().Done()
	})
	clean := 0
	for range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://fake.invalid/", nil)
		resp, err := fake.Transport(h).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		cancel()
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			clean++
		} else if !errors.Is(err, context.Canceled) {
			t.Errorf("read after cancel: %v; want context.Canceled", err)
		}
	}
	if clean > 0 {
		t.Errorf("%d of 50 canceled bodies ended with a clean EOF; want context.Canceled every time", clean)
	}
}
