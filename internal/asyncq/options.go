package asyncq

import (
	"context"
	"errors"
	"time"
)

// Options configures a Queue. Unlike the options of the packages that wrap
// a Queue, Options has no defaults: every size and wait must be given, and
// Start refuses a value out of range.
type Options[T any] struct {
	// Size is how many items may wait for the worker; at least 1. At most
	// Size+BatchSize items are held at once: the queue plus the batch being
	// delivered.
	Size int
	// BatchSize is the most items handed to the backend at once; at least 1.
	BatchSize int
	// MaxWait is the longest an item waits for its batch to fill; more than
	// zero.
	MaxWait time.Duration
	// MaxAttempts is how many times a failing batch is tried, the first try
	// included, before its items are counted as failed; at least 1.
	MaxAttempts int
	// InitialBackoff is the wait before the first retry; each further retry
	// waits twice as long, up to MaxBackoff. Zero retries at once.
	InitialBackoff time.Duration
	// MaxBackoff caps the wait between retries.
	MaxBackoff time.Duration
	// CallTimeout bounds each WriteBatch call, or each batch's run of Write
	// calls. Zero means no bound other than Close's deadline.
	CallTimeout time.Duration
	// Sleep waits d between retries, returning early with ctx's error when
	// ctx is done. If nil, a timer is used.
	Sleep func(ctx context.Context, d time.Duration) error

	// WriteBatch delivers a batch in one call: all its items or none. It
	// must not keep the slice, which the worker reuses. If nil, Write is
	// called once per item.
	WriteBatch func(ctx context.Context, batch []T) error
	// Write delivers one item. It is used when WriteBatch is nil; a batch
	// whose Write fails part way is retried from the item that failed.
	Write func(ctx context.Context, item T) error

	// OnFailure is called by the worker when lost items are given up for
	// good after attempts tries, the last failing with err. If nil, nothing
	// is called. It must not block for long.
	OnFailure func(ctx context.Context, lost, attempts int, err error)
}

// validate reports an option out of range.
func (o *Options[T]) validate() error {
	switch {
	case o.WriteBatch == nil && o.Write == nil:
		return errors.New("asyncq: no Write or WriteBatch function")
	case o.Size < 1:
		return errors.New("asyncq: Size below 1")
	case o.BatchSize < 1:
		return errors.New("asyncq: BatchSize below 1")
	case o.MaxWait <= 0:
		return errors.New("asyncq: MaxWait not positive")
	case o.MaxAttempts < 1:
		return errors.New("asyncq: MaxAttempts below 1")
	case o.InitialBackoff < 0 || o.MaxBackoff < 0 || o.CallTimeout < 0:
		return errors.New("asyncq: negative duration")
	}
	return nil
}

// sleepTimer is the default Options.Sleep.
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
