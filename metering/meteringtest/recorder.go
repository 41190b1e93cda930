package meteringtest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/metering"
)

// Recorder is an in-memory metering.Recorder and metering.BatchRecorder that
// keeps every event it is given, for tests. It grows without bound: do not
// use it in production. A call whose context is already done stores nothing
// and returns the context's error. The zero Recorder is empty and ready to
// use; it is safe for concurrent use.
type Recorder struct {
	// mu guards events.
	mu     sync.Mutex
	events []metering.Event
}

// Record stores e.
func (r *Recorder) Record(ctx context.Context, e metering.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

// RecordBatch stores every event of events.
func (r *Recorder) RecordBatch(ctx context.Context, events []metering.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events...)
	return nil
}

// Events returns a copy of the events stored so far, in arrival order.
func (r *Recorder) Events() []metering.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]metering.Event(nil), r.events...)
}

// Len returns the number of events stored so far.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// RunRecorderTests checks that a metering.Recorder keeps the Recorder
// contract. newRecorder returns a fresh, empty recorder and a function that
// returns every event it has stored so far, in any order; the suite calls
// that function only after the Record calls it checks have returned. If the
// recorder also implements metering.BatchRecorder, RecordBatch is checked
// too.
//
// Events must come back field for field, identifiers byte for byte; times
// and durations may lose precision below a microsecond, and times may come
// back in another location.
func RunRecorderTests(t *testing.T, newRecorder func(t *testing.T) (metering.Recorder, func() []metering.Event)) {
	t.Helper()
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		rec, stored := newRecorder(t)
		want := []metering.Event{fullEvent("rt-1"), unusualEvent("rt-2")}
		for _, e := range want {
			if err := rec.Record(ctx, e); err != nil {
				t.Fatalf("Record: got error %v; want nil", err)
			}
		}
		checkEvents(t, stored(), want)
	})

	t.Run("ZeroEvent", func(t *testing.T) {
		rec, stored := newRecorder(t)
		if err := rec.Record(ctx, metering.Event{}); err != nil {
			t.Fatalf("Record(zero Event): got error %v; want nil", err)
		}
		checkEvents(t, stored(), []metering.Event{{}})
	})

	t.Run("ManyEvents", func(t *testing.T) {
		rec, stored := newRecorder(t)
		want := manyEvents("many", 100)
		for _, e := range want {
			if err := rec.Record(ctx, e); err != nil {
				t.Fatalf("Record: got error %v; want nil", err)
			}
		}
		checkEvents(t, stored(), want)
	})

	t.Run("Concurrent", func(t *testing.T) {
		rec, stored := newRecorder(t)
		const workers, each = 8, 50
		want := manyEvents("conc", workers*each)
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for _, e := range want[w*each : (w+1)*each] {
					if err := rec.Record(ctx, e); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent Record: got error %v; want nil", err)
		}
		checkEvents(t, stored(), want)
	})

	t.Run("CanceledContext", func(t *testing.T) {
		rec, _ := newRecorder(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := rec.Record(cctx, fullEvent("canceled")); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("Record with a canceled context: got error %v; want nil or one matching context.Canceled", err)
		}
	})

	t.Run("Batch", func(t *testing.T) {
		rec, stored := newRecorder(t)
		br, ok := rec.(metering.BatchRecorder)
		if !ok {
			t.Skip("recorder does not implement metering.BatchRecorder")
		}
		if err := br.RecordBatch(ctx, nil); err != nil {
			t.Fatalf("RecordBatch(nil): got error %v; want nil", err)
		}
		want := manyEvents("batch", 10)
		batch := append([]metering.Event(nil), want...)
		if err := br.RecordBatch(ctx, batch); err != nil {
			t.Fatalf("RecordBatch: got error %v; want nil", err)
		}
		// The caller reuses its slice; the recorder must not have kept it.
		for i := range batch {
			batch[i] = metering.Event{RequestID: "overwritten"}
		}
		checkEvents(t, stored(), want)
	})
}

// fullEvent returns an event with every field set.
func fullEvent(id string) metering.Event {
	return metering.Event{
		RequestID:   id,
		KeyID:       "key_2b9f",
		Owner:       "owner-42",
		Model:       "claude-sonnet-4-5",
		ServedModel: "claude-sonnet-4-5-20250929",
		Provider:    "anthropic",
		Endpoint:    "/v1/messages",
		Stream:      true,
		Usage: metering.Usage{
			InputTokens:         12345,
			OutputTokens:        678,
			CachedInputTokens:   1000,
			CacheCreationTokens: 2000,
			ReasoningTokens:     90,
		},
		CostMicros:       987654321,
		Status:           200,
		ErrorClass:       metering.ClassClientDisconnect,
		Start:            time.Date(2025, 7, 14, 9, 26, 53, 589793000, time.FixedZone("UTC+2", 2*3600)),
		Latency:          1234567 * time.Microsecond,
		TimeToFirstToken: 345678 * time.Microsecond,
		UsageEstimated:   true,
		PriceUnknown:     true,
	}
}

// unusualEvent returns an event whose identifiers need escaping in most
// storage formats, and extreme numbers.
func unusualEvent(id string) metering.Event {
	return metering.Event{
		RequestID:   id,
		KeyID:       `key "quoted", with\backslash`,
		Owner:       "ümlaut-オーナー-🔑",
		Model:       "model\twith\ttabs",
		ServedModel: "line\nbreak",
		Provider:    "percent%s%d",
		Endpoint:    "/v1beta/models/{model}:generateContent",
		Usage:       metering.Usage{InputTokens: 1 << 40, OutputTokens: 1<<62 + 1},
		CostMicros:  1<<63 - 1,
		Status:      599,
		ErrorClass:  "custom_class",
		Start:       time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		Latency:     100 * time.Hour,
	}
}

// manyEvents returns n distinct events cycling through the error classes.
func manyEvents(prefix string, n int) []metering.Event {
	classes := []metering.ErrorClass{
		metering.ClassNone, metering.ClassUpstreamError, metering.ClassTimeout,
		metering.ClassClientDisconnect, metering.ClassRateLimited, metering.ClassBudgetExceeded,
		metering.ClassInvalidRequest, metering.ClassAuth, metering.ClassInternal,
	}
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	events := make([]metering.Event, n)
	for i := range events {
		e := fullEvent(prefix + "-" + strconv.Itoa(i))
		e.Usage.InputTokens = int64(i)
		e.CostMicros = int64(i) * 7
		e.ErrorClass = classes[i%len(classes)]
		e.Stream = i%2 == 0
		e.Start = base.Add(time.Duration(i) * time.Millisecond)
		events[i] = e
	}
	return events
}

// checkEvents reports a test failure unless got holds exactly the events of
// want, in any order.
func checkEvents(t *testing.T, got, want []metering.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("stored %d events; want %d", len(got), len(want))
	}
	byID := make(map[string][]metering.Event)
	for _, e := range got {
		byID[e.RequestID] = append(byID[e.RequestID], e)
	}
	for _, w := range want {
		g := byID[w.RequestID]
		if len(g) != 1 {
			t.Errorf("event %q stored %d times; want 1", w.RequestID, len(g))
			continue
		}
		if d := DiffEvent(g[0], w); d != "" {
			t.Errorf("event %q differs: %s", w.RequestID, d)
		}
	}
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
)

// DiffEvent describes the first difference between got and want, or returns
// "" if they are equal. Times and durations count as equal when less than a
// microsecond apart, times in any location.
func DiffEvent(got, want metering.Event) string {
	return diffValue("Event", reflect.ValueOf(got), reflect.ValueOf(want))
}

func diffValue(path string, g, w reflect.Value) string {
	switch {
	case g.Type() == timeType:
		gt, wt := g.Interface().(time.Time), w.Interface().(time.Time)
		if gt.IsZero() != wt.IsZero() || absDuration(gt.Sub(wt)) >= time.Microsecond {
			return fmt.Sprintf("%s: got %v; want %v", path, gt, wt)
		}
	case g.Type() == durationType:
		gd, wd := time.Duration(g.Int()), time.Duration(w.Int())
		if absDuration(gd-wd) >= time.Microsecond {
			return fmt.Sprintf("%s: got %v; want %v", path, gd, wd)
		}
	case g.Kind() == reflect.Struct:
		for i := range g.NumField() {
			if !g.Type().Field(i).IsExported() {
				continue
			}
			if d := diffValue(path+"."+g.Type().Field(i).Name, g.Field(i), w.Field(i)); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			return fmt.Sprintf("%s: got %#v; want %#v", path, g.Interface(), w.Interface())
		}
	}
	return ""
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
