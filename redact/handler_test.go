package redact_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/slogtest"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/redact"
)

// newLogger returns a logger whose records go through a redact.Handler to
// a JSON handler writing into the returned buffer.
func newLogger(opts *redact.HandlerOptions) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, nil), opts)), &buf
}

// lines decodes each JSON line of buf, without time and level.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		delete(m, "time")
		delete(m, "level")
		out = append(out, m)
	}
	return out
}

// promptValue resolves, through LogValue, to a group with content in it.
type promptValue struct{ model, prompt string }

func (p promptValue) LogValue() slog.Value {
	return slog.GroupValue(slog.String("model", p.model), slog.String("prompt", p.prompt))
}

// keyValue resolves to a string holding a key.
type keyValue struct{}

func (keyValue) LogValue() slog.Value { return slog.StringValue("using " + openAIKey) }

type obj = map[string]any

func TestHandler(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *redact.HandlerOptions
		log  func(l *slog.Logger)
		want obj
	}{
		{"credential keys in any case", nil, func(l *slog.Logger) {
			l.Info("m", "authorization", "a", "Authorization", "b", "X-Api-Key", "c", "x_goog_api_key", "d",
				"apiKey", "e", "API_KEY", "f", "Cookie", "g", "set-cookie", "h", "proxy-authorization", "i", "model", "gpt")
		}, obj{"msg": "m", "model": "gpt"}},
		{"content keys", nil, func(l *slog.Logger) {
			l.Info("m", "messages", []string{"x"}, "prompt", "p", "input", "i", "content", "c", "contents", "c",
				"system", "s", "body", "b", "text", "t", "completion", "c", "output", "o", "instructions", "i", "status", 200)
		}, obj{"msg": "m", "status": 200.0}},
		{"content keys with counts", &redact.HandlerOptions{DropKeys: []string{"pin"}}, func(l *slog.Logger) {
			l.Info("m", slog.Group("tokens", "input", 12, "output", 34, "prompt", "p", "text", true),
				"authorization", 5, "pin", 1234, "input", promptValue{"m", "p"})
		}, obj{"msg": "m", "tokens": obj{"input": 12.0, "output": 34.0, "text": true}}},
		{"dotted keys", nil, func(l *slog.Logger) {
			l.Info("m", "http.request.header.authorization", "a", "gen_ai.prompt", "p", "gen_ai.request.model", "gpt")
		}, obj{"msg": "m", "gen_ai.request.model": "gpt"}},
		{"inside groups", nil, func(l *slog.Logger) {
			l.Info("m", slog.Group("req", "authorization", "a", "model", "gpt", slog.Group("deeper", "prompt", "p", "n", 1)),
				slog.Group("only", "prompt", "p"), slog.Group("body", "size", 3))
		}, obj{"msg": "m", "req": obj{"model": "gpt", "deeper": obj{"n": 1.0}}}},
		{"inline group", nil, func(l *slog.Logger) {
			l.Info("m", slog.Group("", "cookie", "c", "route", "/v1"))
		}, obj{"msg": "m", "route": "/v1"}},
		{"WithAttrs", nil, func(l *slog.Logger) {
			l.With("x-api-key", "k", "route", "/v1").Info("m", "n", 1)
		}, obj{"msg": "m", "route": "/v1", "n": 1.0}},
		{"WithGroup and WithAttrs", nil, func(l *slog.Logger) {
			l.WithGroup("req").With("cookie", "c", "id", "r1").WithGroup("inner").Info("m", "input", "i", "n", 1)
		}, obj{"msg": "m", "req": obj{"id": "r1", "inner": obj{"n": 1.0}}}},
		{"WithGroup with a dropped key", nil, func(l *slog.Logger) {
			l.With("route", "/v1").WithGroup("messages").With("role", "user").WithGroup("x").Info("m", "content", "c", "n", 1)
		}, obj{"msg": "m", "route": "/v1"}},
		{"LogValuer to a group", nil, func(l *slog.Logger) {
			l.Info("m", "call", promptValue{"gpt", "tell me"})
		}, obj{"msg": "m", "call": obj{"model": "gpt"}}},
		{"LogValuer to a string", nil, func(l *slog.Logger) {
			l.Info("m", "v", keyValue{})
		}, obj{"msg": "m", "v": "using sk-proj-…w7Tz"}},
		{"header map", nil, func(l *slog.Logger) {
			l.Info("m", "headers", map[string][]string{
				"Authorization": {"Bearer " + openAIKey}, "Content-Type": {"application/json"}, "X-Note": {"Bearer abc123def456"}})
		}, obj{"msg": "m", "headers": obj{"Content-Type": []any{"application/json"}, "X-Note": []any{"Bearer [redacted]"}}}},
		{"decoded JSON body", nil, func(l *slog.Logger) {
			l.Info("m", "req", map[string]any{"model": "gpt", "messages": []any{obj{"role": "user", "content": "hi"}},
				"metadata": map[string]any{"user": "u1", "api_key": "k"}, "max_tokens": 10})
		}, obj{"msg": "m", "req": obj{"model": "gpt", "max_tokens": 10.0, "metadata": obj{"user": "u1"}}}},
		{"masked message", nil, func(l *slog.Logger) {
			l.Info("calling https://g.example/v1/m?key=" + googleKey + " with Bearer " + anthropicKey)
		}, obj{"msg": "calling https://g.example/v1/m with Bearer [redacted]"}},
		{"masked strings", nil, func(l *slog.Logger) {
			l.Info("m", "note", "got "+googleKey, "url", "https://u:p@h.example/x?alt=sse", "path", "/v1?key=abc&alt=sse")
		}, obj{"msg": "m", "note": "got AIza…4fGx", "url": "https://[redacted]@h.example/x", "path": "/v1?key=[redacted]&alt=sse"}},
		{"error value", nil, func(l *slog.Logger) {
			l.Error("m", "err", fmt.Errorf("openai: %w", &url.Error{Op: "Post", URL: "https://api.example/v1?key=" + googleKey, Err: io.EOF}))
		}, obj{"msg": "m", "err": `openai: Post "https://api.example/v1": EOF`}},
		{"URL values", nil, func(l *slog.Logger) {
			u, _ := url.Parse("https://bob:pw@h.example/v1/m?key=" + googleKey + "#f")
			l.Info("m", "u", u, "v", *u, "nil", (*url.URL)(nil))
		}, obj{"msg": "m", "u": "https://[redacted]@h.example/v1/m", "v": "https://[redacted]@h.example/v1/m", "nil": nil}},
		{"bytes and string slices", nil, func(l *slog.Logger) {
			l.Info("m", "b", []byte("key "+awsKeyID), "clean", []byte("ok"), "s", []string{"a", githubToken})
		}, obj{"msg": "m", "b": "key AKIA…T9SK", "clean": "b2s=", "s": []any{"a", "ghp_…1uQ6"}}},
		{"secret and body types", nil, func(l *slog.Logger) {
			l.Info("m", "key", redact.NewSecret(openAIKey), "payload", redact.NewBody([]byte("hello")))
		}, obj{"msg": "m", "key": "[redacted]", "payload": "[redacted body, 5 bytes]"}},
		{"DropKeys and KeepKeys", &redact.HandlerOptions{DropKeys: []string{"user_email"}, KeepKeys: []string{"text"}}, func(l *slog.Logger) {
			l.Info("m", "userEmail", "a@b.example", "text", "kept", "prompt", "p")
		}, obj{"msg": "m", "text": "kept"}},
		{"KeyPrefixes", &redact.HandlerOptions{KeyPrefixes: []string{"acme"}}, func(l *slog.Logger) {
			l.Info("m", "a", "acme_Zq3xVb7NnP0rT9", "b", "wk_Zq3xVb7NnP0rT9", "c", appKey)
		}, obj{"msg": "m", "a": "acme_…0rT9", "b": "wk_Zq3xVb7NnP0rT9", "c": "wk_…1uQ6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, buf := newLogger(tc.opts)
			tc.log(l)
			got := lines(t, buf)
			if len(got) != 1 {
				t.Fatalf("got %d log lines; want 1:\n%s", len(got), buf)
			}
			if diff := cmp.Diff(tc.want, got[0]); diff != "" {
				t.Errorf("log line (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandlerConformsToSlogtest(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t, func(*testing.T) slog.Handler {
		buf.Reset()
		return redact.NewHandler(slog.NewJSONHandler(&buf, nil), nil)
	}, func(t *testing.T) map[string]any {
		m := map[string]any{}
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("%q: %v", buf.String(), err)
		}
		return m
	})
}

// countingValue counts its LogValue calls.
type countingValue struct{ n *atomic.Int32 }

func (c countingValue) LogValue() slog.Value {
	c.n.Add(1)
	return slog.StringValue("v")
}

func TestHandlerResolvesWithAttrsOnce(t *testing.T) {
	var n atomic.Int32
	l, buf := newLogger(nil)
	l = l.With("c", countingValue{&n})
	for range 3 {
		l.Info("m")
	}
	if got := n.Load(); got != 1 {
		t.Errorf("LogValue called %d times; want 1", got)
	}
	for _, line := range lines(t, buf) {
		if line["c"] != "v" {
			t.Errorf("line %v; want c=v", line)
		}
	}
}

// TestHandlerCanary pushes a canary prompt through every way content might
// reach a log and checks that it appears nowhere.
func TestHandlerCanary(t *testing.T) {
	const canary = "canary-prompt-0c4d"
	body := `{"model":"m","messages":[{"role":"user","content":"` + canary + `"}]}`
	var decoded map[string]any
	if err := json.Unmarshal([]byte(body), &decoded); err != nil {
		t.Fatal(err)
	}
	for _, mk := range []func(io.Writer) slog.Handler{
		func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(redact.NewHandler(mk(&buf), nil))
		l.Info("request", "body", body, "prompt", canary, "messages", decoded["messages"], "req", decoded,
			"payload", redact.NewBody([]byte(body)), "call", promptValue{"m", canary},
			slog.Group("upstream", "input", canary, slog.Group("response", "text", canary)))
		l.With("content", canary).WithGroup("g").With("system", canary).Info("with")
		l.WithGroup("contents").Info("group", "x", canary)
		if strings.Contains(buf.String(), canary) || strings.Contains(buf.String(), "messages") {
			t.Errorf("canary or content key in log:\n%s", buf.String())
		}
		if !strings.Contains(buf.String(), "request") || strings.Count(buf.String(), "\n") != 3 {
			t.Errorf("want three records:\n%s", buf.String())
		}
	}
}

func TestHandlerSelfReferencingMap(t *testing.T) {
	m := map[string]any{"a": 1}
	m["self"] = m
	l, buf := newLogger(nil)
	l.Info("m", "m", m)
	if !strings.Contains(buf.String(), "nested too deep") {
		t.Errorf("log %s; want the recursion cut off", buf)
	}
}

func TestHandlerEnabledAndErrors(t *testing.T) {
	var buf bytes.Buffer
	h := redact.NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}), nil)
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled does not follow the wrapped handler")
	}
	want := errors.New("write failed")
	h2 := redact.NewHandler(failingHandler{want}, nil)
	r := slog.NewRecord(timeZero, slog.LevelInfo, "m", 0)
	if err := h2.Handle(context.Background(), r); !errors.Is(err, want) {
		t.Errorf("Handle = %v; want the wrapped handler's error", err)
	}
	r.AddAttrs(slog.String("prompt", "p"))
	if err := h2.Handle(context.Background(), r); !errors.Is(err, want) {
		t.Errorf("Handle (rebuilt record) = %v; want the wrapped handler's error", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewHandler(nil, nil) did not panic")
		}
	}()
	redact.NewHandler(nil, nil)
}

func TestHandlerConcurrent(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	l := slog.New(redact.NewHandler(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil), nil)).With("route", "/v1")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			g := l.WithGroup(fmt.Sprint("g", i)).With("authorization", "a")
			for range 50 {
				g.Info("m", "prompt", "p", "n", i, "k", openAIKey)
			}
		})
	}
	wg.Wait()
	if got := strings.Count(buf.String(), "\n"); got != 400 {
		t.Errorf("%d lines; want 400", got)
	}
	if strings.Contains(buf.String(), openAIKey) || strings.Contains(buf.String(), "prompt") {
		t.Error("key or prompt in concurrent log")
	}
}

func TestHandlerCleanRecordAllocatesNothingMore(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are noisy under -race")
	}
	bare := slog.New(slog.NewJSONHandler(io.Discard, nil))
	wrapped := slog.New(redact.NewHandler(slog.NewJSONHandler(io.Discard, nil), nil))
	logClean := func(l *slog.Logger) func() {
		return func() {
			l.LogAttrs(context.Background(), slog.LevelInfo, "request served",
				slog.String("route", "/v1/chat/completions"), slog.String("model", "gpt-4o-mini"),
				slog.Int("status", 200), slog.Int64("input_tokens", 12), slog.Group("key", slog.String("id", "k1"), slog.String("hint", "wk_…1uQ6")))
		}
	}
	b, w := testing.AllocsPerRun(200, logClean(bare)), testing.AllocsPerRun(200, logClean(wrapped))
	if w > b {
		t.Errorf("wrapped handler: %v allocs per record; bare: %v; want no more", w, b)
	}
}

func TestHandlerKeepsSource(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{AddSource: true}), nil))
	l.Info("clean", "n", 1)
	l.Info("rebuilt", "prompt", "p")
	for _, line := range lines(t, &buf) {
		src, _ := line["source"].(map[string]any)
		if file, _ := src["file"].(string); !strings.HasSuffix(file, "handler_test.go") {
			t.Errorf("%v: source %v; want this file", line["msg"], line["source"])
		}
	}
}

var timeZero = slog.Record{}.Time

type failingHandler struct{ err error }

func (failingHandler) Enabled(context.Context, slog.Level) bool    { return true }
func (f failingHandler) Handle(context.Context, slog.Record) error { return f.err }
func (f failingHandler) WithAttrs([]slog.Attr) slog.Handler        { return f }
func (f failingHandler) WithGroup(string) slog.Handler             { return f }

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
