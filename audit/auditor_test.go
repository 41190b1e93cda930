package audit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/audit"
)

func newAuditor(t *testing.T, sink audit.Sink, opts *audit.Options) *audit.Auditor {
	t.Helper()
	a, err := audit.New(sink, opts)
	if err != nil {
		t.Fatalf("New: got error %v; want nil", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return a
}

func closeAuditor(t *testing.T, a *audit.Auditor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatalf("Close: got error %v; want nil", err)
	}
}

func checkStats(t *testing.T, a *audit.Auditor, want audit.Stats) {
	t.Helper()
	if diff := cmp.Diff(want, a.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func ev(i int) audit.Event {
	return audit.Event{
		Time:      time.Unix(int64(i), 0),
		Action:    audit.ActionAuthFailed,
		Outcome:   audit.OutcomeRefused,
		Reason:    audit.ReasonUnknownKey,
		RequestID: "req-" + strconv.Itoa(i),
	}
}

// stuckSink is a BatchSink whose calls wait until release is closed or
// their context ends. Each call announces itself on entered first, unless
// an announcement is already pending.
type stuckSink struct {
	entered chan struct{}
	release chan struct{}
	audit.MemorySink
}

func newStuckSink() *stuckSink {
	return &stuckSink{entered: make(chan struct{}, 1), release: make(chan struct{}), MemorySink: audit.MemorySink{Max: 1 << 20}}
}

func (s *stuckSink) WriteBatch(ctx context.Context, events []audit.Event) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.MemorySink.WriteBatch(ctx, events)
}

func (s *stuckSink) Write(ctx context.Context, e audit.Event) error {
	return s.WriteBatch(ctx, []audit.Event{e})
}

func (s *stuckSink) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-s.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("sink was never called")
	}
}

// TestEmitDeliversEachEventOnce: every emitted event reaches the sink
// exactly once, and the events of one goroutine in the order emitted.
func TestEmitDeliversEachEventOnce(t *testing.T) {
	const goroutines, each = 8, 1000
	sink := &audit.MemorySink{Max: goroutines * each}
	a := newAuditor(t, sink, &audit.Options{QueueSize: goroutines * each, BatchSize: 64})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				e := ev(i)
				e.Subject = "g" + strconv.Itoa(g)
				a.Emit(e)
			}
		})
	}
	wg.Wait()
	closeAuditor(t, a)
	checkStats(t, a, audit.Stats{Written: goroutines * each})
	next := make(map[string]int)
	for _, e := range sink.Events() {
		if want := "req-" + strconv.Itoa(next[e.Subject]); e.RequestID != want {
			t.Fatalf("goroutine %s: got event %s; want %s (lost, repeated or reordered)", e.Subject, e.RequestID, want)
		}
		next[e.Subject]++
	}
	for g := range goroutines {
		if n := next["g"+strconv.Itoa(g)]; n != each {
			t.Errorf("goroutine %d: sink got %d events; want %d", g, n, each)
		}
	}
}

// TestStuckSinkAddsNoLatency measures Emit while the sink is stuck for good:
// every Emit returns at once, those that find room are queued, the others
// are dropped and counted exactly.
func TestStuckSinkAddsNoLatency(t *testing.T) {
	const queue, batch, emits = 1000, 10, 10_000
	sink := newStuckSink()
	a := newAuditor(t, sink, &audit.Options{QueueSize: queue, BatchSize: batch, MaxWait: time.Hour})
	for i := range batch {
		a.Emit(ev(i))
	}
	sink.waitEntered(t) // the worker holds one batch; the queue is empty

	lat := make([]time.Duration, emits)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range emits {
			e := ev(batch + i)
			start := time.Now()
			a.Emit(e)
			lat[i] = time.Since(start)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Emit blocked behind a stuck sink")
	}
	slices.Sort(lat)
	p50, p99, worst := lat[emits/2], lat[emits*99/100], lat[emits-1]
	t.Logf("Emit latency with a stuck sink over %d calls: p50 %v, p99 %v, max %v", emits, p50, p99, worst)
	// A generous bound, for -race and loaded machines: a stuck sink that
	// added latency would block Emit for good, not for a millisecond.
	if p99 > time.Millisecond {
		t.Errorf("Emit p99 latency with a stuck sink: got %v; want under 1ms", p99)
	}
	checkStats(t, a, audit.Stats{Dropped: emits - queue, Queued: queue})

	// Close gives up on the stuck sink: what was queued or in flight is
	// dropped too, and every Emit is accounted for.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a stuck sink: got error %v; want context.DeadlineExceeded", err)
	}
	checkStats(t, a, audit.Stats{Dropped: batch + emits})
}

// TestDropsCountedExactlyUnderConcurrency fills the queue from many
// goroutines while the sink is stuck: exactly QueueSize events get in.
func TestDropsCountedExactlyUnderConcurrency(t *testing.T) {
	const queue, goroutines, each = 100, 8, 500
	sink := newStuckSink()
	a := newAuditor(t, sink, &audit.Options{QueueSize: queue, BatchSize: 1})
	a.Emit(ev(-1))
	sink.waitEntered(t)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				a.Emit(ev(g*each + i))
			}
		})
	}
	wg.Wait()
	checkStats(t, a, audit.Stats{Dropped: goroutines*each - queue, Queued: queue})
	close(sink.release)
	closeAuditor(t, a)
	checkStats(t, a, audit.Stats{Written: queue + 1, Dropped: goroutines*each - queue})
	if got := sink.Len(); got != queue+1 {
		t.Errorf("sink stored %d events; want %d", got, queue+1)
	}
}

func TestCloseFlushes(t *testing.T) {
	sink := newStuckSink()
	a := newAuditor(t, sink, &audit.Options{BatchSize: 7, MaxWait: time.Hour})
	for i := range 100 {
		a.Emit(ev(i))
	}
	close(sink.release)
	closeAuditor(t, a)
	checkStats(t, a, audit.Stats{Written: 100})
	var got []string
	for _, e := range sink.Events() {
		got = append(got, e.RequestID)
	}
	var want []string
	for i := range 100 {
		want = append(want, "req-"+strconv.Itoa(i))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}
	// After Close, events are dropped and counted.
	a.Emit(ev(100))
	checkStats(t, a, audit.Stats{Written: 100, Dropped: 1})
	if err := a.Close(context.Background()); err != nil {
		t.Errorf("second Close: got error %v; want nil", err)
	}
}

func TestCloseWithCanceledContext(t *testing.T) {
	sink := newStuckSink() // never released
	a := newAuditor(t, sink, &audit.Options{BatchSize: 1})
	for i := range 5 {
		a.Emit(ev(i))
	}
	sink.waitEntered(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error)
	go func() { done <- a.Close(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Close with a canceled context: got error %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close with a canceled context did not return")
	}
	checkStats(t, a, audit.Stats{Dropped: 5})
}

func TestEmitStampsTime(t *testing.T) {
	now := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	var sink audit.MemorySink
	a := newAuditor(t, &sink, &audit.Options{Now: func() time.Time { return now }})
	given := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	a.Emit(audit.Event{RequestID: "stamped"})
	a.Emit(audit.Event{RequestID: "given", Time: given})
	closeAuditor(t, a)
	got := sink.Events()
	if len(got) != 2 || !got[0].Time.Equal(now) || !got[1].Time.Equal(given) {
		t.Errorf("stored events %+v; want times %v then %v", got, now, given)
	}
}

func TestRetriesAndFailureLog(t *testing.T) {
	var (
		calls atomic.Int64
		logs  bytes.Buffer
		sink  audit.MemorySink
	)
	flaky := audit.SinkFunc(func(ctx context.Context, e audit.Event) error {
		if calls.Add(1) <= 2 {
			return errors.New("sink unavailable")
		}
		return sink.Write(ctx, e)
	})
	noSleep := func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	a := newAuditor(t, flaky, &audit.Options{MaxAttempts: 3, Sleep: noSleep, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	a.Emit(ev(0))
	closeAuditor(t, a)
	checkStats(t, a, audit.Stats{Written: 1, Retried: 2})
	if logs.Len() != 0 {
		t.Errorf("log after a successful retry: got %q; want nothing", logs.String())
	}

	panicky := audit.SinkFunc(func(ctx context.Context, e audit.Event) error { panic("bug in sink") })
	b := newAuditor(t, panicky, &audit.Options{MaxAttempts: 2, Sleep: noSleep, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	b.Emit(ev(0))
	b.Emit(ev(1))
	closeAuditor(t, b)
	checkStats(t, b, audit.Stats{Failed: 2, Retried: 1})
	for _, want := range []string{"level=WARN", `msg="audit: sink failed; events lost"`, "events=2", "attempts=2", `error="audit: sink panicked"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log: got %q; want it to contain %s", logs.String(), want)
		}
	}
}

func TestNilAndZeroAuditor(t *testing.T) {
	var a *audit.Auditor
	a.Emit(ev(0)) // must not panic
	if err := a.Close(context.Background()); err != nil {
		t.Errorf("nil Auditor Close: got error %v; want nil", err)
	}
	if got := a.Stats(); got != (audit.Stats{}) {
		t.Errorf("nil Auditor Stats: got %+v; want zero", got)
	}
	var zero audit.Auditor
	zero.Emit(ev(0))
	if err := zero.Close(context.Background()); err != nil {
		t.Errorf("zero Auditor Close: got error %v; want nil", err)
	}
	if got, want := zero.Stats(), (audit.Stats{Dropped: 1}); got != want {
		t.Errorf("zero Auditor Stats: got %+v; want %+v", got, want)
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	var sink audit.MemorySink
	if _, err := audit.New(nil, nil); err == nil {
		t.Error("New(nil sink): got nil error; want an error")
	}
	for name, o := range map[string]audit.Options{
		"negative queue":       {QueueSize: -1},
		"negative batch":       {BatchSize: -1},
		"negative wait":        {MaxWait: -1},
		"negative attempts":    {MaxAttempts: -1},
		"negative backoff":     {InitialBackoff: -1},
		"negative max backoff": {MaxBackoff: -1},
		"negative timeout":     {CallTimeout: -1},
	} {
		if a, err := audit.New(&sink, &o); err == nil {
			a.Close(context.Background())
			t.Errorf("New with %s: got nil error; want an error", name)
		}
	}
}

func BenchmarkEmit(b *testing.B) {
	discard := audit.SinkFunc(func(context.Context, audit.Event) error { return nil })
	a, err := audit.New(discard, &audit.Options{QueueSize: 1 << 16, BatchSize: 1024})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close(context.Background())
	e := fullEvent()
	b.ReportAllocs()
	for b.Loop() {
		a.Emit(e)
	}
	st := a.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "drops/op")
}

// BenchmarkEmitStuckSink measures Emit while the sink never returns: the
// queue fills and every further Emit drops. It reports the p99 latency of
// a sample of calls (timer overhead included).
func BenchmarkEmitStuckSink(b *testing.B) {
	sink := newStuckSink()
	a, err := audit.New(sink, &audit.Options{QueueSize: 1024, BatchSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		close(sink.release)
		a.Close(context.Background())
	}()
	e := fullEvent()
	var hist [1000]int // 100ns buckets up to 100µs; the last one holds the rest
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n%16 == 0 {
			start := time.Now()
			a.Emit(e)
			hist[min(int(time.Since(start)/(100*time.Nanosecond)), len(hist)-1)]++
		} else {
			a.Emit(e)
		}
		n++
	}
	b.ReportMetric(float64(percentile(hist[:], 0.99)*100), "p99-ns")
}

// percentile returns the bucket below which fraction p of the counts lie.
func percentile(hist []int, p float64) int {
	total := 0
	for _, c := range hist {
		total += c
	}
	seen := 0
	for i, c := range hist {
		seen += c
		if float64(seen) >= p*float64(total) {
			return i + 1
		}
	}
	return len(hist)
}

func fullEvent() audit.Event {
	return audit.Event{
		Action: audit.ActionAuthFailed, Outcome: audit.OutcomeRefused, Reason: audit.ReasonRevokedKey,
		ActorKeyID: "key_2b9f", ActorKeyHint: "wk_…x9Qz", Subject: "key_2b9f", Owner: "team-7",
		RequestID: "req-01J9Z3", Time: time.Now(),
	}
}
