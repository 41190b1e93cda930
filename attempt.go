package wicket

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// Attempt is one upstream attempt of a request, as Config.OnAttempt sees
// it: identifiers and outcomes only.
type Attempt struct {
	// RequestID is the gateway's ID of the request.
	RequestID string
	// Model is the public model name the client asked for.
	Model string
	// Deployment and Provider name where the attempt went.
	Deployment, Provider string
	// Dialect is the upstream's API dialect.
	Dialect providers.Dialect
	// Endpoint is the operation asked for.
	Endpoint providers.Endpoint
	// UpstreamModel is the model name sent upstream.
	UpstreamModel string
	// MaxOutputTokens is the output cap the upstream was sent: the
	// request's own, or the one the gateway added for a budget; 0 if none.
	MaxOutputTokens int64
	// Number counts the request's attempts, from 1.
	Number int
	// Reason tells why this deployment was tried: AttemptFirst,
	// AttemptFallback, AttemptRetry or AttemptProbe.
	Reason string
	// Status is the upstream's HTTP status; 0 when none came.
	Status int
	// Failure classifies a failed attempt for cool-downs;
	// providers.FailureNone when the upstream answered.
	Failure providers.Failure
	// ErrorClass classifies a failed attempt as metering events do; empty
	// for a success.
	ErrorClass metering.ErrorClass
	// Latency is the time from the attempt's start to the upstream's status
	// (or its failure).
	Latency time.Duration
}

// Reasons for an attempt.
const (
	// AttemptFirst: the plan's first deployment for the request.
	AttemptFirst = "first"
	// AttemptFallback: a further deployment after earlier ones failed or
	// were cooling down.
	AttemptFallback = "fallback"
	// AttemptRetry: a deployment this request already tried, after a
	// back-off.
	AttemptRetry = "retry"
	// AttemptProbe: the attempt that ends a deployment's or a provider's
	// cool-down (see providers.CoolDown).
	AttemptProbe = "probe"
)

// attemptReason names why attempt i (in the given round over the plan's
// deployments) goes.
func attemptReason(i, round int, probe bool) string {
	switch {
	case probe:
		return AttemptProbe
	case round > 0:
		return AttemptRetry
	case i > 0:
		return AttemptFallback
	}
	return AttemptFirst
}

// attempt tracks one upstream attempt until its outcome is known.
type attempt struct {
	g     *Gateway
	ctx   context.Context
	s     *state
	d     *providers.Deployment
	start time.Time
	a     Attempt
}

// begin calls Config.OnAttemptStart with ctx, the context the attempt
// would run under, and returns the one it will: the hook's, which
// Config.OnAttempt then sees too.
func (at *attempt) begin(ctx context.Context) (out context.Context) {
	out = ctx // kept if the hook panics
	defer at.g.recoverHook("OnAttemptStart", at.s.id)
	if c := at.g.cfg.OnAttemptStart(ctx, at.a); c != nil {
		out = c
		at.ctx = c
	}
	return out
}

// done records the attempt's outcome: it tells the Router (when report is
// set: the outcome says something about the deployment) and
// Config.OnAttempt.
func (at *attempt) done(status int, f providers.Failure, class metering.ErrorClass, report bool) {
	if report {
		at.g.cfg.Router.Report(at.d, f)
	}
	if at.g.cfg.OnAttempt == nil {
		return
	}
	at.a.Status, at.a.Failure, at.a.ErrorClass = status, f, class
	at.a.Latency = at.g.cfg.Now().Sub(at.start)
	defer at.g.recoverHook("OnAttempt", at.s.id)
	at.g.cfg.OnAttempt(at.ctx, at.a)
}

// statusClass classifies an upstream's answer by its status.
func statusClass(status int) metering.ErrorClass {
	switch {
	case status >= 500:
		return metering.ClassUpstreamError
	case status == http.StatusTooManyRequests:
		return metering.ClassRateLimited
	case status >= 400:
		return metering.ClassInvalidRequest
	}
	return ""
}

// jitter spreads a back-off d over [d/2, 3d/2), so that clients that
// failed together do not come back together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d/2 + rand.N(d)
}
