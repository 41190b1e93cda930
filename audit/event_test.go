package audit_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/audit"
)

// identifierFields are the string fields of Event reviewed as identifiers:
// IDs, display hints, route patterns and enumerated words, never text a
// client or a model wrote, never a full key. Add a field here only if it
// can hold nothing else.
var identifierFields = map[string]bool{
	"Event.Action":       true,
	"Event.Outcome":      true,
	"Event.Reason":       true,
	"Event.ActorKeyID":   true,
	"Event.ActorKeyHint": true,
	"Event.Subject":      true,
	"Event.ReplacedBy":   true,
	"Event.Owner":        true,
	"Event.Operation":    true,
	"Event.RequestID":    true,
}

// TestEventHoldsNoContent guards the zero-retention invariant: every field
// of Event is a time, an address or a string on the identifier allowlist. A
// new field able to hold text (a string, a slice, a map, a pointer, an
// interface...) fails this test until reviewed.
func TestEventHoldsNoContent(t *testing.T) {
	typ := reflect.TypeFor[audit.Event]()
	seen := make(map[string]bool)
	for i := range typ.NumField() {
		f := typ.Field(i)
		p := "Event." + f.Name
		switch {
		case f.Type == reflect.TypeFor[time.Time](), f.Type == reflect.TypeFor[netip.Addr]():
		case f.Type.Kind() == reflect.String && identifierFields[p]:
			seen[p] = true
		default:
			t.Errorf("%s is a %s, which can carry content; Event may only hold times, addresses and reviewed identifiers", p, f.Type)
		}
	}
	for f := range identifierFields {
		if !seen[f] {
			t.Errorf("allowlisted field %s no longer exists; remove it from identifierFields", f)
		}
	}
}

func TestEmitLimitsFields(t *testing.T) {
	long := strings.Repeat("é", audit.MaxIDLen) // 2 bytes a rune
	cut := strings.Repeat("é", audit.MaxIDLen/2)
	for _, tc := range []struct {
		name string
		in   audit.Event
		want audit.Event
	}{
		{"identifiers cut",
			audit.Event{Action: audit.ActionAuthFailed, ActorKeyID: long, ActorKeyHint: long, Subject: long, ReplacedBy: long, Owner: long, Operation: long, RequestID: long},
			audit.Event{Action: audit.ActionAuthFailed, ActorKeyID: cut, ActorKeyHint: cut, Subject: cut, ReplacedBy: cut, Owner: cut, Operation: cut, RequestID: cut}},
		{"short identifiers kept",
			audit.Event{Subject: "key_1", Owner: "ümlaut", RequestID: strings.Repeat("r", audit.MaxIDLen)},
			audit.Event{Subject: "key_1", Owner: "ümlaut", RequestID: strings.Repeat("r", audit.MaxIDLen)}},
		{"words kept",
			audit.Event{Action: "custom.thing-1", Outcome: audit.OutcomeFailed, Reason: "some_reason.v2"},
			audit.Event{Action: "custom.thing-1", Outcome: audit.OutcomeFailed, Reason: "some_reason.v2"}},
		{"free text in words replaced",
			audit.Event{Action: "Key Issued", Outcome: "ok!", Reason: "user said: let me in"},
			audit.Event{Action: "invalid", Outcome: "invalid", Reason: "invalid"}},
		{"long word replaced",
			audit.Event{Reason: audit.Reason(strings.Repeat("a", 65)), Action: audit.Action(strings.Repeat("a", 64))},
			audit.Event{Reason: "invalid", Action: audit.Action(strings.Repeat("a", 64))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sink audit.MemorySink
			a := newAuditor(t, &sink, nil)
			tc.in.Time = time.Unix(1, 0)
			a.Emit(tc.in)
			closeAuditor(t, a)
			got := sink.Events()
			if len(got) != 1 {
				t.Fatalf("sink got %d events; want 1", len(got))
			}
			tc.want.Time = tc.in.Time
			if got[0] != tc.want {
				t.Errorf("stored event:\n got  %+v\n want %+v", got[0], tc.want)
			}
		})
	}
}

func TestEventLogValue(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	l.LogAttrs(context.Background(), slog.LevelInfo, "x", slog.Any("event", audit.Event{
		Time:         time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Action:       audit.ActionAuthFailed,
		Outcome:      audit.OutcomeRefused,
		Reason:       audit.ReasonRevokedKey,
		ActorKeyID:   "key_1",
		ActorKeyHint: "wk_…abcd",
		ClientIP:     netip.MustParseAddr("192.0.2.1"),
		RequestID:    "req-1",
	}))
	want := `level=INFO msg=x event.time=2026-01-02T03:04:05.000Z event.action=auth.failed event.outcome=refused ` +
		`event.reason=revoked_key event.actor_key_id=key_1 event.actor_key_hint=wk_…abcd event.client_ip=192.0.2.1 event.request_id=req-1` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("logged:\n got  %q\n want %q", got, want)
	}
}
