package otelwicket_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/otelwicket"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
)

// BenchmarkInstrumented measures what Instrument adds to a request through
// the whole gateway in process (the fake model, no network): "none" is the
// gateway alone, "noop" with OpenTelemetry's no-op providers, "sdk" with
// the SDK's tracer (batching to an exporter that discards) and meter (a
// manual reader, aggregating every record). The added cost is each one's
// ns/op and allocs/op minus none's:
//
//	cd otelwicket && go test -run '^$' -bench BenchmarkInstrumented -benchmem
func BenchmarkInstrumented(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts func(b *testing.B) *otelwicket.Options
	}{
		{"none", nil},
		{"noop", func(*testing.B) *otelwicket.Options {
			return &otelwicket.Options{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()}
		}},
		{"sdk", func(b *testing.B) *otelwicket.Options {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
			b.Cleanup(func() { tp.Shutdown(context.Background()) })
			return &otelwicket.Options{TracerProvider: tp, MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, key := benchGateway(b, tc.opts)
			body := []byte(`{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", "/v1/chat/completions", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("got %d %s", w.Code, strings.TrimSpace(w.Body.String()))
				}
			}
		})
	}
}

// benchGateway is a gateway serving the fake model in process,
// instrumented with opts unless nil.
func benchGateway(b *testing.B, opts func(*testing.B) *otelwicket.Options) (http.Handler, string) {
	km, err := keys.NewManager(keys.NewMemoryStore(), mustHasher(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	router, err := providers.NewRouter([]providers.Model{{Name: "m", Deployments: []providers.Deployment{{Provider: fake.NewProvider(nil), Model: "fake-echo"}}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg := wicket.Config{Keys: km, Router: router}
	var tel *otelwicket.Telemetry
	if opts != nil {
		if tel, err = otelwicket.Instrument(&cfg, opts(b)); err != nil {
			b.Fatal(err)
		}
	}
	gw, err := wicket.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gw.Close(context.Background()) })
	key, _, err := km.Issue(context.Background(), keys.Spec{Owner: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if tel == nil {
		return gw, key
	}
	return tel.Handler(gw), key
}

func mustHasher(b *testing.B) *keys.Hasher {
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	return h
}
