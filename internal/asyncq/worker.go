package asyncq

import (
	"context"
	"time"
)

// run is the worker: it gathers items into batches and delivers them.
//
// It is woken once per batch, not once per item: idle, it waits for an
// item; with a partial batch, it sleeps until the batch's MaxWait has passed
// or a put finds what the batch lacks queued (see nudge), then takes what is
// queued. A request's put therefore wakes no goroutine while a batch is
// filling, which on a busy gateway is nearly always.
func (q *Queue[T]) run() {
	defer close(q.done)
	defer q.cancel()
	batch := make([]T, 0, q.batchSize)
	flush := func() {
		q.deliver(batch)
		clear(batch) // let go of what the items point to
		batch = batch[:0]
	}
	// take moves what is queued into the batch, delivering each full one.
	take := func() {
		for {
			select {
			case v := <-q.ch:
				batch = append(batch, v)
				if len(batch) >= q.batchSize {
					flush()
				}
			default:
				return
			}
		}
	}
	timer := time.NewTimer(q.maxWait)
	timer.Stop()
	defer timer.Stop()
	for {
		if len(batch) == 0 {
			select {
			case v := <-q.ch:
				batch = append(batch, v)
				if len(batch) >= q.batchSize {
					flush()
					continue
				}
				timer.Reset(q.maxWait)
			case <-q.stop:
				take() // no put can send any more: deliver what is left
				if len(batch) > 0 {
					flush()
				}
				return
			}
			continue
		}
		// Sleep until the batch could be full: a put wakes the worker once
		// the queue holds what the batch lacks (or the queue is full). A
		// put that came before the new threshold was set is seen here.
		need := min(q.batchSize-len(batch), cap(q.ch))
		q.wakeAt.Store(int64(need))
		if len(q.ch) >= need {
			take()
			if len(batch) == 0 {
				timer.Stop()
			}
			continue
		}
		select {
		case <-timer.C:
			take()
			if len(batch) > 0 {
				flush()
			}
		case <-q.full:
			take()
			if len(batch) == 0 {
				timer.Stop()
			}
		case <-q.stop:
			timer.Stop()
			take()
			if len(batch) > 0 {
				flush()
			}
			return
		}
	}
}

// nudge wakes the worker when the queue holds what the worker's batch
// lacks (or is full, for a queue smaller than that), so that it need not
// wait out MaxWait. It is called after each put.
func (q *Queue[T]) nudge() {
	if int64(len(q.ch)) >= q.wakeAt.Load() {
		select {
		case q.full <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// deliver hands batch to the backend, retrying with backoff, and counts
// every item of it once: delivered, failed or dropped.
func (q *Queue[T]) deliver(batch []T) {
	attempt := 1
	backoff := min(q.initBackoff, q.maxBackoff)
	for len(batch) > 0 {
		if q.ctx.Err() != nil {
			q.dropped.Add(uint64(len(batch)))
			return
		}
		n, err := q.send(batch)
		q.delivered.Add(uint64(n))
		batch = batch[n:]
		if err == nil {
			return
		}
		if q.ctx.Err() != nil {
			q.dropped.Add(uint64(len(batch)))
			return
		}
		if n > 0 { // progress: the remaining items get a fresh set of attempts
			attempt = 1
			backoff = min(q.initBackoff, q.maxBackoff)
		}
		if attempt >= q.maxAttempts {
			q.failed.Add(uint64(len(batch)))
			if q.onFailure != nil {
				q.onFailure(q.ctx, len(batch), attempt, err)
			}
			return
		}
		if q.sleep(q.ctx, backoff) != nil {
			q.dropped.Add(uint64(len(batch)))
			return
		}
		q.retried.Add(1)
		attempt++
		if backoff > q.maxBackoff/2 {
			backoff = q.maxBackoff
		} else {
			backoff *= 2
		}
	}
}

// send makes one backend call for batch (or one per item without
// WriteBatch) and reports how many items, from the start, were delivered.
func (q *Queue[T]) send(batch []T) (n int, err error) {
	ctx := q.ctx
	if q.callTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, q.callTimeout)
		defer cancel()
	}
	defer func() {
		// A panicking backend must not take the process down with it.
		if r := recover(); r != nil {
			err = ErrPanicked
		}
	}()
	if q.writeBatch != nil {
		if err := q.writeBatch(ctx, batch); err != nil {
			return 0, err
		}
		return len(batch), nil
	}
	for i := range batch {
		if err := q.write(ctx, batch[i]); err != nil {
			return i, err
		}
		n = i + 1
	}
	return len(batch), nil
}
