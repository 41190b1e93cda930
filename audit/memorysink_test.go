package audit_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/audit/audittest"
)

func TestMemorySinkConformance(t *testing.T) {
	audittest.RunSinkTests(t, func(t *testing.T) (audit.Sink, func() []audit.Event) {
		s := new(audit.MemorySink)
		return s, s.Events
	})
}

func TestMemorySinkPlainSinkConformance(t *testing.T) {
	// The same sink seen as a plain Sink, so that the Auditor's per-event
	// path is checked too.
	audittest.RunSinkTests(t, func(t *testing.T) (audit.Sink, func() []audit.Event) {
		s := new(audit.MemorySink)
		return audit.SinkFunc(s.Write), s.Events
	})
}

func TestMemorySinkBounded(t *testing.T) {
	const keep = 10
	s := &audit.MemorySink{Max: keep}
	ctx := context.Background()
	for i := range 95 {
		e := audit.Event{RequestID: strconv.Itoa(i)}
		if i%3 == 0 {
			s.WriteBatch(ctx, []audit.Event{e})
		} else {
			s.Write(ctx, e)
		}
		if got, want := s.Len(), min(i+1, keep); got != want {
			t.Fatalf("after %d events: Len %d; want %d", i+1, got, want)
		}
		if got, want := s.Forgotten(), uint64(max(i+1-keep, 0)); got != want {
			t.Fatalf("after %d events: Forgotten %d; want %d", i+1, got, want)
		}
	}
	got := s.Events()
	if len(got) != keep || got[0].RequestID != "85" || got[keep-1].RequestID != "94" {
		t.Errorf("kept events %v; want the last %d, 85 to 94", got, keep)
	}
}
