package otelwicket

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/semconv/v1.40.0/genaiconv"
	"go.opentelemetry.io/otel/trace"

	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// wicket's own attributes.
const (
	keyKeyID      = attribute.Key("wicket.key.id")
	keyOwner      = attribute.Key("wicket.owner")
	keyRequestID  = attribute.Key("wicket.request.id")
	keyAttempts   = attribute.Key("wicket.attempts")
	keyCost       = attribute.Key("wicket.cost_micros")
	keyEstimated  = attribute.Key("wicket.usage.estimated")
	keyDeployment = attribute.Key("wicket.deployment")
	keyNumber     = attribute.Key("wicket.attempt.number")
	keyReason     = attribute.Key("wicket.attempt.reason")
	keyOutcome    = attribute.Key("wicket.outcome")
	keyStream     = attribute.Key("wicket.stream")
	keySent       = attribute.Key("wicket.attempt.sent")
)

// requestKey finds a request's state in its context.
type requestKey struct{}

// request is what the hooks learn of one request, for its span's end. The
// gateway calls its hooks on the request's goroutine, so it needs no lock.
type request struct {
	span     trace.Span
	event    *metering.Event
	dialect  providers.Dialect // of the last upstream attempt
	endpoint providers.Endpoint
	maxOut   int64      // the output cap the last attempt sent
	attempt  trace.Span // the attempt in progress, if any
	method   string     // the request's
}

// operation names the request's operation: its upstream attempts', or,
// when it made none, its route's.
func (rq *request) operation(route string) string {
	if rq.endpoint != "" {
		return operation(rq.endpoint)
	}
	return operationOfRoute(rq.method, route)
}

// Handler wraps the gateway (or a handler in front of it): it starts a
// server span per request, continuing the caller's trace context, and
// ends it when the gateway returns (or panics, as an aborted stream does).
// Given the *wicket.Gateway itself, it also reports its metering queue
// (wicket.meter.queue.depth, wicket.meter.dropped).
func (t *Telemetry) Handler(next http.Handler) http.Handler {
	if gw, ok := next.(*wicket.Gateway); ok {
		t.gw.Store(gw)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		rq := &request{method: r.Method}
		ctx = context.WithValue(ctx, requestKey{}, rq)
		ctx, rq.span = t.tracer.Start(ctx, r.Method, t.serverKind)
		if rq.span.IsRecording() {
			rq.span.SetAttributes(semconv.HTTPRequestMethodKey.String(r.Method))
		}
		sw := &statusWriter{ResponseWriter: w}
		defer t.end(ctx, rq, sw)
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// end sets the request's span's name and attributes from what the hooks
// saw, ends it and counts the request.
func (t *Telemetry) end(ctx context.Context, rq *request, sw *statusWriter) {
	if rq.attempt != nil { // an attempt the gateway began but never sent
		rq.attempt.SetAttributes(keySent.Bool(false))
		rq.attempt.End()
	}
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	span := rq.span
	recording := span.IsRecording()
	e := rq.event
	if e == nil {
		// No event: the gateway answered before a key was verified.
		outcome := "rejected"
		switch status {
		case http.StatusUnauthorized:
			outcome = string(metering.ClassAuth)
			t.m.unauthorized.Add(ctx, 1)
		case http.StatusTooManyRequests: // the failed-auth throttle's
			outcome = "throttled"
			t.m.throttled.Add(ctx, 1)
		}
		if recording {
			span.SetAttributes(semconv.HTTPResponseStatusCode(status), keyOutcome.String(outcome))
			if status >= 500 {
				span.SetStatus(codes.Error, "")
			}
		}
		span.End()
		if t.m.requests.Enabled(ctx) {
			t.m.requests.Add(ctx, 1, metric.WithAttributes(keyOutcome.String(outcome)))
		}
		return
	}
	op := rq.operation(e.Endpoint)
	outcome := "ok"
	if e.ErrorClass != metering.ClassNone {
		outcome = string(e.ErrorClass)
	}
	if recording {
		t.annotate(span, e, rq, op, outcome, status)
	}
	span.End()
	if t.m.requests.Enabled(ctx) {
		t.m.requests.Add(ctx, 1, metric.WithAttributes(keyOutcome.String(outcome), semconv.GenAIOperationNameKey.String(op)))
	}
}

// annotate names the request's span and sets its attributes from its
// metering event.
func (t *Telemetry) annotate(span trace.Span, e *metering.Event, rq *request, op, outcome string, status int) {
	span.SetName(op + " " + e.Model)
	attrs := []attribute.KeyValue{
		semconv.HTTPResponseStatusCode(status),
		semconv.GenAIOperationNameKey.String(op),
		semconv.GenAIRequestModelKey.String(e.Model),
		keyRequestID.String(e.RequestID),
		keyAttempts.Int(e.Attempts),
		keyStream.Bool(e.Stream),
	}
	if p := providerName(rq.dialect); p != "" {
		attrs = append(attrs, semconv.GenAIProviderNameKey.String(p))
	}
	if rq.maxOut > 0 {
		attrs = append(attrs, semconv.GenAIRequestMaxTokensKey.Int64(rq.maxOut))
	}
	if e.ServedModel != "" {
		attrs = append(attrs, semconv.GenAIResponseModelKey.String(e.ServedModel))
	}
	if len(e.FinishReasons) > 0 {
		attrs = append(attrs, semconv.GenAIResponseFinishReasonsKey.StringSlice(e.FinishReasons))
	}
	if e.KeyID != "" {
		attrs = append(attrs, keyKeyID.String(e.KeyID))
	}
	if e.Owner != "" {
		attrs = append(attrs, keyOwner.String(e.Owner))
	}
	if e.Attempts > 0 {
		attrs = append(attrs,
			semconv.GenAIUsageInputTokensKey.Int64(e.Usage.InputTokens),
			semconv.GenAIUsageOutputTokensKey.Int64(e.Usage.OutputTokens),
			keyCost.Int64(e.CostMicros), keyEstimated.Bool(e.UsageEstimated))
	}
	if e.ErrorClass != metering.ClassNone {
		attrs = append(attrs, semconv.ErrorTypeKey.String(outcome))
		if status >= 500 {
			span.SetStatus(codes.Error, outcome)
		}
	}
	attrs = append(attrs, keyOutcome.String(outcome))
	span.SetAttributes(attrs...)
}

// event keeps the request's metering event for its span's end, and
// records the per-request metrics.
func (t *Telemetry) event(ctx context.Context, e metering.Event) {
	rq, _ := ctx.Value(requestKey{}).(*request)
	if rq == nil {
		return // the gateway is not behind the middleware
	}
	rq.event = &e
	if !t.m.requestTime.Enabled(ctx) && !t.m.tokens.Enabled(ctx) && !t.m.firstToken.Enabled(ctx) && !t.m.costMicros.Enabled(ctx) {
		return
	}
	op := rq.operation(e.Endpoint)
	provider := providerName(rq.dialect)
	// Metrics are labelled with a model only once the router has accepted
	// it (an attempt was made): a client's made-up model names must not
	// mint time series.
	var attrs []attribute.KeyValue
	if e.Attempts > 0 {
		attrs = []attribute.KeyValue{semconv.GenAIRequestModelKey.String(e.Model)}
		if e.ServedModel != "" {
			attrs = append(attrs, semconv.GenAIResponseModelKey.String(e.ServedModel))
		}
	}
	withError := attrs
	if e.ErrorClass != metering.ClassNone {
		withError = append(attrs[:len(attrs):len(attrs)], semconv.ErrorTypeKey.String(string(e.ErrorClass)))
	}
	t.m.requestTime.Record(ctx, e.Latency.Seconds(), genaiconv.OperationNameAttr(op), genaiconv.ProviderNameAttr(provider), withError...)
	if e.Attempts == 0 {
		return // refused before any upstream call: no tokens, no cost
	}
	if e.Usage.InputTokens > 0 || e.Usage.OutputTokens > 0 {
		t.m.tokens.Record(ctx, e.Usage.InputTokens, genaiconv.OperationNameAttr(op), genaiconv.ProviderNameAttr(provider), genaiconv.TokenTypeInput,
			attrs...)
		t.m.tokens.Record(ctx, e.Usage.OutputTokens, genaiconv.OperationNameAttr(op), genaiconv.ProviderNameAttr(provider), genaiconv.TokenTypeOutput,
			attrs...)
	}
	if e.Stream && e.ErrorClass == metering.ClassNone && e.TimeToFirstToken > 0 {
		t.m.firstToken.Record(ctx, e.TimeToFirstToken.Seconds(), genaiconv.OperationNameAttr(op), genaiconv.ProviderNameAttr(provider), attrs...)
	}
	if e.CostMicros > 0 {
		t.m.costMicros.Add(ctx, e.CostMicros, metric.WithAttributes(attrs...))
	}
}

// attemptStart starts a client span for an upstream attempt, under the
// request's span; the gateway runs the attempt under the context returned,
// so that Propagate sends this span's context upstream.
func (t *Telemetry) attemptStart(ctx context.Context, a wicket.Attempt) context.Context {
	ctx, span := t.tracer.Start(ctx, "attempt", t.clientKind)
	if span.IsRecording() {
		op := operation(a.Endpoint)
		span.SetName(op + " " + a.UpstreamModel)
		attrs := []attribute.KeyValue{
			semconv.GenAIOperationNameKey.String(op),
			semconv.GenAIRequestModelKey.String(a.UpstreamModel),
			keyDeployment.String(a.Deployment),
			keyNumber.Int(a.Number),
			keyReason.String(a.Reason),
		}
		if p := providerName(a.Dialect); p != "" {
			attrs = append(attrs, semconv.GenAIProviderNameKey.String(p))
		}
		if a.MaxOutputTokens > 0 {
			attrs = append(attrs, semconv.GenAIRequestMaxTokensKey.Int64(a.MaxOutputTokens))
		}
		span.SetAttributes(attrs...)
	}
	if rq, _ := ctx.Value(requestKey{}).(*request); rq != nil {
		if rq.attempt != nil {
			rq.attempt.End()
		}
		rq.attempt, rq.dialect, rq.endpoint, rq.maxOut = span, a.Dialect, a.Endpoint, a.MaxOutputTokens
	}
	return ctx
}

// attemptEnd ends the attempt's span with its outcome and records its
// duration and count.
func (t *Telemetry) attemptEnd(ctx context.Context, a wicket.Attempt) {
	span := trace.SpanFromContext(ctx)
	if rq, _ := ctx.Value(requestKey{}).(*request); rq != nil && rq.attempt == span {
		rq.attempt = nil
	}
	outcome := "ok"
	if a.ErrorClass != metering.ClassNone {
		outcome = string(a.ErrorClass)
	}
	if span.IsRecording() {
		if a.Status > 0 {
			span.SetAttributes(semconv.HTTPResponseStatusCode(a.Status))
		}
		if a.ErrorClass != metering.ClassNone {
			span.SetAttributes(semconv.ErrorTypeKey.String(outcome))
			span.SetStatus(codes.Error, outcome)
		}
	}
	span.End()
	if !t.m.attemptTime.Enabled(ctx) && !t.m.attempts.Enabled(ctx) {
		return
	}
	op := operation(a.Endpoint)
	attrs := []attribute.KeyValue{semconv.GenAIRequestModelKey.String(a.UpstreamModel)}
	if a.ErrorClass != metering.ClassNone {
		attrs = append(attrs, semconv.ErrorTypeKey.String(outcome))
	}
	t.m.attemptTime.Record(ctx, a.Latency.Seconds(), genaiconv.OperationNameAttr(op), genaiconv.ProviderNameAttr(providerName(a.Dialect)), attrs...)
	t.m.attempts.Add(ctx, 1, metric.WithAttributes(keyReason.String(a.Reason), keyOutcome.String(outcome),
		semconv.GenAIProviderNameKey.String(providerName(a.Dialect)), attribute.String("http.response.status_code", strconv.Itoa(a.Status))))
}

// statusWriter notes the status the gateway answered with. Unwrap lets
// http.ResponseController reach the writer under it (Flush and the
// rest).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerCarrier is propagation.HeaderCarrier for upstream requests, with
// the W3C names written in their canonical form at no cost: Set on an
// http.Header canonicalizes each lower-case key anew.
type headerCarrier http.Header

func (c headerCarrier) Get(key string) string { return http.Header(c).Get(key) }

func (c headerCarrier) Set(key, value string) {
	switch key {
	case "traceparent":
		c["Traceparent"] = []string{value}
	case "tracestate":
		c["Tracestate"] = []string{value}
	case "baggage":
		c["Baggage"] = []string{value}
	default:
		http.Header(c).Set(key, value)
	}
}

func (c headerCarrier) Keys() []string { return propagation.HeaderCarrier(c).Keys() }
