package uplink

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers"
)

// An EventHandler is a dialect's part of relaying a stream (see
// Client.Relay): what to write for each event, what usage it carries, and
// whether the stream was complete.
type EventHandler interface {
	// Event relays one event: it writes it to s (as it is, rewritten, or
	// not at all) and notes in s.Result the usage it carries. An error
	// ends the relay and is returned as it is.
	Event(s *Stream, ev sse.Event) error
	// Incomplete is called when the upstream's stream has ended. It
	// returns nil if the stream was complete, else why not (an error
	// wrapping providers.ErrIncomplete), which the relay returns as a
	// *providers.UpstreamError once the events before are flushed.
	Incomplete() error
}

// A Finisher is an EventHandler that writes something after the last
// event of a complete stream (the "]" of a JSON array), through s.
type Finisher interface {
	Finish(s *Stream) error
}

// Stream is the client's side of a relayed stream, as an EventHandler
// sees it: it writes events and counts them in Result.
type Stream struct {
	// Result is what the relay reports: Events, BytesWritten and
	// FirstByte are kept by WriteEvent and WriteBytes; the handler sets
	// Usage and UsageKnown.
	Result providers.Result

	w       io.Writer
	rc      http.ResponseController
	src     io.Reader
	ready   readier // src's, if it can tell
	pending bool    // written since the last flush
	werr    error   // the flush that failed before a read
}

// WriteEvent writes one event's bytes, counting the event and timing the
// first. The first event is flushed at once; the others before the relay
// next waits for the upstream (see Relay).
func (s *Stream) WriteEvent(b []byte) error {
	if s.Result.Events == 0 {
		s.Result.FirstByte = time.Now()
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	s.pending = true
	s.Result.Events++
	s.Result.BytesWritten += int64(len(b))
	if s.Result.Events == 1 {
		// The first event leaves at once, ahead of those that arrived
		// with it: the client's time to first byte does not wait for
		// their parsing.
		return s.Flush()
	}
	return nil
}

// WriteBytes writes bytes that are not an event (framing such as the "]"
// that closes a JSON array), flushed like an event's.
func (s *Stream) WriteBytes(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	s.pending = true
	s.Result.BytesWritten += int64(len(b))
	return nil
}

// Flush flushes what was written since the last flush, if anything. A
// writer that cannot flush (http.ErrNotSupported) is not an error.
func (s *Stream) Flush() error {
	if !s.pending {
		return nil
	}
	s.pending = false
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// source is the Stream as the event reader's source: it flushes what was
// written before a read that may wait for the upstream, and only then.
type source Stream

func (s *source) Read(p []byte) (int, error) {
	if s.ready == nil || !s.ready.Ready() {
		if s.werr = (*Stream)(s).Flush(); s.werr != nil {
			return 0, s.werr
		}
	}
	return s.src.Read(p)
}

// Relay forwards the server-sent events read from src (an Exchange) to w,
// one by one through h. The first event is flushed as soon as it is
// written; after it, what was written is flushed only before a read of src
// that waits for the upstream (src's Ready tells, when it can), so every
// event reaches the client as soon as it arrived, while events that
// arrived together leave in one write. Nothing is written to w, not even a
// flush, before the first event.
//
// The end of a complete stream is not flushed: the last events leave with
// the end of the response (one write with the closing chunk), or when the
// caller flushes. A stream that ends without being complete (see
// EventHandler.Incomplete), whether cut mid-event or between events, is
// an error: the events before it are flushed, and the caller aborts the
// answer. Every failure on the upstream's side, an event larger than
// MaxEventSize included, is a *providers.UpstreamError; a failure to write
// to w is returned as it is.
func (c *Client) Relay(w http.ResponseWriter, src io.Reader, h EventHandler) (providers.Result, error) {
	s := &Stream{w: w, rc: *http.NewResponseController(w), src: src}
	s.ready, _ = src.(readier)
	rd := c.reader((*source)(s))
	defer c.putReader(rd)
	for {
		ev, err := rd.Next()
		if s.werr != nil {
			return s.Result, s.werr
		}
		if err == io.EOF {
			if cause := h.Incomplete(); cause != nil {
				_ = s.Flush() // the events before reach the client either way
				return s.Result, providers.NewUpstreamError(c.Name, cause)
			}
			if f, ok := h.(Finisher); ok {
				return s.Result, f.Finish(s)
			}
			return s.Result, nil
		}
		if err != nil {
			_ = s.Flush() // as above
			if ue, ok := errors.AsType[*providers.UpstreamError](err); ok {
				return s.Result, ue
			}
			return s.Result, providers.NewUpstreamError(c.Name, err) // sse.ErrEventTooLarge
		}
		if err := h.Event(s, ev); err != nil {
			return s.Result, err
		}
	}
}
