package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/redact"
)

// Streams as OpenAI sends them. Chat chunks carry "usage":null until the
// usage-only chunk (the adapter adds include_usage); Responses events name
// their type twice, in the event field and in the data.
const (
	chatChunk1    = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}],\"usage\":null}\n\n"
	chatChunk2    = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
	chatUsageOnly = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}\n\n"
	chatDone      = "data: [DONE]\n\n"
	chatError     = "data: {\"error\":{\"message\":\"The server had an error.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n"

	respCreated    = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\",\"error\":null,\"usage\":null}}\n\n"
	respDelta      = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n"
	respTrickDelta = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"{\\\"type\\\":\\\"response.completed\\\"}\"}\n\n"
	respCompleted  = "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":3,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"error\":null,\"usage\":{\"input_tokens\":7,\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":1,\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":8}}}\n\n"
	respIncomplete = "event: response.incomplete\ndata: {\"type\":\"response.incomplete\",\"sequence_number\":3,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"},\"usage\":{\"input_tokens\":7,\"output_tokens\":1,\"total_tokens\":8}}}\n\n"
	respFailed     = "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":3,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"The model failed.\"},\"usage\":null}}\n\n"
	respError      = "event: error\ndata: {\"type\":\"error\",\"sequence_number\":3,\"code\":\"server_error\",\"message\":\"The model failed.\",\"param\":null}\n\n"
)

// sseUpstream serves body as an event stream and records the request
// path, so a test can check the adapter called the endpoint it meant.
// With abort, it cuts the connection after the body instead of ending
// the response.
func sseUpstream(t *testing.T, wantPath, body string, abort bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wantPath {
			t.Errorf("upstream got path %s; want %s", r.URL.Path, wantPath)
		}
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body)
		if abort {
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRelayStreamEnd(t *testing.T) {
	const chatBody = `{"model":"m","stream":true}`
	const respBody = `{"model":"m","input":"hi","stream":true}`
	chatUsage := metering.Usage{InputTokens: 5, OutputTokens: 1}
	respUsage := metering.Usage{InputTokens: 7, OutputTokens: 1}
	for _, tc := range []struct {
		name     string
		endpoint providers.Endpoint
		body     string // the request
		upstream string // what the upstream sends
		abort    bool   // the upstream cuts the connection after it
		written  string // what the client must have got
		usage    metering.Usage
		ok       bool // Relay returns nil
	}{
		{"chat complete", providers.EndpointChat, chatBody,
			chatChunk1 + chatChunk2 + chatUsageOnly + chatDone,
			false, strings.ReplaceAll(chatChunk1+chatChunk2, `,"usage":null`, "") + chatDone, chatUsage, true},
		{"chat without [DONE]", providers.EndpointChat, chatBody,
			chatChunk1 + chatChunk2 + chatUsageOnly,
			false, strings.ReplaceAll(chatChunk1+chatChunk2, `,"usage":null`, ""), chatUsage, false},
		{"chat cut mid-line", providers.EndpointChat, chatBody,
			chatChunk1 + `data: {"id":"c","object":"chat.comp`,
			false, strings.ReplaceAll(chatChunk1, `,"usage":null`, ""), metering.Usage{}, false},
		{"chat cut before the blank line", providers.EndpointChat, chatBody,
			chatChunk1 + strings.TrimSuffix(chatChunk2, "\n"),
			false, strings.ReplaceAll(chatChunk1, `,"usage":null`, ""), metering.Usage{}, false},
		{"chat [DONE] unfinished", providers.EndpointChat, chatBody,
			chatChunk1 + chatChunk2 + chatUsageOnly + "data: [DONE]\n",
			false, strings.ReplaceAll(chatChunk1+chatChunk2, `,"usage":null`, ""), chatUsage, false},
		{"chat connection cut", providers.EndpointChat, chatBody,
			chatChunk1,
			true, strings.ReplaceAll(chatChunk1, `,"usage":null`, ""), metering.Usage{}, false},
		{"chat error chunk without [DONE]", providers.EndpointChat, chatBody,
			chatChunk1 + chatError,
			false, strings.ReplaceAll(chatChunk1, `,"usage":null`, "") + chatError, metering.Usage{}, false},
		{"chat error chunk then [DONE]", providers.EndpointChat, chatBody,
			chatChunk1 + chatError + chatDone,
			false, strings.ReplaceAll(chatChunk1, `,"usage":null`, "") + chatError + chatDone, metering.Usage{}, true},
		{"chat with usage asked, complete", providers.EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`,
			chatChunk1 + chatChunk2 + chatUsageOnly + chatDone,
			false, chatChunk1 + chatChunk2 + chatUsageOnly + chatDone, chatUsage, true},
		{"responses completed", providers.EndpointResponses, respBody,
			respCreated + respDelta + respCompleted,
			false, respCreated + respDelta + respCompleted, respUsage, true},
		{"responses incomplete", providers.EndpointResponses, respBody,
			respCreated + respDelta + respIncomplete,
			false, respCreated + respDelta + respIncomplete, respUsage, true},
		{"responses failed", providers.EndpointResponses, respBody,
			respCreated + respFailed,
			false, respCreated + respFailed, metering.Usage{}, true},
		{"responses error event", providers.EndpointResponses, respBody,
			respCreated + respDelta + respError,
			false, respCreated + respDelta + respError, metering.Usage{}, true},
		{"responses without response.completed", providers.EndpointResponses, respBody,
			respCreated + respDelta,
			false, respCreated + respDelta, metering.Usage{}, false},
		{"responses with the terminal type only in text", providers.EndpointResponses, respBody,
			respCreated + respTrickDelta,
			false, respCreated + respTrickDelta, metering.Usage{}, false},
		{"responses cut mid-event", providers.EndpointResponses, respBody,
			respCreated + respDelta + respCompleted[:len(respCompleted)/2],
			false, respCreated + respDelta, metering.Usage{}, false},
		{"responses completed, broken JSON", providers.EndpointResponses, respBody,
			respCreated + strings.Replace(respCompleted, `"status"`, `status`, 1),
			false, respCreated + strings.Replace(respCompleted, `"status"`, `status`, 1), metering.Usage{}, false},
		{"responses [DONE] is no end", providers.EndpointResponses, respBody,
			respCreated + respDelta + chatDone,
			false, respCreated + respDelta + chatDone, metering.Usage{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/v1/chat/completions"
			if tc.endpoint == providers.EndpointResponses {
				path = "/v1/responses"
			}
			srv := sseUpstream(t, path, tc.upstream, tc.abort)
			p, err := New(&Options{BaseURL: srv.URL + "/v1", APIKey: redact.NewSecret("sk-test-key")})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.Send(t.Context(), call(t, tc.endpoint, tc.body, "m"))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			w := httptest.NewRecorder()
			res, err := resp.Relay(w)
			if tc.ok {
				if err != nil {
					t.Fatalf("Relay: %v; want nil", err)
				}
			} else {
				ue, isUE := errors.AsType[*providers.UpstreamError](err)
				if !isUE || ue.Timeout || ue.Provider != "openai" {
					t.Fatalf("Relay: %#v; want a *providers.UpstreamError from openai, not a time-out", err)
				}
				if !tc.abort && !errors.Is(err, errTruncated) {
					t.Errorf("Relay: %v; want errTruncated", err)
				}
				for _, secret := range []string{srv.URL, "sk-test-key", "chat.comp", "Hi", "resp_1"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q carries %q", err, secret)
					}
				}
			}
			if got := w.Body.String(); got != tc.written {
				t.Errorf("written:\n%q\nwant:\n%q", got, tc.written)
			}
			if !w.Flushed && tc.written != "" {
				t.Errorf("the events written were not flushed")
			}
			if res.BytesWritten != int64(len(tc.written)) {
				t.Errorf("BytesWritten = %d; want %d", res.BytesWritten, len(tc.written))
			}
			if n := int64(strings.Count(tc.written, "\n\n")); res.Events != n {
				t.Errorf("Events = %d; want %d", res.Events, n)
			}
			if res.Usage != tc.usage || res.UsageKnown != (tc.usage != metering.Usage{}) {
				t.Errorf("usage %+v (known %v); want %+v", res.Usage, res.UsageKnown, tc.usage)
			}
		})
	}
}

// spyWriter is an http.ResponseWriter that records every call, so that a
// test can tell that nothing at all was written: not a byte, not a
// status, not a flush, not a header.
type spyWriter struct {
	mu    sync.Mutex
	calls []string
	h     http.Header
}

func (w *spyWriter) record(call string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, call)
}

func (w *spyWriter) Header() http.Header {
	w.record("Header")
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}

func (w *spyWriter) Write(p []byte) (int, error) {
	w.record("Write")
	return len(p), nil
}

func (w *spyWriter) WriteHeader(int) { w.record("WriteHeader") }
func (w *spyWriter) Flush()          { w.record("Flush") }

func (w *spyWriter) FlushError() error {
	w.record("FlushError")
	return nil
}

func (w *spyWriter) recorded() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

// TestRelayFailsBeforeWriting: when Relay fails before the first byte of
// the answer, it has not touched w at all, so that the gateway can still
// answer 502 or 504 itself, or try another upstream.
func TestRelayFailsBeforeWriting(t *testing.T) {
	overCap := "data: " + strings.Repeat("x", sse.DefaultMaxEventSize) + "\n\n"
	for _, tc := range []struct {
		name        string
		contentType string
		body        string // sent, then flushed
		stall       bool   // then nothing, until the client leaves
		body2       string // sent after a flush, unless stall
		timeout     bool
		cause       error
	}{
		{"stream stalls after headers", "text/event-stream", "", true, "", true, context.DeadlineExceeded},
		{"stream stalls after a comment line", "text/event-stream", ": keep-alive\n", true, "", true, context.DeadlineExceeded},
		{"stream stalls mid-event", "text/event-stream", "data: {\"id\":", true, "", true, context.DeadlineExceeded},
		{"body stalls after headers", "application/json", "", true, "", true, context.DeadlineExceeded},
		{"first event over the cap", "text/event-stream", overCap, false, chatDone, false, sse.ErrEventTooLarge},
		{"first event over the cap, unfinished", "text/event-stream", overCap[:len(overCap)-2], false, "", false, sse.ErrEventTooLarge},
		{"stream ends before an event", "text/event-stream", "", false, "", false, errTruncated},
		{"stream ends mid-event", "text/event-stream", "data: {\"id\":", false, "", false, errTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, tc.body)
				w.(http.Flusher).Flush()
				if tc.stall {
					<-r.Context().Done() // the adapter gave up and closed the body
					return
				}
				io.WriteString(w, tc.body2)
			}))
			defer srv.Close()
			idle := time.Minute // never reached on success
			if tc.stall {
				idle = 50 * time.Millisecond
			}
			p, err := New(&Options{BaseURL: srv.URL + "/v1", IdleTimeout: idle})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.Send(t.Context(), call(t, providers.EndpointChat, `{"model":"m","stream":true}`, "m"))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			w := &spyWriter{}
			res, err := resp.Relay(w)
			ue, ok := errors.AsType[*providers.UpstreamError](err)
			if !ok || ue.Timeout != tc.timeout || !errors.Is(err, tc.cause) {
				t.Fatalf("Relay: %#v; want a *providers.UpstreamError with Timeout %v, caused by %v", err, tc.timeout, tc.cause)
			}
			if calls := w.recorded(); len(calls) != 0 {
				t.Errorf("Relay called %v on the ResponseWriter; want nothing", calls)
			}
			if res.BytesWritten != 0 || res.Events != 0 || !res.FirstByte.IsZero() {
				t.Errorf("Result %+v; want nothing written", res)
			}
		})
	}
}

// bodyKey carries a fuzz input to cannedTransport through the request's
// context, so that one Provider serves every input.
type bodyKey struct{}

// cannedTransport answers every request with an event stream holding the
// bytes in its context.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, _ := req.Context().Value(bodyKey{}).([]byte)
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"text/event-stream"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: -1,
		Request:       req,
	}, nil
}

// refTerminal is isTerminal's rule written over encoding/json: [DONE] for
// chat; for Responses, a valid JSON object whose first "type" member is
// one of the four terminal types.
func refTerminal(data []byte, responses bool) bool {
	if !responses {
		return string(data) == "[DONE]"
	}
	if !json.Valid(data) {
		return false
	}
	for _, m := range refMembers(data) {
		if m.key == "type" {
			switch string(m.value) {
			case `"response.completed"`, `"response.incomplete"`, `"response.failed"`, `"error"`:
				return true
			}
			return false
		}
	}
	return false
}

// bufSpy is a spyWriter that keeps what is written.
type bufSpy struct {
	spyWriter
	buf bytes.Buffer
}

func (w *bufSpy) Write(p []byte) (int, error) {
	w.record("Write")
	return w.buf.Write(p)
}

func FuzzRelayStream(f *testing.F) {
	f.Add([]byte(chatChunk1+chatChunk2+chatUsageOnly+chatDone), false, false)
	f.Add([]byte(chatChunk1+chatChunk2+chatUsageOnly+chatDone), false, true)
	f.Add([]byte(chatChunk1+`data: {"id":"c","object":"chat.comp`), false, false)
	f.Add([]byte(chatChunk1+chatError), false, true)
	f.Add([]byte(respCreated+respDelta+respCompleted), true, false)
	f.Add([]byte(respCreated+respTrickDelta), true, false)
	f.Add([]byte(respCreated+respDelta+respCompleted[:len(respCompleted)/2]), true, false)
	f.Add([]byte(": keep-alive\n\n"+respError), true, false)
	p, err := New(&Options{BaseURL: "http://upstream.invalid/v1", Client: &http.Client{Transport: cannedTransport{}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte, responses, includeUsage bool) {
		c := call(t, providers.EndpointChat, `{"model":"m","stream":true}`, "m")
		if includeUsage {
			c = call(t, providers.EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, "m")
		}
		if responses {
			c = call(t, providers.EndpointResponses, `{"model":"m","stream":true}`, "m")
		}
		resp, err := p.Send(context.WithValue(t.Context(), bodyKey{}, in), c)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		w := &bufSpy{}
		res, err := resp.Relay(w)

		// What the stream holds, read on its own.
		rd := sse.NewReader(bytes.NewReader(in), &sse.ReaderOptions{All: true})
		var all []byte
		terminal := false
		var rerr error
		for {
			ev, err := rd.Next()
			if err != nil {
				rerr = err
				break
			}
			all = append(all, ev.Raw...)
			terminal = terminal || refTerminal(ev.Data, responses)
		}
		if complete := rerr == io.EOF && terminal; complete != (err == nil) {
			t.Fatalf("Relay: %v; stream read to %v, terminal event seen %v", err, rerr, terminal)
		}
		if err != nil {
			if _, ok := errors.AsType[*providers.UpstreamError](err); !ok {
				t.Fatalf("Relay: %#v; want a *providers.UpstreamError", err)
			}
		}
		if res.BytesWritten != int64(w.buf.Len()) {
			t.Fatalf("BytesWritten = %d; %d written", res.BytesWritten, w.buf.Len())
		}
		writes := 0
		for _, call := range w.recorded() {
			if call == "Write" {
				writes++
			}
		}
		if res.Events != int64(writes) {
			t.Fatalf("Events = %d; %d writes", res.Events, writes)
		}
		if writes == 0 && len(w.recorded()) != 0 {
			t.Fatalf("nothing written, but Relay called %v", w.recorded())
		}
		if c.IncludeUsage || responses {
			if !bytes.Equal(w.buf.Bytes(), all) {
				t.Fatalf("relayed %q; want the events %q", w.buf.Bytes(), all)
			}
		} else if w.buf.Len() > len(all) {
			t.Fatalf("relayed %d bytes of events holding %d", w.buf.Len(), len(all))
		}
		if u := res.Usage; u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.ReasoningTokens < 0 {
			t.Fatalf("negative usage %+v", u)
		}
		if !res.UsageKnown && res.Usage != (metering.Usage{}) {
			t.Fatalf("usage %+v without UsageKnown", res.Usage)
		}
	})
}
