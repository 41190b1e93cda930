package asyncq

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by TryPut and Put. Each means the item was dropped and
// counted in Stats.Dropped.
var (
	// ErrFull reports that the queue had no room (TryPut), or still had none
	// when the wait ended (Put).
	ErrFull = errors.New("asyncq: queue full")
	// ErrClosed reports that the queue was closed, or never started.
	ErrClosed = errors.New("asyncq: queue closed")
	// ErrPanicked is the error a delivery that panicked is retried and
	// reported with.
	ErrPanicked = errors.New("asyncq: delivery panicked")
)

// Stats counts what a Queue did with the items given to it. Once Close has
// returned, Delivered+Failed+Dropped equals the number of TryPut and Put
// calls. It is a plain value, a snapshot.
type Stats struct {
	// Delivered counts items the backend accepted.
	Delivered uint64
	// Retried counts backend calls repeated after a failure.
	Retried uint64
	// Dropped counts items refused by TryPut or Put (queue full, queue
	// closed) plus items still queued or in delivery when Close gave up.
	Dropped uint64
	// Failed counts items the backend still refused after MaxAttempts.
	Failed uint64
	// Queued is the number of items waiting in the queue now, not counting
	// the batch being delivered.
	Queued int
}

// Queue is a bounded queue in front of a backend, drained by one worker
// goroutine. It is safe for concurrent use.
//
// The zero Queue is closed: TryPut and Put refuse every item with ErrClosed
// (counting it as dropped), Close returns nil and Stats counts the drops.
// Start makes it deliver. A Queue must not be copied after first use; the
// packages that wrap it keep it as a field of their own type.
type Queue[T any] struct {
	ch          chan T
	full        chan struct{} // a pending wake-up of the worker (see nudge)
	wakeAt      atomic.Int64  // the queue length at which a put wakes the worker (see run)
	write       func(context.Context, T) error
	writeBatch  func(context.Context, []T) error
	onFailure   func(ctx context.Context, lost, attempts int, err error)
	batchSize   int
	maxWait     time.Duration
	maxAttempts int
	initBackoff time.Duration
	maxBackoff  time.Duration
	callTimeout time.Duration
	sleep       func(context.Context, time.Duration) error

	// ctx is the context of backend calls; cancel aborts them when Close
	// gives up.
	ctx    context.Context
	cancel context.CancelFunc

	closeOnce sync.Once
	stop      chan struct{} // closed once no put can send any more
	done      chan struct{} // closed when the worker has returned

	delivered atomic.Uint64
	retried   atomic.Uint64
	dropped   atomic.Uint64
	failed    atomic.Uint64

	// mu is held for reading by a put while it may send on ch, and for
	// writing by Close to set closed, so that no send can follow the final
	// drain.
	mu     sync.RWMutex
	closed bool
}

// Start configures a zero Queue with o and starts its worker goroutine;
// Close stops it. Call Start once, before any other method; it returns an
// error, and starts nothing, if o is invalid or the queue was already
// started.
func (q *Queue[T]) Start(o Options[T]) error {
	if q.done != nil {
		return errors.New("asyncq: queue already started")
	}
	if err := o.validate(); err != nil {
		return err
	}
	q.ch = make(chan T, o.Size)
	q.full = make(chan struct{}, 1)
	q.wakeAt.Store(int64(min(o.BatchSize, o.Size)))
	q.write, q.writeBatch, q.onFailure = o.Write, o.WriteBatch, o.OnFailure
	q.batchSize, q.maxWait, q.maxAttempts = o.BatchSize, o.MaxWait, o.MaxAttempts
	q.initBackoff, q.maxBackoff, q.callTimeout = o.InitialBackoff, o.MaxBackoff, o.CallTimeout
	q.sleep = o.Sleep
	if q.sleep == nil {
		q.sleep = sleepTimer
	}
	q.stop = make(chan struct{})
	q.done = make(chan struct{})
	q.ctx, q.cancel = context.WithCancel(context.Background())
	go q.run()
	return nil
}

// TryPut queues v if there is room and returns at once: nil, ErrFull or
// ErrClosed. It does not allocate.
func (q *Queue[T]) TryPut(v T) error {
	q.mu.RLock()
	if q.closed || q.ch == nil {
		q.mu.RUnlock()
		q.dropped.Add(1)
		return ErrClosed
	}
	select {
	case q.ch <- v:
		q.nudge()
		q.mu.RUnlock()
		return nil
	default:
	}
	q.mu.RUnlock()
	q.dropped.Add(1)
	return ErrFull
}

// Put queues v, waiting for room until wait has passed or ctx is done. It
// returns nil, ErrClosed, ErrFull when the wait ran out, or ctx's error
// when ctx ended it (at once if ctx is already done and the queue full).
// ctx only bounds the wait; the item outlives it. Put does not allocate
// when the queue has room.
func (q *Queue[T]) Put(ctx context.Context, v T, wait time.Duration) error {
	q.mu.RLock()
	if q.closed || q.ch == nil {
		q.mu.RUnlock()
		q.dropped.Add(1)
		return ErrClosed
	}
	select {
	case q.ch <- v:
		q.nudge()
		q.mu.RUnlock()
		return nil
	default:
	}
	err := q.waitLocked(ctx, v, wait)
	q.mu.RUnlock()
	if err != nil {
		q.dropped.Add(1)
	}
	return err
}

// waitLocked sends v on a full queue. q.mu is held for reading.
func (q *Queue[T]) waitLocked(ctx context.Context, v T, wait time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case q.ch <- v:
		q.nudge()
		return nil
	case <-t.C:
		return ErrFull
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting items, delivers every item still queued, and stops
// the worker. If ctx is done first, Close cancels the backend call in
// progress and any retry, counts the items not yet delivered as dropped,
// waits for the worker to return (a backend that honors its context returns
// promptly), and returns ctx's error.
//
// Close may be called more than once and concurrently; every call waits for
// the same shutdown. Puts blocked on a full queue when Close starts finish
// (delivered or dropped) before the final drain.
func (q *Queue[T]) Close(ctx context.Context) error {
	if q.done == nil {
		return nil
	}
	q.closeOnce.Do(func() {
		// Taking the write lock waits for puts blocked on a full queue; the
		// worker keeps draining meanwhile, so they finish. The lock is taken
		// on its own goroutine so that Close can honor ctx.
		go func() {
			q.mu.Lock()
			q.closed = true
			q.mu.Unlock()
			close(q.stop)
		}()
	})
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
	}
	q.cancel()
	<-q.done
	return ctx.Err()
}

// Stats returns the queue's counters. It is safe to call at any time.
func (q *Queue[T]) Stats() Stats {
	return Stats{
		Delivered: q.delivered.Load(),
		Retried:   q.retried.Load(),
		Dropped:   q.dropped.Load(),
		Failed:    q.failed.Load(),
		Queued:    len(q.ch),
	}
}
