package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var writerCases = []struct {
	name string
	ev   Event
	want string
}{
	{name: "zero event", ev: Event{}, want: "data:\n\n"},
	{name: "data", ev: Event{Data: []byte(`{"a":1}`)}, want: "data: {\"a\":1}\n\n"},
	{name: "all fields", ev: Event{Type: []byte("message_start"), ID: []byte("7"), Retry: 1500 * time.Millisecond, Data: []byte("x")},
		want: "event: message_start\nid: 7\nretry: 1500\ndata: x\n\n"},
	{name: "LF in data", ev: Event{Data: []byte("a\nb")}, want: "data: a\ndata: b\n\n"},
	{name: "CRLF and CR in data", ev: Event{Data: []byte("a\r\nb\rc")}, want: "data: a\ndata: b\ndata: c\n\n"},
	{name: "trailing and empty lines in data", ev: Event{Data: []byte("\na\n\n")}, want: "data:\ndata: a\ndata:\ndata:\n\n"},
	{name: "leading space in data kept", ev: Event{Data: []byte(" a")}, want: "data:  a\n\n"},
	{name: "done", ev: Event{Data: []byte("[DONE]")}, want: "data: [DONE]\n\n"},
	{name: "no data", ev: Event{ID: []byte("3"), NoData: true, Data: []byte("ignored")}, want: "id: 3\n\n"},
	{name: "retry below a millisecond", ev: Event{Retry: time.Microsecond, Data: []byte("x")}, want: "retry: 0\ndata: x\n\n"},
	{name: "negative retry left out", ev: Event{Retry: -time.Second, Data: []byte("x")}, want: "data: x\n\n"},
	{name: "colon in type", ev: Event{Type: []byte("a:b"), Data: []byte("x")}, want: "event: a:b\ndata: x\n\n"},
	{name: "NUL in type allowed", ev: Event{Type: []byte("a\x00"), Data: []byte("x")}, want: "event: a\x00\ndata: x\n\n"},
	{name: "Raw ignored", ev: Event{Data: []byte("x"), Raw: []byte("data: y\n\n")}, want: "data: x\n\n"},
}

func TestWriteEvent(t *testing.T) {
	for _, tc := range writerCases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := NewWriter(&buf).WriteEvent(tc.ev); err != nil {
				t.Fatalf("got error %v; want nil", err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestWriteEventInvalid(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
	}{
		{name: "LF in type", ev: Event{Type: []byte("a\ndata: injected")}},
		{name: "CR in type", ev: Event{Type: []byte("a\rdata: injected")}},
		{name: "LF in id", ev: Event{ID: []byte("1\n\ndata: injected")}},
		{name: "CR in id", ev: Event{ID: []byte("1\r")}},
		{name: "NUL in id", ev: Event{ID: []byte("1\x00")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := NewWriter(&buf).WriteEvent(tc.ev)
			if !errors.Is(err, ErrInvalidEvent) {
				t.Errorf("got error %v; want ErrInvalidEvent", err)
			}
			if buf.Len() != 0 {
				t.Errorf("got %q written; want nothing", buf.String())
			}
		})
	}
}

func TestWriteComment(t *testing.T) {
	tests := []struct{ text, want string }{
		{"", ":\n\n"},
		{"ping", ": ping\n\n"},
		{"a\nb\r\nc\rd", ": a\n: b\n: c\n: d\n\n"},
		{"a\n", ": a\n:\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if err := w.WriteComment(tc.text); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
			// A comment-only block reads as nothing, or a NoData block.
			if evs, _, err := readAll(&buf, nil); err != io.EOF || len(evs) != 0 {
				t.Errorf("got %d events, error %v reading it back; want none, io.EOF", len(evs), err)
			}
		})
	}
}

func TestWriteRaw(t *testing.T) {
	in := readFixture(t, "anthropic_messages.sse")
	var out bytes.Buffer
	w := NewWriter(&out)
	r := NewReader(bytes.NewReader(in), nil)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteRaw(ev.Raw); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(string(in), out.String()); diff != "" {
		t.Errorf("forwarded stream mismatch (-want +got):\n%s", diff)
	}
}

// TestWriterRoundTrip writes random events and checks that a Reader reads
// them back: line breaks in Data as LF, the ID carried over as the standard
// says, Retry in whole milliseconds.
func TestWriterRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab: \r\n\x00\xEF\xBB\xBF[DONE]{}\""
	randBytes := func(n int) []byte {
		b := make([]byte, rng.IntN(n+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return b
	}
	clean := func(b []byte, bad string) []byte {
		return bytes.Map(func(r rune) rune {
			if strings.ContainsRune(bad, r) {
				return 'x'
			}
			return r
		}, b)
	}
	for round := range 200 {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		var want []tev
		var id string
		for range rng.IntN(20) {
			ev := Event{
				Type: clean(randBytes(8), "\r\n"),
				ID:   clean(randBytes(4), "\r\n\x00"),
				Data: randBytes(40),
			}
			if rng.IntN(4) == 0 {
				ev.Retry = time.Duration(rng.IntN(100000)) * time.Millisecond
			}
			start := buf.Len()
			if err := w.WriteEvent(ev); err != nil {
				t.Fatalf("round %d: got error %v; want nil", round, err)
			}
			if len(ev.ID) > 0 {
				id = string(ev.ID)
			}
			want = append(want, tev{
				Type:  string(ev.Type),
				Data:  normalizeData(ev.Data),
				ID:    id,
				Retry: ev.Retry,
				Raw:   buf.String()[start:],
			})
		}
		stream := buf.Bytes()
		for name, rd := range map[string]io.Reader{
			"whole":    bytes.NewReader(stream),
			"one byte": &chunkReader{in: stream, sizes: []byte{0}},
			"chunked":  &chunkReader{in: stream, sizes: []byte{2, 30, 6}},
		} {
			got, _, err := readAll(rd, nil)
			if err != io.EOF {
				t.Fatalf("round %d %s: got error %v; want io.EOF", round, name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("round %d %s: events mismatch (-want +got):\n%s", round, name, diff)
			}
		}
	}
}

// flushRecorder records how much of the body had been written at each flush.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushedAt []int
}

func (f *flushRecorder) Flush() {
	f.flushedAt = append(f.flushedAt, f.Body.Len())
	f.ResponseRecorder.Flush()
}

func TestWriterFlushesEachWrite(t *testing.T) {
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	SetHeaders(rec.Header())
	w := NewWriter(rec)
	var ends []int
	steps := []func() error{
		func() error { return w.WriteEvent(Event{Data: []byte("1")}) },
		func() error { return w.WriteComment("ping") },
		func() error { return w.WriteRaw([]byte("data: 2\n\n")) },
		func() error { return w.WriteEvent(Event{Type: []byte("t"), Data: []byte("3")}) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, rec.Body.Len())
	}
	if diff := cmp.Diff(ends, rec.flushedAt); diff != "" {
		t.Errorf("flushes mismatch (-after each write +at each flush):\n%s", diff)
	}
	if !rec.Flushed {
		t.Error("got Flushed false; want true")
	}
	want := http.Header{
		"Content-Type":      {"text/event-stream"},
		"Cache-Control":     {"no-cache"},
		"X-Accel-Buffering": {"no"},
	}
	if diff := cmp.Diff(want, rec.Result().Header); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}
}

// unwrapper is a middleware's ResponseWriter that hides Flush but offers
// Unwrap, which http.ResponseController follows.
type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// noFlush is a ResponseWriter that cannot flush.
type noFlush struct{ http.ResponseWriter }

// flushErr is a ResponseWriter whose flush fails.
type flushErr struct {
	http.ResponseWriter
	err error
}

func (f flushErr) FlushError() error { return f.err }

func TestWriterFlushKinds(t *testing.T) {
	t.Run("wrapped ResponseWriter", func(t *testing.T) {
		rec := httptest.NewRecorder()
		if err := NewWriter(unwrapper{rec}).WriteEvent(Event{Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if !rec.Flushed {
			t.Error("got Flushed false; want true")
		}
	})
	t.Run("cannot flush", func(t *testing.T) {
		rec := httptest.NewRecorder()
		w := NewWriter(noFlush{rec})
		for range 2 {
			if err := w.WriteEvent(Event{Data: []byte("x")}); err != nil {
				t.Fatalf("got error %v; want nil", err)
			}
		}
		if got, want := rec.Body.String(), "data: x\n\ndata: x\n\n"; got != want {
			t.Errorf("got %q; want %q", got, want)
		}
	})
	t.Run("flush fails", func(t *testing.T) {
		gone := errors.New("client gone")
		err := NewWriter(flushErr{httptest.NewRecorder(), gone}).WriteRaw([]byte("data: x\n\n"))
		if !errors.Is(err, gone) {
			t.Errorf("got error %v; want %v", err, gone)
		}
	})
	t.Run("bufio.Writer", func(t *testing.T) {
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		if err := NewWriter(bw).WriteEvent(Event{Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if got, want := out.String(), "data: x\n\n"; got != want {
			t.Errorf("got %q; want %q", got, want)
		}
	})
	t.Run("io.Writer with Flush", func(t *testing.T) {
		fw := &flushCounter{}
		w := NewWriter(fw)
		for range 3 {
			if err := w.WriteRaw([]byte("data: x\n\n")); err != nil {
				t.Fatal(err)
			}
		}
		if fw.flushes != 3 {
			t.Errorf("got %d flushes; want 3", fw.flushes)
		}
	})
	t.Run("write fails", func(t *testing.T) {
		broken := errors.New("broken pipe")
		err := NewWriter(errWriter{broken}).WriteEvent(Event{Data: []byte("x")})
		if !errors.Is(err, broken) {
			t.Errorf("got error %v; want %v", err, broken)
		}
	})
}

// flushCounter is an io.Writer with a Flush method that returns nothing.
type flushCounter struct {
	bytes.Buffer
	flushes int
}

func (f *flushCounter) Flush() { f.flushes++ }

type errWriter struct{ err error }

func (e errWriter) Write([]byte) (int, error) { return 0, e.err }

// TestWriterServer checks over a real connection that each event reaches
// the client before the handler writes the next: the handler waits for the
// client to acknowledge each event, which it could not do if the event sat
// in a buffer.
func TestWriterServer(t *testing.T) {
	const n = 3
	ack := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		SetHeaders(rw.Header())
		w := NewWriter(rw)
		for i := range n {
			if err := w.WriteEvent(Event{Type: []byte("n"), Data: []byte(strconv.Itoa(i))}); err != nil {
				t.Errorf("event %d: got error %v", i, err)
				return
			}
			select {
			case <-ack:
			case <-req.Context().Done():
				return
			}
		}
	}))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Content-Type"); got != "text/event-stream" {
		t.Errorf("got Content-Type %q; want text/event-stream", got)
	}
	r := NewReader(resp.Body, nil)
	for i := range n {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: got error %v", i, err)
		}
		if got, want := string(ev.Data), strconv.Itoa(i); got != want {
			t.Errorf("event %d: got data %q; want %q", i, got, want)
		}
		ack <- struct{}{}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("got error %v; want io.EOF", err)
	}
}

// discardResponseWriter is a flushable ResponseWriter that keeps nothing.
type discardResponseWriter struct{ h http.Header }

func (d *discardResponseWriter) Header() http.Header         { return d.h }
func (d *discardResponseWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardResponseWriter) WriteHeader(int)             {}
func (d *discardResponseWriter) Flush()                      {}

func TestWriterAllocs(t *testing.T) {
	for _, rw := range []http.ResponseWriter{
		&discardResponseWriter{h: http.Header{}},
		noFlush{&discardResponseWriter{h: http.Header{}}},
	} {
		w := NewWriter(rw)
		ev := Event{Type: []byte("content_block_delta"), ID: []byte("12"), Retry: time.Second, Data: []byte("{\"a\":\n1}")}
		raw := []byte("data: {}\n\n")
		for _, f := range []func(){
			func() { _ = w.WriteEvent(ev) },
			func() { _ = w.WriteRaw(raw) },
			func() { _ = w.WriteComment("ping") },
		} {
			f() // warm up the buffer
			if allocs := testing.AllocsPerRun(1000, f); allocs != 0 {
				t.Errorf("%T: got %v allocs per write; want 0", rw, allocs)
			}
		}
	}
}
