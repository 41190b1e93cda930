package translate

import (
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// lineEncoder writes each event's kind on a line, and "end" at Close.
type lineEncoder struct{ w io.Writer }

func (e *lineEncoder) Encode(ev canon.Event) error {
	_, err := fmt.Fprintf(e.w, "%d\n", ev.Kind)
	return err
}

func (e *lineEncoder) Close() error {
	_, err := io.WriteString(e.w, "end\n")
	return err
}

func TestStreamWriter(t *testing.T) {
	for _, ct := range []string{"", "application/json; charset=UTF-8"} {
		w := httptest.NewRecorder()
		sw := NewStreamWriter(w, ct, func(out io.Writer) Encoder { return &lineEncoder{out} })
		if len(w.Header()) != 0 || w.Flushed {
			t.Fatalf("written before the first event: %v", w.Header())
		}
		if err := sw.Write(canon.Event{Kind: canon.EventStart}); err != nil {
			t.Fatal(err)
		}
		if !w.Flushed {
			t.Error("event not flushed")
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		want := ct
		if want == "" {
			want = "text/event-stream"
		}
		if got := w.Header().Get("Content-Type"); got != want || w.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("headers %v; want Content-Type %s", w.Header(), want)
		}
		if got := w.Body.String(); got != fmt.Sprintf("%d\nend\n", canon.EventStart) {
			t.Errorf("body %q", got)
		}
	}
}

func TestWholeWriter(t *testing.T) {
	w := httptest.NewRecorder()
	ww := NewWholeWriter(w, "application/json", func(acc *canon.Accumulator) ([]byte, error) {
		if !acc.Started() {
			return nil, errors.New("nothing gathered")
		}
		return []byte(`{"ok":true}`), nil
	})
	if err := ww.Write(canon.Event{Kind: canon.EventStart}); err != nil {
		t.Fatal(err)
	}
	if w.Body.Len() != 0 {
		t.Fatal("written before Close")
	}
	if err := ww.Close(); err != nil || w.Body.String() != `{"ok":true}` || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("Close: %v; %q %v", err, w.Body, w.Header())
	}
}

// fakeDecoder reads events whose data names a canonical event: "u<n>"
// usage of n input tokens, "f" finish, "e" error, "x" undecodable, "last"
// the end of the answer, "done" the terminal event.
type fakeDecoder struct {
	done bool
	held bool // End emits a usage of 99
}

var errCut = fmt.Errorf("cut: %w", providers.ErrIncomplete)

func (d *fakeDecoder) Whole(body []byte) (*canon.Response, error) {
	if string(body) != "whole" {
		return nil, errors.New("bad")
	}
	return &canon.Response{Usage: metering.Usage{InputTokens: 7}, UsageKnown: true}, nil
}

func (d *fakeDecoder) Event(ev sse.Event, e *Emitter) (bool, error) {
	s := string(ev.Data)
	switch {
	case s == "done":
		d.done = true
	case s == "last":
		return true, nil
	case s == "f":
		return false, e.Emit(canon.Event{Kind: canon.EventFinish})
	case s == "e":
		return false, e.Emit(canon.Event{Kind: canon.EventError, Error: &canon.Error{Message: "m"}})
	case s == "x":
		return false, errors.New("undecodable")
	case strings.HasPrefix(s, "u"):
		var n int64
		fmt.Sscan(s[1:], &n)
		return false, e.Emit(canon.Event{Kind: canon.EventUsage, Usage: metering.Usage{InputTokens: n}})
	}
	return false, nil
}

func (d *fakeDecoder) End(e *Emitter) (error, error) {
	if !d.done && !e.Failed() {
		return errCut, nil
	}
	if d.held {
		return nil, e.Emit(canon.Event{Kind: canon.EventUsage, Usage: metering.Usage{InputTokens: 99}})
	}
	return nil, nil
}

func sseOf(data ...string) string {
	var b strings.Builder
	for _, d := range data {
		b.WriteString("data: " + d + "\n\n")
	}
	return b.String()
}

func TestEvents(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		stream    bool
		atFinish  bool
		held      bool
		emitFails bool
		usage     int64
		known     bool
		events    int
		err       error // errors.Is
		upstream  bool  // an *UpstreamError
	}{
		{name: "whole", body: "whole", usage: 7, known: true, events: 2}, // start, finish
		{name: "whole undecodable", body: "nope", upstream: true},
		{name: "stream", body: sseOf("u3", "f", "done"), stream: true, usage: 3, known: true, events: 2},
		{name: "usage before finish", body: sseOf("u3", "done"), stream: true, atFinish: true, usage: 3, events: 1},
		{name: "usage after finish", body: sseOf("u3", "f", "u5", "done"), stream: true, atFinish: true, usage: 5, known: true, events: 3},
		{name: "truncated", body: sseOf("u3"), stream: true, usage: 3, known: true, events: 1, err: providers.ErrIncomplete, upstream: true},
		{name: "ended by an error event", body: sseOf("e"), stream: true, events: 1},
		{name: "last", body: sseOf("u2", "last", "u9"), stream: true, usage: 2, known: true, events: 1},
		{name: "held back", body: sseOf("done"), stream: true, held: true, usage: 99, known: true, events: 1},
		{name: "undecodable", body: sseOf("x"), stream: true, upstream: true},
		{name: "emit fails", body: sseOf("u1", "u2", "done"), stream: true, emitFails: true, usage: 1, known: true, events: 1, err: errEmit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n int
			emit := func(canon.Event) error {
				n++
				if tc.emitFails {
					return errEmit
				}
				return nil
			}
			o := &Options{Name: "up", Stream: tc.stream, UsageAtFinish: tc.atFinish, TooLarge: errors.New("too large")}
			res, err := Events(strings.NewReader(tc.body), &fakeDecoder{held: tc.held}, o, emit)
			if _, ok := errors.AsType[*providers.UpstreamError](err); ok != tc.upstream {
				t.Errorf("error %v; want an *UpstreamError: %v", err, tc.upstream)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("error %v; want %v", err, tc.err)
			}
			if tc.err == nil && !tc.upstream && err != nil {
				t.Errorf("error %v", err)
			}
			if res.Usage.InputTokens != tc.usage || res.UsageKnown != tc.known || n != tc.events {
				t.Errorf("usage %d (known %v), %d events; want %d (%v), %d", res.Usage.InputTokens, res.UsageKnown, n, tc.usage, tc.known, tc.events)
			}
		})
	}
}

var errEmit = errors.New("client gone")

func TestRequest(t *testing.T) {
	cap5 := int64(5)
	call := &providers.Call{Request: &providers.Request{}, UpstreamModel: "up-model"}
	call.Stream, call.EnforceMaxOutput = true, 100
	r := Request(call, &canon.Request{Model: "m"})
	if r.Model != "up-model" || !r.Stream || r.MaxOutputTokens == nil || *r.MaxOutputTokens != 100 {
		t.Errorf("got %+v", r)
	}
	r = Request(call, &canon.Request{Model: "m", MaxOutputTokens: &cap5})
	if *r.MaxOutputTokens != 5 {
		t.Errorf("the request's own cap replaced: %d", *r.MaxOutputTokens)
	}
	if e := NotTranslated(); e.Status != 501 || e.Code != "translation_not_supported" {
		t.Errorf("NotTranslated() = %+v", e)
	}
}
