package canon

import (
	"time"

	"github.com/wicket-gw/wicket/metering"
)

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds. The zero EventKind is not valid.
const (
	// EventStart begins the stream: ID, Model and Created. It comes
	// first, once.
	EventStart EventKind = iota + 1
	// EventPartStart begins the part Index of choice Choice: PartKind,
	// and for a tool call ID and Name; Signature if the upstream sent one
	// with the part. Once per part.
	EventPartStart
	// EventPartDelta appends Text to the part Index of choice Choice: its
	// text (text, refusal, thinking) or a fragment of its arguments (tool
	// call); and Signature to its signature. Only between the part's start
	// and stop.
	EventPartDelta
	// EventPartStop ends the part Index of choice Choice. Once per part.
	EventPartStop
	// EventFinish ends choice Choice: Finish and RawFinish. At most once
	// per choice, after the stops of its parts.
	EventFinish
	// EventUsage reports Usage for the whole call. It may come more than
	// once (some upstreams count as they go); the last one counts.
	EventUsage
	// EventError reports a failure the upstream sent inside the stream, in
	// Error. The stream ends after it.
	EventError
)

// String returns the kind's lower-case name.
func (k EventKind) String() string {
	switch k {
	case EventStart:
		return "start"
	case EventPartStart:
		return "part_start"
	case EventPartDelta:
		return "part_delta"
	case EventPartStop:
		return "part_stop"
	case EventFinish:
		return "finish"
	case EventUsage:
		return "usage"
	case EventError:
		return "error"
	}
	return "unknown"
}

// Event is one step of a streamed answer. Kind says which fields it uses
// (see the EventKind constants); the others are zero. Events pass by value;
// an Event from a decoder may alias the decoder's input in Text and is
// valid only until the callback that received it returns (see Clone).
type Event struct {
	// Kind says what the event reports.
	Kind EventKind
	// PartKind is the kind of the part an EventPartStart begins.
	PartKind PartKind
	// Finish is the reason of an EventFinish.
	Finish FinishReason
	// Choice is the choice (candidate) the event belongs to, from 0.
	Choice int
	// Index is the part's index within its choice, stable for the stream,
	// from 0. Indexes need not be dense but are unique per choice.
	Index int
	// ID is the answer's ID (EventStart) or the tool call's ID
	// (EventPartStart of a PartToolCall).
	ID string
	// Name is the tool's name (EventPartStart of a PartToolCall).
	Name string
	// Model and Created describe the answer (EventStart); the zero Time
	// means the upstream did not say.
	Model   string
	Created time.Time
	// Text is the fragment an EventPartDelta appends. It may alias the
	// decoder's buffers: copy it to keep it.
	Text []byte
	// Signature is the part's opaque signature, or a fragment of it
	// (EventPartStart, EventPartDelta); see Part.Signature.
	Signature string
	// RawFinish is the upstream's spelling of the reason (EventFinish).
	RawFinish string
	// Usage is the call's token count (EventUsage).
	Usage metering.Usage
	// Error is the failure (EventError).
	Error *Error
}

// Clone returns a copy of e whose Text shares no memory with e's, so that
// it stays valid after the callback returns.
func (e Event) Clone() Event {
	if e.Text != nil {
		e.Text = append(make([]byte, 0, len(e.Text)), e.Text...)
	}
	if e.Error != nil {
		err := *e.Error
		e.Error = &err
	}
	return e
}

// Error is a failure an upstream reported inside a stream, to be relayed
// to the client in its dialect. It deliberately does not implement the
// error interface: Message is the upstream's text, which reaches the
// client but never a log or an error string.
type Error struct {
	// Status is the HTTP status that best describes the failure (such as
	// 429, 500 or 529), or 0 if the upstream gave none.
	Status int
	// Type is the upstream's error type, such as "server_error" or
	// "overloaded_error"; "" if none.
	Type string
	// Code is the upstream's machine-readable code; "" if none.
	Code string
	// Message is the upstream's message, for the client only.
	Message string
}
