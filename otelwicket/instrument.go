package otelwicket

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// scope names the instrumentation scope of every span and instrument.
const scope = "github.com/wicket-gw/wicket/otelwicket"

// Options configures Instrument. Zero fields take the defaults documented
// on them.
type Options struct {
	// TracerProvider makes the tracer. Nil means OpenTelemetry's global
	// provider (otel.GetTracerProvider), a no-op until the application
	// sets one.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the meter. Nil means the global one
	// (otel.GetMeterProvider).
	MeterProvider metric.MeterProvider
	// Propagator reads the caller's trace context from each request and
	// writes each upstream attempt's into its request. Nil means W3C trace
	// context (traceparent, tracestate).
	Propagator propagation.TextMapPropagator
}

// Telemetry is an instrumented gateway's telemetry: the hooks Instrument
// added to its Config, the middleware that starts each request's span
// (Handler), and the router's cool-downs (OnCoolDown). It is safe for
// concurrent use.
type Telemetry struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	m      *instruments
	gw     atomic.Pointer[wicket.Gateway] // for the metering queue's gauges, once Handler has seen it

	serverKind, clientKind trace.SpanStartOption // made once: each costs an allocation
}

// Instrument adds the hooks that trace and measure requests to cfg, before
// wicket.New reads it; hooks cfg already holds still run, after
// (OnAttempt, OnEvent) or before (OnAttemptStart, Propagate) this
// package's. Wrap the gateway in the result's Handler. An instrument the
// meter refuses is an error.
func Instrument(cfg *wicket.Config, opts *Options) (*Telemetry, error) {
	if cfg == nil {
		return nil, errors.New("otelwicket: Instrument: cfg must not be nil")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.TracerProvider == nil {
		o.TracerProvider = otel.GetTracerProvider()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	if o.Propagator == nil {
		o.Propagator = propagation.TraceContext{}
	}
	t := &Telemetry{tracer: o.TracerProvider.Tracer(scope), prop: o.Propagator,
		serverKind: trace.WithSpanKind(trace.SpanKindServer), clientKind: trace.WithSpanKind(trace.SpanKindClient)}
	m, err := newInstruments(o.MeterProvider.Meter(scope), t.meterStats)
	if err != nil {
		return nil, err
	}
	t.m = m

	prevStart, prevProp, prevAttempt, prevEvent := cfg.OnAttemptStart, cfg.Propagate, cfg.OnAttempt, cfg.OnEvent
	cfg.OnAttemptStart = func(ctx context.Context, a wicket.Attempt) context.Context {
		if prevStart != nil {
			if c := prevStart(ctx, a); c != nil {
				ctx = c
			}
		}
		return t.attemptStart(ctx, a)
	}
	cfg.Propagate = func(ctx context.Context, h http.Header) {
		if prevProp != nil {
			prevProp(ctx, h)
		}
		t.prop.Inject(ctx, headerCarrier(h))
	}
	cfg.OnAttempt = func(ctx context.Context, a wicket.Attempt) {
		t.attemptEnd(ctx, a)
		if prevAttempt != nil {
			prevAttempt(ctx, a)
		}
	}
	cfg.OnEvent = func(ctx context.Context, e metering.Event) {
		t.event(ctx, e)
		if prevEvent != nil {
			prevEvent(ctx, e)
		}
	}
	return t, nil
}

// OnCoolDown counts a router's cool-downs (wicket.cooldowns, by provider
// and whether one began or ended): pass it as
// providers.RouterOptions.OnCoolDown.
func (t *Telemetry) OnCoolDown(e providers.CoolDownEvent) {
	state := "ended"
	if e.Entered {
		state = "entered"
	}
	t.m.coolDowns.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("wicket.provider", e.Provider), attribute.String("wicket.cooldown.state", state)))
}

// meterStats reads the metering queue of the gateway Handler wraps, if
// any.
func (t *Telemetry) meterStats() (metering.MeterStats, bool) {
	gw := t.gw.Load()
	if gw == nil {
		return metering.MeterStats{}, false
	}
	return gw.MeterStats(), true
}
