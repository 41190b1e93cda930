package metering

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
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
	rec      Recorder
	batchRec BatchRecorder // rec as a BatchRecorder, or nil

	queue        chan Event
	batchSize    int
	maxWait      time.Duration
	overflow     OverflowPolicy
	blockTimeout time.Duration
	maxAttempts  int
	initBackoff  time.Duration
	maxBackoff   time.Duration
	callTimeout  time.Duration
	sleep        func(context.Context, time.Duration) error
	logger       *slog.Logger

	// ctx is the context of recorder calls; cancel aborts them when Close
	// gives up.
	ctx    context.Context
	cancel context.CancelFunc

	closeOnce sync.Once
	stop      chan struct{} // closed once no Record can send any more
	done      chan struct{} // closed when the worker has returned

	recorded atomic.Uint64
	retried  atomic.Uint64
	dropped  atomic.Uint64
	failed   atomic.Uint64

	// mu is held for reading by Record while it may send on queue, and for
	// writing by Close to set closed, so that no send can follow the final
	// drain.
	mu     sync.RWMutex
	closed bool
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
		rec:          rec,
		queue:        make(chan Event, orDefault(o.QueueSize, 10_000)),
		batchSize:    orDefault(o.BatchSize, 100),
		maxWait:      orDefault(o.MaxWait, time.Second),
		overflow:     o.Overflow,
		blockTimeout: orDefault(o.BlockTimeout, time.Second),
		maxAttempts:  orDefault(o.MaxAttempts, 5),
		initBackoff:  orDefault(o.InitialBackoff, 100*time.Millisecond),
		maxBackoff:   orDefault(o.MaxBackoff, 10*time.Second),
		callTimeout:  o.CallTimeout,
		sleep:        o.Sleep,
		logger:       o.Logger,
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
	}
	if m.sleep == nil {
		m.sleep = sleepTimer
	}
	m.batchRec, _ = rec.(BatchRecorder)
	m.ctx, m.cancel = context.WithCancel(context.Background())
	go m.run()
	return m, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

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
	m.mu.RLock()
	if m.closed || m.queue == nil {
		m.mu.RUnlock()
		m.dropped.Add(1)
		return ErrClosed
	}
	select {
	case m.queue <- e:
		m.mu.RUnlock()
		return nil
	default:
	}
	err := m.waitLocked(ctx, e)
	m.mu.RUnlock()
	if err != nil {
		m.dropped.Add(1)
	}
	return err
}

// waitLocked sends e on a full queue under the overflow policy. m.mu is held
// for reading.
func (m *Meter) waitLocked(ctx context.Context, e Event) error {
	if m.overflow == OverflowDrop {
		return ErrQueueFull
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrQueueFull, err)
	}
	t := time.NewTimer(m.blockTimeout)
	defer t.Stop()
	select {
	case m.queue <- e:
		return nil
	case <-t.C:
		return ErrQueueFull
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrQueueFull, ctx.Err())
	}
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
	if m == nil || m.done == nil {
		return nil
	}
	m.closeOnce.Do(func() {
		// Taking the write lock waits for Records blocked on a full queue;
		// the worker keeps draining meanwhile, so they finish. The lock is
		// taken on its own goroutine so that Close can honor ctx.
		go func() {
			m.mu.Lock()
			m.closed = true
			m.mu.Unlock()
			close(m.stop)
		}()
	})
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
	}
	m.cancel()
	<-m.done
	return fmt.Errorf("metering: close: %w", ctx.Err())
}

// Stats returns the meter's counters. It is safe to call at any time.
func (m *Meter) Stats() MeterStats {
	if m == nil {
		return MeterStats{}
	}
	return MeterStats{
		Recorded: m.recorded.Load(),
		Retried:  m.retried.Load(),
		Dropped:  m.dropped.Load(),
		Failed:   m.failed.Load(),
		Queued:   len(m.queue),
	}
}

// run is the worker: it gathers events into batches and delivers them.
func (m *Meter) run() {
	defer close(m.done)
	defer m.cancel()
	batch := make([]Event, 0, m.batchSize)
	flush := func() {
		m.deliver(batch)
		clear(batch) // let the strings go
		batch = batch[:0]
	}
	timer := time.NewTimer(m.maxWait)
	timer.Stop()
	defer timer.Stop()
	var timerC <-chan time.Time
	for {
		select {
		case e := <-m.queue:
			batch = append(batch, e)
			if len(batch) >= m.batchSize {
				timer.Stop()
				timerC = nil
				flush()
			} else if len(batch) == 1 {
				timer.Reset(m.maxWait)
				timerC = timer.C
			}
		case <-timerC:
			timerC = nil
			flush()
		case <-m.stop:
			// No Record can send any more: drain what is left.
			for {
				select {
				case e := <-m.queue:
					batch = append(batch, e)
					if len(batch) >= m.batchSize {
						flush()
					}
				default:
					if len(batch) > 0 {
						flush()
					}
					return
				}
			}
		}
	}
}

// deliver hands batch to the recorder, retrying with backoff.
func (m *Meter) deliver(batch []Event) {
	attempt := 1
	backoff := min(m.initBackoff, m.maxBackoff)
	for len(batch) > 0 {
		if m.ctx.Err() != nil {
			m.dropped.Add(uint64(len(batch)))
			return
		}
		n, err := m.send(batch)
		m.recorded.Add(uint64(n))
		batch = batch[n:]
		if err == nil {
			return
		}
		if m.ctx.Err() != nil {
			m.dropped.Add(uint64(len(batch)))
			return
		}
		if n > 0 { // progress: the remaining events get a fresh set of attempts
			attempt = 1
			backoff = min(m.initBackoff, m.maxBackoff)
		}
		if attempt >= m.maxAttempts {
			m.failed.Add(uint64(len(batch)))
			if m.logger != nil {
				m.logger.LogAttrs(m.ctx, slog.LevelWarn, "metering: recorder failed; events lost",
					slog.Int("events", len(batch)),
					slog.Int("attempts", attempt),
					slog.String("error", err.Error()))
			}
			return
		}
		if m.sleep(m.ctx, backoff) != nil {
			m.dropped.Add(uint64(len(batch)))
			return
		}
		m.retried.Add(1)
		attempt++
		if backoff > m.maxBackoff/2 {
			backoff = m.maxBackoff
		} else {
			backoff *= 2
		}
	}
}

// send makes one recorder call for batch (or one per event for a plain
// Recorder) and reports how many events, from the start, were stored.
func (m *Meter) send(batch []Event) (n int, err error) {
	ctx := m.ctx
	if m.callTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.callTimeout)
		defer cancel()
	}
	defer func() {
		// A panicking backend must not take the process down with it.
		if r := recover(); r != nil {
			err = errors.New("metering: recorder panicked")
		}
	}()
	if m.batchRec != nil {
		if err := m.batchRec.RecordBatch(ctx, batch); err != nil {
			return 0, err
		}
		return len(batch), nil
	}
	for i := range batch {
		if err := m.rec.Record(ctx, batch[i]); err != nil {
			return i, err
		}
		n = i + 1
	}
	return len(batch), nil
}
