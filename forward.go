package wicket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// Forward is the last step: it routes the decoded call to the model's
// deployments, falling back and retrying only while nothing has been sent
// to the client, then relays the upstream's answer (streams flushed event
// by event) and records the Outcome. A failure before the first byte
// answers 502 (504 for a time-out) in the caller's dialect; a failure after
// it aborts the connection, so the client sees a truncated answer as an
// error rather than as complete.
func (g *Gateway) Forward() http.Handler {
	return http.HandlerFunc(g.forward)
}

func (g *Gateway) forward(w http.ResponseWriter, r *http.Request) {
	s := stateFrom(r.Context())
	if s == nil || s.req == nil {
		fail(w, r, misconfigured("Forward needs Decode before it"))
		return
	}
	ctx := r.Context()
	o := &s.outcome
	if s.rec == nil {
		defer g.finishOnExit(r, s) // else Authenticate finishes, after Limit released the slot
	}

	plan := s.plan
	if plan.Len() == 0 {
		var err error
		if plan, err = g.cfg.Router.Route(s.req.Model); err != nil {
			o.Err = metering.ClassInvalidRequest
			fail(w, r, modelNotFound())
			return
		}
	}
	var lastErr error
	var last providers.Response
	for i := 0; i < plan.Len(); i++ {
		d := plan.At(i)
		// Going back to deployments that failed this request: pause first.
		if round := i / plan.Deployments(); round > 0 && i%plan.Deployments() == 0 {
			if !sleep(ctx, g.cfg.RetryBackoff<<(round-1)) {
				break
			}
		}
		o.Attempts++
		o.Provider, o.Deployment, o.UpstreamModel = d.Provider.Name(), d.Name, plan.UpstreamModel(d)
		if d.Provider.Dialect() != s.req.Dialect {
			lastErr = errDialect
			continue
		}
		call := &providers.Call{Request: s.req, Deployment: d, UpstreamModel: o.UpstreamModel, EnforceMaxOutput: s.enforceMaxOutput}
		resp, err := d.Provider.Send(ctx, call)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				s.upstreamTook = true // the client left while the upstream was working
				break
			}
			g.logUpstream(s, d, err)
			continue
		}
		if providers.Retryable(resp.StatusCode()) && i+1 < plan.Len() {
			if last != nil {
				last.Close()
			}
			last = resp
			lastErr = nil
			continue
		}
		if last != nil {
			last.Close()
		}
		last = nil
		g.relay(w, r, s, resp)
		return
	}
	// Every attempt failed. Relay the last upstream answer if there was
	// one (its error body is the upstream's own, for the client only).
	if last != nil {
		g.relay(w, r, s, last)
		return
	}
	switch {
	case ctx.Err() != nil:
		o.Err, o.Status = metering.ClassClientDisconnect, 499
	case errors.Is(lastErr, errDialect):
		o.Err = metering.ClassInvalidRequest
		fail(w, r, &providers.Error{Status: http.StatusNotImplemented, Code: "dialect_not_supported", Message: "No deployment of this model speaks the request's API dialect."})
	default:
		var ue *providers.UpstreamError
		if !errors.As(lastErr, &ue) {
			ue = providers.NewUpstreamError(o.Provider, lastErr)
		}
		o.Err = metering.ClassUpstreamError
		if ue.Timeout {
			o.Err = metering.ClassTimeout
		}
		fail(w, r, ue.ClientError())
	}
}

var errDialect = errors.New("wicket: no translation between dialects")

// relay writes an upstream response to the client.
func (g *Gateway) relay(w http.ResponseWriter, r *http.Request, s *state, resp providers.Response) {
	defer resp.Close()
	o := &s.outcome
	h := w.Header()
	for k, vs := range resp.Header() {
		h[k] = vs
	}
	o.Status = resp.StatusCode()
	s.upstreamTook = o.Status < 400
	w.WriteHeader(o.Status)
	res, err := resp.Relay(w)
	o.Usage, o.UsageKnown, o.FirstByte = res.Usage, res.UsageKnown, res.FirstByte
	s.events, s.bytesWritten = res.Events, res.BytesWritten
	if err == nil {
		switch {
		case o.Status >= 500:
			o.Err = metering.ClassUpstreamError
		case o.Status == http.StatusTooManyRequests:
			o.Err = metering.ClassRateLimited
		case o.Status >= 400:
			o.Err = metering.ClassInvalidRequest
		}
		return
	}
	if r.Context().Err() != nil {
		o.Err = metering.ClassClientDisconnect
		return
	}
	o.Err = metering.ClassUpstreamError
	g.logUpstream(s, nil, err)
	// The status is sent: abort, so the client cannot take a truncated
	// answer for a whole one. The deferred finish still runs.
	panic(http.ErrAbortHandler)
}

// finishOnExit is deferred by the step that owns the request's end. On a
// panic it records the request as an internal failure (unless it was a
// deliberate abort), finishes it, and lets the panic go on to Guard.
func (g *Gateway) finishOnExit(r *http.Request, s *state) {
	if p := recover(); p != nil {
		if p != http.ErrAbortHandler {
			s.outcome.Err, s.outcome.Status = metering.ClassInternal, http.StatusInternalServerError
		}
		g.finish(r, s)
		panic(p)
	}
	g.finish(r, s)
}

// finish settles what the call used (tokens and budget), hands the
// outcome to OnOutcome and records its metering event, once per request.
// It runs detached from the client's cancellation: a client that left
// still gets its usage settled and recorded. The event is recorded even if
// settling panics, and a panic in OnOutcome is contained.
func (g *Gateway) finish(r *http.Request, s *state) {
	if s.finished {
		return
	}
	s.finished = true
	o := &s.outcome
	o.End = time.Now()
	if o.Status == 0 {
		o.Status = http.StatusOK
	}
	ctx := context.WithoutCancel(r.Context())
	defer func() {
		if g.meter != nil {
			if err := g.meter.Record(ctx, eventOf(o)); err != nil {
				g.logError(s, "wicket: metering event not queued", err)
			}
		}
	}()
	g.settle(ctx, s)
	g.settleTokens(r.WithContext(ctx), s)
	g.countUsage(s)
	if g.cfg.OnOutcome != nil {
		func() {
			defer func() {
				if p := recover(); p != nil && g.cfg.Logger != nil {
					g.cfg.Logger.Error("wicket: OnOutcome panicked", slog.String("request_id", s.id), slog.String("panic_type", fmt.Sprintf("%T", p)))
				}
			}()
			g.cfg.OnOutcome(ctx, *o)
		}()
	}
}

func (g *Gateway) logUpstream(s *state, d *providers.Deployment, err error) {
	if g.cfg.Logger == nil {
		return
	}
	attrs := []any{slog.String("request_id", s.id), slog.String("error", errorClass(err))}
	if d != nil {
		attrs = append(attrs, slog.String("deployment", d.Name))
	}
	g.cfg.Logger.Warn("wicket: upstream attempt failed", attrs...)
}

// sleep waits d or until ctx ends, reporting whether it waited it out.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// errorClass describes err for logs without its text, which for transport
// errors can include the upstream URL and its query string.
func errorClass(err error) string {
	var ue *providers.UpstreamError
	switch {
	case errors.As(err, &ue):
		return ue.Error()
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	case errors.Is(err, errDialect):
		return err.Error()
	}
	return fmt.Sprintf("%T", err)
}
