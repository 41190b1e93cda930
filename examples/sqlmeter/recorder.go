package sqlmeter

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/wicket-gw/wicket/metering"
)

// Recorder is a metering.Recorder and metering.BatchRecorder that inserts
// one row per event into the wicket_events table. An event whose
// RequestID is already stored is ignored, so the Meter's retries never
// count a request twice: the first delivery wins.
//
// A Recorder is safe for concurrent use. Create one with NewRecorder; the
// zero Recorder is not usable.
type Recorder struct {
	db *sql.DB
}

var (
	_ metering.Recorder      = (*Recorder)(nil)
	_ metering.BatchRecorder = (*Recorder)(nil)
)

// insertEvent inserts one event, unless its request ID is stored already.
const insertEvent = `INSERT INTO wicket_events (
	request_id, key_id, owner, model, served_model, provider, endpoint, stream,
	input_tokens, output_tokens, cached_input_tokens, cache_creation_tokens, reasoning_tokens,
	cost_micros, status, error_class, start_us, latency_ns, ttft_ns, usage_estimated, price_unknown
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (request_id) DO NOTHING`

// NewRecorder returns a Recorder that writes to db, whose tables Migrate
// has created. It returns an error if db is nil.
func NewRecorder(db *sql.DB) (*Recorder, error) {
	if db == nil {
		return nil, errors.New("sqlmeter: new recorder: nil *sql.DB")
	}
	return &Recorder{db: db}, nil
}

// Record stores e, or nothing if an event with its RequestID is stored.
func (r *Recorder) Record(ctx context.Context, e metering.Event) error {
	if _, err := r.db.ExecContext(ctx, insertEvent, eventArgs(e)...); err != nil {
		return fmt.Errorf("sqlmeter: record: %w", err)
	}
	return nil
}

// RecordBatch stores every event of events in one transaction: all of them
// or, with an error, none. Events whose RequestID is stored already,
// or that repeat one earlier in the batch, are skipped. It keeps no
// reference to events.
func (r *Recorder) RecordBatch(ctx context.Context, events []metering.Event) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlmeter: record batch: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	stmt, err := tx.PrepareContext(ctx, insertEvent)
	if err != nil {
		return fmt.Errorf("sqlmeter: record batch: %w", err)
	}
	defer stmt.Close()
	for _, e := range events {
		if _, err := stmt.ExecContext(ctx, eventArgs(e)...); err != nil {
			return fmt.Errorf("sqlmeter: record batch: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlmeter: record batch: %w", err)
	}
	return nil
}

// eventArgs returns the arguments of insertEvent for e. Start is stored
// in Unix microseconds, which covers every year a request can plausibly
// carry, and NULL for the zero time; durations in nanoseconds.
func eventArgs(e metering.Event) []any {
	start := sql.NullInt64{Int64: e.Start.UnixMicro(), Valid: !e.Start.IsZero()}
	return []any{
		e.RequestID, e.KeyID, e.Owner, e.Model, e.ServedModel, e.Provider, e.Endpoint, e.Stream,
		e.Usage.InputTokens, e.Usage.OutputTokens, e.Usage.CachedInputTokens,
		e.Usage.CacheCreationTokens, e.Usage.ReasoningTokens,
		e.CostMicros, e.Status, string(e.ErrorClass), start,
		int64(e.Latency), int64(e.TimeToFirstToken), e.UsageEstimated, e.PriceUnknown,
	}
}
