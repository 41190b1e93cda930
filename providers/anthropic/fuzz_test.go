package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

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

// writeCounter is a ResponseWriter that keeps what is written and counts
// writes and flushes.
type writeCounter struct {
	h       http.Header
	buf     bytes.Buffer
	writes  int
	flushes int
}

func (w *writeCounter) Header() http.Header { return w.h }
func (w *writeCounter) WriteHeader(int)     {}
func (w *writeCounter) Flush()              { w.flushes++ }
func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

type refMember struct {
	key   string
	value json.RawMessage
}

// refMembers returns the members of the JSON object data in order,
// duplicates included, read with encoding/json; nil if data is not an
// object.
func refMembers(data []byte) []refMember {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var out []refMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var m refMember
		m.key, _ = tok.(string)
		if err := dec.Decode(&m.value); err != nil {
			return nil
		}
		out = append(out, m)
	}
	return out
}

// refGet returns the first member named key of the valid object data.
func refGet(data []byte, key string) (json.RawMessage, bool) {
	for _, m := range refMembers(data) {
		if m.key == key {
			return m.value, true
		}
	}
	return nil, false
}

// refUsage is the usage rule written over encoding/json, for streams
// whose every event holds valid JSON: the type is the event field, or the
// data's first type member; message_start's first message member's first
// usage member, and message_delta's first usage member, give counts; each
// count member (the last of duplicates) replaces the one before. The
// usage is known, as the counts were, at the last message_delta that gave
// counts: message_start's alone are not final.
type refUsage struct {
	c     [5]int64 // input, cache write, cache read, output, thinking
	final [5]int64 // c at the last message_delta with counts
	known bool
	ended bool
}

func (r *refUsage) event(typ string, data []byte) {
	if typ == "" {
		if v, ok := refGet(data, "type"); ok {
			_ = json.Unmarshal(v, &typ)
		}
	}
	var obj json.RawMessage
	var ok bool
	switch typ {
	case "message_start":
		var msg json.RawMessage
		if msg, ok = refGet(data, "message"); ok {
			obj, ok = refGet(msg, "usage")
		}
	case "message_delta":
		obj, ok = refGet(data, "usage")
	case "message_stop", "error":
		r.ended = true
	}
	if !ok {
		return
	}
	next, found := r.c, false
	num := func(v json.RawMessage, i int) {
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && n >= 0 {
			next[i], found = n, true
		}
	}
	for _, m := range refMembers(obj) {
		switch m.key {
		case "input_tokens":
			num(m.value, 0)
		case "cache_creation_input_tokens":
			num(m.value, 1)
		case "cache_read_input_tokens":
			num(m.value, 2)
		case "output_tokens":
			num(m.value, 3)
		case "output_tokens_details":
			if v, ok := refGet(m.value, "thinking_tokens"); ok {
				num(v, 4)
			}
		}
	}
	if found {
		r.c = next
		if typ == "message_delta" {
			r.final, r.known = next, true
		}
	}
}

func (r *refUsage) usage() metering.Usage {
	if !r.known {
		return metering.Usage{}
	}
	in := r.final[0]
	for _, n := range r.final[1:3] {
		in = addSat(in, n)
	}
	return metering.Usage{InputTokens: in, CacheCreationTokens: r.final[1], CachedInputTokens: r.final[2], OutputTokens: r.final[3], ReasoningTokens: min(r.final[4], r.final[3])}
}

func FuzzRelayStream(f *testing.F) {
	f.Add([]byte(fullStream))
	f.Add([]byte(evStart + streamBlocks + evDeltaFull + evMsgStop))
	f.Add([]byte(evStart + evTextStart + evTextDelta + evOverloaded))
	f.Add([]byte(evStart + evMsgStop[:20]))
	f.Add([]byte(": keep-alive\n\n" + evStart + evDelta))
	f.Add([]byte("data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"input_tokens\":4}}}\n\ndata: {\"type\":\"message_stop\"}\n\n"))
	f.Add([]byte("event: message_delta\ndata: {\"usage\":{\"output_tokens\":9223372036854775807,\"cache_read_input_tokens\":9223372036854775807,\"input_tokens\":1}}\n\n"))
	f.Add([]byte("event: message_delta\ndata: {\"usage\":{\"output_tokens\":5},\"x\":tru}\n\nevent: message_stop\ndata: {}\n\n"))
	p, err := New(&Options{BaseURL: "http://upstream.invalid/v1", Client: &http.Client{Transport: cannedTransport{}}})
	if err != nil {
		f.Fatal(err)
	}
	body := []byte(`{"model":"m","max_tokens":1,"stream":true}`)
	req, perr := Decode(providers.EndpointChat, body)
	if perr != nil {
		f.Fatal(perr)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		resp, err := p.Send(context.WithValue(t.Context(), bodyKey{}, in), &providers.Call{Request: req, UpstreamModel: "m"})
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		w := &writeCounter{h: http.Header{}}
		res, err := resp.Relay(w)

		// What the stream holds, read on its own.
		rd := sse.NewReader(bytes.NewReader(in), &sse.ReaderOptions{All: true})
		var all []byte
		var ref refUsage
		allValid := true
		var rerr error
		for {
			ev, err := rd.Next()
			if err != nil {
				rerr = err
				break
			}
			all = append(all, ev.Raw...)
			if ev.NoData {
				continue // a comment, or a block that is no event
			}
			if len(ev.Data) > 0 && (!json.Valid(ev.Data) || tooDeep(ev.Data)) {
				allValid = false
				if len(ev.Type) > 0 && (string(ev.Type) == "message_stop" || string(ev.Type) == "error") {
					ref.ended = true
				}
				continue
			}
			ref.event(string(ev.Type), ev.Data)
		}
		if complete := rerr == io.EOF && ref.ended; complete != (err == nil) {
			t.Fatalf("Relay: %v; stream read to %v, end seen %v", err, rerr, ref.ended)
		}
		if err != nil {
			if _, ok := errors.AsType[*providers.UpstreamError](err); !ok {
				t.Fatalf("Relay: %#v; want a *providers.UpstreamError", err)
			}
			if rerr == io.EOF && !errors.Is(err, providers.ErrIncomplete) {
				t.Fatalf("Relay: %v on a clean end; want ErrIncomplete", err)
			}
		}
		if !bytes.Equal(w.buf.Bytes(), all) {
			t.Fatalf("relayed %q; want the events %q", w.buf.Bytes(), all)
		}
		if res.BytesWritten != int64(w.buf.Len()) || res.Events != int64(w.writes) {
			t.Fatalf("Result %+v; %d bytes in %d writes", res, w.buf.Len(), w.writes)
		}
		if w.writes > 0 && w.flushes == 0 || w.writes == 0 && w.flushes != 0 {
			t.Fatalf("%d writes, %d flushes", w.writes, w.flushes)
		}
		if u := res.Usage; u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.CacheCreationTokens < 0 ||
			u.ReasoningTokens < 0 || u.ReasoningTokens > u.OutputTokens || u.CachedInputTokens+u.CacheCreationTokens > u.InputTokens && u.InputTokens != 1<<63-1 {
			t.Fatalf("inconsistent usage %+v", u)
		}
		if !res.UsageKnown && res.Usage != (metering.Usage{}) {
			t.Fatalf("usage %+v without UsageKnown", res.Usage)
		}
		if allValid && (res.Usage != ref.usage() || res.UsageKnown != ref.known) {
			t.Fatalf("usage %+v (%v); encoding/json reads %+v (%v)", res.Usage, res.UsageKnown, ref.usage(), ref.known)
		}
	})
}

func FuzzUsageBody(f *testing.F) {
	f.Add([]byte(wholeMessage), true)
	f.Add([]byte(wholeMessage), false)
	f.Add([]byte(`"usage": {"input_tokens":`), false)
	f.Add([]byte(`{"usage":{"input_tokens":1,"output_tokens_details":{"thinking_tokens":9}}}`), true)
	f.Add([]byte(`{"usage":{"input_tokens":1,"output_tokens":1A}}`), true)
	f.Fuzz(func(t *testing.T, data []byte, whole bool) {
		u, ok := usageFromBody(data, whole)
		if !ok && u != (metering.Usage{}) {
			t.Fatalf("usage %+v without ok", u)
		}
		if u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.CacheCreationTokens < 0 || u.ReasoningTokens < 0 || u.ReasoningTokens > u.OutputTokens {
			t.Fatalf("inconsistent usage %+v", u)
		}
		if whole && ok && json.Valid(data) {
			v, found := refGet(data, "usage")
			if !found {
				t.Fatalf("usage %+v from a body without one", u)
			}
			var ref refUsage
			ref.event("message_delta", []byte(`{"usage":`+string(v)+`}`))
			if !ref.known || ref.usage() != u {
				t.Fatalf("usage %+v; encoding/json reads %+v", u, ref.usage())
			}
		}
	})
}

// BenchmarkRelayStream relays a stream of 1000 text deltas, as the same
// dialect's pass-through does: usage read from two events, every event
// written as it came.
func BenchmarkRelayStream(b *testing.B) {
	var s strings.Builder
	s.WriteString(evStart + evTextStart)
	for range 1000 {
		s.WriteString(evTextDelta)
	}
	s.WriteString(evStop1 + evDeltaFull + evMsgStop)
	stream := []byte(s.String())
	p, err := New(&Options{BaseURL: "http://upstream.invalid/v1", Client: &http.Client{Transport: cannedTransport{}}})
	if err != nil {
		b.Fatal(err)
	}
	req, perr := Decode(providers.EndpointChat, []byte(`{"model":"m","max_tokens":1,"stream":true}`))
	if perr != nil {
		b.Fatal(perr)
	}
	call := &providers.Call{Request: req, UpstreamModel: "m"}
	ctx := context.WithValue(b.Context(), bodyKey{}, stream)
	w := &writeCounter{h: http.Header{}}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := p.Send(ctx, call)
		if err != nil {
			b.Fatal(err)
		}
		w.buf.Reset()
		res, err := resp.Relay(w)
		if err != nil || !res.UsageKnown || res.Events != 1005 {
			b.Fatalf("Relay: %v %+v", err, res)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1005), "ns/event")
}
