package wicket

import (
	"context"
	"log/slog"
)

// accessRecord writes the request's one access record to Config.Logger at
// Info, with allowlisted fields only: identifiers, the outcome, timing and
// token counts, never content, a key or an upstream error's text. Set the
// logger's level above Info to turn it off.
func (g *Gateway) accessRecord(ctx context.Context, s *state) {
	if !g.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	o := &s.outcome
	hint := ""
	if rec, ok := s.principal(); ok {
		hint = rec.Hint
	}
	g.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "wicket: request",
		slog.String("request_id", o.RequestID),
		slog.String("key_id", o.KeyID),
		slog.String("key_hint", hint),
		slog.String("model", o.Model),
		slog.String("provider", o.Provider),
		slog.String("deployment", o.Deployment),
		slog.String("endpoint", o.Endpoint),
		slog.Int("status", o.Status),
		slog.String("error_class", string(o.ErrorClass)),
		slog.Int("attempts", o.Attempts),
		slog.Duration("latency", o.Latency),
		slog.Int64("input_tokens", o.Usage.InputTokens),
		slog.Int64("output_tokens", o.Usage.OutputTokens),
		slog.Bool("usage_estimated", o.UsageEstimated),
	)
}
