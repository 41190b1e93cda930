package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ErrInvalidEvent is returned by [Writer.WriteEvent] for an event whose
// Type or ID holds a CR or LF, which would end the line early and let the
// rest inject fields or whole events, or whose ID holds a NUL, which
// readers ignore.
var ErrInvalidEvent = errors.New("sse: event type or id contains CR, LF or NUL")

// Writer writes an event stream, flushing after every event so that each
// reaches the client at once. Create one with [NewWriter]; the zero value is
// not usable. A Writer is not safe for concurrent use.
type Writer struct {
	w     io.Writer
	flush func() error // nil if w cannot flush
	buf   []byte       // reused for encoding
}

// NewWriter returns a Writer that writes to w and flushes after every
// write. If w is an [http.ResponseWriter], flushing goes through
// [http.ResponseController], which also finds the Flush of a wrapped writer
// (one with an Unwrap method); otherwise, if w has a Flush method (as
// *bufio.Writer has), that is called. If the writer turns out not to
// support flushing ([http.ErrNotSupported]), the Writer still writes and
// stops trying to flush.
//
// Set the response headers (see [SetHeaders]) before the first write.
func NewWriter(w io.Writer) *Writer {
	sw := &Writer{w: w}
	switch f := w.(type) {
	case http.ResponseWriter:
		sw.flush = http.NewResponseController(f).Flush
	case interface{ Flush() error }:
		sw.flush = f.Flush
	case interface{ Flush() }:
		sw.flush = func() error { f.Flush(); return nil }
	}
	return sw
}

// SetHeaders sets the response headers of an event stream in h:
// Content-Type text/event-stream, Cache-Control no-cache, and
// X-Accel-Buffering no (which stops nginx from buffering the stream).
// The three values share one allocation (three-index slices, so that an
// append copies rather than writes through).
func SetHeaders(h http.Header) {
	v := &[3]string{"text/event-stream", "no-cache", "no"}
	h["Content-Type"] = v[0:1:1]
	h["Cache-Control"] = v[1:2:2]
	h["X-Accel-Buffering"] = v[2:3:3]
}

// WriteEvent writes ev as one block and flushes: an "event" line if Type is
// not empty, an "id" line if ID is not empty, a "retry" line (whole
// milliseconds) if Retry is positive, then unless NoData is set one "data"
// line per line of Data, and a blank line. Line breaks in Data (CRLF, CR or
// LF) split it into several data lines, so a Reader reads each of them back
// as LF. Raw is ignored. It returns [ErrInvalidEvent], writing nothing, if
// Type or ID holds CR or LF, or ID holds NUL.
func (w *Writer) WriteEvent(ev Event) error {
	if bytes.ContainsAny(ev.Type, "\r\n") || bytes.ContainsAny(ev.ID, "\r\n\x00") {
		return ErrInvalidEvent
	}
	b := w.buf[:0]
	if len(ev.Type) > 0 {
		b = append(b, "event: "...)
		b = append(b, ev.Type...)
		b = append(b, '\n')
	}
	if len(ev.ID) > 0 {
		b = append(b, "id: "...)
		b = append(b, ev.ID...)
		b = append(b, '\n')
	}
	if ev.Retry > 0 {
		b = append(b, "retry: "...)
		b = strconv.AppendInt(b, ev.Retry.Milliseconds(), 10)
		b = append(b, '\n')
	}
	if !ev.NoData {
		b = appendLines(b, "data", ev.Data)
	}
	b = append(b, '\n')
	w.buf = b
	return w.write(b)
}

// WriteComment writes text as a comment-only block (lines starting with a
// colon, then a blank line) and flushes. Readers ignore it; it keeps idle
// connections open. Line breaks in text start new comment lines.
func (w *Writer) WriteComment(text string) error {
	b := w.buf[:0]
	for {
		eol, next := nextLineString(text)
		b = append(b, ':')
		if eol > 0 {
			b = append(b, ' ')
			b = append(b, text[:eol]...)
		}
		b = append(b, '\n')
		if next < 0 {
			break
		}
		text = text[next:]
	}
	b = append(b, '\n')
	w.buf = b
	return w.write(b)
}

// WriteRaw writes raw, which must already be framed as one or more
// complete blocks (such as [Event.Raw]), unchanged, and flushes.
func (w *Writer) WriteRaw(raw []byte) error {
	return w.write(raw)
}

// write writes b and flushes.
func (w *Writer) write(b []byte) error {
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("sse: write: %w", err)
	}
	if w.flush == nil {
		return nil
	}
	if err := w.flush(); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			w.flush = nil // it will not start working; stop paying for the error
			return nil
		}
		return fmt.Errorf("sse: flush: %w", err)
	}
	return nil
}

// appendLines appends one "name: line" per line of value (split at CRLF,
// CR or LF) to b.
func appendLines(b []byte, name string, value []byte) []byte {
	for {
		eol, next := nextLine(value)
		b = append(b, name...)
		b = append(b, ':')
		if eol > 0 {
			b = append(b, ' ')
			b = append(b, value[:eol]...)
		}
		b = append(b, '\n')
		if next < 0 {
			return b
		}
		value = value[next:]
	}
}

// nextLine returns the end of the first line of s and the start of the
// next one, or len(s) and -1 if s holds no line break.
func nextLine(s []byte) (eol, next int) {
	seg := s
	lf := bytes.IndexByte(s, '\n')
	if lf >= 0 {
		seg = s[:lf]
	}
	if cr := bytes.IndexByte(seg, '\r'); cr >= 0 {
		if cr+1 < len(s) && s[cr+1] == '\n' {
			return cr, cr + 2
		}
		return cr, cr + 1
	}
	if lf >= 0 {
		return lf, lf + 1
	}
	return len(s), -1
}

// nextLineString is nextLine for a string.
func nextLineString(s string) (eol, next int) {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			return i, i + 2
		}
		return i, i + 1
	}
	return len(s), -1
}
