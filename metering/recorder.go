package metering

import "context"

// Recorder stores metering events: in a database, a queue, a log pipeline or
// a billing system. It is the one interface a metering backend implements;
// meteringtest.RunRecorderTests checks an implementation.
//
// Record is called by Meter from a single background goroutine, outside any
// request, with a context that is cancelled only when Meter.Close gives up.
// An implementation must honor ctx and should be safe for concurrent use if
// it is shared. An error makes Meter retry the event, so delivery is at
// least once: a backend that must not count an event twice deduplicates on
// Event.RequestID.
type Recorder interface {
	Record(ctx context.Context, e Event) error
}

// RecorderFunc adapts a function to the Recorder interface. A nil
// RecorderFunc panics when called.
type RecorderFunc func(ctx context.Context, e Event) error

// Record calls f(ctx, e).
func (f RecorderFunc) Record(ctx context.Context, e Event) error { return f(ctx, e) }

// BatchRecorder is an optional capability of a Recorder: storing many events
// in one call (one INSERT, one HTTP request). Meter checks for it with a
// type assertion and, when present, calls RecordBatch instead of Record,
// from its one background goroutine.
//
// RecordBatch must not keep events after it returns: Meter reuses the slice.
// It stores all events or reports an error, in which case Meter retries the
// whole batch, so events stored before a partial failure may arrive twice.
type BatchRecorder interface {
	RecordBatch(ctx context.Context, events []Event) error
}
