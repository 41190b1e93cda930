package audittest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/audit"
)

// RunSinkTests checks that an audit.Sink keeps the Sink contract. newSink
// returns a fresh, empty sink and a function that returns every event it
// has stored so far, in any order; the suite calls that function only after
// the Write calls it checks have returned. If the sink also implements
// audit.BatchSink, WriteBatch is checked too. Each subtest gets a fresh
// sink.
//
// Events must come back field for field and exactly once, identifiers byte
// for byte and client addresses as given (IPv4 stays IPv4); times may lose
// precision below a microsecond and come back in another location.
func RunSinkTests(t *testing.T, newSink func(t *testing.T) (audit.Sink, func() []audit.Event)) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, audit.Sink, func() []audit.Event)
	}{
		{"RoundTrip", testRoundTrip},
		{"ZeroEvent", testZeroEvent},
		{"EveryAction", testEveryAction},
		{"manyEvents", testManyEvents},
		{"Concurrent", testConcurrent},
		{"CanceledContext", testCanceled},
		{"Batch", testBatch},
		{"BehindAuditor", testBehindAuditor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, stored := newSink(t)
			tc.fn(t, s, stored)
		})
	}
}

func write(t *testing.T, s audit.Sink, events []audit.Event) {
	t.Helper()
	for _, e := range events {
		if err := s.Write(t.Context(), e); err != nil {
			t.Fatalf("Write(%q): got error %v; want nil", e.RequestID, err)
		}
	}
}

func testRoundTrip(t *testing.T, s audit.Sink, stored func() []audit.Event) {
	want := []audit.Event{fullEvent("rt-1"), unusualEvent("rt-2")}
	write(t, s, want)
	checkEvents(t, stored(), want)
}

func testZeroEvent(t *testing.T, s audit.Sink, stored func() []audit.Event) {
	write(t, s, []audit.Event{{}})
	checkEvents(t, stored(), []audit.Event{{}})
}

func testEveryAction(t *testing.T, s audit.Sink, stored func() []audit.Event) {
	want := manyEvents("action", len(actions)*len(outcomes))
	write(t, s, want)
	checkEvents(t, stored(), want)
}

func testManyEvents(t *testing.T, s audit.Sink, stored func() []audit.Event) {
	want := manyEvents("many", 200)
	write(t, s, want)
	checkEvents(t, stored(), want)
}

func testConcurrent(t *testing.T, s audit.Sink, stored func() []audit.Event) {
	const workers, each = 8, 50
	want := manyEvents("conc", workers*each)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for _, e := range want[w*each : (w+1)*each] {
				if err := s.Write(t.Context(), e); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Write: got error %v; want nil", err)
	}
	checkEvents(t, stored(), want)
}

func testCanceled(t *testing.T, s audit.Sink, stored func() []audit.Event) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Write(ctx, fullEvent("canceled"))
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a canceled context: got error %v; want nil or one matching context.Canceled", err)
	}
	// An error means "not stored": the Auditor retries or counts the event
	// as lost, so it must not also be there.
	if n := len(stored()); err != nil && n != 0 {
		t.Errorf("Write with a canceled context returned %v but stored %d events; want 0", err, n)
	}
	if bs, ok := s.(audit.BatchSink); ok {
		err := bs.WriteBatch(ctx, manyEvents("canceled-batch", 3))
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("WriteBatch with a canceled context: got error %v; want nil or one matching context.Canceled", err)
		}
	}
}

func testBatch(t *testing.T, s audit.Sink, stored func() []audit.Event) {
	bs, ok := s.(audit.BatchSink)
	if !ok {
		t.Skip("sink does not implement audit.BatchSink")
	}
	if err := bs.WriteBatch(t.Context(), nil); err != nil {
		t.Fatalf("WriteBatch(nil): got error %v; want nil", err)
	}
	want := manyEvents("batch", 10)
	batch := append([]audit.Event(nil), want...)
	if err := bs.WriteBatch(t.Context(), batch); err != nil {
		t.Fatalf("WriteBatch: got error %v; want nil", err)
	}
	// The caller reuses its slice; the sink must not have kept it.
	for i := range batch {
		batch[i] = audit.Event{RequestID: "overwritten"}
	}
	checkEvents(t, stored(), want)
}

// testBehindAuditor runs the sink as the gateway does: behind an Auditor,
// from its goroutine, in batches of a reused slice.
func testBehindAuditor(t *testing.T, s audit.Sink, stored func() []audit.Event) {
	a, err := audit.New(s, &audit.Options{BatchSize: 7, MaxAttempts: 1})
	if err != nil {
		t.Fatalf("audit.New: got error %v; want nil", err)
	}
	want := manyEvents("auditor", 100)
	for _, e := range want {
		a.Emit(e)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatalf("Auditor.Close: got error %v; want nil", err)
	}
	if st := a.Stats(); st != (audit.Stats{Written: uint64(len(want))}) {
		t.Errorf("Auditor.Stats: got %+v; want Written: %d and nothing else", st, len(want))
	}
	checkEvents(t, stored(), want)
}

var (
	actions = []audit.Action{
		audit.ActionKeyIssued, audit.ActionKeyRotated, audit.ActionKeyRevoked, audit.ActionKeyDeleted, audit.ActionKeyLeaked,
		audit.ActionKeySuspended, audit.ActionKeyUnsuspended, audit.ActionAbuseSignal, audit.ActionKeyThrottled,
		audit.ActionAdminRequest, audit.ActionAuthFailed, audit.ActionIPBlocked,
		audit.ActionBudgetExhausted, audit.ActionBudgetChanged, audit.ActionRateLimitExceeded,
	}
	outcomes = []audit.Outcome{audit.OutcomeAllowed, audit.OutcomeRefused, audit.OutcomeFailed}
	reasons  = []audit.Reason{
		"", audit.ReasonMissingKey, audit.ReasonMalformedKey, audit.ReasonUnknownKey,
		audit.ReasonRevokedKey, audit.ReasonExpiredKey, audit.ReasonSuspendedKey, audit.ReasonForbidden, audit.ReasonNotFound,
		audit.ReasonInvalid, audit.ReasonTooManyFailures, audit.ReasonKeyBudget, audit.ReasonOwnerBudget, audit.ReasonModelBudget, audit.ReasonScopeBudget,
		audit.ReasonRequests, audit.ReasonTokens, audit.ReasonConcurrency, audit.ReasonInternal,
		audit.ReasonLeaked, audit.ReasonRateJump, audit.ReasonTokenJump, audit.ReasonNetworkSpread, audit.ReasonRefusalBurst,
	}
)

// fullEvent returns an event with every field set and the given RequestID.
func fullEvent(requestID string) audit.Event {
	return audit.Event{
		Time:         time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.FixedZone("UTC+2", 2*3600)),
		Action:       audit.ActionKeyRotated,
		Outcome:      audit.OutcomeAllowed,
		Reason:       audit.ReasonExpiredKey,
		ActorKeyID:   "key_admin01",
		ActorKeyHint: "wk_…x9Qz",
		Subject:      "key_2b9f",
		ReplacedBy:   "key_3c0a",
		Owner:        "team-7",
		Operation:    "POST /keys/{id}/rotate",
		ClientIP:     netip.MustParseAddr("203.0.113.7"),
		RequestID:    requestID,
	}
}

// unusualEvent returns an event whose identifiers need escaping in most
// storage formats, with an IPv6 client address, and the given RequestID.
func unusualEvent(requestID string) audit.Event {
	return audit.Event{
		Time:         time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		Action:       audit.ActionAuthFailed,
		Outcome:      audit.OutcomeRefused,
		Reason:       "custom_reason-2.b",
		ActorKeyID:   `key "quoted", with\backslash`,
		ActorKeyHint: "sk-…%s%d",
		Subject:      "line\nbreak\ttab",
		Owner:        "ümlaut-オーナー-🔑",
		Operation:    "DELETE /owners/{owner}/keys",
		ClientIP:     netip.MustParseAddr("2001:db8::ff00:42:8329"),
		RequestID:    requestID,
	}
}

// manyEvents returns n distinct events, RequestIDs prefix-0 to
// prefix-(n-1), cycling through every action, outcome and reason the
// package defines.
func manyEvents(prefix string, n int) []audit.Event {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	events := make([]audit.Event, n)
	for i := range events {
		e := fullEvent(prefix + "-" + strconv.Itoa(i))
		e.Time = base.Add(time.Duration(i) * time.Millisecond)
		e.Action = actions[i%len(actions)]
		e.Outcome = outcomes[(i/len(actions))%len(outcomes)]
		e.Reason = reasons[i%len(reasons)]
		e.Subject = "key_" + strconv.Itoa(i)
		if i%4 == 0 {
			e.ClientIP = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		} else if i%4 == 1 {
			e.ClientIP = netip.Addr{}
		}
		events[i] = e
	}
	return events
}

// checkEvents reports a test failure unless got holds exactly the events of
// want, each once, in any order. Events are told apart by RequestID.
func checkEvents(t *testing.T, got, want []audit.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("stored %d events; want %d", len(got), len(want))
	}
	byID := make(map[string][]audit.Event)
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
	timeType = reflect.TypeFor[time.Time]()
	addrType = reflect.TypeFor[netip.Addr]()
)

// DiffEvent describes the first difference between got and want, or returns
// "" if they are equal. Times count as equal when less than a microsecond
// apart, in any location; addresses must be equal, zone included.
func DiffEvent(got, want audit.Event) string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		f := g.Type().Field(i)
		gf, wf := g.Field(i), w.Field(i)
		switch f.Type {
		case timeType:
			gt, wt := gf.Interface().(time.Time), wf.Interface().(time.Time)
			if gt.IsZero() != wt.IsZero() || absDuration(gt.Sub(wt)) >= time.Microsecond {
				return fmt.Sprintf("Event.%s: got %v; want %v", f.Name, gt, wt)
			}
		case addrType:
			if ga, wa := gf.Interface().(netip.Addr), wf.Interface().(netip.Addr); ga != wa {
				return fmt.Sprintf("Event.%s: got %v; want %v", f.Name, ga, wa)
			}
		default:
			if !reflect.DeepEqual(gf.Interface(), wf.Interface()) {
				return fmt.Sprintf("Event.%s: got %#v; want %#v", f.Name, gf.Interface(), wf.Interface())
			}
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
