package redact_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/wicket-gw/wicket/redact"
)

// BenchmarkHandler compares a JSON handler wrapped in a redact.Handler with
// the bare JSON handler, on the record a gateway logs per request (nothing
// to remove: the common case) and on one with a key and a prompt in it.
func BenchmarkHandler(b *testing.B) {
	ctx := context.Background()
	clean := func(l *slog.Logger) {
		l.LogAttrs(ctx, slog.LevelInfo, "request served",
			slog.String("route", "/v1/chat/completions"), slog.String("model", "gpt-4o-mini"),
			slog.Int("status", 200), slog.Int64("input_tokens", 1234), slog.Int64("output_tokens", 56),
			slog.String("key", "wk_…1uQ6"), slog.String("upstream", "https://api.openai.com/v1"))
	}
	dirty := func(l *slog.Logger) {
		l.LogAttrs(ctx, slog.LevelInfo, "request failed",
			slog.String("route", "/v1/chat/completions"), slog.String("prompt", "tell me a story"),
			slog.String("auth", "Bearer "+openAIKey), slog.Any("err", errors.New("Post \"https://h/v1?key=abc\": EOF")))
	}
	for _, bc := range []struct {
		name string
		log  func(*slog.Logger)
	}{{"clean", clean}, {"dirty", dirty}} {
		for _, wrap := range []bool{false, true} {
			name := bc.name + "/bare"
			var h slog.Handler = slog.NewJSONHandler(io.Discard, nil)
			if wrap {
				name = bc.name + "/redact"
				h = redact.NewHandler(h, nil)
			}
			l := slog.New(h).With("service", "gateway").WithGroup("req")
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					bc.log(l)
				}
			})
		}
	}
}

func BenchmarkMask(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"clean", "POST /v1/chat/completions model=gpt-4o-mini status=200 duration=1.2s key=wk_…1uQ6 https://api.openai.com/v1"},
		{"key", "POST /v1/chat/completions Authorization: Bearer " + openAIKey + " status=401"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.s)))
			for b.Loop() {
				_ = redact.Mask(bc.s)
			}
		})
	}
}
