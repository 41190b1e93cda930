// Package audit records who did what to the gateway's keys and who was
// refused: keys issued, rotated, revoked and deleted, every admin API call,
// failed authentications, client addresses blocked by the failed-auth
// throttle, exhausted budgets and crossed rate limits. It imports no other
// package of this module but internal/asyncq.
//
// # Pieces
//
//   - Event describes one audited action: when, which Action, its Outcome
//     and Reason, the acting key (ID and display hint, never the key), the
//     Subject acted on, its Owner, the client IP and the request ID. By
//     construction it holds no prompt, completion, header or body, and no
//     free text a client chose.
//   - Sink is the one-method interface an audit backend implements
//     (BatchSink optionally); audittest.RunSinkTests checks one.
//   - Auditor sits in front of a Sink: Emit puts an event on a bounded
//     queue and returns at once, without allocating, whatever the sink is
//     doing; a background goroutine delivers batches with retries; Close
//     flushes. When the queue is full Emit drops the event and counts it:
//     auditing never slows a request. The queue is the same machinery as
//     metering.Meter's.
//   - MemorySink keeps the latest events in memory, for tests and examples;
//     LogSink writes each event as a log/slog record.
//
// # Naming
//
// Actions are named "<domain>.<what happened>": lower-case ASCII, a dot
// between the domain (key, admin, auth, ip, budget, ratelimit) and a past
// participle or noun (issued, request, failed, blocked). Outcomes and
// reasons are lower-case snake_case words. Applications may define further
// actions and reasons in the same form; Emit replaces a value not in that
// form with "invalid", so no free text reaches a sink through them.
//
// A nil *Auditor is valid and discards events, so that code emitting
// events needs no nil checks when auditing is not configured.
package audit
