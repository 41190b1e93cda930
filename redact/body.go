package redact

import (
	"fmt"
	"log/slog"
	"strconv"
)

// Body holds request or response content in memory: a prompt, a completion,
// an upstream error body. Every way of printing it (String, fmt verbs, slog,
// JSON, text and XML encoding) shows only its length, as
// "[redacted body, 42 bytes]", and gob refuses to encode it. Bytes reaches
// the content, at the places that forward it. The zero value is the empty
// body.
//
// Like Secret, a Body keeps its content behind a pointer, so that fmt, which
// prints unexported struct fields by reflection without calling their
// methods, shows an address there rather than the content.
type Body struct {
	p *[]byte
}

// NewBody wraps b without copying it; the caller must not change b
// afterwards.
func NewBody(b []byte) Body { return Body{p: &b} }

// Bytes returns the content. Call it only where the content is forwarded or
// decoded, never to print it.
func (b Body) Bytes() []byte {
	if b.p == nil {
		return nil
	}
	return *b.p
}

// Len returns the length of the content in bytes.
func (b Body) Len() int { return len(b.Bytes()) }

// String returns "[redacted body, N bytes]".
func (b Body) String() string { return string(b.appendPlaceholder(nil)) }

// GoString returns the same as String, for %#v.
func (b Body) GoString() string { return b.String() }

// Format prints the same as String for every verb, %x and %q included.
func (b Body) Format(f fmt.State, _ rune) { _, _ = f.Write(b.appendPlaceholder(nil)) }

// LogValue returns the same as String.
func (b Body) LogValue() slog.Value { return slog.StringValue(b.String()) }

// MarshalJSON returns String as a JSON string.
func (b Body) MarshalJSON() ([]byte, error) {
	out := append([]byte{'"'}, b.appendPlaceholder(nil)...)
	return append(out, '"'), nil
}

// MarshalText returns the same as String, so that encoders which use it
// (JSON map keys, XML) never see the content.
func (b Body) MarshalText() ([]byte, error) { return b.appendPlaceholder(nil), nil }

func (b Body) appendPlaceholder(dst []byte) []byte {
	dst = append(dst, "[redacted body, "...)
	dst = strconv.AppendInt(dst, int64(b.Len()), 10)
	if b.Len() == 1 {
		return append(dst, " byte]"...)
	}
	return append(dst, " bytes]"...)
}
