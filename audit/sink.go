package audit

import "context"

// Sink stores audit events: in a database, a log pipeline, a SIEM. It is
// the one interface an audit backend implements; audittest.RunSinkTests
// checks an implementation.
//
// Write is called by Auditor from a single background goroutine, outside
// any request, with a context that is cancelled only when Auditor.Close
// gives up. An implementation must honor ctx and should be safe for
// concurrent use if it is shared. An error makes Auditor retry the event, so
// delivery is at least once.
type Sink interface {
	Write(ctx context.Context, e Event) error
}

// SinkFunc adapts a function to the Sink interface. A nil SinkFunc panics
// when called.
type SinkFunc func(ctx context.Context, e Event) error

// Write calls f(ctx, e).
func (f SinkFunc) Write(ctx context.Context, e Event) error { return f(ctx, e) }

// BatchSink is an optional capability of a Sink: storing many events in one
// call. Auditor checks for it with a type assertion and, when present, calls
// WriteBatch instead of Write, from its one background goroutine.
//
// WriteBatch must not keep events after it returns: Auditor reuses the
// slice. It stores all events or reports an error, in which case Auditor
// retries the whole batch, so events stored before a partial failure may
// arrive twice.
type BatchSink interface {
	WriteBatch(ctx context.Context, events []Event) error
}
