package sqlmeter_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/examples/sqlmeter"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
)

func TestRecorderConformance(t *testing.T) {
	meteringtest.RunRecorderTests(t, func(t *testing.T) (metering.Recorder, func() []metering.Event) {
		db := openDB(t)
		return newRecorder(t, db), func() []metering.Event { return storedEvents(t, db) }
	})
}

func newRecorder(t *testing.T, db *sql.DB) *sqlmeter.Recorder {
	t.Helper()
	rec, err := sqlmeter.NewRecorder(db)
	if err != nil {
		t.Fatalf("NewRecorder: got error %v; want nil", err)
	}
	return rec
}

// storedEvents reads back every row of wicket_events.
func storedEvents(t *testing.T, db *sql.DB) []metering.Event {
	t.Helper()
	rows, err := db.Query(`SELECT request_id, key_id, owner, model, served_model, provider, endpoint, stream,
		input_tokens, output_tokens, cached_input_tokens, cache_creation_tokens, reasoning_tokens,
		cost_micros, status, error_class, start_us, latency_ns, ttft_ns, usage_estimated, price_unknown
		FROM wicket_events`)
	if err != nil {
		t.Fatalf("reading events: got error %v; want nil", err)
	}
	defer rows.Close()
	var events []metering.Event
	for rows.Next() {
		var (
			e     metering.Event
			start sql.NullInt64
		)
		if err := rows.Scan(&e.RequestID, &e.KeyID, &e.Owner, &e.Model, &e.ServedModel, &e.Provider,
			&e.Endpoint, &e.Stream, &e.Usage.InputTokens, &e.Usage.OutputTokens,
			&e.Usage.CachedInputTokens, &e.Usage.CacheCreationTokens, &e.Usage.ReasoningTokens,
			&e.CostMicros, &e.Status, &e.ErrorClass, &start, &e.Latency, &e.TimeToFirstToken,
			&e.UsageEstimated, &e.PriceUnknown); err != nil {
			t.Fatalf("scanning an event: got error %v; want nil", err)
		}
		if start.Valid {
			e.Start = time.UnixMicro(start.Int64).UTC()
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading events: got error %v; want nil", err)
	}
	return events
}

// costs returns the cost stored for each request ID.
func costs(t *testing.T, db *sql.DB) map[string]int64 {
	t.Helper()
	m := make(map[string]int64)
	for _, e := range storedEvents(t, db) {
		m[e.RequestID] = e.CostMicros
	}
	return m
}

func TestRecordDedupesOnRequestID(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	rec := newRecorder(t, db)
	ev := func(id string, cost int64) metering.Event {
		return metering.Event{RequestID: id, KeyID: "key_1", Model: "gpt-4o", CostMicros: cost, Status: 200}
	}

	if err := rec.Record(ctx, ev("r1", 100)); err != nil {
		t.Fatalf("Record: got error %v; want nil", err)
	}
	// A retry after a lost acknowledgement, or a buggy resend with other
	// numbers: the first delivery wins, without an error.
	if err := rec.Record(ctx, ev("r1", 999)); err != nil {
		t.Fatalf("Record of a stored request ID: got error %v; want nil", err)
	}
	// A batch retried after a partial failure repeats stored events, and
	// may repeat an event within itself.
	batch := []metering.Event{ev("r2", 200), ev("r1", 999), ev("r2", 999), ev("r3", 300)}
	if err := rec.RecordBatch(ctx, batch); err != nil {
		t.Fatalf("RecordBatch with repeated request IDs: got error %v; want nil", err)
	}

	got := costs(t, db)
	want := map[string]int64{"r1": 100, "r2": 200, "r3": 300}
	if len(got) != len(want) {
		t.Fatalf("stored costs: got %v; want %v", got, want)
	}
	for id, c := range want {
		if got[id] != c {
			t.Errorf("cost of %s: got %d; want %d (the first delivery's)", id, got[id], c)
		}
	}
}

func TestRecordBatchIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	rec := newRecorder(t, db)
	// The database refuses one event of the batch, after two others
	// were inserted.
	if _, err := db.Exec(`CREATE TRIGGER refuse_poison BEFORE INSERT ON wicket_events
		WHEN NEW.request_id = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatalf("creating the trigger: got error %v; want nil", err)
	}
	batch := []metering.Event{{RequestID: "a"}, {RequestID: "b"}, {RequestID: "poison"}, {RequestID: "c"}}
	err := rec.RecordBatch(ctx, batch)
	if err == nil {
		t.Fatal("RecordBatch with a refused event: got nil error; want an error")
	}
	if !strings.HasPrefix(err.Error(), "sqlmeter: record batch: ") {
		t.Errorf("RecordBatch error: got %q; want the prefix %q", err, "sqlmeter: record batch: ")
	}
	if n := count(t, db, "wicket_events"); n != 0 {
		t.Fatalf("after a failed batch: got %d events stored; want 0 (all or nothing)", n)
	}

	// The Meter retries the whole batch; without the poison it goes in.
	if err := rec.RecordBatch(ctx, []metering.Event{batch[0], batch[1], batch[3]}); err != nil {
		t.Fatalf("RecordBatch: got error %v; want nil", err)
	}
	if n := count(t, db, "wicket_events"); n != 3 {
		t.Errorf("after the retried batch: got %d events stored; want 3", n)
	}
}

func TestRecorderBehindMeter(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	meter, err := metering.NewMeter(newRecorder(t, db), &metering.MeterOptions{BatchSize: 7})
	if err != nil {
		t.Fatalf("NewMeter: got error %v; want nil", err)
	}
	const n = 50
	for i := range n {
		e := metering.Event{RequestID: "req-" + strings.Repeat("x", i), CostMicros: int64(i), Start: time.Now()}
		if err := meter.Record(ctx, e); err != nil {
			t.Fatalf("Meter.Record: got error %v; want nil", err)
		}
	}
	if err := meter.Close(ctx); err != nil {
		t.Fatalf("Meter.Close: got error %v; want nil", err)
	}
	if st := meter.Stats(); st.Recorded != n || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("Meter.Stats: got %+v; want %d recorded, none failed or dropped", st, n)
	}
	if got := count(t, db, "wicket_events"); got != n {
		t.Errorf("stored %d events; want %d", got, n)
	}
}
