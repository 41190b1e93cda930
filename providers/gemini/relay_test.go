package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// Chunks as Gemini streams them: running usage on every chunk, the
// finishReason and the final counts on the last.
const (
	chunk1 = `{"candidates":[{"content":{"parts":[{"text":"Thinking it over","thought":true}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`
	chunk2 = `{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":1,"thoughtsTokenCount":20,"totalTokenCount":33},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`
	chunk3 = `{"candidates":[{"content":{"parts":[{"text":"lo!"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"cachedContentTokenCount":8,"candidatesTokenCount":3,"toolUsePromptTokenCount":4,"thoughtsTokenCount":20,"totalTokenCount":39},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`

	errChunk     = `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`
	blockedChunk = `{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-flash","responseId":"r2"}`

	wholeAnswer = `{
  "candidates": [
    {
      "content": {"parts": [{"text": "Hello!"}], "role": "model"},
      "finishReason": "STOP",
      "index": 0
    }
  ],
  "usageMetadata": {
    "promptTokenCount": 12,
    "cachedContentTokenCount": 8,
    "candidatesTokenCount": 3,
    "toolUsePromptTokenCount": 4,
    "thoughtsTokenCount": 20,
    "totalTokenCount": 39
  },
  "modelVersion": "gemini-2.5-flash",
  "responseId": "r1"
}`
)

// wantUsage is the usage of chunk3 and wholeAnswer.
var wantUsage = metering.Usage{InputTokens: 16, CachedInputTokens: 8, OutputTokens: 23, ReasoningTokens: 20}

// sse frames chunk data as Gemini does.
func sseFrames(chunks ...string) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString("data: " + c + "\r\n\r\n")
	}
	return b.String()
}

// upstream serves body with the given status and content type, and
// headers the client must not see.
func upstream(t *testing.T, status int, contentType, body string) *Provider {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Server", "scaffolding on HTTPServer2")
		h.Set("Server-Timing", "gfet4t7; dur=512")
		h.Set("X-Ratelimit-Remaining-Requests", "3")
		h.Set("X-Goog-Quota-Project", "internal")
		h.Set("Alt-Svc", `h3=":443"`)
		if !strings.HasPrefix(contentType, "text/event-stream") {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	p, err := New(&Options{BaseURL: srv.URL + "/v1beta"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func relay(t *testing.T, p *Provider, c *providers.Call) (*httptest.ResponseRecorder, http.Header, providers.Result, error) {
	t.Helper()
	resp, err := p.Send(t.Context(), c)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	h := resp.Header()
	w := httptest.NewRecorder()
	for k, v := range h {
		w.Header()[k] = v
	}
	res, err := resp.Relay(w)
	return w, h, res, err
}

func TestRelayWhole(t *testing.T) {
	big := strings.Replace(wholeAnswer, `"Hello!"`, strconv.Quote(strings.Repeat("Hello there. ", 8000)), 1)
	for name, body := range map[string]string{"small": wholeAnswer, "larger than the tail": big} {
		t.Run(name, func(t *testing.T) {
			p := upstream(t, 200, "application/json; charset=UTF-8", body)
			w, h, res, err := relay(t, p, gcall(providers.EndpointChat, simpleBody, false, false))
			if err != nil {
				t.Fatalf("Relay: %v", err)
			}
			if w.Body.String() != body {
				t.Errorf("relayed a different body")
			}
			want := http.Header{"Content-Type": {"application/json; charset=UTF-8"}, "Content-Length": {strconv.Itoa(len(body))}}
			if diff := cmp.Diff(want, h); diff != "" {
				t.Errorf("Header (-want +got):\n%s", diff)
			}
			if !res.UsageKnown || res.Usage != wantUsage {
				t.Errorf("usage %+v (known %v); want %+v", res.Usage, res.UsageKnown, wantUsage)
			}
			if res.BytesWritten != int64(len(body)) || res.FirstByte.IsZero() {
				t.Errorf("Result %+v", res)
			}
		})
	}
}

func TestRelayCountAndErrors(t *testing.T) {
	const quota = `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`
	cases := []struct {
		name   string
		status int
		body   string
		call   *providers.Call
	}{
		{"count", 200, `{"totalTokens":31,"cachedContentTokenCount":0}`, gcall(providers.EndpointCountTokens, `{"contents":[]}`, false, false)},
		{"error", 429, quota, gcall(providers.EndpointChat, simpleBody, false, false)},
		{"error of a stream", 429, quota, gcall(providers.EndpointChat, simpleBody, true, false)},
		{"error of an array stream", 429, quota, gcall(providers.EndpointChat, simpleBody, true, true)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := upstream(t, tc.status, "application/json; charset=UTF-8", tc.body)
			w, h, res, err := relay(t, p, tc.call)
			if err != nil {
				t.Fatalf("Relay: %v", err)
			}
			if w.Body.String() != tc.body {
				t.Errorf("relayed %q", w.Body)
			}
			want := http.Header{"Content-Type": {"application/json; charset=UTF-8"}, "Content-Length": {strconv.Itoa(len(tc.body))}}
			if diff := cmp.Diff(want, h); diff != "" {
				t.Errorf("Header (-want +got):\n%s", diff)
			}
			if res.UsageKnown {
				t.Errorf("usage %+v from a body without usageMetadata", res.Usage)
			}
		})
	}
}

func TestRelayStream(t *testing.T) {
	stream := sseFrames(chunk1, chunk2, chunk3)
	t.Run("sse", func(t *testing.T) {
		p := upstream(t, 200, "text/event-stream", stream)
		w, h, res, err := relay(t, p, gcall(providers.EndpointChat, simpleBody, true, false))
		if err != nil {
			t.Fatalf("Relay: %v", err)
		}
		if w.Body.String() != stream {
			t.Errorf("relayed %q; want the upstream's events", w.Body)
		}
		want := http.Header{"Content-Type": {"text/event-stream"}, "Cache-Control": {"no-cache"}, "X-Accel-Buffering": {"no"}}
		if diff := cmp.Diff(want, h); diff != "" {
			t.Errorf("Header (-want +got):\n%s", diff)
		}
		if !res.UsageKnown || res.Usage != wantUsage || res.Events != 3 || res.BytesWritten != int64(len(stream)) {
			t.Errorf("Result %+v; want usage %+v, 3 events", res, wantUsage)
		}
		if !w.Flushed {
			t.Error("nothing was flushed")
		}
	})
	t.Run("array", func(t *testing.T) {
		p := upstream(t, 200, "text/event-stream", ": keep-alive\r\n\r\n"+stream)
		w, h, res, err := relay(t, p, gcall(providers.EndpointChat, simpleBody, true, true))
		if err != nil {
			t.Fatalf("Relay: %v", err)
		}
		wantBody := "[" + chunk1 + ",\r\n" + chunk2 + ",\r\n" + chunk3 + "]"
		if w.Body.String() != wantBody {
			t.Errorf("relayed %q; want %q", w.Body, wantBody)
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &elems); err != nil || len(elems) != 3 {
			t.Errorf("the answer is not an array of 3 chunks: %v", err)
		}
		want := http.Header{"Content-Type": {"application/json; charset=UTF-8"}, "Cache-Control": {"no-cache"}, "X-Accel-Buffering": {"no"}}
		if diff := cmp.Diff(want, h); diff != "" {
			t.Errorf("Header (-want +got):\n%s", diff)
		}
		if !res.UsageKnown || res.Usage != wantUsage || res.Events != 3 || res.BytesWritten != int64(len(wantBody)) {
			t.Errorf("Result %+v; want usage %+v, 3 events, %d bytes", res, wantUsage, len(wantBody))
		}
	})
}

// TestRelayLargeChunk relays a chunk larger than sse's default limit, as
// an image generated whole is.
func TestRelayLargeChunk(t *testing.T) {
	img := `{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"` + strings.Repeat("iVBO", 1<<19) +
		`"}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1290}}`
	p := upstream(t, 200, "text/event-stream", sseFrames(img))
	w, _, res, err := relay(t, p, gcall(providers.EndpointChat, simpleBody, true, true))
	if err != nil {
		t.Fatalf("Relay: %v", err)
	}
	if w.Body.String() != "["+img+"]" || res.Usage.OutputTokens != 1290 {
		t.Errorf("relayed %d bytes, usage %+v; want the image chunk", w.Body.Len(), res.Usage)
	}
}

func TestRelayStreamEnd(t *testing.T) {
	two := func(i int, finish string) string {
		s := `{"candidates":[{"content":{"parts":[{"text":"x"}],"role":"model"},"index":` + strconv.Itoa(i)
		if finish != "" {
			s += `,"finishReason":"` + finish + `"`
		}
		return s + `}]}`
	}
	cases := []struct {
		name     string
		stream   string
		complete bool
	}{
		{"finished", sseFrames(chunk1, chunk2, chunk3), true},
		{"usage after the finish", sseFrames(chunk1, chunk3, `{"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":3,"thoughtsTokenCount":20}}`), true},
		{"cut before the finish", sseFrames(chunk1, chunk2), false},
		{"cut inside the last event", sseFrames(chunk1, chunk2) + "data: " + chunk3[:40], false},
		{"last event without its blank line", sseFrames(chunk1, chunk2) + "data: " + chunk3, false},
		{"empty", "", false},
		{"error chunk", sseFrames(chunk1, errChunk), true},
		{"blocked prompt", sseFrames(blockedChunk), true},
		{"finish spelled in text", sseFrames(`{"candidates":[{"content":{"parts":[{"text":"\"finishReason\":\"STOP\""}]}}]}`), false},
		{"finish in a broken chunk", sseFrames(chunk1, chunk3[:len(chunk3)-1]), false},
		{"both candidates finished", sseFrames(two(0, ""), two(1, ""), two(1, "STOP"), two(0, "MAX_TOKENS")), true},
		{"one candidate left", sseFrames(two(0, ""), two(1, ""), two(0, "STOP")), false},
		{"second candidate without an index", sseFrames(`{"candidates":[{"content":{"parts":[{"text":"a"}]}},{"content":{"parts":[{"text":"b"}]}}]}`,
			`{"candidates":[{"finishReason":"STOP"}]}`), false},
	}
	for _, tc := range cases {
		for _, array := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: " sse", true: " array"}[array], func(t *testing.T) {
				p := upstream(t, 200, "text/event-stream", tc.stream)
				w, _, res, err := relay(t, p, gcall(providers.EndpointChat, simpleBody, true, array))
				if tc.complete {
					if err != nil {
						t.Fatalf("Relay: %v; want a whole answer", err)
					}
					if array && !json.Valid(w.Body.Bytes()) {
						t.Errorf("array answer %q is not JSON", w.Body)
					}
					return
				}
				ue, ok := errors.AsType[*providers.UpstreamError](err)
				if !ok || !errors.Is(err, providers.ErrIncomplete) || ue.Timeout {
					t.Fatalf("Relay: %#v; want a *providers.UpstreamError wrapping ErrIncomplete", err)
				}
				if res.Events > 0 && !w.Flushed {
					t.Error("the events before the end were not flushed")
				}
				if array && strings.HasSuffix(w.Body.String(), "]") {
					t.Errorf("a truncated array was closed: %q", w.Body)
				}
				if !array && !strings.HasPrefix(tc.stream, w.Body.String()) {
					t.Errorf("relayed %q; want a prefix of the stream", w.Body)
				}
			})
		}
	}
}

func TestRelayArrayRefusesNonJSON(t *testing.T) {
	p := upstream(t, 200, "text/event-stream", sseFrames(chunk1, "not json", chunk3))
	w, _, res, err := relay(t, p, gcall(providers.EndpointChat, simpleBody, true, true))
	if !errors.Is(err, providers.ErrIncomplete) {
		t.Fatalf("Relay: %v; want ErrIncomplete", err)
	}
	if w.Body.String() != "["+chunk1 || res.Events != 1 {
		t.Errorf("relayed %q (%d events); want the first chunk only", w.Body, res.Events)
	}
	// The same stream relayed as events passes the odd one through.
	p = upstream(t, 200, "text/event-stream", sseFrames(chunk1, "not json", chunk3))
	if _, _, _, err := relay(t, p, gcall(providers.EndpointChat, simpleBody, true, false)); err != nil {
		t.Errorf("Relay of the events: %v", err)
	}
}

func TestRelayIdleTimeout(t *testing.T) {
	for _, array := range []bool{false, true} {
		stall := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, sseFrames(chunk1))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-stall:
			}
		}))
		p, err := New(&Options{BaseURL: srv.URL + "/v1beta", IdleTimeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		w, _, res, err := relay(t, p, gcall(providers.EndpointChat, simpleBody, true, array))
		ue, ok := errors.AsType[*providers.UpstreamError](err)
		if !ok || !ue.Timeout {
			t.Errorf("Relay of a stalled stream: %v; want an upstream time-out", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the idle time-out fired after %v", d)
		}
		if !strings.Contains(w.Body.String(), chunk1) || res.Events != 1 || !w.Flushed {
			t.Errorf("the chunk before the stall was not relayed and flushed: %q", w.Body)
		}
		close(stall)
		srv.Close()
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

// refEnd is streamEnd's rule written over encoding/json, for the fuzz
// target: a stream is complete when a chunk carried an error object, or
// when a candidate finished (or the prompt was blocked) and every
// candidate named has finished.
type refEnd struct {
	seen, done map[int64]bool
	final      bool
	failed     bool
	usage      *metering.Usage
}

func (r *refEnd) observe(data []byte) {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return
	}
	var cands []json.RawMessage
	_ = json.Unmarshal(top["candidates"], &cands)
	for k, c := range cands {
		var m map[string]json.RawMessage
		if json.Unmarshal(c, &m) != nil {
			continue
		}
		idx := int64(k)
		if v, ok := m["index"]; ok {
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				idx = n
			}
		}
		if idx < 0 || idx >= 128 {
			continue
		}
		r.seen[idx] = true
		var reason string
		if json.Unmarshal(m["finishReason"], &reason) == nil && reason != "" {
			r.done[idx], r.final = true, true
		}
	}
	var fb map[string]json.RawMessage
	if json.Unmarshal(top["promptFeedback"], &fb) == nil {
		var reason string
		if json.Unmarshal(fb["blockReason"], &reason) == nil && reason != "" {
			r.final = true
		}
	}
	if e := bytes.TrimSpace(top["error"]); len(e) > 0 && e[0] == '{' {
		r.failed = true
	}
	if u := bytes.TrimSpace(top["usageMetadata"]); len(u) > 0 && u[0] == '{' {
		if got, ok := parseUsage(u); ok {
			r.usage = &got
		}
	}
}

func (r *refEnd) complete() bool {
	if r.failed {
		return true
	}
	for i := range r.seen {
		if !r.done[i] {
			return false
		}
	}
	return r.final
}

// FuzzRelayStream relays arbitrary streams in both forms and checks the
// end and usage against refEnd, that the event form passes the events
// through byte for byte, and that a complete array form is a JSON array of
// the chunks.
func FuzzRelayStream(f *testing.F) {
	f.Add([]byte(sseFrames(chunk1, chunk2, chunk3)), false)
	f.Add([]byte(sseFrames(chunk1, chunk2, chunk3)), true)
	f.Add([]byte(sseFrames(chunk1, chunk2)), true)
	f.Add([]byte(sseFrames(chunk1, errChunk)), false)
	f.Add([]byte(": ping\n\n"+sseFrames(blockedChunk)), true)
	f.Add([]byte(sseFrames(`{"candidates":[{"index":1},{"index":0,"finishReason":"STOP"}]}`, `{"candidates":[{"index":1,"finishReason":"x"}]}`)), false)
	f.Add([]byte("data: "+chunk3[:50]), true)
	f.Add([]byte(sseFrames(`{"candidates":[{"index":0,"index":"x","finishReason":"STOP","finishReason":""}]}`)), false)
	p, err := New(&Options{BaseURL: "http://upstream.invalid/v1beta", Client: &http.Client{Transport: cannedTransport{}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte, array bool) {
		resp, err := p.Send(context.WithValue(t.Context(), bodyKey{}, in), gcall(providers.EndpointChat, simpleBody, true, array))
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		w := httptest.NewRecorder()
		res, err := resp.Relay(w)

		// What the stream holds, read on its own.
		rd := sse.NewReader(bytes.NewReader(in), &sse.ReaderOptions{All: true})
		var raw []byte
		var datas [][]byte
		ref := refEnd{seen: map[int64]bool{}, done: map[int64]bool{}}
		allJSON := true
		var rerr error
		for {
			ev, err := rd.Next()
			if err != nil {
				rerr = err
				break
			}
			raw = append(raw, ev.Raw...)
			if ev.NoData {
				continue
			}
			datas = append(datas, bytes.Clone(ev.Data))
			allJSON = allJSON && json.Valid(ev.Data)
			ref.observe(ev.Data)
		}
		complete := rerr == io.EOF && ref.complete() && (allJSON || !array)
		if complete != (err == nil) {
			t.Fatalf("Relay: %v; stream read to %v, complete %v, all JSON %v", err, rerr, ref.complete(), allJSON)
		}
		if err != nil {
			if _, ok := errors.AsType[*providers.UpstreamError](err); !ok {
				t.Fatalf("Relay: %#v; want a *providers.UpstreamError", err)
			}
		}
		if res.BytesWritten != int64(w.Body.Len()) {
			t.Fatalf("BytesWritten = %d; %d written", res.BytesWritten, w.Body.Len())
		}
		switch {
		case !array && !bytes.Equal(w.Body.Bytes(), raw):
			t.Fatalf("relayed %q; want the events %q", w.Body.Bytes(), raw)
		case array && complete:
			var elems []json.RawMessage
			if err := json.Unmarshal(w.Body.Bytes(), &elems); err != nil {
				t.Fatalf("array answer %q: %v", w.Body.Bytes(), err)
			}
			if len(elems) != len(datas) || int64(len(elems)) != res.Events {
				t.Fatalf("%d elements, %d events; want %d", len(elems), res.Events, len(datas))
			}
			for i := range elems {
				if !bytes.Equal(elems[i], bytes.TrimSpace(datas[i])) { // space around an element is JSON's
					t.Fatalf("element %d is %q; want %q", i, elems[i], datas[i])
				}
			}
		}
		if complete {
			switch {
			case ref.usage == nil && res.UsageKnown:
				t.Fatalf("usage %+v; want none", res.Usage)
			case ref.usage != nil && (!res.UsageKnown || res.Usage != *ref.usage):
				t.Fatalf("usage %+v (known %v); want %+v", res.Usage, res.UsageKnown, *ref.usage)
			}
		}
		if u := res.Usage; u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.ReasoningTokens < 0 {
			t.Fatalf("negative usage %+v", u)
		}
		if !res.UsageKnown && res.Usage != (metering.Usage{}) {
			t.Fatalf("usage %+v without UsageKnown", res.Usage)
		}
	})
}

// TestRelayRunningUsageNotFinal: Gemini repeats running totals in every
// chunk, so a stream cut before its finish has no known usage (the
// gateway estimates it), however many totals it carried.
func TestRelayRunningUsageNotFinal(t *testing.T) {
	running := func(out int) string {
		return `{"candidates":[{"content":{"parts":[{"text":"x"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":` + strconv.Itoa(out) + `}}`
	}
	p := upstream(t, 200, "text/event-stream", sseFrames(running(1), running(2)))
	_, _, res, err := relay(t, p, gcall(providers.EndpointChat, simpleBody, true, false))
	if err == nil || !errors.Is(err, providers.ErrIncomplete) {
		t.Fatalf("Relay: %v; want ErrIncomplete", err)
	}
	if res.UsageKnown || res.Usage != (metering.Usage{}) {
		t.Errorf("usage %+v known %v; want none: running totals of a cut stream are not its usage", res.Usage, res.UsageKnown)
	}
}
