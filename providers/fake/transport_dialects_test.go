package fake_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/providers/fake"
)

// streamRoutes are the streamed routes of each dialect, with a body that
// streams.
var streamRoutes = []struct{ name, path, body string }{
	{"openai", "/v1/chat/completions", userChat("fake-echo", "slow", `,"stream":true`)},
	{"anthropic", "/v1/messages", anthMsg("fake-echo", "slow", `,"stream":true`)},
	{"gemini", "/v1beta/models/fake-echo:streamGenerateContent?alt=sse", gemText("slow", "")},
	{"gemini array", "/v1beta/models/fake-echo:streamGenerateContent", gemText("slow", "")},
}

// TestTransportDialects: Transport(Handler(…)) serves the paths that the
// Anthropic and Gemini upstream adapters call, in-process.
func TestTransportDialects(t *testing.T) {
	c := &http.Client{Transport: fake.Transport(fake.Handler(&fake.Options{Chunks: 4}))}
	send := func(t *testing.T, path, body string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://fake.invalid"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, %v: %s", resp.StatusCode, err, b)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("Content-Type = %q", ct)
		}
		return b
	}
	tools := `,"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]`
	for _, tc := range []struct {
		name, path, body string
		decode           func(*testing.T, []byte) (*canon.Response, []canon.Event)
		text, args       string
	}{
		{"anthropic", "/v1/messages", anthMsg("fake-echo", "in process", `,"stream":true`), decodeAnthropicStream, "in process in process", ""},
		{"anthropic tool call", "/v1/messages", anthMsg("fake-echo", "Oslo", `,"stream":true`+tools), decodeAnthropicStream, "", `{"city":"Oslo"}`},
		{"gemini", "/v1beta/models/fake-echo:streamGenerateContent?alt=sse", gemText("in process", ""), decodeGeminiStream, "in process in process", ""},
		{"gemini tool call", "/v1beta/models/fake-echo:streamGenerateContent?alt=sse", gemText("Oslo", gemWeather), decodeGeminiStream, "", `{"city":"Oslo"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := tc.decode(t, send(t, tc.path, tc.body))
			ch := only(t, got)
			if tc.args != "" {
				if call := callOf(t, ch); string(call.Arguments) != tc.args || ch.Finish != canon.FinishToolCalls {
					t.Errorf("call %s(%s), finish %v; want arguments %s, tool calls", call.Name, call.Arguments, ch.Finish, tc.args)
				}
				return
			}
			if s := textOf(t, ch); s != tc.text || ch.Finish != canon.FinishStop || got.Usage.OutputTokens != 4 {
				t.Errorf("text %q, finish %v, usage %+v; want %q, stop, 4 output tokens", s, ch.Finish, got.Usage, tc.text)
			}
		})
	}
}

// TestStreamClientCancels: a client that leaves mid-stream ends the
// handler early, in every dialect, over HTTP and in-process.
func TestStreamClientCancels(t *testing.T) {
	const chunks = 1000 // with the delay, 20s if nothing stops it
	for _, route := range streamRoutes {
		for _, inProcess := range []bool{false, true} {
			name := route.name + "/http"
			if inProcess {
				name = route.name + "/transport"
			}
			t.Run(name, func(t *testing.T) {
				h, done := tracked(fake.Handler(&fake.Options{Chunks: chunks, ChunkDelay: 20 * time.Millisecond}))
				client, base := http.DefaultClient, "http://fake.invalid"
				if inProcess {
					client = &http.Client{Transport: fake.Transport(h)}
				} else {
					base = newServer(t, h).URL
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+route.path, strings.NewReader(route.body))
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
					t.Fatalf("first line: %v", err)
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
			})
		}
	}
}
