package sse

import (
	"bytes"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// refParse is a plain transliteration of the standard's parsing rules over
// a whole input, written without regard for speed, as an oracle for the
// Reader. It applies the same size limit and returns the same final error.
func refParse(in []byte, max int, all bool) ([]tev, error) {
	s := strings.TrimPrefix(string(in), bom)
	var (
		evs        []tev
		id, typ    string
		data       []string
		retry      time.Duration
		blockStart = -1
		pos        int
	)
	for {
		i := strings.IndexAny(s[pos:], "\r\n")
		if i < 0 {
			break
		}
		eol := pos + i
		next := eol + 1
		if s[eol] == '\r' && next < len(s) && s[next] == '\n' {
			next++
		}
		line := s[pos:eol]
		switch {
		case line != "":
			if blockStart < 0 {
				blockStart = pos
			}
			if line[0] == ':' {
				break
			}
			name, value, found := strings.Cut(line, ":")
			if found {
				value = strings.TrimPrefix(value, " ")
			}
			switch name {
			case "event":
				typ = value
			case "data":
				data = append(data, value)
			case "id":
				if !strings.Contains(value, "\x00") {
					id = value
				}
			case "retry":
				if d, ok := refRetry(value); ok {
					retry = d
				}
			}
		case blockStart >= 0:
			raw := s[blockStart:next]
			if len(raw) > max {
				return evs, ErrEventTooLarge
			}
			if len(data) > 0 || all {
				evs = append(evs, tev{
					Type:   typ,
					Data:   strings.Join(data, "\n"),
					ID:     id,
					Retry:  retry,
					NoData: len(data) == 0,
					Raw:    raw,
				})
			}
			typ, data, retry, blockStart = "", nil, 0, -1
		}
		pos = next
	}
	rest := pos // an unfinished block or line is discarded, unless too large
	if blockStart >= 0 {
		rest = blockStart
	}
	if len(s)-rest > max {
		return evs, ErrEventTooLarge
	}
	return evs, io.EOF
}

func refRetry(v string) (time.Duration, bool) {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// chunkReader returns in in pieces whose sizes cycle through sizes (each
// byte plus one).
type chunkReader struct {
	in    []byte
	sizes []byte
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := len(c.in)
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)]) + 1
		c.i++
	}
	n = copy(p, c.in[:min(n, len(c.in))])
	c.in = c.in[n:]
	return n, nil
}

func FuzzReader(f *testing.F) {
	for _, tc := range readerCases {
		f.Add([]byte(tc.in), []byte(nil), uint16(1023), tc.all)
		f.Add([]byte(tc.in), []byte{0, 3, 1}, uint16(9), !tc.all)
	}
	f.Add([]byte("data: a\r\n\r\ndata: b\n\r\n"), []byte{8, 9, 10}, uint16(12), false)
	f.Add([]byte("data: aaaaaaaaaaaaaaaaaaaa\n\n"), []byte{5}, uint16(27), true)
	f.Fuzz(func(t *testing.T, in, sizes []byte, maxSel uint16, all bool) {
		max := int(maxSel)%1024 + 1
		opts := &ReaderOptions{MaxEventSize: max, All: all}
		want, wantErr := refParse(in, max, all)
		readers := map[string]io.Reader{
			"whole":   bytes.NewReader(in),
			"chunked": &chunkReader{in: in, sizes: sizes},
			"bytes":   iotest.OneByteReader(bytes.NewReader(in)),
		}
		for name, rd := range readers {
			got, r, err := readAll(rd, opts)
			if err != wantErr {
				t.Fatalf("%s: got error %v; want %v", name, err, wantErr)
			}
			if diff := diffEvents(want, got); diff != "" {
				t.Fatalf("%s: events mismatch (-reference +got):\n%s", name, diff)
			}
			if got := cap(r.buf); got > max+readSize {
				t.Fatalf("%s: got buffer of %d bytes; want at most %d", name, got, max+readSize)
			}
			for _, ev := range got {
				if len(ev.Raw) > max {
					t.Fatalf("%s: got event of %d bytes; want at most %d", name, len(ev.Raw), max)
				}
				checkRawAlone(t, ev, max)
			}
		}
	})
}

// checkRawAlone checks that an event's Raw, read on its own, yields the
// same event, so that it can be forwarded by itself. (A Raw that starts
// with a BOM would lose it, as the start of a stream.)
func checkRawAlone(t *testing.T, ev tev, max int) {
	t.Helper()
	if strings.HasPrefix(ev.Raw, bom) {
		return
	}
	got, _, err := readAll(strings.NewReader(ev.Raw), &ReaderOptions{MaxEventSize: max, All: true})
	if err != io.EOF || len(got) != 1 {
		t.Fatalf("Raw %q alone: got %d events, error %v; want 1, io.EOF", ev.Raw, len(got), err)
	}
	got[0].ID, ev.ID = "", "" // the ID may come from an earlier event
	if got[0] != ev {
		t.Fatalf("Raw %q alone: got %+v; want %+v", ev.Raw, got[0], ev)
	}
}

// normalizeData is what a Reader reads back for data written by a Writer:
// every line break becomes LF.
func normalizeData(d []byte) string {
	s := strings.ReplaceAll(string(d), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func FuzzRoundTrip(f *testing.F) {
	for _, tc := range writerCases {
		f.Add(tc.ev.Type, tc.ev.ID, tc.ev.Data, uint32(tc.ev.Retry/time.Millisecond), tc.ev.NoData)
	}
	for _, tc := range readerCases {
		f.Add([]byte("t"), []byte("i"), []byte(tc.in), uint32(0), false)
	}
	f.Fuzz(func(t *testing.T, typ, id, data []byte, retryMs uint32, noData bool) {
		ev := Event{Type: typ, ID: id, Data: data, Retry: time.Duration(retryMs) * time.Millisecond, NoData: noData}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		err := w.WriteEvent(ev)
		if bytes.ContainsAny(typ, "\r\n") || bytes.ContainsAny(id, "\r\n\x00") {
			if err != ErrInvalidEvent || buf.Len() != 0 {
				t.Fatalf("got error %v and %d bytes written; want ErrInvalidEvent and none", err, buf.Len())
			}
			return
		}
		if err != nil {
			t.Fatalf("got error %v; want nil", err)
		}
		written := buf.String()
		got, _, err := readAll(iotest.OneByteReader(&buf), &ReaderOptions{All: true})
		if err != io.EOF {
			t.Fatalf("got error %v reading %q; want io.EOF", err, written)
		}
		want := []tev{{
			Type:   string(typ),
			ID:     string(id),
			Retry:  ev.Retry,
			NoData: noData,
			Raw:    written,
		}}
		if !noData {
			want[0].Data = normalizeData(data)
		}
		if noData && len(typ) == 0 && len(id) == 0 && retryMs == 0 {
			want = nil // an empty block: just a blank line
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round trip of %+v via %q (-want +got):\n%s", ev, written, diff)
		}
	})
}
