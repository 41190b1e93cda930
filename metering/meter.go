package metering

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wicket-gw/wicket/internal/asyncq"
)

// OverflowPolicy says what Meter.Record does when the queue is full. The
// zero value is OverflowBlock.
type OverflowPolicy uint8

const (
	// OverflowBlock makes Record wait for room until MeterOptions.BlockTimeout
	// passes or its context is done, then drop the event. It is the zero
	// value: billing data is kept at the price of request latency when the
	// recorder falls behind.
	OverflowBlock OverflowPolicy = iota
	// OverflowDrop makes Record drop the event at once, count it in
	// MeterStats.Dropped and return ErrQueueFull.
	OverflowDrop
)

// String returns "block" or "drop".
func (p OverflowPolicy) String() string {
	switch p {
	case OverflowBlock:
		return "block"
	case OverflowDrop:
		return "drop"
	}
	return fmt.Sprintf("OverflowPolicy(%d)", uint8(p))
}

// MeterOptions configures a Meter. The zero value, or a nil *MeterOptions,
// gives the defaults documented on each field. Negative values are invalid.
type MeterOptions struct {
	// QueueSize is how many events may wait for the recorder. Zero means
	// 10,000.
	QueueSize int
	// BatchSize is the most events handed to the recorder at once. Zero
	// means 100.
	BatchSize int
	// MaxWait is the longest an event waits for its batch to fill. Zero
	// means 1 second.
	MaxWait time.Duration
	// Overflow is what Record does when the queue is full. The zero value
	// is OverflowBlock.
	Overflow OverflowPolicy
	// BlockTimeout is the longest Record waits for room under
	// OverflowBlock. Zero means 1 second.
	BlockTimeout time.Duration
	// MaxAttempts is how many times a failing batch is tried, the first
	// try included, before its events are counted as failed. Zero means 5;
	// 1 means no retry.
	MaxAttempts int
	// InitialBackoff is the wait before the first retry; each further
	// retry waits twice as long, up to MaxBackoff. Zero means 100ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the wait between retries. Zero means 10 seconds.
	MaxBackoff time.Duration
	// CallTimeout bounds each RecordBatch call, or each batch's run of
	// Record calls for a plain Recorder. Zero means no bound other than
	// Close's deadline.
	CallTimeout time.Duration
	// Sleep waits d between retries, returning early with ctx's error when
	// ctx is done. If nil, a timer is used. Tests inject a function that
	// returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives a warning when a batch fails for good. If nil,
	// nothing is logged.
	Logger *slog.Logger
}

// MeterStats counts what a Meter did with the events given to Record. Once
// Close has returned, Recorded+Failed+Dropped equals the number of Record
// calls. It is a plain value, a snapshot; the zero MeterStats counts
// nothing.
type MeterStats struct {
	// Recorded counts events the recorder accepted.
	Recorded uint64
	// Retried counts recorder calls repeated after a failure.
	Retried uint64
	// Dropped counts events refused by Record (queue full, meter closed)
	// plus events still queued when Close's deadline passed.
	Dropped uint64
	// Failed counts events the recorder still refused after MaxAttempts.
	Failed uint64
	// Queued is the number of events waiting in the queue now.
	Queued int
}

// Meter hands events to a Recorder off the request path: Record puts an
// event on a bounded queue and returns; a background goroutine sends the
// queue to the recorder in batches, retrying failed batches with capped
// exponential backoff. Close flushes the queue and stops the goroutine.
//
// Meter is itself a Recorder. It is safe for concurrent use. Create one with
// NewMeter; the zero Meter refuses every event with ErrClosed. A nil *Meter
// is valid and discards events: Record returns nil, Close returns nil and
// Stats returns zeros.
type Meter struct {
	// q is the queue and its worker, shared machinery with package audit.
	// The zero queue is closed, which makes the zero Meter refuse events.
	q            asyncq.Queue[Event]
	overflow     OverflowPolicy
	blockTimeout time.Duration
}

// NewMeter returns a Meter that delivers to rec, configured by opts (nil
// means defaults), and starts its background goroutine; call Close to stop
// it. It returns an error if rec is nil or an option is invalid.
func NewMeter(rec Recorder, opts *MeterOptions) (*Meter, error) {
	if rec == nil {
		return nil, errors.New("metering: new meter: nil recorder")
	}
	var o MeterOptions
	if opts != nil {
		o = *opts
	}
	if o.QueueSize < 0 || o.BatchSize < 0 || o.MaxWait < 0 || o.BlockTimeout < 0 ||
		o.MaxAttempts < 0 || o.InitialBackoff < 0 || o.MaxBackoff < 0 || o.CallTimeout < 0 {
		return nil, errors.New("metering: new meter: negative option")
	}
	if o.Overflow > OverflowDrop {
		return nil, fmt.Errorf("metering: new meter: unknown overflow policy %d", uint8(o.Overflow))
	}
	m := &Meter{
		overflow:     o.Overflow,
		blockTimeout: orDefault(o.BlockTimeout, time.Second),
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
		Write:          rec.Record,
		OnFailure:      asyncq.FailureLogger(o.Logger, "metering: recorder failed; events lost", errRecorderPanicked),
	}.WithDefaults()
	if b, ok := rec.(BatchRecorder); ok {
		qo.WriteBatch = b.RecordBatch
	}
	if err := m.q.Start(qo); err != nil {
		return nil, fmt.Errorf("metering: new meter: %w", err)
	}
	return m, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// errRecorderPanicked is what the failure log says of a recorder that
// panicked.
var errRecorderPanicked = errors.New("metering: recorder panicked")

// Record queues e for the recorder and returns without waiting for it to be
// stored. When the queue is full it follows the overflow policy; an event it
// drops is counted in Stats().Dropped and reported as ErrQueueFull (wrapping
// ctx's error if ctx ended the wait). After Close it returns ErrClosed.
//
// ctx only bounds the wait for room under OverflowBlock; the event outlives
// it. Identifiers longer than MaxIDLen are cut. Record does not allocate
// when the queue has room.
func (m *Meter) Record(ctx context.Context, e Event) error {
	if m == nil {
		return nil
	}
	e.limitIDs()
	var err error
	if m.overflow == OverflowDrop {
		err = m.q.TryPut(e)
	} else {
		err = m.q.Put(ctx, e, m.blockTimeout)
	}
	switch err {
	case nil:
		return nil
	case asyncq.ErrClosed:
		return ErrClosed
	case asyncq.ErrFull:
		return ErrQueueFull
	}
	return fmt.Errorf("%w: %w", ErrQueueFull, err) // ctx ended the wait
}

// Close stops accepting events, delivers every event still queued, and
// stops the background goroutine. If ctx is done first, Close cancels the
// recorder call in progress and any retry, counts the events not yet
// delivered as dropped, waits for the goroutine to return (a Recorder that
// honors its context returns promptly), and returns ctx's error.
//
// Close may be called more than once and concurrently; every call waits for
// the same shutdown.
func (m *Meter) Close(ctx context.Context) error {
	if m == nil {
		return nil
	}
	if err := m.q.Close(ctx); err != nil {
		return fmt.Errorf("metering: close: %w", err)
	}
	return nil
}

// Stats returns the meter's counters. It is safe to call at any time.
func (m *Meter) Stats() MeterStats {
	if m == nil {
		return MeterStats{}
	}
	s := m.q.Stats()
	return MeterStats{
		Recorded: s.Delivered,
		Retried:  s.Retried,
		Dropped:  s.Dropped,
		Failed:   s.Failed,
		Queued:   s.Queued,
	}
}
