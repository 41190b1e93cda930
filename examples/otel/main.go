// Command otel runs a wicket gateway instrumented with OpenTelemetry
// (otelwicket): its metrics on /metrics for Prometheus (through the
// OpenTelemetry Prometheus exporter) and its traces printed to stdout. It
// serves the deterministic fake model "m" on 127.0.0.1:8080, issues a
// demo key and prints ready-to-paste requests. grafana-dashboard.json, beside
// this file, is a Grafana dashboard over the metrics it exports.
//
//	go run ./examples/otel [-addr 127.0.0.1:8080]
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	promexporter "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/otelwicket"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, os.Stdout, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "otel example:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends.
func run(ctx context.Context, addr string, out, traces io.Writer) error {
	app, err := newApp(traces)
	if err != nil {
		return err
	}
	defer app.close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "wicket with OpenTelemetry on %s; metrics on %s/metrics; traces below\n", base, base)
	fmt.Fprintf(out, "try:\n  curl -s %s/v1/chat/completions -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'\n", base, app.key)
	fmt.Fprintf(out, "  curl -s %s/metrics | grep -E '^(gen_ai|wicket)_'\n", base)
	srv := wicket.NewServer(app.handler)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// app is the instrumented gateway, /metrics beside it.
type app struct {
	handler http.Handler
	key     string
	tel     *otelwicket.Telemetry
	close   func()
}

// newApp builds the gateway with its telemetry: traces to traces, as
// JSON, and metrics into a Prometheus registry served on /metrics.
func newApp(traces io.Writer) (*app, error) {
	exporter, err := stdouttrace.New(stdouttrace.WithWriter(traces), stdouttrace.WithPrettyPrint())
	if err != nil {
		return nil, err
	}
	// A real service batches (sdktrace.WithBatcher); the syncer prints each
	// span as it ends, which suits a demo.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	registry := prometheus.NewRegistry()
	metrics, err := promexporter.New(promexporter.WithRegisterer(registry))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(metrics))

	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	hasher, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: secret})
	if err != nil {
		return nil, err
	}
	km, err := keys.NewManager(keys.NewMemoryStore(), hasher, nil)
	if err != nil {
		return nil, err
	}
	cfg := wicket.Config{Keys: km}
	tel, err := otelwicket.Instrument(&cfg, &otelwicket.Options{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		return nil, err
	}
	// The router is made after Instrument so that it reports cool-downs.
	cfg.Router, err = providers.NewRouter([]providers.Model{
		{Name: "m", Deployments: []providers.Deployment{{Provider: fake.NewProvider(nil), Model: "fake-echo"}}},
	}, &providers.RouterOptions{OnCoolDown: tel.OnCoolDown})
	if err != nil {
		return nil, err
	}
	gw, err := wicket.New(cfg)
	if err != nil {
		return nil, err
	}
	key, _, err := km.Issue(context.Background(), keys.Spec{Owner: "demo", Name: "otel-example"})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.Handle("/", tel.Handler(gw))
	return &app{handler: mux, key: key, tel: tel, close: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		gw.Close(ctx)
		tp.Shutdown(ctx)
		mp.Shutdown(ctx)
	}}, nil
}
