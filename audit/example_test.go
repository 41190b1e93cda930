package audit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/wicket-gw/wicket/audit"
)

func ExampleNew() {
	// A sink: here, keep events in memory. A real one writes to a database
	// or a log pipeline and may implement audit.BatchSink.
	var sink audit.MemorySink
	a, err := audit.New(&sink, nil)
	if err != nil {
		panic(err)
	}
	// On the request path: never waits for the sink.
	a.Emit(audit.Event{
		Action:       audit.ActionAuthFailed,
		Outcome:      audit.OutcomeRefused,
		Reason:       audit.ReasonRevokedKey,
		ActorKeyID:   "key_2b9f",
		ActorKeyHint: "wk_…x9Qz",
		ClientIP:     netip.MustParseAddr("203.0.113.7"),
		RequestID:    "req-1",
	})
	a.Emit(audit.Event{Action: audit.ActionKeyRevoked, Outcome: audit.OutcomeAllowed, Subject: "key_2b9f", Owner: "team-7"})

	// At shutdown: deliver what is queued.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		fmt.Println(err)
	}
	for _, e := range sink.Events() {
		fmt.Printf("%s %s reason=%s subject=%s\n", e.Action, e.Outcome, e.Reason, e.Subject)
	}
	fmt.Printf("%+v\n", a.Stats())

	// A nil *Auditor discards events: no checks needed where auditing is
	// optional.
	var off *audit.Auditor
	off.Emit(audit.Event{Action: audit.ActionKeyIssued})
	// Output:
	// auth.failed refused reason=revoked_key subject=
	// key.revoked allowed reason= subject=key_2b9f
	// {Written:2 Retried:0 Dropped:0 Failed:0 Queued:0}
}

func ExampleLogSink() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, nil))
	sink := &audit.LogSink{Logger: logger}
	sink.Write(context.Background(), audit.Event{
		Time:       time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC),
		Action:     audit.ActionKeyRotated,
		Outcome:    audit.OutcomeAllowed,
		ActorKeyID: "key_admin",
		Subject:    "key_2b9f",
		ReplacedBy: "key_3c0a",
		Operation:  "POST /keys/{id}/rotate",
	})
	// Output:
	// time=2026-05-04T03:02:01.000Z level=INFO msg=audit action=key.rotated outcome=allowed actor_key_id=key_admin subject=key_2b9f replaced_by=key_3c0a operation="POST /keys/{id}/rotate"
}
