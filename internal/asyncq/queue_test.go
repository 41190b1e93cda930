package asyncq

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sink is a test backend that keeps what it is given. If gate is not nil,
// each call announces itself on entered (unless an announcement is pending)
// and waits for gate to be closed or its context to end.
type sink struct {
	gate    chan struct{}
	entered chan struct{}

	// mu guards items and batches.
	mu      sync.Mutex
	items   []int
	batches []int
}

func newSink(gated bool) *sink {
	s := &sink{entered: make(chan struct{}, 1)}
	if gated {
		s.gate = make(chan struct{})
	}
	return s
}

func (s *sink) writeBatch(ctx context.Context, batch []int) error {
	if s.gate != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, batch...)
	s.batches = append(s.batches, len(batch))
	return nil
}

func (s *sink) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-s.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("backend was never called")
	}
}

func (s *sink) got() (items, batches []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.items...), append([]int(nil), s.batches...)
}

// opts returns valid options that never flush a partial batch on their own
// and deliver to s.
func opts(s *sink, size, batch int) Options[int] {
	return Options[int]{
		Size: size, BatchSize: batch, MaxWait: time.Hour, MaxAttempts: 1,
		WriteBatch: s.writeBatch,
	}
}

func start(t *testing.T, o Options[int]) *Queue[int] {
	t.Helper()
	q := new(Queue[int])
	if err := q.Start(o); err != nil {
		t.Fatalf("Start: got error %v; want nil", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q.Close(ctx)
	})
	return q
}

func closeQueue(t *testing.T, q *Queue[int]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		t.Fatalf("Close: got error %v; want nil", err)
	}
}

func checkStats(t *testing.T, q *Queue[int], want Stats) {
	t.Helper()
	if diff := cmp.Diff(want, q.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func TestOrderAndBatching(t *testing.T) {
	s := newSink(false)
	q := start(t, opts(s, 100, 4))
	for i := range 10 {
		if err := q.TryPut(i); err != nil {
			t.Fatalf("TryPut(%d): got error %v; want nil", i, err)
		}
	}
	closeQueue(t, q)
	items, batches := s.got()
	if diff := cmp.Diff(seq(0, 10), items); diff != "" {
		t.Errorf("delivered items (-want +got):\n%s", diff)
	}
	// Full batches go as soon as they fill; Close flushes the rest.
	if diff := cmp.Diff([]int{4, 4, 2}, batches); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	checkStats(t, q, Stats{Delivered: 10})
}

func TestMaxWaitFlushesPartialBatch(t *testing.T) {
	got := make(chan []int, 1)
	q := start(t, Options[int]{
		Size: 10, BatchSize: 100, MaxWait: 5 * time.Millisecond, MaxAttempts: 1,
		WriteBatch: func(ctx context.Context, batch []int) error {
			got <- append([]int(nil), batch...)
			return nil
		},
	})
	for i := range 3 {
		if err := q.TryPut(i); err != nil {
			t.Fatalf("TryPut: got error %v; want nil", err)
		}
	}
	select {
	case b := <-got:
		if diff := cmp.Diff(seq(0, 3), b); diff != "" {
			t.Errorf("first batch (-want +got):\n%s", diff)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("partial batch was not delivered after MaxWait")
	}
}

// TestDropsCountedExactly fills a queue whose backend is stuck on one
// batch: exactly Size more items get in, and every further one is dropped
// and counted, never lost silently nor counted twice.
func TestDropsCountedExactly(t *testing.T) {
	for _, tc := range []struct {
		name              string
		size, batch, more int
	}{
		{"batch of 1", 50, 1, 37},
		{"batch of 8", 50, 8, 100},
		{"queue of 1", 1, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSink(true)
			q := start(t, opts(s, tc.size, tc.batch))
			// One full batch goes to the backend, which holds it.
			for i := range tc.batch {
				if err := q.TryPut(i); err != nil {
					t.Fatalf("TryPut(%d): got error %v; want nil", i, err)
				}
			}
			s.waitEntered(t)
			for i := range tc.size {
				if err := q.TryPut(tc.batch + i); err != nil {
					t.Fatalf("TryPut(%d) into a queue with room: got error %v; want nil", i, err)
				}
			}
			for i := range tc.more {
				if err := q.TryPut(-1 - i); !errors.Is(err, ErrFull) {
					t.Fatalf("TryPut into a full queue: got error %v; want ErrFull", err)
				}
			}
			// Bounded memory: the queue and the batch in flight, nothing else.
			checkStats(t, q, Stats{Dropped: uint64(tc.more), Queued: tc.size})
			close(s.gate)
			closeQueue(t, q)
			accepted := tc.batch + tc.size
			checkStats(t, q, Stats{Delivered: uint64(accepted), Dropped: uint64(tc.more)})
			items, _ := s.got()
			if diff := cmp.Diff(seq(0, accepted), items); diff != "" {
				t.Errorf("delivered items (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPutWaitsForRoom(t *testing.T) {
	s := newSink(true)
	q := start(t, opts(s, 1, 1))
	ctx := context.Background()
	if err := q.Put(ctx, 0, time.Minute); err != nil {
		t.Fatalf("Put: got error %v; want nil", err)
	}
	s.waitEntered(t)
	if err := q.Put(ctx, 1, time.Minute); err != nil {
		t.Fatalf("Put into a queue with room: got error %v; want nil", err)
	}
	// The queue is full. A short wait gives up...
	if err := q.Put(ctx, 2, time.Millisecond); !errors.Is(err, ErrFull) {
		t.Errorf("Put after its wait: got error %v; want ErrFull", err)
	}
	// ...a done context gives up at once...
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := q.Put(cctx, 3, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context: got error %v; want context.Canceled", err)
	}
	// ...and so does a context that ends during the wait.
	dctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if err := q.Put(dctx, 4, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Put with a context ending mid-wait: got error %v; want context.DeadlineExceeded", err)
	}
	checkStats(t, q, Stats{Dropped: 3, Queued: 1})
	// A patient Put gets in once the backend moves on.
	done := make(chan error)
	go func() { done <- q.Put(ctx, 5, time.Minute) }()
	close(s.gate)
	if err := <-done; err != nil {
		t.Errorf("blocked Put: got error %v; want nil once room was made", err)
	}
	closeQueue(t, q)
	checkStats(t, q, Stats{Delivered: 3, Dropped: 3})
	if items, _ := s.got(); !cmp.Equal([]int{0, 1, 5}, items) {
		t.Errorf("delivered items: got %v; want [0 1 5]", items)
	}
}

func TestCloseDeliversEverything(t *testing.T) {
	const n = 20_000
	s := newSink(true)
	q := start(t, opts(s, n, 64))
	for i := range n {
		if err := q.TryPut(i); err != nil {
			t.Fatalf("TryPut(%d): got error %v; want nil", i, err)
		}
	}
	close(s.gate)
	closeQueue(t, q)
	items, _ := s.got()
	if diff := cmp.Diff(seq(0, n), items); diff != "" {
		t.Errorf("delivered items (-want +got):\n%s", diff)
	}
	checkStats(t, q, Stats{Delivered: n})
	if err := q.TryPut(n); !errors.Is(err, ErrClosed) {
		t.Errorf("TryPut after Close: got error %v; want ErrClosed", err)
	}
	if err := q.Put(context.Background(), n, time.Minute); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: got error %v; want ErrClosed", err)
	}
	checkStats(t, q, Stats{Delivered: n, Dropped: 2})
}

func TestCloseDeadline(t *testing.T) {
	s := newSink(true) // never opened: calls end only when cancelled
	q := start(t, opts(s, 100, 1))
	for i := range 10 {
		if err := q.TryPut(i); err != nil {
			t.Fatalf("TryPut: got error %v; want nil", err)
		}
	}
	s.waitEntered(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with a done context: got error %v; want context.Canceled", err)
	}
	checkStats(t, q, Stats{Dropped: 10})
	select {
	case <-q.done:
	default:
		t.Error("Close returned before the worker did")
	}
	if err := q.Close(context.Background()); err != nil {
		t.Errorf("second Close: got error %v; want nil", err)
	}
}

func TestCloseWaitsForBlockedPuts(t *testing.T) {
	s := newSink(true)
	q := start(t, opts(s, 1, 1))
	ctx := context.Background()
	q.TryPut(0)
	s.waitEntered(t)
	q.TryPut(1)
	putDone := make(chan error)
	go func() { putDone <- q.Put(ctx, 2, time.Minute) }()
	// Wait until the Put holds the read lock, blocked on the full queue.
	for q.mu.TryLock() {
		q.mu.Unlock()
		runtime.Gosched()
	}
	closeDone := make(chan error)
	go func() { closeDone <- q.Close(ctx) }()
	close(s.gate)
	if err := <-putDone; err != nil {
		t.Errorf("Put blocked when Close began: got error %v; want nil", err)
	}
	if err := <-closeDone; err != nil {
		t.Errorf("Close: got error %v; want nil", err)
	}
	checkStats(t, q, Stats{Delivered: 3})
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

type failure struct {
	lost, attempts int
	err            error
}

func TestRetries(t *testing.T) {
	ms := time.Millisecond
	boom := errors.New("backend unavailable")
	for _, tc := range []struct {
		name         string
		failures     int
		maxAttempts  int
		init, max    time.Duration
		wantSleeps   []time.Duration
		wantStats    Stats
		wantFailures []failure
	}{
		{"success first", 0, 5, 100 * ms, time.Second, nil, Stats{Delivered: 3}, nil},
		{"success after 3 failures", 3, 5, 100 * ms, time.Second,
			[]time.Duration{100 * ms, 200 * ms, 400 * ms}, Stats{Delivered: 3, Retried: 3}, nil},
		{"backoff capped", 4, 5, 100 * ms, 250 * ms,
			[]time.Duration{100 * ms, 200 * ms, 250 * ms, 250 * ms}, Stats{Delivered: 3, Retried: 4}, nil},
		{"initial above cap", 2, 5, time.Second, 300 * ms,
			[]time.Duration{300 * ms, 300 * ms}, Stats{Delivered: 3, Retried: 2}, nil},
		{"zero backoff", 2, 5, 0, 0,
			[]time.Duration{0, 0}, Stats{Delivered: 3, Retried: 2}, nil},
		{"gives up", 100, 4, 100 * ms, time.Second,
			[]time.Duration{100 * ms, 200 * ms, 400 * ms}, Stats{Failed: 3, Retried: 3}, []failure{{3, 4, boom}}},
		{"no retry", 100, 1, 100 * ms, time.Second, nil, Stats{Failed: 3}, []failure{{3, 1, boom}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				calls    atomic.Int64
				s        sleeps
				failures []failure
				got      = newSink(false)
			)
			q := start(t, Options[int]{
				Size: 10, BatchSize: 3, MaxWait: time.Hour, MaxAttempts: tc.maxAttempts,
				InitialBackoff: tc.init, MaxBackoff: tc.max, Sleep: s.sleep,
				WriteBatch: func(ctx context.Context, batch []int) error {
					if calls.Add(1) <= int64(tc.failures) {
						return boom
					}
					return got.writeBatch(ctx, batch)
				},
				OnFailure: func(ctx context.Context, lost, attempts int, err error) {
					failures = append(failures, failure{lost, attempts, err}) // the worker's goroutine only
				},
			})
			for i := range 3 {
				q.TryPut(i)
			}
			closeQueue(t, q)
			if diff := cmp.Diff(tc.wantSleeps, s.get()); diff != "" {
				t.Errorf("backoff sleeps (-want +got):\n%s", diff)
			}
			checkStats(t, q, tc.wantStats)
			if diff := cmp.Diff(tc.wantFailures, failures, cmp.AllowUnexported(failure{}), cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("OnFailure calls (-want +got):\n%s", diff)
			}
			if items, _ := got.got(); uint64(len(items)) != tc.wantStats.Delivered {
				t.Errorf("backend stored %d items; want %d", len(items), tc.wantStats.Delivered)
			}
		})
	}
}

func TestWriteResumesAfterFailure(t *testing.T) {
	var (
		calls  atomic.Int64
		stored []int
		s      sleeps
	)
	q := start(t, Options[int]{
		Size: 10, BatchSize: 5, MaxWait: time.Hour, MaxAttempts: 2, Sleep: s.sleep,
		Write: func(ctx context.Context, v int) error {
			if calls.Add(1) == 3 { // the third item fails once
				return errors.New("hiccup")
			}
			stored = append(stored, v) // the worker's goroutine only
			return nil
		},
	})
	for i := range 5 {
		q.TryPut(i)
	}
	closeQueue(t, q)
	checkStats(t, q, Stats{Delivered: 5, Retried: 1})
	if diff := cmp.Diff(seq(0, 5), stored); diff != "" {
		t.Errorf("stored items (-want +got):\n%s", diff)
	}
}

func TestProgressResetsAttempts(t *testing.T) {
	// Each item fails once before it is written: with two attempts per
	// item, the batch gets through because progress earns fresh attempts.
	failed := make(map[int]bool)
	var s sleeps
	q := start(t, Options[int]{
		Size: 10, BatchSize: 4, MaxWait: time.Hour, MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: time.Second, Sleep: s.sleep,
		Write: func(ctx context.Context, v int) error {
			if !failed[v] {
				failed[v] = true
				return errors.New("once")
			}
			return nil
		},
	})
	for i := range 4 {
		q.TryPut(i)
	}
	closeQueue(t, q)
	checkStats(t, q, Stats{Delivered: 4, Retried: 4})
	if diff := cmp.Diff([]time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}, s.get()); diff != "" {
		t.Errorf("backoff after progress restarts (-want +got):\n%s", diff)
	}
}

func TestCallTimeout(t *testing.T) {
	s := newSink(true) // never opened
	var sl sleeps
	o := opts(s, 10, 1)
	o.CallTimeout, o.MaxAttempts, o.Sleep = time.Millisecond, 2, sl.sleep
	q := start(t, o)
	q.TryPut(0)
	closeQueue(t, q)
	checkStats(t, q, Stats{Failed: 1, Retried: 1})
}

func TestPanicIsAFailure(t *testing.T) {
	var (
		sl  sleeps
		got error
	)
	q := start(t, Options[int]{
		Size: 10, BatchSize: 1, MaxWait: time.Hour, MaxAttempts: 2, Sleep: sl.sleep,
		Write:     func(ctx context.Context, v int) error { panic("bug in backend") },
		OnFailure: func(ctx context.Context, lost, attempts int, err error) { got = err },
	})
	q.TryPut(0)
	closeQueue(t, q)
	checkStats(t, q, Stats{Failed: 1, Retried: 1})
	if !errors.Is(got, ErrPanicked) {
		t.Errorf("OnFailure error: got %v; want ErrPanicked", got)
	}
}

func TestZeroQueue(t *testing.T) {
	var q Queue[int]
	if err := q.TryPut(1); !errors.Is(err, ErrClosed) {
		t.Errorf("zero Queue TryPut: got error %v; want ErrClosed", err)
	}
	if err := q.Put(context.Background(), 1, time.Minute); !errors.Is(err, ErrClosed) {
		t.Errorf("zero Queue Put: got error %v; want ErrClosed", err)
	}
	if err := q.Close(context.Background()); err != nil {
		t.Errorf("zero Queue Close: got error %v; want nil", err)
	}
	if got, want := q.Stats(), (Stats{Dropped: 2}); got != want {
		t.Errorf("zero Queue Stats: got %+v; want %+v", got, want)
	}
}

func TestStartRejects(t *testing.T) {
	s := newSink(false)
	valid := opts(s, 1, 1)
	for name, edit := range map[string]func(*Options[int]){
		"no backend":       func(o *Options[int]) { o.WriteBatch = nil },
		"zero size":        func(o *Options[int]) { o.Size = 0 },
		"zero batch":       func(o *Options[int]) { o.BatchSize = 0 },
		"zero wait":        func(o *Options[int]) { o.MaxWait = 0 },
		"zero attempts":    func(o *Options[int]) { o.MaxAttempts = 0 },
		"negative backoff": func(o *Options[int]) { o.InitialBackoff = -1 },
		"negative max":     func(o *Options[int]) { o.MaxBackoff = -1 },
		"negative timeout": func(o *Options[int]) { o.CallTimeout = -1 },
	} {
		o := valid
		edit(&o)
		var q Queue[int]
		if err := q.Start(o); err == nil {
			q.Close(context.Background())
			t.Errorf("Start with %s: got nil error; want an error", name)
		}
		if err := q.TryPut(1); !errors.Is(err, ErrClosed) {
			t.Errorf("TryPut after a refused Start with %s: got %v; want ErrClosed", name, err)
		}
	}
	q := start(t, valid)
	if err := q.Start(valid); err == nil {
		t.Error("second Start: got nil error; want an error")
	}
}

// TestAccounting puts items from many goroutines into queues of random
// shapes whose backend fails at random, closes them mid-flight, and checks
// that every item is counted exactly once.
func TestAccounting(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, seed))
		size, batch := 1+r.IntN(64), 1+r.IntN(16)
		failEvery := 2 + r.IntN(5)
		var calls atomic.Int64
		var sl sleeps
		q := start(t, Options[int]{
			Size: size, BatchSize: batch, MaxWait: time.Millisecond, MaxAttempts: 1 + r.IntN(3), Sleep: sl.sleep,
			WriteBatch: func(ctx context.Context, b []int) error {
				if calls.Add(1)%int64(failEvery) == 0 {
					return errors.New("flaky")
				}
				return nil
			},
		})
		const goroutines, each = 4, 300
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					if g%2 == 0 {
						q.TryPut(i)
					} else {
						q.Put(context.Background(), i, time.Millisecond)
					}
				}
			})
		}
		closeQueue(t, q)
		wg.Wait()
		st := q.Stats()
		if st.Delivered+st.Failed+st.Dropped != goroutines*each || st.Queued != 0 {
			t.Errorf("seed %d: Stats %+v: Delivered+Failed+Dropped = %d; want %d and nothing queued",
				seed, st, st.Delivered+st.Failed+st.Dropped, goroutines*each)
		}
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := range 50 {
		s := newSink(i%2 == 0)
		var q Queue[int]
		if err := q.Start(opts(s, 10, 2)); err != nil {
			t.Fatal(err)
		}
		for j := range 20 {
			q.TryPut(j)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if i%2 == 0 {
			cancel() // gated backend: give up at once
		}
		q.Close(ctx)
		cancel()
	}
	// The workers have returned (Close waits for them); the goroutines that
	// took the lock for Close end right after closing stop.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after closing every queue; want at most %d:\n%s",
				runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func BenchmarkTryPut(b *testing.B) {
	var q Queue[[4]string]
	if err := q.Start(Options[[4]string]{
		Size: 1 << 16, BatchSize: 1024, MaxWait: time.Second, MaxAttempts: 1,
		WriteBatch: func(context.Context, [][4]string) error { return nil },
	}); err != nil {
		b.Fatal(err)
	}
	defer q.Close(context.Background())
	v := [4]string{"a", "b", "c", "d"}
	b.ReportAllocs()
	for b.Loop() {
		// The worker may fall behind and the queue fill: a drop is a
		// result here, not a failure.
		if err := q.TryPut(v); err != nil && err != ErrFull {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(q.Stats().Dropped)/float64(b.N), "drops/op")
}

func BenchmarkPut(b *testing.B) {
	var q Queue[[4]string]
	if err := q.Start(Options[[4]string]{
		Size: 1 << 16, BatchSize: 1024, MaxWait: time.Second, MaxAttempts: 1,
		WriteBatch: func(context.Context, [][4]string) error { return nil },
	}); err != nil {
		b.Fatal(err)
	}
	defer q.Close(context.Background())
	v := [4]string{"a", "b", "c", "d"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Put(ctx, v, time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// A batch fills when the items the worker already holds and those queued
// make a batch, however they arrived: the worker, holding the first item,
// is woken by the put that completes the batch, long before MaxWait.
func TestBatchFillsAcrossTheWorkersHand(t *testing.T) {
	for _, tc := range []struct{ size, batch int }{{100, 10}, {4, 10}} {
		s := newSink(false)
		q := start(t, opts(s, tc.size, tc.batch)) // MaxWait: an hour
		if err := q.TryPut(0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // the worker takes the first item
		for i := 1; i < tc.batch; i++ {
			if err := q.Put(context.Background(), i, 5*time.Second); err != nil {
				t.Fatalf("size %d, batch %d: Put %d: %v", tc.size, tc.batch, i, err)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			items, _ := s.got()
			if len(items) == tc.batch {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("size %d, batch %d: %d of %d items delivered 5s after the batch filled; want it delivered at once", tc.size, tc.batch, len(items), tc.batch)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
