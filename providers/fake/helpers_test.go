package fake_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/providers/gemini"
	"github.com/wicket-gw/wicket/providers/openai"
)

// doH sends one request with the given header pairs and returns the
// response with its whole body.
func doH(t *testing.T, method, url, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
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

// sseEvent is one event of a stream, copied out of the reader.
type sseEvent struct{ Type, Data, Raw string }

// readSSE parses a whole event stream.
func readSSE(t *testing.T, body []byte) []sseEvent {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(body), nil)
	var out []sseEvent
	n := 0
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		out = append(out, sseEvent{string(ev.Type), string(ev.Data), string(ev.Raw)})
		n += len(ev.Raw)
	}
	if strings.TrimSpace(string(body[n:])) != "" {
		t.Fatalf("the stream has bytes outside its events: %q", body[n:])
	}
	return out
}

// accumulate folds the events a decoder emits into a response.
type accumulate struct {
	acc canon.Accumulator
	evs []canon.Event
}

func (a *accumulate) emit(e canon.Event) error {
	a.evs = append(a.evs, e.Clone())
	return a.acc.Add(e)
}

// decodeAnthropicStream reads an Anthropic stream with the anthropic
// package's decoder, which must find it whole.
func decodeAnthropicStream(t *testing.T, body []byte) (*canon.Response, []canon.Event) {
	t.Helper()
	var d anthropic.StreamDecoder
	a := &accumulate{}
	for _, ev := range readSSE(t, body) {
		if err := d.Decode(ev.Type, []byte(ev.Data), a.emit); err != nil {
			t.Fatalf("anthropic.StreamDecoder: %v on %s %s", err, ev.Type, ev.Data)
		}
	}
	if !d.Done() {
		t.Fatalf("the Anthropic stream did not end with message_stop:\n%s", body)
	}
	return a.acc.Response(), a.evs
}

// decodeGeminiStream reads a Gemini alt=sse stream with the gemini
// package's decoder, which must see it finish.
func decodeGeminiStream(t *testing.T, body []byte) (*canon.Response, []canon.Event) {
	t.Helper()
	var d gemini.StreamDecoder
	a := &accumulate{}
	for _, ev := range readSSE(t, body) {
		if err := d.Decode([]byte(ev.Data), a.emit); err != nil {
			t.Fatalf("gemini.StreamDecoder: %v on %s", err, ev.Data)
		}
	}
	if err := d.Finish(a.emit); err != nil {
		t.Fatal(err)
	}
	if !d.Done() {
		t.Fatalf("the Gemini stream has no finishReason:\n%s", body)
	}
	return a.acc.Response(), a.evs
}

// decodeOpenAIStream reads a chat completions stream with the openai
// package's decoder, which must see [DONE].
func decodeOpenAIStream(t *testing.T, body []byte) (*canon.Response, []canon.Event) {
	t.Helper()
	var d openai.StreamDecoder
	a := &accumulate{}
	for _, ev := range readSSE(t, body) {
		if err := d.Decode([]byte(ev.Data), a.emit); err != nil {
			t.Fatalf("openai.StreamDecoder: %v on %s", err, ev.Data)
		}
	}
	if !d.Done() {
		t.Fatalf("the OpenAI stream did not end with [DONE]:\n%s", body)
	}
	return a.acc.Response(), a.evs
}

// only returns the single choice of r, failing if there is not exactly
// one.
func only(t *testing.T, r *canon.Response) canon.Choice {
	t.Helper()
	if len(r.Choices) != 1 {
		t.Fatalf("%d choices; want 1: %+v", len(r.Choices), r)
	}
	return r.Choices[0]
}

// textOf returns the text of a choice, failing if it has a part that is
// not text.
func textOf(t *testing.T, c canon.Choice) string {
	t.Helper()
	var b strings.Builder
	for _, p := range c.Parts {
		if p.Kind != canon.PartText {
			t.Fatalf("part of kind %s; want text only", p.Kind)
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

// callOf returns the single tool call of a choice.
func callOf(t *testing.T, c canon.Choice) canon.ToolCall {
	t.Helper()
	if len(c.Parts) != 1 || c.Parts[0].Kind != canon.PartToolCall {
		t.Fatalf("parts %+v; want one tool call", c.Parts)
	}
	return c.Parts[0].ToolCall
}

// deltas counts the argument deltas of tool call parts in evs.
func deltas(evs []canon.Event, kind canon.PartKind) (n int) {
	kinds := map[int]canon.PartKind{}
	for _, e := range evs {
		switch e.Kind {
		case canon.EventPartStart:
			kinds[e.Index] = e.PartKind
		case canon.EventPartDelta:
			if kinds[e.Index] == kind {
				n++
			}
		}
	}
	return n
}
