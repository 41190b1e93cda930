package translate

import (
	"errors"
	"io"
	"net/http"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers/canon"
)

// An Encoder writes canonical events as a dialect's stream; Close writes
// its end.
type Encoder interface {
	Encode(canon.Event) error
	Close() error
}

// StreamWriter is the providers.CanonWriter of a streamed answer: it
// encodes each event with a dialect's Encoder and flushes it. The stream's
// headers are set on its first write, so nothing, headers included, is
// written before the first event.
type StreamWriter struct {
	w           http.ResponseWriter
	rc          http.ResponseController
	enc         Encoder
	contentType string
	started     bool
}

// NewStreamWriter returns a StreamWriter to w, whose encoder is the one
// newEncoder returns for the writer it is given. The stream's headers are
// those of server-sent events (sse.SetHeaders), with Content-Type
// contentType instead if it is not empty.
func NewStreamWriter(w http.ResponseWriter, contentType string, newEncoder func(io.Writer) Encoder) *StreamWriter {
	s := &StreamWriter{w: w, rc: *http.NewResponseController(w), contentType: contentType}
	s.enc = newEncoder((*output)(s))
	return s
}

// output is the StreamWriter as its encoder's io.Writer.
type output StreamWriter

// Write sets the stream's headers before the first bytes.
func (o *output) Write(p []byte) (int, error) {
	if !o.started {
		o.started = true
		h := o.w.Header()
		sse.SetHeaders(h)
		if o.contentType != "" {
			h.Set("Content-Type", o.contentType)
		}
	}
	return o.w.Write(p)
}

// Write encodes ev and flushes what it wrote.
func (s *StreamWriter) Write(ev canon.Event) error {
	if err := s.enc.Encode(ev); err != nil {
		return err
	}
	return s.flush()
}

// Close writes the stream's end and flushes it.
func (s *StreamWriter) Close() error {
	if err := s.enc.Close(); err != nil {
		return err
	}
	return s.flush()
}

// flush flushes once the stream has begun; a writer that cannot flush
// (http.ErrNotSupported) is not an error.
func (s *StreamWriter) flush() error {
	if !s.started {
		return nil
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// WholeWriter is the providers.CanonWriter of a non-streamed answer: it
// gathers the events and writes the answer, encoded by the dialect, at
// Close.
type WholeWriter struct {
	w           http.ResponseWriter
	acc         canon.Accumulator
	encode      func(*canon.Accumulator) ([]byte, error)
	contentType string
}

// NewWholeWriter returns a WholeWriter to w that writes, at Close, the
// body encode makes of the gathered events, with Content-Type contentType.
func NewWholeWriter(w http.ResponseWriter, contentType string, encode func(*canon.Accumulator) ([]byte, error)) *WholeWriter {
	return &WholeWriter{w: w, encode: encode, contentType: contentType}
}

// Write adds ev to the answer.
func (a *WholeWriter) Write(ev canon.Event) error { return a.acc.Add(ev) }

// Close encodes the answer and writes it.
func (a *WholeWriter) Close() error {
	body, err := a.encode(&a.acc)
	if err != nil {
		return err
	}
	a.w.Header().Set("Content-Type", a.contentType)
	_, err = a.w.Write(body)
	return err
}
