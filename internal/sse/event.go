package sse

import "time"

// Event is one block of an event stream.
//
// An Event returned by [Reader.Next] aliases the Reader's buffers: its
// slices are valid only until the next call to Next or [Reader.Reset], and
// must not be modified. Use [Event.Clone] to keep one longer.
//
// The zero Event, given to [Writer.WriteEvent], writes an event with one
// empty data line.
type Event struct {
	// Type is the value of the block's last "event" field. Empty means the
	// default type, "message".
	Type []byte

	// Data is the block's "data" field values joined with "\n". It is empty
	// when NoData is set.
	Data []byte

	// ID is the last event ID of the stream: the value of the most recent
	// valid "id" field, in this block or an earlier one (the standard carries
	// it over). Empty if no id was set, or if an "id" line with an empty
	// value reset it. Writing an Event writes an "id" line only when ID is
	// not empty.
	ID []byte

	// Retry is the reconnection time from the block's last valid "retry"
	// field (whole milliseconds), or zero if it had none. A "retry: 0" also
	// reads as zero, and the Writer writes a "retry" line only when Retry is
	// positive.
	Retry time.Duration

	// NoData reports a block without any "data" line, which the standard
	// does not dispatch: a comment-only keep-alive, or a block that only sets
	// "id" or "retry". The Reader returns such blocks only when
	// [ReaderOptions.All] is set. When writing, NoData leaves out the data
	// line, so that a block can carry only other fields.
	NoData bool

	// Raw is the exact bytes the Reader parsed the block from, from its first
	// line through the line ending of the blank line that ends it, so that
	// it can be forwarded on its own. Blank lines between blocks and a
	// leading byte order mark belong to no Raw.
	//
	// One exception, for streams that mix line endings: when the blank line
	// ends in a CR that is the last byte received so far, and the line
	// before it did not end in CRLF, the Reader returns the block at once
	// rather than wait to see whether an LF follows (which would hold up
	// every event of a CR-only stream). Such an LF is then skipped as a
	// blank line and belongs to no Raw. A stream that ends its lines
	// consistently, in CRLF, LF or CR, always gets exact Raw.
	//
	// The Writer ignores Raw; see [Writer.WriteRaw].
	Raw []byte
}

// Clone returns a copy of e that shares no memory with e, so that it stays
// valid after the Reader moves on. It makes one allocation.
func (e Event) Clone() Event {
	n := len(e.Type) + len(e.Data) + len(e.ID) + len(e.Raw)
	b := make([]byte, 0, n)
	e.Type, b = cloneInto(b, e.Type)
	e.Data, b = cloneInto(b, e.Data)
	e.ID, b = cloneInto(b, e.ID)
	e.Raw, _ = cloneInto(b, e.Raw)
	return e
}

// cloneInto appends s to b and returns the appended part, capacity-limited,
// keeping nil as nil.
func cloneInto(b, s []byte) (part, rest []byte) {
	if s == nil {
		return nil, b
	}
	i := len(b)
	b = append(b, s...)
	return b[i:len(b):len(b)], b
}

// IsDone reports whether data is OpenAI's end-of-stream sentinel, "[DONE]".
func IsDone(data []byte) bool {
	return string(data) == "[DONE]"
}
