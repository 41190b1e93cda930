package audit

import (
	"context"
	"log/slog"
)

// LogSink is a Sink that writes each event as one log/slog record: message
// "audit", the record's time the event's Time, and one attribute per
// non-empty field under the name of its JSON encoding ("action",
// "outcome", "reason", "actor_key_id", "actor_key_hint", "subject",
// "replaced_by", "owner", "operation", "client_ip", "request_id"). Nothing
// else is logged.
//
// The zero LogSink discards events. A LogSink is safe for concurrent use if
// its Logger's handler is.
type LogSink struct {
	// Logger receives the records. If nil, events are discarded.
	Logger *slog.Logger
	// Level is the records' level. The zero value is slog.LevelInfo.
	Level slog.Level
}

// Write logs e, unless the logger is nil or disabled at s.Level. It returns
// ctx's error, logging nothing, if ctx is done, and the handler's error.
func (s *LogSink) Write(ctx context.Context, e Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.Logger == nil {
		return nil
	}
	h := s.Logger.Handler()
	if !h.Enabled(ctx, s.Level) {
		return nil
	}
	r := slog.NewRecord(e.Time, s.Level, "audit", 0)
	var buf [12]slog.Attr
	r.AddAttrs(e.appendAttrs(buf[:0], false)...)
	return h.Handle(ctx, r)
}
