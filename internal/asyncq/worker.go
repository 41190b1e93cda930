package asyncq

import (
	"context"
	"time"
)

// run is the worker: it gathers items into batches and delivers them.
func (q *Queue[T]) run() {
	defer close(q.done)
	defer q.cancel()
	batch := make([]T, 0, q.batchSize)
	flush := func() {
		q.deliver(batch)
		clear(batch) // let go of what the items point to
		batch = batch[:0]
	}
	timer := time.NewTimer(q.maxWait)
	timer.Stop()
	defer timer.Stop()
	var timerC <-chan time.Time // nil while no partial batch waits
	for {
		select {
		case v := <-q.ch:
			batch = append(batch, v)
			if len(batch) >= q.batchSize {
				timer.Stop()
				timerC = nil
				flush()
			} else if len(batch) == 1 {
				timer.Reset(q.maxWait)
				timerC = timer.C
			}
		case <-timerC:
			timerC = nil
			flush()
		case <-q.stop:
			// No put can send any more: drain what is left.
			for {
				select {
				case v := <-q.ch:
					batch = append(batch, v)
					if len(batch) >= q.batchSize {
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
