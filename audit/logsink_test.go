package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/audit/audittest"
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines(t *testing.T) []map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var m map[string]string
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// readBack turns the JSON records a LogSink wrote back into events, so that
// the conformance suite checks that every field is logged, and nothing
// else.
func readBack(t *testing.T, buf *lockedBuffer) []audit.Event {
	var events []audit.Event
	for _, m := range buf.lines(t) {
		var e audit.Event
		if m["msg"] != "audit" || m["level"] != "INFO" {
			t.Errorf("record %v: want msg audit at level INFO", m)
		}
		if s, ok := m["time"]; ok {
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.Fatalf("record time %q: %v", s, err)
			}
			e.Time = tm
		}
		if s, ok := m["client_ip"]; ok {
			e.ClientIP = netip.MustParseAddr(s)
		}
		e.Action, e.Outcome, e.Reason = audit.Action(m["action"]), audit.Outcome(m["outcome"]), audit.Reason(m["reason"])
		e.ActorKeyID, e.ActorKeyHint, e.Subject = m["actor_key_id"], m["actor_key_hint"], m["subject"]
		e.ReplacedBy, e.Owner, e.Operation, e.RequestID = m["replaced_by"], m["owner"], m["operation"], m["request_id"]
		for _, k := range []string{"time", "level", "msg", "action", "outcome", "reason", "actor_key_id", "actor_key_hint",
			"subject", "replaced_by", "owner", "operation", "client_ip", "request_id"} {
			delete(m, k)
		}
		if len(m) != 0 {
			t.Errorf("record has attributes beyond the allowlist: %v", m)
		}
		events = append(events, e)
	}
	return events
}

func TestLogSinkConformance(t *testing.T) {
	audittest.RunSinkTests(t, func(t *testing.T) (audit.Sink, func() []audit.Event) {
		buf := new(lockedBuffer)
		s := &audit.LogSink{Logger: slog.New(slog.NewJSONHandler(buf, nil))}
		return s, func() []audit.Event { return readBack(t, buf) }
	})
}

func TestLogSinkLevelAndNilLogger(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := (&audit.LogSink{Logger: l}).Write(ctx, audit.Event{Action: audit.ActionKeyIssued}); err != nil {
		t.Fatalf("Write: got error %v; want nil", err)
	}
	if buf.Len() != 0 {
		t.Errorf("Info record with a Warn logger: got %q; want nothing", buf.String())
	}
	if err := (&audit.LogSink{Logger: l, Level: slog.LevelWarn}).Write(ctx, audit.Event{Action: audit.ActionKeyIssued}); err != nil {
		t.Fatalf("Write: got error %v; want nil", err)
	}
	if want := "level=WARN msg=audit action=key.issued outcome=\"\"\n"; buf.String() != want {
		t.Errorf("Warn record: got %q; want %q", buf.String(), want)
	}
	if err := new(audit.LogSink).Write(ctx, audit.Event{}); err != nil {
		t.Errorf("zero LogSink Write: got error %v; want nil", err)
	}
}
