package metering_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
)

// gateRecorder is a BatchRecorder whose calls wait until release is closed.
// Each call announces itself on entered first, unless an announcement is
// already pending.
type gateRecorder struct {
	entered chan struct{}
	release chan struct{}
	meteringtest.Recorder
}

func newGateRecorder() *gateRecorder {
	return &gateRecorder{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (g *gateRecorder) RecordBatch(ctx context.Context, events []metering.Event) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Recorder.RecordBatch(ctx, events)
}

func (g *gateRecorder) Record(ctx context.Context, e metering.Event) error {
	return g.RecordBatch(ctx, []metering.Event{e})
}

// waitEntered waits until a recorder call is under way.
func (g *gateRecorder) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("recorder was never called")
	}
}

func newMeter(t *testing.T, rec metering.Recorder, opts *metering.MeterOptions) *metering.Meter {
	t.Helper()
	m, err := metering.NewMeter(rec, opts)
	if err != nil {
		t.Fatalf("NewMeter: got error %v; want nil", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	return m
}

func closeMeter(t *testing.T, m *metering.Meter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: got error %v; want nil", err)
	}
}

func event(i int) metering.Event {
	return metering.Event{RequestID: "req-" + strconv.Itoa(i), Usage: metering.Usage{InputTokens: int64(i)}}
}

func checkStats(t *testing.T, m *metering.Meter, want metering.MeterStats) {
	t.Helper()
	if diff := cmp.Diff(want, m.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func TestMeterCloseDeliversEverything(t *testing.T) {
	const n = 100_000
	var (
		mu     sync.Mutex
		seen   = make([]bool, n)
		dups   int
		gate   = make(chan struct{})
		tokens = make(chan struct{})
		stop   = make(chan struct{})
	)
	// A slow recorder: the first call waits until everything is queued,
	// and every call waits for a token from a feeder goroutine.
	rec := batchFunc(func(ctx context.Context, events []metering.Event) error {
		<-gate
		<-tokens
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			if seen[e.Usage.InputTokens] {
				dups++
			}
			seen[e.Usage.InputTokens] = true
		}
		return nil
	})
	go func() {
		for {
			select {
			case tokens <- struct{}{}:
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)
	m := newMeter(t, rec, &metering.MeterOptions{QueueSize: n, BatchSize: 500, Overflow: metering.OverflowDrop})
	ctx := context.Background()
	for i := range n {
		if err := m.Record(ctx, event(i)); err != nil {
			t.Fatalf("Record(%d): got error %v; want nil", i, err)
		}
	}
	close(gate)
	closeMeter(t, m)
	missing := 0
	for _, ok := range seen {
		if !ok {
			missing++
		}
	}
	if missing != 0 || dups != 0 {
		t.Errorf("after Close: %d events missing, %d delivered twice; want 0 and 0", missing, dups)
	}
	checkStats(t, m, metering.MeterStats{Recorded: n})
}

// batchFunc is a BatchRecorder from a function.
type batchFunc func(ctx context.Context, events []metering.Event) error

func (f batchFunc) RecordBatch(ctx context.Context, events []metering.Event) error {
	return f(ctx, events)
}

func (f batchFunc) Record(ctx context.Context, e metering.Event) error {
	return f(ctx, []metering.Event{e})
}

func TestMeterDropCountsExactly(t *testing.T) {
	const queue, extra = 50, 37
	rec := newGateRecorder()
	m := newMeter(t, rec, &metering.MeterOptions{QueueSize: queue, BatchSize: 1, Overflow: metering.OverflowDrop})
	ctx := context.Background()
	if err := m.Record(ctx, event(0)); err != nil {
		t.Fatalf("Record: got error %v; want nil", err)
	}
	rec.waitEntered(t) // the worker holds event 0; the queue is empty
	for i := 1; i <= queue; i++ {
		if err := m.Record(ctx, event(i)); err != nil {
			t.Fatalf("Record(%d) into a queue with room: got error %v; want nil", i, err)
		}
	}
	for i := range extra {
		if err := m.Record(ctx, event(1000+i)); !errors.Is(err, metering.ErrQueueFull) {
			t.Fatalf("Record into a full queue: got error %v; want ErrQueueFull", err)
		}
	}
	checkStats(t, m, metering.MeterStats{Dropped: extra, Queued: queue})
	close(rec.release)
	closeMeter(t, m)
	checkStats(t, m, metering.MeterStats{Recorded: queue + 1, Dropped: extra})
	if got := rec.Len(); got != queue+1 {
		t.Errorf("recorder stored %d events; want %d", got, queue+1)
	}
}

func TestMeterBlockWaitsForRoom(t *testing.T) {
	rec := newGateRecorder()
	m := newMeter(t, rec, &metering.MeterOptions{QueueSize: 1, BatchSize: 1, BlockTimeout: time.Millisecond})
	ctx := context.Background()
	if err := m.Record(ctx, event(0)); err != nil {
		t.Fatalf("Record: got error %v; want nil", err)
	}
	rec.waitEntered(t)
	if err := m.Record(ctx, event(1)); err != nil {
		t.Fatalf("Record into a queue with room: got error %v; want nil", err)
	}
	// The queue is full. A short wait gives up...
	if err := m.Record(ctx, event(2)); !errors.Is(err, metering.ErrQueueFull) {
		t.Errorf("Record after BlockTimeout: got error %v; want ErrQueueFull", err)
	}
	// ...and so does a done context, at once.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Record(cctx, event(3)); !errors.Is(err, metering.ErrQueueFull) || !errors.Is(err, context.Canceled) {
		t.Errorf("Record with a canceled context: got error %v; want ErrQueueFull and context.Canceled", err)
	}
	checkStats(t, m, metering.MeterStats{Dropped: 2, Queued: 1})

	// A patient Record gets in once the recorder moves on.
	m2rec := newGateRecorder()
	m2 := newMeter(t, m2rec, &metering.MeterOptions{QueueSize: 1, BatchSize: 1, BlockTimeout: time.Minute})
	if err := m2.Record(ctx, event(0)); err != nil {
		t.Fatalf("Record: got error %v; want nil", err)
	}
	m2rec.waitEntered(t)
	if err := m2.Record(ctx, event(1)); err != nil {
		t.Fatalf("Record: got error %v; want nil", err)
	}
	done := make(chan error)
	go func() { done <- m2.Record(ctx, event(2)) }()
	close(m2rec.release)
	if err := <-done; err != nil {
		t.Errorf("blocked Record: got error %v; want nil once room was made", err)
	}
	closeMeter(t, m2)
	checkStats(t, m2, metering.MeterStats{Recorded: 3})
	close(rec.release)
}

// failing is a BatchRecorder that fails its first failures calls.
type failing struct {
	failures int
	calls    atomic.Int64
	meteringtest.Recorder
}

func (f *failing) RecordBatch(ctx context.Context, events []metering.Event) error {
	if f.calls.Add(1) <= int64(f.failures) {
		return errors.New("backend unavailable")
	}
	return f.Recorder.RecordBatch(ctx, events)
}

// sleeps records the waits asked of an injected Sleep, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func TestMeterRetriesWithBackoff(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name        string
		failures    int
		maxAttempts int
		maxBackoff  time.Duration
		wantSleeps  []time.Duration
		wantStats   metering.MeterStats
	}{
		{"success first", 0, 5, time.Second, nil, metering.MeterStats{Recorded: 3}},
		{"success after 3 failures", 3, 5, time.Second,
			[]time.Duration{100 * ms, 200 * ms, 400 * ms}, metering.MeterStats{Recorded: 3, Retried: 3}},
		{"backoff capped", 4, 5, 250 * ms,
			[]time.Duration{100 * ms, 200 * ms, 250 * ms, 250 * ms}, metering.MeterStats{Recorded: 3, Retried: 4}},
		{"gives up", 100, 4, time.Second,
			[]time.Duration{100 * ms, 200 * ms, 400 * ms}, metering.MeterStats{Failed: 3, Retried: 3}},
		{"no retry", 100, 1, time.Second, nil, metering.MeterStats{Failed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &failing{failures: tc.failures}
			var s sleeps
			var logs bytes.Buffer
			m := newMeter(t, rec, &metering.MeterOptions{
				BatchSize:      3,
				MaxAttempts:    tc.maxAttempts,
				InitialBackoff: 100 * ms,
				MaxBackoff:     tc.maxBackoff,
				Sleep:          s.sleep,
				Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
			})
			for i := range 3 {
				if err := m.Record(context.Background(), event(i)); err != nil {
					t.Fatalf("Record: got error %v; want nil", err)
				}
			}
			closeMeter(t, m)
			if diff := cmp.Diff(tc.wantSleeps, s.get()); diff != "" {
				t.Errorf("backoff sleeps (-want +got):\n%s", diff)
			}
			checkStats(t, m, tc.wantStats)
			if got := uint64(rec.Len()); got != tc.wantStats.Recorded {
				t.Errorf("recorder stored %d events; want %d", got, tc.wantStats.Recorded)
			}
			if gaveUp := tc.wantStats.Failed > 0; gaveUp != strings.Contains(logs.String(), "events=3") {
				t.Errorf("log: got %q; want a warning with events=3 only if the batch failed", logs.String())
			}
		})
	}
}

func TestMeterPlainRecorderResumesAfterFailure(t *testing.T) {
	var (
		rec   meteringtest.Recorder
		calls atomic.Int64
		s     sleeps
	)
	plain := metering.RecorderFunc(func(ctx context.Context, e metering.Event) error {
		if calls.Add(1) == 3 { // the third event fails once
			return errors.New("hiccup")
		}
		return rec.Record(ctx, e)
	})
	m := newMeter(t, plain, &metering.MeterOptions{BatchSize: 5, Sleep: s.sleep})
	for i := range 5 {
		if err := m.Record(context.Background(), event(i)); err != nil {
			t.Fatalf("Record: got error %v; want nil", err)
		}
	}
	closeMeter(t, m)
	checkStats(t, m, metering.MeterStats{Recorded: 5, Retried: 1})
	var got []string
	for _, e := range rec.Events() {
		got = append(got, e.RequestID)
	}
	if diff := cmp.Diff([]string{"req-0", "req-1", "req-2", "req-3", "req-4"}, got); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}
}

func TestMeterMaxWaitFlushesPartialBatch(t *testing.T) {
	got := make(chan int, 1)
	rec := batchFunc(func(ctx context.Context, events []metering.Event) error {
		got <- len(events)
		return nil
	})
	m := newMeter(t, rec, &metering.MeterOptions{BatchSize: 100, MaxWait: 5 * time.Millisecond})
	for i := range 3 {
		if err := m.Record(context.Background(), event(i)); err != nil {
			t.Fatalf("Record: got error %v; want nil", err)
		}
	}
	select {
	case n := <-got:
		if n != 3 {
			t.Errorf("first batch had %d events; want 3", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("partial batch was not delivered after MaxWait")
	}
}

func TestMeterCloseDeadline(t *testing.T) {
	rec := newGateRecorder() // never released: calls end only when cancelled
	m := newMeter(t, rec, &metering.MeterOptions{BatchSize: 1})
	for i := range 10 {
		if err := m.Record(context.Background(), event(i)); err != nil {
			t.Fatalf("Record: got error %v; want nil", err)
		}
	}
	rec.waitEntered(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with a done context: got error %v; want context.Canceled", err)
	}
	checkStats(t, m, metering.MeterStats{Dropped: 10})
	if err := m.Record(context.Background(), event(10)); !errors.Is(err, metering.ErrClosed) {
		t.Errorf("Record after Close: got error %v; want ErrClosed", err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("second Close: got error %v; want nil", err)
	}
	checkStats(t, m, metering.MeterStats{Dropped: 11})
}

func TestMeterConcurrentRecordAndClose(t *testing.T) {
	var rec meteringtest.Recorder
	m := newMeter(t, &rec, &metering.MeterOptions{QueueSize: 64, BatchSize: 16, BlockTimeout: time.Minute})
	const goroutines, each = 8, 500
	var (
		wg       sync.WaitGroup
		accepted atomic.Uint64
		started  = make(chan struct{}, goroutines)
	)
	for g := range goroutines {
		wg.Go(func() {
			started <- struct{}{}
			for i := range each {
				err := m.Record(context.Background(), event(g*each+i))
				switch {
				case err == nil:
					accepted.Add(1)
				case !errors.Is(err, metering.ErrClosed):
					t.Errorf("Record: got error %v; want nil or ErrClosed", err)
				}
			}
		})
	}
	for range goroutines {
		<-started
	}
	closeMeter(t, m)
	wg.Wait()
	st := m.Stats()
	if st.Recorded != accepted.Load() || st.Recorded+st.Dropped != goroutines*each || st.Failed != 0 {
		t.Errorf("Stats: got %+v with %d accepted; want Recorded = accepted and Recorded+Dropped = %d",
			st, accepted.Load(), goroutines*each)
	}
	if got := uint64(rec.Len()); got != st.Recorded {
		t.Errorf("recorder stored %d events; want %d", got, st.Recorded)
	}
}

func TestMeterCallTimeout(t *testing.T) {
	rec := newGateRecorder() // never released
	var s sleeps
	m := newMeter(t, rec, &metering.MeterOptions{CallTimeout: time.Millisecond, MaxAttempts: 2, Sleep: s.sleep})
	if err := m.Record(context.Background(), event(0)); err != nil {
		t.Fatalf("Record: got error %v; want nil", err)
	}
	closeMeter(t, m)
	checkStats(t, m, metering.MeterStats{Failed: 1, Retried: 1})
}

func TestMeterRecorderPanic(t *testing.T) {
	var s sleeps
	rec := metering.RecorderFunc(func(ctx context.Context, e metering.Event) error { panic("bug in backend") })
	m := newMeter(t, rec, &metering.MeterOptions{MaxAttempts: 2, Sleep: s.sleep})
	if err := m.Record(context.Background(), event(0)); err != nil {
		t.Fatalf("Record: got error %v; want nil", err)
	}
	closeMeter(t, m)
	checkStats(t, m, metering.MeterStats{Failed: 1, Retried: 1})
}

func TestMeterCutsLongIdentifiers(t *testing.T) {
	var rec meteringtest.Recorder
	m := newMeter(t, &rec, nil)
	long := strings.Repeat("é", metering.MaxIDLen) // 2 bytes a rune
	e := metering.Event{RequestID: "r", Model: long, ErrorClass: metering.ErrorClass(long)}
	if err := m.Record(context.Background(), e); err != nil {
		t.Fatalf("Record: got error %v; want nil", err)
	}
	closeMeter(t, m)
	got := rec.Events()[0]
	want := strings.Repeat("é", metering.MaxIDLen/2)
	if got.Model != want || string(got.ErrorClass) != want || got.RequestID != "r" {
		t.Errorf("stored identifiers of %d, %d and %d bytes; want %d, %d and 1",
			len(got.Model), len(got.ErrorClass), len(got.RequestID), len(want), len(want))
	}
}

func TestNilMeter(t *testing.T) {
	var m *metering.Meter
	if err := m.Record(context.Background(), event(0)); err != nil {
		t.Errorf("nil Meter Record: got error %v; want nil", err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("nil Meter Close: got error %v; want nil", err)
	}
	if got := m.Stats(); got != (metering.MeterStats{}) {
		t.Errorf("nil Meter Stats: got %+v; want zero", got)
	}
	var zero metering.Meter
	if err := zero.Record(context.Background(), event(0)); !errors.Is(err, metering.ErrClosed) {
		t.Errorf("zero Meter Record: got error %v; want ErrClosed", err)
	}
	if err := zero.Close(context.Background()); err != nil {
		t.Errorf("zero Meter Close: got error %v; want nil", err)
	}
}

func TestNewMeterRejectsInvalidOptions(t *testing.T) {
	var rec meteringtest.Recorder
	if _, err := metering.NewMeter(nil, nil); err == nil {
		t.Error("NewMeter(nil recorder): got nil error; want an error")
	}
	for name, o := range map[string]metering.MeterOptions{
		"negative queue":     {QueueSize: -1},
		"negative batch":     {BatchSize: -1},
		"negative wait":      {MaxWait: -1},
		"negative attempts":  {MaxAttempts: -1},
		"negative backoff":   {InitialBackoff: -1},
		"unknown overflow":   {Overflow: 7},
		"negative block":     {BlockTimeout: -1},
		"negative timeout":   {CallTimeout: -1},
		"negative max delay": {MaxBackoff: -1},
	} {
		if m, err := metering.NewMeter(&rec, &o); err == nil {
			m.Close(context.Background())
			t.Errorf("NewMeter with %s: got nil error; want an error", name)
		}
	}
}

func BenchmarkMeterRecord(b *testing.B) {
	rec := batchFunc(func(ctx context.Context, events []metering.Event) error { return nil })
	m, err := metering.NewMeter(rec, &metering.MeterOptions{QueueSize: 1 << 16, BatchSize: 1024})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close(context.Background())
	ctx := context.Background()
	e := metering.Event{
		RequestID: "req-01J9Z3", KeyID: "key_2b9f", Owner: "team-7", Model: "gpt-4o",
		ServedModel: "gpt-4o-2024-08-06", Provider: "openai", Endpoint: "/v1/chat/completions",
		Usage: metering.Usage{InputTokens: 1200, OutputTokens: 340}, CostMicros: 6400, Status: 200,
		Start: time.Now(), Latency: 900 * time.Millisecond,
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Record(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}
