package sse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tev is an Event as comparable strings.
type tev struct {
	Type   string
	Data   string
	ID     string
	Retry  time.Duration
	NoData bool
	Raw    string
}

func toTev(ev Event) tev {
	return tev{
		Type:   string(ev.Type),
		Data:   string(ev.Data),
		ID:     string(ev.ID),
		Retry:  ev.Retry,
		NoData: ev.NoData,
		Raw:    string(ev.Raw),
	}
}

// readAll reads rd to its end and returns the events and the final error.
func readAll(rd io.Reader, opts *ReaderOptions) ([]tev, *Reader, error) {
	r := NewReader(rd, opts)
	evs, err := drain(r)
	return evs, r, err
}

// drain reads r to its end and returns the events and the final error.
func drain(r *Reader) ([]tev, error) {
	var evs []tev
	for {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, toTev(ev))
	}
}

// diffEvents returns the difference between the events a Reader returned
// and the expected ones, allowing the one documented way Raw depends on
// read boundaries: a final LF that the Reader did not wait for, after a
// blank line ending in CR, is missing.
func diffEvents(want, got []tev) string {
	adj := append([]tev(nil), got...)
	for i := range adj {
		if i < len(want) && adj[i].Raw != want[i].Raw &&
			strings.HasSuffix(want[i].Raw, "\r\n") && adj[i].Raw == want[i].Raw[:len(want[i].Raw)-1] {
			adj[i].Raw = want[i].Raw
		}
	}
	return cmp.Diff(want, adj)
}

type readerCase struct {
	name string
	in   string
	all  bool
	want []tev
}

var readerCases = []readerCase{
	{name: "empty stream", in: ""},
	{
		name: "LF",
		in:   "data: a\n\n",
		want: []tev{{Data: "a", Raw: "data: a\n\n"}},
	},
	{
		name: "CRLF",
		in:   "data: a\r\n\r\n",
		want: []tev{{Data: "a", Raw: "data: a\r\n\r\n"}},
	},
	{
		name: "CR",
		in:   "data: a\r\rdata: b\r\r",
		want: []tev{{Data: "a", Raw: "data: a\r\r"}, {Data: "b", Raw: "data: b\r\r"}},
	},
	{
		name: "mixed line endings",
		in:   "data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\n\n",
		want: []tev{
			{Data: "a\nb\nc", Raw: "data: a\r\ndata: b\rdata: c\n\r\n"},
			{Data: "d", Raw: "data: d\r\n\n"},
		},
	},
	{
		name: "CR then LF is one line ending",
		in:   "data: a\r\ndata: b\r\n\r\n",
		want: []tev{{Data: "a\nb", Raw: "data: a\r\ndata: b\r\n\r\n"}},
	},
	{
		name: "LF then CR is two line endings",
		in:   "data: a\n\rdata: b\n\n",
		want: []tev{{Data: "a", Raw: "data: a\n\r"}, {Data: "b", Raw: "data: b\n\n"}},
	},
	{
		name: "multi-line data",
		in:   "data: one\ndata: two\ndata: three\n\n",
		want: []tev{{Data: "one\ntwo\nthree", Raw: "data: one\ndata: two\ndata: three\n\n"}},
	},
	{
		name: "event type and reset between events",
		in:   "event: add\ndata: 1\n\ndata: 2\n\n",
		want: []tev{
			{Type: "add", Data: "1", Raw: "event: add\ndata: 1\n\n"},
			{Data: "2", Raw: "data: 2\n\n"},
		},
	},
	{
		name: "last event field wins",
		in:   "event: a\nevent: b\ndata\n\n",
		want: []tev{{Type: "b", Raw: "event: a\nevent: b\ndata\n\n"}},
	},
	{
		name: "event without data is not dispatched and its type is dropped",
		in:   "event: lost\n\ndata: x\n\n",
		want: []tev{{Data: "x", Raw: "data: x\n\n"}},
	},
	{
		name: "comments",
		in:   ": hello\ndata: x\n:mid\n\n",
		want: []tev{{Data: "x", Raw: ": hello\ndata: x\n:mid\n\n"}},
	},
	{
		name: "comment-only block skipped",
		in:   ": ping\n\ndata: x\n\n",
		want: []tev{{Data: "x", Raw: "data: x\n\n"}},
	},
	{
		name: "comment-only block with All",
		in:   ": ping\n\ndata: x\n\n",
		all:  true,
		want: []tev{{NoData: true, Raw: ": ping\n\n"}, {Data: "x", Raw: "data: x\n\n"}},
	},
	{
		name: "retry-only block with All",
		in:   "retry: 250\n\n",
		all:  true,
		want: []tev{{Retry: 250 * time.Millisecond, NoData: true, Raw: "retry: 250\n\n"}},
	},
	{
		name: "done sentinel",
		in:   "data: {\"x\":1}\n\ndata: [DONE]\n\n",
		want: []tev{{Data: `{"x":1}`, Raw: "data: {\"x\":1}\n\n"}, {Data: "[DONE]", Raw: "data: [DONE]\n\n"}},
	},
	{
		name: "field without colon",
		in:   "data\n\ndata\ndata\n\n",
		want: []tev{{Raw: "data\n\n"}, {Data: "\n", Raw: "data\ndata\n\n"}},
	},
	{
		name: "data without space",
		in:   "data:a\n\n",
		want: []tev{{Data: "a", Raw: "data:a\n\n"}},
	},
	{
		name: "only one space stripped",
		in:   "data:  a \n\n",
		want: []tev{{Data: " a ", Raw: "data:  a \n\n"}},
	},
	{
		name: "tab is not stripped",
		in:   "data:\ta\n\n",
		want: []tev{{Data: "\ta", Raw: "data:\ta\n\n"}},
	},
	{
		name: "empty data lines",
		in:   "data:\n\ndata: \n\ndata:\ndata:\n\n",
		want: []tev{{Raw: "data:\n\n"}, {Raw: "data: \n\n"}, {Data: "\n", Raw: "data:\ndata:\n\n"}},
	},
	{
		name: "colon in value",
		in:   "data: a: b:c\n\n",
		want: []tev{{Data: "a: b:c", Raw: "data: a: b:c\n\n"}},
	},
	{
		name: "field names are case-sensitive",
		in:   "Data: x\n\nDATA: y\n\n",
	},
	{
		name: "space before colon makes another field",
		in:   "data : x\n\n",
	},
	{
		name: "unknown field ignored",
		in:   "foo: bar\ndata: x\n\n",
		want: []tev{{Data: "x", Raw: "foo: bar\ndata: x\n\n"}},
	},
	{
		name: "retry",
		in:   "retry: 1500\ndata: x\n\n",
		want: []tev{{Data: "x", Retry: 1500 * time.Millisecond, Raw: "retry: 1500\ndata: x\n\n"}},
	},
	{
		name: "invalid retry ignored",
		in: "retry: 15x\ndata: a\n\nretry:\ndata: b\n\nretry: -1\ndata: c\n\n" +
			"retry: +1\ndata: d\n\nretry: 99999999999999999999\ndata: e\n\nretry: 1 \ndata: f\n\n",
		want: []tev{
			{Data: "a", Raw: "retry: 15x\ndata: a\n\n"},
			{Data: "b", Raw: "retry:\ndata: b\n\n"},
			{Data: "c", Raw: "retry: -1\ndata: c\n\n"},
			{Data: "d", Raw: "retry: +1\ndata: d\n\n"},
			{Data: "e", Raw: "retry: 99999999999999999999\ndata: e\n\n"},
			{Data: "f", Raw: "retry: 1 \ndata: f\n\n"},
		},
	},
	{
		name: "retry zero and last valid wins",
		in:   "retry: 7\nretry: x\ndata: a\n\nretry: 0\ndata: b\n\n",
		want: []tev{
			{Data: "a", Retry: 7 * time.Millisecond, Raw: "retry: 7\nretry: x\ndata: a\n\n"},
			{Data: "b", Raw: "retry: 0\ndata: b\n\n"},
		},
	},
	{
		name: "id carries over and resets",
		in:   "id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
		want: []tev{
			{ID: "1", Data: "a", Raw: "id: 1\ndata: a\n\n"},
			{ID: "1", Data: "b", Raw: "data: b\n\n"},
			{Data: "c", Raw: "id\ndata: c\n\n"},
		},
	},
	{
		name: "id from a block without data still counts",
		in:   "id: 7\n\ndata: a\n\n",
		want: []tev{{ID: "7", Data: "a", Raw: "data: a\n\n"}},
	},
	{
		name: "id with NUL ignored",
		in:   "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\nid: \x00\ndata: c\n\n",
		want: []tev{
			{ID: "1", Data: "a", Raw: "id: 1\ndata: a\n\n"},
			{ID: "1", Data: "b", Raw: "id: 2\x003\ndata: b\n\n"},
			{ID: "1", Data: "c", Raw: "id: \x00\ndata: c\n\n"},
		},
	},
	{
		name: "NUL in data kept",
		in:   "data: a\x00b\n\n",
		want: []tev{{Data: "a\x00b", Raw: "data: a\x00b\n\n"}},
	},
	{
		name: "invalid UTF-8 passed through",
		in:   "data: \xff\xfe\n\n",
		want: []tev{{Data: "\xff\xfe", Raw: "data: \xff\xfe\n\n"}},
	},
	{
		name: "BOM skipped",
		in:   "\xEF\xBB\xBFdata: a\n\n",
		want: []tev{{Data: "a", Raw: "data: a\n\n"}},
	},
	{
		name: "only the first BOM is skipped",
		in:   "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n",
		want: []tev{{Data: "b", Raw: "data: b\n\n"}},
	},
	{
		name: "BOM not at start is content",
		in:   "data: a\n\n\xEF\xBB\xBFdata: b\n\n",
		want: []tev{{Data: "a", Raw: "data: a\n\n"}},
	},
	{
		name: "partial BOM is content",
		in:   "\xEF\xBBdata: a\n\ndata: b\n\n",
		want: []tev{{Data: "b", Raw: "data: b\n\n"}},
	},
	{
		name: "leading and repeated blank lines belong to no event",
		in:   "\n\r\n\rdata: a\n\n\n\n\r\ndata: b\n\n",
		want: []tev{{Data: "a", Raw: "data: a\n\n"}, {Data: "b", Raw: "data: b\n\n"}},
	},
	{
		name: "unterminated event at EOF discarded",
		in:   "data: a\n\ndata: b\n",
		want: []tev{{Data: "a", Raw: "data: a\n\n"}},
	},
	{
		name: "unterminated line at EOF discarded",
		in:   "data: a\n\ndata: b",
		want: []tev{{Data: "a", Raw: "data: a\n\n"}},
	},
	{
		name: "CR at EOF ends the blank line",
		in:   "data: a\n\r",
		want: []tev{{Data: "a", Raw: "data: a\n\r"}},
	},
	{
		name: "CR at EOF ends a line but not the event",
		in:   "data: a\r",
	},
	{
		name: "lone CR and LF",
		in:   "\r\n\r\n",
	},
}

func TestReader(t *testing.T) {
	for _, tc := range readerCases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := readAll(strings.NewReader(tc.in), &ReaderOptions{All: tc.all})
			if err != io.EOF {
				t.Fatalf("got error %v; want io.EOF", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			// The reference parser in fuzz_test.go must agree.
			ref, refErr := refParse([]byte(tc.in), DefaultMaxEventSize, tc.all)
			if refErr != io.EOF {
				t.Fatalf("reference: got error %v; want io.EOF", refErr)
			}
			if diff := cmp.Diff(tc.want, ref); diff != "" {
				t.Errorf("reference events mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// splitReaders returns readers that deliver in in different pieces.
func splitReaders(in []byte) map[string]io.Reader {
	m := map[string]io.Reader{
		"OneByteReader":         iotest.OneByteReader(bytes.NewReader(in)),
		"DataErrReader":         iotest.DataErrReader(bytes.NewReader(in)),
		"HalfReader":            iotest.HalfReader(bytes.NewReader(in)),
		"OneByte+DataErrReader": iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(in))),
	}
	for i := 0; i <= len(in); i++ {
		m[fmt.Sprintf("split at %d", i)] = io.MultiReader(bytes.NewReader(in[:i]), bytes.NewReader(in[i:]))
	}
	return m
}

func TestReaderSplitEquivalence(t *testing.T) {
	for _, tc := range readerCases {
		t.Run(tc.name, func(t *testing.T) {
			want, _, _ := readAll(strings.NewReader(tc.in), &ReaderOptions{All: tc.all})
			for name, rd := range splitReaders([]byte(tc.in)) {
				got, _, err := readAll(rd, &ReaderOptions{All: tc.all})
				if err != io.EOF {
					t.Errorf("%s: got error %v; want io.EOF", name, err)
				}
				if diff := diffEvents(want, got); diff != "" {
					t.Errorf("%s: events mismatch (-whole +split):\n%s", name, diff)
				}
			}
		})
	}
}

// A stream that ends its lines consistently gets exact Raw bytes however the
// reads split it.
func TestReaderSplitRawExact(t *testing.T) {
	for _, eol := range []string{"\n", "\r\n", "\r"} {
		in := strings.ReplaceAll("event: a\ndata: 1\ndata: 2\n\n: c\n\ndata: 3\n\n", "\n", eol)
		t.Run(fmt.Sprintf("%q", eol), func(t *testing.T) {
			want, _, _ := readAll(strings.NewReader(in), &ReaderOptions{All: true})
			if len(want) != 3 {
				t.Fatalf("got %d events; want 3", len(want))
			}
			for name, rd := range splitReaders([]byte(in)) {
				got, _, _ := readAll(rd, &ReaderOptions{All: true})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: events mismatch (-whole +split):\n%s", name, diff)
				}
			}
		})
	}
}

// stepReader hands out one piece per Read, each only after the test sends
// it, so the test controls what the Reader has seen.
type stepReader chan string

func (s stepReader) Read(p []byte) (int, error) {
	piece, ok := <-s
	if !ok {
		return 0, io.EOF
	}
	return copy(p, piece), nil
}

// nextResult runs r.Next in a goroutine and returns a channel with its
// outcome, so a test can check that Next returns without more input.
func nextResult(r *Reader) <-chan tev {
	c := make(chan tev, 1)
	go func() {
		ev, err := r.Next()
		if err != nil {
			ev.Data = []byte(err.Error())
		}
		c <- toTev(ev)
	}()
	return c
}

func TestReaderDispatchesWithoutWaiting(t *testing.T) {
	// A CR-only stream: after "\r\r" the event is complete, and Next must
	// not wait for the next byte to see whether it is an LF.
	s := make(stepReader)
	r := NewReader(s, nil)
	c := nextResult(r)
	s <- "data: a\r\r"
	select {
	case got := <-c:
		if want := (tev{Data: "a", Raw: "data: a\r\r"}); got != want {
			t.Errorf("got %+v; want %+v", got, want)
		}
	case s <- "\n":
		t.Fatal("Next read on after the event was complete")
	}
	// An LF arriving now is a blank line and changes nothing.
	c = nextResult(r)
	s <- "\ndata: b\r\r"
	if got, want := <-c, (tev{Data: "b", Raw: "data: b\r\r"}); got != want {
		t.Errorf("got %+v; want %+v", got, want)
	}
	close(s)
}

func TestReaderWaitsForLFInCRLFStream(t *testing.T) {
	s := make(stepReader)
	r := NewReader(s, nil)
	c := nextResult(r)
	s <- "data: a\r\n\r"
	select {
	case s <- "\ndata: b":
	case got := <-c:
		t.Fatalf("got %+v before the byte after the CR arrived; want Next to wait for it", got)
	}
	if got, want := <-c, (tev{Data: "a", Raw: "data: a\r\n\r\n"}); got != want {
		t.Errorf("got %+v; want %+v", got, want)
	}
	close(s)
}

func TestReaderMaxEventSize(t *testing.T) {
	const max = 32
	// "data: " + payload + "\n\n" is len(payload)+8 bytes.
	fits := "data: " + strings.Repeat("x", max-8) + "\n\n"
	over := "data: " + strings.Repeat("x", max-7) + "\n\n"
	tests := []struct {
		name    string
		in      string
		want    []tev
		wantErr error
	}{
		{name: "exactly the limit", in: fits, want: []tev{{Data: strings.Repeat("x", max-8), Raw: fits}}, wantErr: io.EOF},
		{name: "one over", in: over, wantErr: ErrEventTooLarge},
		{name: "events before are returned", in: "data: a\n\n" + over + "data: b\n\n", want: []tev{{Data: "a", Raw: "data: a\n\n"}}, wantErr: ErrEventTooLarge},
		{name: "blank lines between events do not count", in: strings.Repeat("\n", 3*max) + fits, want: []tev{{Data: strings.Repeat("x", max-8), Raw: fits}}, wantErr: io.EOF},
		{name: "skipped block counts", in: ": " + strings.Repeat("c", max) + "\n\ndata: b\n\n", wantErr: ErrEventTooLarge},
		{name: "unfinished block at EOF counts", in: "data: " + strings.Repeat("x", max), wantErr: ErrEventTooLarge},
		{name: "unfinished small block at EOF is discarded", in: "data: x", wantErr: io.EOF},
		{name: "CRLF at the limit", in: "data: " + strings.Repeat("x", max-10) + "\r\n\r\n", want: []tev{{Data: strings.Repeat("x", max-10), Raw: "data: " + strings.Repeat("x", max-10) + "\r\n\r\n"}}, wantErr: io.EOF},
		{name: "CRLF over the limit", in: "data: " + strings.Repeat("x", max-9) + "\r\n\r\n", wantErr: ErrEventTooLarge},
		{name: "mixed endings at the limit", in: "data: " + strings.Repeat("x", max-9) + "\n\r\n", want: []tev{{Data: strings.Repeat("x", max-9), Raw: "data: " + strings.Repeat("x", max-9) + "\n\r\n"}}, wantErr: io.EOF},
		{name: "mixed endings over the limit by the last LF", in: "data: " + strings.Repeat("x", max-8) + "\n\r\n", wantErr: ErrEventTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, rd := range splitReaders([]byte(tc.in)) {
				got, r, err := readAll(rd, &ReaderOptions{MaxEventSize: max})
				if err != tc.wantErr {
					t.Fatalf("%s: got error %v; want %v", name, err, tc.wantErr)
				}
				if diff := diffEvents(tc.want, got); diff != "" {
					t.Errorf("%s: events mismatch (-want +got):\n%s", name, diff)
				}
				if _, err := r.Next(); err != tc.wantErr {
					t.Errorf("%s: Next after the end: got error %v; want %v again", name, err, tc.wantErr)
				}
			}
		})
	}
}

func TestReaderBOMNotCounted(t *testing.T) {
	// A BOM still being read is not part of any event, so it cannot make
	// one too large, even with the smallest limit.
	in := []byte("\xEF\xBB\xBF\r\n\n")
	for name, rd := range splitReaders(in) {
		got, _, err := readAll(rd, &ReaderOptions{MaxEventSize: 1})
		if err != io.EOF || len(got) != 0 {
			t.Errorf("%s: got %d events, error %v; want none, io.EOF", name, len(got), err)
		}
	}
}

// repeatReader returns its pattern over and over, never ending.
type repeatReader struct {
	pattern []byte
	off     int
	chunk   int // most bytes per Read; 0 means no limit
}

func (rr *repeatReader) Read(p []byte) (int, error) {
	if rr.chunk > 0 && len(p) > rr.chunk {
		p = p[:rr.chunk]
	}
	for i := range p {
		p[i] = rr.pattern[rr.off]
		rr.off = (rr.off + 1) % len(rr.pattern)
	}
	return len(p), nil
}

func TestReaderMemoryBounded(t *testing.T) {
	const max = 100 << 10
	tests := []struct {
		name    string
		pattern string
	}{
		{name: "one endless line", pattern: "data: aaaaaaaaaaaaaaaa"},
		{name: "endless data lines", pattern: "data: x\n"},
		{name: "endless CR data lines", pattern: "data: x\r"},
		{name: "endless comments", pattern: ": keep\n"},
		{name: "endless unknown fields", pattern: "x\n"},
	}
	for _, tc := range tests {
		for _, chunk := range []int{0, 1, 1000, 7000} {
			t.Run(fmt.Sprintf("%s/chunk %d", tc.name, chunk), func(t *testing.T) {
				r := NewReader(&repeatReader{pattern: []byte(tc.pattern), chunk: chunk}, &ReaderOptions{MaxEventSize: max})
				if _, err := r.Next(); err != ErrEventTooLarge {
					t.Fatalf("got error %v; want ErrEventTooLarge", err)
				}
				if got, limit := cap(r.buf), max+readSize; got > limit {
					t.Errorf("got buffer of %d bytes; want at most %d", got, limit)
				}
				if got := cap(r.data); got > 2*max {
					t.Errorf("got data buffer of %d bytes; want at most %d", got, 2*max)
				}
			})
		}
	}
}

func TestReaderSteadyStateBuffer(t *testing.T) {
	ev := "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
	for _, chunk := range []int{0, 1, 100, 5000} {
		t.Run(fmt.Sprintf("chunk %d", chunk), func(t *testing.T) {
			r := NewReader(&repeatReader{pattern: []byte(ev), chunk: chunk}, nil)
			for i := range 10000 {
				got, err := r.Next()
				if err != nil {
					t.Fatalf("event %d: got error %v", i, err)
				}
				if string(got.Raw) != ev {
					t.Fatalf("event %d: got Raw %q; want %q", i, got.Raw, ev)
				}
			}
			if got := cap(r.buf); got != readSize {
				t.Errorf("got buffer of %d bytes; want %d", got, readSize)
			}
		})
	}
}

func TestReaderBlankLinesOnly(t *testing.T) {
	in := strings.Repeat("\r\n", 1<<20)
	got, r, err := readAll(strings.NewReader(in), &ReaderOptions{MaxEventSize: 64})
	if err != io.EOF || len(got) != 0 {
		t.Fatalf("got %d events, error %v; want none, io.EOF", len(got), err)
	}
	if got := cap(r.buf); got != readSize {
		t.Errorf("got buffer of %d bytes; want %d", got, readSize)
	}
}

func TestReaderNextAllocs(t *testing.T) {
	for _, ev := range []string{
		"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
		"event: content_block_delta\nid: 42\nretry: 10\ndata: {\"a\":1}\ndata: {\"b\":2}\n\n",
		"data: x\r\n: comment\r\n\r\n",
	} {
		r := NewReader(&repeatReader{pattern: []byte(ev), chunk: 700}, nil)
		for range 100 { // warm up the buffers
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%q: got %v allocs per Next; want 0", ev, allocs)
		}
	}
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	rd := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	r := NewReader(rd, nil)
	ev, err := r.Next()
	if err != nil || string(ev.Data) != "a" {
		t.Fatalf("got %q, %v; want \"a\", nil", ev.Data, err)
	}
	for range 2 {
		if _, err := r.Next(); !errors.Is(err, boom) {
			t.Errorf("got error %v; want %v", err, boom)
		}
	}
}

type badCountReader struct{}

func (badCountReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

func TestReaderBadCount(t *testing.T) {
	_, err := NewReader(badCountReader{}, nil).Next()
	if !errors.Is(err, errBadRead) {
		t.Errorf("got error %v; want %v", err, errBadRead)
	}
	if want := "sse: read: invalid count from Read"; err == nil || err.Error() != want {
		t.Errorf("got message %v; want %q", err, want)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	if _, err := NewReader(emptyReader{}, nil).Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("got error %v; want io.ErrNoProgress", err)
	}
}

func TestReaderReset(t *testing.T) {
	r := NewReader(strings.NewReader("id: 1\ndata: a\n\ndata: tail"), nil)
	if ev, err := r.Next(); err != nil || string(ev.ID) != "1" {
		t.Fatalf("got ID %q, error %v; want \"1\", nil", ev.ID, err)
	}
	r.Reset(strings.NewReader("\xEF\xBB\xBFdata: b\n\n"))
	got, err := drain(r)
	if err != io.EOF {
		t.Fatalf("got error %v; want io.EOF", err)
	}
	if diff := cmp.Diff([]tev{{Data: "b", Raw: "data: b\n\n"}}, got); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}

func TestEventClone(t *testing.T) {
	r := NewReader(strings.NewReader("event: e\nid: 9\ndata: a\ndata: b\n\nevent: f\nid: 8\ndata: c\n\n"), nil)
	ev, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	c := ev.Clone()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	want := tev{Type: "e", Data: "a\nb", ID: "9", Raw: "event: e\nid: 9\ndata: a\ndata: b\n\n"}
	if got := toTev(c); got != want {
		t.Errorf("got %+v; want %+v", got, want)
	}
	if c := (Event{}).Clone(); c.Type != nil || c.Data != nil || c.ID != nil || c.Raw != nil {
		t.Errorf("got %+v; want the zero Event", c)
	}
}

func TestIsDone(t *testing.T) {
	tests := []struct {
		data string
		want bool
	}{
		{"[DONE]", true},
		{"[DONE] ", false},
		{" [DONE]", false},
		{"[done]", false},
		{"", false},
		{`{"done":true}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.data, func(t *testing.T) {
			if got := IsDone([]byte(tc.data)); got != tc.want {
				t.Errorf("IsDone(%q) = %v; want %v", tc.data, got, tc.want)
			}
		})
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRawConcat checks that the Raw of the events, end to end, is the whole
// stream, which holds for a stream without extra blank lines.
func checkRawConcat(t *testing.T, in []byte, evs []tev) {
	t.Helper()
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Raw)
	}
	if b.String() != string(in) {
		t.Errorf("Raw of all events is not the stream:\n%s", cmp.Diff(string(in), b.String()))
	}
}

func TestReaderOpenAIStream(t *testing.T) {
	in := readFixture(t, "openai_chat.sse")
	evs, _, err := readAll(bytes.NewReader(in), nil)
	if err != io.EOF {
		t.Fatalf("got error %v; want io.EOF", err)
	}
	if len(evs) != 16 {
		t.Fatalf("got %d events; want 16", len(evs))
	}
	checkRawConcat(t, in, evs)
	if last := evs[len(evs)-1]; !IsDone([]byte(last.Data)) {
		t.Errorf("got last data %q; want [DONE]", last.Data)
	}
	var text strings.Builder
	var total int
	for _, ev := range evs[:len(evs)-1] {
		var chunk struct {
			Object  string
			Choices []struct{ Delta struct{ Content string } }
			Usage   *struct {
				TotalTokens int `json:"total_tokens"`
			}
		}
		if err := json.Unmarshal([]byte(ev.Data), &chunk); err != nil {
			t.Fatalf("got %v decoding %q", err, ev.Data)
		}
		if chunk.Object != "chat.completion.chunk" {
			t.Errorf("got object %q; want chat.completion.chunk", chunk.Object)
		}
		for _, c := range chunk.Choices {
			text.WriteString(c.Delta.Content)
		}
		if chunk.Usage != nil {
			total = chunk.Usage.TotalTokens
		}
	}
	if got, want := text.String(), "Low tide comes twice a day, pulled by the moon."; got != want {
		t.Errorf("got text %q; want %q", got, want)
	}
	if total != 29 {
		t.Errorf("got total_tokens %d; want 29", total)
	}
	for name, rd := range splitReaders(in) {
		got, _, _ := readAll(rd, nil)
		if diff := cmp.Diff(evs, got); diff != "" {
			t.Errorf("%s: events mismatch (-whole +split):\n%s", name, diff)
		}
	}
}

func TestReaderAnthropicStream(t *testing.T) {
	in := readFixture(t, "anthropic_messages.sse")
	evs, _, err := readAll(bytes.NewReader(in), nil)
	if err != io.EOF {
		t.Fatalf("got error %v; want io.EOF", err)
	}
	checkRawConcat(t, in, evs)
	var types []string
	var text strings.Builder
	var inTokens, outTokens int
	for _, ev := range evs {
		types = append(types, ev.Type)
		var m struct {
			Type    string
			Message struct {
				Usage struct {
					InputTokens int `json:"input_tokens"`
				}
			}
			Delta struct{ Text string }
			Usage struct {
				OutputTokens int `json:"output_tokens"`
			}
		}
		if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
			t.Fatalf("got %v decoding %q", err, ev.Data)
		}
		if m.Type != ev.Type {
			t.Errorf("got data type %q in event %q; want them equal", m.Type, ev.Type)
		}
		text.WriteString(m.Delta.Text)
		inTokens += m.Message.Usage.InputTokens
		outTokens += m.Usage.OutputTokens
	}
	wantTypes := []string{
		"message_start", "content_block_start", "ping",
		"content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop",
	}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Errorf("types mismatch (-want +got):\n%s", diff)
	}
	if got, want := text.String(), "Low tide comes twice a day, pulled by the moon."; got != want {
		t.Errorf("got text %q; want %q", got, want)
	}
	if inTokens != 23 || outTokens != 14 {
		t.Errorf("got %d input and %d output tokens; want 23 and 14", inTokens, outTokens)
	}
	for name, rd := range splitReaders(in) {
		got, _, _ := readAll(rd, nil)
		if diff := cmp.Diff(evs, got); diff != "" {
			t.Errorf("%s: events mismatch (-whole +split):\n%s", name, diff)
		}
	}
}

// geminiStream is shaped like Gemini's streamGenerateContent?alt=sse, which
// ends its lines in CRLF.
const geminiStream = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Low tide\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"totalTokenCount\": 9},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n" +
	"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" comes twice a day.\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 7,\"totalTokenCount\": 16},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n"

func TestReaderGeminiCRLFStream(t *testing.T) {
	in := []byte(geminiStream)
	evs, _, err := readAll(bytes.NewReader(in), nil)
	if err != io.EOF || len(evs) != 2 {
		t.Fatalf("got %d events, error %v; want 2, io.EOF", len(evs), err)
	}
	checkRawConcat(t, in, evs)
	// Raw must be exact at every split, or a client that frames on
	// "\r\n\r\n" would see two events run together.
	for name, rd := range splitReaders(in) {
		got, _, _ := readAll(rd, nil)
		if diff := cmp.Diff(evs, got); diff != "" {
			t.Errorf("%s: events mismatch (-whole +split):\n%s", name, diff)
		}
	}
}
