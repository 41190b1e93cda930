// Package sse reads and writes Server-Sent Events (text/event-stream), as
// the provider adapters of wicket stream them between upstreams and clients.
//
// # Reading
//
// A [Reader] parses a stream by the event-stream rules of the WHATWG HTML
// standard (section 9.2.6, "Interpreting an event stream"):
//
//   - Lines end in CRLF, LF or CR, mixed freely. A CR that ends one Read and
//     an LF that begins the next count as one line ending.
//   - A line "name: value" sets a field; the first colon splits, and one space
//     right after it is dropped. A line without a colon is a field name with
//     an empty value. Field names are case-sensitive; unknown fields are
//     ignored.
//   - A line that starts with a colon is a comment. Comments are not parsed
//     into any field, but they stay in [Event.Raw]; a block holding only
//     comments (a keep-alive) is returned when [ReaderOptions.All] is set.
//   - "data" lines are joined with "\n". "event" sets [Event.Type]; an empty
//     Type means the default type, "message". "id" sets the last event ID,
//     which carries over to later events until another "id" line changes it;
//     an id that contains NUL is ignored. "retry" is honoured only when its
//     value is all ASCII digits.
//   - A blank line ends a block. The block is an event (it is dispatched, in
//     the standard's terms) only if it had at least one "data" line; other
//     blocks are skipped unless [ReaderOptions.All] is set.
//   - A block that the stream leaves unfinished when it ends (no blank line
//     after it) is discarded, as the standard requires, and Next reports
//     io.EOF.
//   - One UTF-8 byte order mark at the very start of the stream is skipped.
//
// One deliberate difference: the standard decodes the stream as UTF-8 and
// replaces invalid sequences with U+FFFD, whereas the Reader hands bytes
// through unchanged, so that what it returns matches what the upstream sent.
//
// Each [Event] carries, besides its fields, the exact bytes it was parsed
// from ([Event.Raw]), so a gateway can forward a stream byte for byte while it
// peeks at the data. Event fields alias the Reader's buffers and are valid
// only until the next call to [Reader.Next]; that is how reading allocates
// nothing per event. [Event.Clone] makes a copy that stays valid.
//
// Memory is bounded: an event larger than [ReaderOptions.MaxEventSize] makes
// Next fail with [ErrEventTooLarge], and the Reader's buffer never holds more
// than MaxEventSize plus 4 KiB of the stream. (Joined multi-line data and the
// last event ID are copied aside, each at most MaxEventSize.)
//
// # Writing
//
// A [Writer] encodes events (or forwards already-framed bytes) and flushes
// after each one, through [http.ResponseController] when it writes to an
// [http.ResponseWriter]. [SetHeaders] sets the response headers a stream
// needs.
package sse
