package otelwicket

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/semconv/v1.40.0/genaiconv"

	"github.com/wicket-gw/wicket/metering"
)

// The conventions' advised bucket boundaries: token counts in powers of 4,
// durations doubling from 10 ms, time to first token finer below 100 ms.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	ttftBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0}
)

// instruments are the metrics Instrument records.
type instruments struct {
	tokens       genaiconv.ClientTokenUsage        // per request, input and output
	attemptTime  genaiconv.ClientOperationDuration // per upstream attempt
	requestTime  genaiconv.ServerRequestDuration   // per request
	firstToken   genaiconv.ServerTimeToFirstToken  // per successful stream
	requests     metric.Int64Counter               // wicket.requests, by outcome
	attempts     metric.Int64Counter               // wicket.upstream.attempts, by reason and outcome
	costMicros   metric.Int64Counter               // wicket.cost, in micro-dollars
	unauthorized metric.Int64Counter               // wicket.auth.failures
	coolDowns    metric.Int64Counter               // wicket.cooldowns
	throttled    metric.Int64Counter               // wicket.auth.throttled
}

// newInstruments makes the instruments, and the metering queue's gauges
// over stats (which reports false while there is no gateway to read).
func newInstruments(m metric.Meter, stats func() (metering.MeterStats, bool)) (*instruments, error) {
	var in instruments
	var err error
	fail := func(name string, e error) error { return fmt.Errorf("otelwicket: instrument %s: %w", name, e) }
	if in.tokens, err = genaiconv.NewClientTokenUsage(m, metric.WithExplicitBucketBoundaries(tokenBuckets...)); err != nil {
		return nil, fail(in.tokens.Name(), err)
	}
	if in.attemptTime, err = genaiconv.NewClientOperationDuration(m, metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, fail(in.attemptTime.Name(), err)
	}
	if in.requestTime, err = genaiconv.NewServerRequestDuration(m, metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, fail(in.requestTime.Name(), err)
	}
	if in.firstToken, err = genaiconv.NewServerTimeToFirstToken(m, metric.WithExplicitBucketBoundaries(ttftBuckets...)); err != nil {
		return nil, fail(in.firstToken.Name(), err)
	}
	if in.requests, err = m.Int64Counter("wicket.requests", metric.WithUnit("{request}"),
		metric.WithDescription("Requests the gateway answered, by outcome: ok, or the error class (rate_limited, budget_exceeded, auth, upstream_error…).")); err != nil {
		return nil, fail("wicket.requests", err)
	}
	if in.attempts, err = m.Int64Counter("wicket.upstream.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Upstream attempts, by reason (first, fallback, retry, probe) and outcome.")); err != nil {
		return nil, fail("wicket.upstream.attempts", err)
	}
	if in.costMicros, err = m.Int64Counter("wicket.cost", metric.WithUnit("{micro-dollar}"),
		metric.WithDescription("What the requests cost, in micro-dollars, by model and owner-free attributes.")); err != nil {
		return nil, fail("wicket.cost", err)
	}
	if in.unauthorized, err = m.Int64Counter("wicket.auth.failures", metric.WithUnit("{request}"),
		metric.WithDescription("Requests refused for their key: missing, malformed, unknown, revoked or expired.")); err != nil {
		return nil, fail("wicket.auth.failures", err)
	}
	if in.throttled, err = m.Int64Counter("wicket.auth.throttled", metric.WithUnit("{request}"),
		metric.WithDescription("Requests refused before any key lookup because their address failed to authenticate too often.")); err != nil {
		return nil, fail("wicket.auth.throttled", err)
	}
	if in.coolDowns, err = m.Int64Counter("wicket.cooldowns", metric.WithUnit("{cooldown}"),
		metric.WithDescription("Deployment and provider cool-downs entered and ended, from providers.RouterOptions.OnCoolDown.")); err != nil {
		return nil, fail("wicket.cooldowns", err)
	}
	depth, err := m.Int64ObservableGauge("wicket.meter.queue.depth", metric.WithUnit("{event}"),
		metric.WithDescription("Metering events waiting for the Recorder."))
	if err != nil {
		return nil, fail("wicket.meter.queue.depth", err)
	}
	dropped, err := m.Int64ObservableCounter("wicket.meter.dropped", metric.WithUnit("{event}"),
		metric.WithDescription("Metering events dropped: the queue was full or closed, or the Recorder kept failing."))
	if err != nil {
		return nil, fail("wicket.meter.dropped", err)
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s, ok := stats()
		if !ok {
			return nil
		}
		o.ObserveInt64(depth, int64(s.Queued))
		o.ObserveInt64(dropped, int64(s.Dropped+s.Failed))
		return nil
	}, depth, dropped)
	if err != nil {
		return nil, fail("wicket.meter callback", err)
	}
	return &in, nil
}
