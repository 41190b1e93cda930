package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wicket-gw/wicket/internal/asyncq"
)

// Options configures an Auditor. The zero value, or a nil *Options, gives
// the defaults documented on each field. Negative values are invalid.
type Options struct {
	// QueueSize is how many events may wait for the sink. Zero means
	// 10,000. When the queue is full, Emit drops events.
	QueueSize int
	// BatchSize is the most events handed to the sink at once. Zero means
	// 100.
	BatchSize int
	// MaxWait is the longest an event waits for its batch to fill. Zero
	// means 1 second.
	MaxWait time.Duration
	// MaxAttempts is how many times a failing batch is tried, the first
	// try included, before its events are counted as failed. Zero means 5;
	// 1 means no retry.
	MaxAttempts int
	// InitialBackoff is the wait before the first retry; each further
	// retry waits twice as long, up to MaxBackoff. Zero means 100ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the wait between retries. Zero means 10 seconds.
	MaxBackoff time.Duration
	// CallTimeout bounds each WriteBatch call, or each batch's run of Write
	// calls for a plain Sink. Zero means no bound other than Close's
	// deadline.
	CallTimeout time.Duration
	// Sleep waits d between retries, returning early with ctx's error when
	// ctx is done. If nil, a timer is used. Tests inject a function that
	// returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now stamps events emitted with a zero Time. If nil, time.Now is used.
	Now func() time.Time
	// Logger receives a warning when a batch fails for good. If nil,
	// nothing is logged.
	Logger *slog.Logger
}

// Stats counts what an Auditor did with the events given to Emit. Once
// Close has returned, Written+Failed+Dropped equals the number of Emit
// calls on a non-nil Auditor. It is a plain value, a snapshot; the zero
// Stats counts nothing.
type Stats struct {
	// Written counts events the sink accepted.
	Written uint64
	// Retried counts sink calls repeated after a failure.
	Retried uint64
	// Dropped counts events refused by Emit (queue full, auditor closed)
	// plus events still queued when Close's deadline passed.
	Dropped uint64
	// Failed counts events the sink still refused after MaxAttempts.
	Failed uint64
	// Queued is the number of events waiting in the queue now.
	Queued int
}

// Auditor hands events to a Sink off the request path: Emit puts an event
// on a bounded queue and returns at once; a background goroutine writes the
// queue to the sink in batches, retrying failed batches with capped
// exponential backoff. Close flushes the queue and stops the goroutine. A
// slow or stuck sink never slows Emit: when the queue is full, Emit drops
// the event and counts it in Stats().Dropped.
//
// Auditor is safe for concurrent use. Create one with New; the zero Auditor
// drops every event. A nil *Auditor is valid and discards events: Emit does
// nothing, Close returns nil and Stats returns zeros, so that code emitting
// events needs no nil checks when auditing is not configured.
type Auditor struct {
	// q is the queue and its worker, shared machinery with metering.Meter.
	// The zero queue is closed, which makes the zero Auditor drop events.
	q    asyncq.Queue[Event]
	now  func() time.Time
	sink Sink
}

// Sink returns the sink the Auditor delivers to; nil for a nil or zero
// Auditor. (The gateway's erasure asks it to erase an owner's events when
// it can.)
func (a *Auditor) Sink() Sink {
	if a == nil {
		return nil
	}
	return a.sink
}

// New returns an Auditor that delivers to sink, configured by opts (nil
// means defaults), and starts its background goroutine; call Close to stop
// it. It returns an error if sink is nil or an option is invalid.
func New(sink Sink, opts *Options) (*Auditor, error) {
	if sink == nil {
		return nil, errors.New("audit: new: nil sink")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.QueueSize < 0 || o.BatchSize < 0 || o.MaxWait < 0 || o.MaxAttempts < 0 ||
		o.InitialBackoff < 0 || o.MaxBackoff < 0 || o.CallTimeout < 0 {
		return nil, errors.New("audit: new: negative option")
	}
	a := &Auditor{now: o.Now, sink: sink}
	if a.now == nil {
		a.now = time.Now
	}
	qo := asyncq.Options[Event]{
		Size:           o.QueueSize,
		BatchSize:      o.BatchSize,
		MaxWait:        o.MaxWait,
		MaxAttempts:    o.MaxAttempts,
		InitialBackoff: o.InitialBackoff,
		MaxBackoff:     o.MaxBackoff,
		CallTimeout:    o.CallTimeout,
		Sleep:          o.Sleep,
		Write:          sink.Write,
		OnFailure:      asyncq.FailureLogger(o.Logger, "audit: sink failed; events lost", errSinkPanicked),
	}.WithDefaults()
	if b, ok := sink.(BatchSink); ok {
		qo.WriteBatch = b.WriteBatch
	}
	if err := a.q.Start(qo); err != nil {
		return nil, fmt.Errorf("audit: new: %w", err)
	}
	return a, nil
}

// errSinkPanicked is what the failure log says of a sink that panicked.
var errSinkPanicked = errors.New("audit: sink panicked")

// Emit queues e for the sink and returns at once, whatever the sink is
// doing. If the queue is full, or the Auditor closed, e is dropped and
// counted in Stats().Dropped. Emit on a nil *Auditor does nothing.
//
// Emit stamps e with the current time if e.Time is zero, cuts identifiers
// longer than MaxIDLen, and replaces an Action, Outcome or Reason that is
// not a lower-case word (see the package documentation) with "invalid".
// It does not allocate unless it cuts.
func (a *Auditor) Emit(e Event) {
	if a == nil {
		return
	}
	if e.Time.IsZero() && a.now != nil {
		e.Time = a.now()
	}
	e.limit()
	_ = a.q.TryPut(e) // a refusal is counted by the queue
}

// Close stops accepting events, delivers every event still queued, and
// stops the background goroutine. If ctx is done first, Close cancels the
// sink call in progress and any retry, counts the events not yet delivered
// as dropped, waits for the goroutine to return (a Sink that honors its
// context returns promptly), and returns ctx's error.
//
// Close may be called more than once and concurrently; every call waits for
// the same shutdown. Close on a nil *Auditor returns nil.
func (a *Auditor) Close(ctx context.Context) error {
	if a == nil {
		return nil
	}
	if err := a.q.Close(ctx); err != nil {
		return fmt.Errorf("audit: close: %w", err)
	}
	return nil
}

// Stats returns the auditor's counters. It is safe to call at any time.
func (a *Auditor) Stats() Stats {
	if a == nil {
		return Stats{}
	}
	s := a.q.Stats()
	return Stats{
		Written: s.Delivered,
		Retried: s.Retried,
		Dropped: s.Dropped,
		Failed:  s.Failed,
		Queued:  s.Queued,
	}
}
