package asyncq

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// The defaults the wrapping packages (metering.Meter, audit.Auditor)
// document for their zero options.
const (
	DefaultSize           = 10_000
	DefaultBatchSize      = 100
	DefaultMaxWait        = time.Second
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
)

// WithDefaults returns o with each zero field among Size, BatchSize,
// MaxWait, MaxAttempts, InitialBackoff and MaxBackoff set to its default.
func (o Options[T]) WithDefaults() Options[T] {
	o.Size = orDefault(o.Size, DefaultSize)
	o.BatchSize = orDefault(o.BatchSize, DefaultBatchSize)
	o.MaxWait = orDefault(o.MaxWait, DefaultMaxWait)
	o.MaxAttempts = orDefault(o.MaxAttempts, DefaultMaxAttempts)
	o.InitialBackoff = orDefault(o.InitialBackoff, DefaultInitialBackoff)
	o.MaxBackoff = orDefault(o.MaxBackoff, DefaultMaxBackoff)
	return o
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// FailureLogger returns an Options.OnFailure that warns on logger, with
// msg, how many items were lost after how many attempts and why; a backend
// that panicked is named by panicked rather than ErrPanicked. It returns
// nil for a nil logger.
func FailureLogger(logger *slog.Logger, msg string, panicked error) func(ctx context.Context, lost, attempts int, err error) {
	if logger == nil {
		return nil
	}
	return func(ctx context.Context, lost, attempts int, err error) {
		if errors.Is(err, ErrPanicked) {
			err = panicked
		}
		logger.LogAttrs(ctx, slog.LevelWarn, msg,
			slog.Int("events", lost),
			slog.Int("attempts", attempts),
			slog.String("error", err.Error()))
	}
}
