package wicket

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// Forward is the last step: it routes the decoded call to the model's
// deployments, falling back and retrying only while nothing has been sent
// to the client, then relays the upstream's answer (a stream's events
// reach the client as soon as they arrive) and records what happened in the request's metering.Event. The status line is sent with the
// first body byte, so a failure before it, even after the upstream's
// headers (a stall, an oversized first event), is a failed attempt: the
// call falls back, and when every attempt fails the client gets 502 (504
// for a time-out) in its dialect, or the last retryable upstream answer
// (kept in memory while the others were tried). A failure after the first
// byte, a stream that ends before its terminal event included, aborts the
// connection, so the client sees a truncated answer as an error rather
// than as complete. An upstream's 401 or 403 refuses the operator's
// credential, not the caller's key: that provider is not tried again for
// the call, and if nothing else answers the client gets a generic 502
// (see Config.OnUpstreamRefusal).
func (g *Gateway) Forward() http.Handler {
	return http.HandlerFunc(g.forward)
}

func (g *Gateway) forward(w http.ResponseWriter, r *http.Request) {
	s := stateFrom(r.Context())
	if s == nil || s.req == nil || s.rec == nil {
		fail(w, r, misconfigured("Forward needs the gateway's Authenticate and Decode before it"))
		return
	}
	ctx := r.Context() // the client's: ends when it leaves
	o := &s.outcome

	plan := s.plan
	if plan.Len() == 0 {
		var err error
		if plan, err = g.cfg.Router.Route(s.req.Model); err != nil {
			o.ErrorClass = metering.ClassInvalidRequest
			fail(w, r, providers.ErrorModelNotFound())
			return
		}
		o.Model = metering.CutID(s.req.Model)
	}
	// actx bounds the attempts: it ends when the client leaves or, with a
	// deadline, when the answer has not started in time.
	actx := ctx
	var deadlineAt time.Time // on the timer's clock
	if dl := cmp.Or(plan.Deadline, g.cfg.Deadline); dl > 0 {
		deadlineAt = time.Now().Add(dl)
		var cancel context.CancelCauseFunc
		actx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		gate := &atomic.Int32{} // 0 until the answer starts (1) or the deadline passes (2)
		timer := time.AfterFunc(dl, func() {
			if gate.CompareAndSwap(0, 2) {
				cancel(errDeadline)
			}
		})
		defer timer.Stop()
		s.gate = gate
	}
	var lastErr error
	var held *heldAnswer // the last retryable answer, kept while others are tried
	var refused []providers.Provider
	var coolingUntil time.Time // the soonest end of the cool-downs that skipped deployments
	router := g.cfg.Router
	triedBefore := 0 // attempts made before the current round
	// retryAt holds, per deployment of the plan, when its upstream asked
	// to be tried again (retry-after); made at the first such advice.
	var retryAt []time.Time
	for i := 0; i < plan.Len(); i++ {
		d := plan.At(i)
		if slices.ContainsFunc(refused, func(p providers.Provider) bool { return providers.SameProvider(p, d.Provider) }) {
			continue // its credential was refused: never retried
		}
		round := i / plan.Deployments()
		// Going back to deployments that failed this request: pause first;
		// but when the last round tried none (each was skipped), another
		// round would skip them all again.
		if round > 0 && i%plan.Deployments() == 0 {
			if o.Attempts == triedBefore {
				break
			}
			triedBefore = o.Attempts
			if !sleep(actx, jitter(g.cfg.RetryBackoff<<(round-1))) {
				break
			}
		}
		if retryAt != nil && round > 0 {
			// Honour the upstream's advice, when it can be waited out.
			if wait := retryAt[i%plan.Deployments()].Sub(g.cfg.Now()); wait > 0 {
				if wait > g.cfg.MaxRetryAfter || (!deadlineAt.IsZero() && !time.Now().Add(wait).Before(deadlineAt)) {
					continue
				}
				if !sleep(actx, wait) {
					break
				}
			}
		}
		if plan.SameDialectOnly && d.Provider.Dialect() != s.req.Dialect {
			lastErr = errDialect // the model is not translated
			continue
		}
		if s.req.Endpoint == providers.EndpointCountTokens && d.Provider.Dialect() != s.req.Dialect {
			o.Deployment = d.Name
			g.countLocally(w, r, s)
			return
		}
		// A model with one deployment is never skipped: cooling it down
		// would only refuse the client, with nowhere else to go.
		ok, probe := true, false
		if plan.Deployments() > 1 {
			ok, probe = router.Available(d)
		}
		if !ok {
			if until := router.CoolingUntil(d); !until.IsZero() && (coolingUntil.IsZero() || until.Before(coolingUntil)) {
				coolingUntil = until
			}
			continue
		}
		o.Attempts++
		at := attempt{g: g, ctx: ctx, s: s, d: d}
		// sctx is the attempt's context; at.a is what only the hooks read.
		sctx := actx
		if g.cfg.OnAttempt != nil || g.cfg.OnAttemptStart != nil {
			at.start = g.cfg.Now()
			at.a = Attempt{RequestID: s.id, Model: o.Model, Deployment: d.Name, Provider: d.Provider.Name(), Dialect: d.Provider.Dialect(),
				Endpoint: s.req.Endpoint, UpstreamModel: plan.UpstreamModel(d), MaxOutputTokens: cmp.Or(s.req.MaxOutputTokens, s.enforceMaxOutput),
				Number: o.Attempts, Reason: attemptReason(i, round, probe)}
			if g.cfg.OnAttemptStart != nil {
				sctx = at.begin(actx)
			}
		}
		o.Provider, o.Deployment, o.ServedModel = d.Provider.Name(), d.Name, metering.CutID(plan.UpstreamModel(d))
		var call *providers.Call
		if o.Attempts == 1 {
			call = &s.firstCall
		} else {
			call = new(providers.Call) // an earlier attempt's may still be read
		}
		*call = providers.Call{Request: s.req, Deployment: d, UpstreamModel: plan.UpstreamModel(d), EnforceMaxOutput: s.enforceMaxOutput,
			Propagate: g.cfg.Propagate}
		var resp providers.Response
		var err error
		if d.Provider.Dialect() == s.req.Dialect {
			resp, err = d.Provider.Send(sctx, call)
		} else {
			resp, err = g.sendTranslated(sctx, s, d, call)
			if perr, ok := errors.AsType[*providers.Error](err); ok {
				o.ErrorClass = metering.ClassInvalidRequest
				fail(w, r, perr)
				return
			}
			if errors.Is(err, errDialect) {
				o.Attempts-- // nothing was sent
				lastErr = err
				continue
			}
		}
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				s.upstreamTook = true // the client left while the upstream was working
				at.done(0, providers.FailureNone, metering.ClassClientDisconnect, false)
				break
			}
			if actx.Err() != nil {
				at.done(0, providers.FailureModel, metering.ClassTimeout, true) // the deadline passed
				break
			}
			f := providers.FailureUpstream
			if ue, ok := errors.AsType[*providers.UpstreamError](err); ok && ue.Timeout {
				f = providers.FailureModel
			}
			at.done(0, f, errClassOf(err), true)
			g.logUpstream(s, d, err)
			continue
		}
		status := resp.StatusCode()
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			// The operator's credential, not the caller's key, was refused:
			// the caller must not see the upstream's answer (it may quote a
			// masked key), and the credential is not tried again.
			resp.Close()
			refused = append(refused, d.Provider)
			lastErr = errCredentialRefused
			at.done(status, providers.FailureCredential, metering.ClassUpstreamError, true)
			g.credentialRefused(ctx, s, d, status)
			continue
		}
		if providers.Retryable(status) {
			at.done(status, providers.FailureModel, statusClass(status), true)
			if ra, ok := resp.(providers.RetryAdviser); ok {
				if wait := ra.RetryAfter(); wait > 0 {
					if retryAt == nil {
						retryAt = make([]time.Time, plan.Deployments())
					}
					retryAt[i%plan.Deployments()] = g.cfg.Now().Add(wait)
				}
			}
			if i+1 < plan.Len() {
				// Keep it, buffered, in case every other attempt fails too.
				if h, ok := holdAnswer(resp, *o, g.cfg.Now); ok {
					held, lastErr = h, nil
				} else {
					lastErr = providers.NewUpstreamError(d.Provider.Name(), errHeldTooLarge)
				}
				continue
			}
		} else {
			at.done(status, providers.FailureNone, statusClass(status), true)
		}
		err = g.relay(w, r, s, resp)
		if err == nil {
			return
		}
		// Relay failed before the first body byte reached the client: the
		// status is still unsent, so this is a failed attempt like any other.
		lastErr = err
		if actx.Err() != nil {
			break
		}
		router.Report(d, providers.FailureModel)
		g.logUpstream(s, d, err)
	}
	// The answers below are the gateway's own: the deadline no longer holds
	// them back.
	s.gate = nil
	deadlinePassed := ctx.Err() == nil && errors.Is(context.Cause(actx), errDeadline)
	if o.Attempts == 0 && !coolingUntil.IsZero() && held == nil && ctx.Err() == nil && !deadlinePassed {
		// Every deployment is cooling down: nothing was tried.
		o.ErrorClass = metering.ClassUpstreamError
		secs := int64(coolingUntil.Sub(g.cfg.Now())/time.Second) + 1
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		fail(w, r, &providers.Error{Status: http.StatusServiceUnavailable, Code: "model_unavailable",
			Message: "Every deployment of this model is failing and cooling down; try again after the time in retry-after."})
		return
	}
	// Every attempt failed. Relay the last retryable upstream answer if
	// there was one (its error body is the upstream's own, for the client
	// only), as the deployment that gave it.
	if held != nil && ctx.Err() == nil {
		o.Provider, o.Deployment, o.ServedModel = held.o.Provider, held.o.Deployment, held.o.ServedModel
		if err := g.relay(w, r, s, held); err == nil {
			return
		}
	}
	switch {
	case ctx.Err() != nil:
		o.ErrorClass, o.Status = metering.ClassClientDisconnect, 499
	case deadlinePassed:
		o.ErrorClass = metering.ClassTimeout
		fail(w, r, &providers.Error{Status: http.StatusGatewayTimeout, Code: "deadline_exceeded",
			Message: "The model did not start answering within the gateway's time limit."})
	case errors.Is(lastErr, errDialect):
		o.ErrorClass = metering.ClassInvalidRequest
		fail(w, r, &providers.Error{Status: http.StatusNotImplemented, Code: "dialect_not_supported", Message: "No deployment of this model speaks the request's API dialect."})
	case errors.Is(lastErr, errCredentialRefused):
		o.ErrorClass = metering.ClassUpstreamError
		fail(w, r, &providers.Error{Status: http.StatusBadGateway, Code: "upstream_unavailable",
			Message: "The upstream model provider refused the gateway's request. This is not a problem with your API key; try again later."})
	default:
		ue, ok := errors.AsType[*providers.UpstreamError](lastErr)
		if !ok {
			ue = providers.NewUpstreamError(o.Provider, lastErr)
		}
		o.ErrorClass = errClassOf(ue)
		fail(w, r, ue.ClientError())
	}
}

var (
	errDeadline          = errors.New("wicket: the answer did not start before the deadline")
	errDialect           = errors.New("wicket: no translation between dialects")
	errCredentialRefused = errors.New("wicket: the upstream refused the gateway's credential")
)

// errClassOf classifies an upstream failure for the outcome.
func errClassOf(err error) metering.ErrorClass {
	ue, ok := errors.AsType[*providers.UpstreamError](err)
	switch {
	case ok && ue.Timeout:
		return metering.ClassTimeout
	case errors.Is(err, providers.ErrIncomplete):
		return metering.ClassIncomplete
	}
	return metering.ClassUpstreamError
}

// relay writes an upstream response to the client. The status line and
// the upstream's headers are held back until the first body byte (or the
// end of an empty body), so that an upstream that fails before sending
// any (stalls after its headers, sends an event too large) is a failed
// attempt, answered 502/504 or retried elsewhere: relay then returns the
// error with nothing written. A failure after the first byte aborts the
// connection, so the client cannot take a truncated answer for a whole one.
func (g *Gateway) relay(w http.ResponseWriter, r *http.Request, s *state, resp providers.Response) error {
	defer resp.Close()
	o := &s.outcome
	cw := &s.commit // in the request's state: no allocation per attempt
	*cw = commitWriter{ResponseWriter: w, status: resp.StatusCode(), header: resp.Header(), gate: s.gate}
	res, err := resp.Relay(cw)
	if err != nil && !cw.committed {
		return err
	}
	if !cw.commit() {
		return errDeadline
	}
	if err == nil && res.Events > 0 && g.tailWaits(r.Context()) {
		// A stream's end, which a relay leaves unflushed to send it with
		// the end of the response, does not wait for what ends the request.
		// A whole answer's does, as it always has: once a client has it,
		// the request is settled and metered.
		err = cw.FlushError()
	}
	o.Status = cw.status
	s.upstreamTook = o.Status < 400
	o.Usage, s.usageKnown, s.firstByte = res.Usage, res.UsageKnown, res.FirstByte
	// An application's own Provider may report anything: an event keeps
	// only what may stand as finish reasons.
	o.FinishReasons = providers.FinishReasons(res.FinishReasons)
	s.events, s.bytesWritten = res.Events, res.BytesWritten
	if err == nil {
		if c := statusClass(o.Status); c != "" {
			o.ErrorClass = c
		}
		return nil
	}
	if r.Context().Err() != nil {
		o.ErrorClass = metering.ClassClientDisconnect
		return nil
	}
	o.ErrorClass = errClassOf(err)
	g.logUpstream(s, nil, err)
	// The status is sent: abort. The deferred finish still runs.
	panic(http.ErrAbortHandler)
}

func (g *Gateway) logUpstream(s *state, d *providers.Deployment, err error) {
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

// tailWaits reports whether what runs after the relay may wait (see
// Gateway.finishWaits), the access log included.
func (g *Gateway) tailWaits(ctx context.Context) bool {
	return g.finishWaits || g.cfg.Logger.Enabled(ctx, slog.LevelInfo)
}

// commitWriter holds back an upstream answer's status line and headers
// until its first body byte is written (or commit is called), so that a
// Relay that fails before writing anything leaves the client's response
// untouched. Flushes before that are no-ops: flushing would send the status.
type commitWriter struct {
	http.ResponseWriter
	status    int
	header    http.Header // the upstream's, added at commit
	committed bool
	// gate, when set, is the request's deadline gate: the answer may
	// start only if it wins the gate before the deadline's timer does.
	gate *atomic.Int32
}

// commit sends the status line and headers, once; it reports false, with
// nothing sent, when the request's deadline passed first.
func (c *commitWriter) commit() bool {
	if c.committed {
		return true
	}
	if c.gate != nil && !c.gate.CompareAndSwap(0, 1) && c.gate.Load() != 1 {
		return false
	}
	c.committed = true
	h := c.ResponseWriter.Header()
	for k, vs := range c.header {
		h[k] = vs
	}
	c.ResponseWriter.WriteHeader(c.status)
	return true
}

// WriteHeader is ignored: the status is the upstream's, written at commit.
func (c *commitWriter) WriteHeader(int) {}

func (c *commitWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !c.commit() {
		return 0, errDeadline
	}
	return c.ResponseWriter.Write(p)
}

// FlushError flushes what was written, once something was.
func (c *commitWriter) FlushError() error {
	if !c.committed {
		return nil
	}
	return http.NewResponseController(c.ResponseWriter).Flush()
}

// Flush implements http.Flusher for adapters that assert it.
func (c *commitWriter) Flush() { _ = c.FlushError() }

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *commitWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// UpstreamRefusal describes an upstream's refusal of the gateway's own
// credential (HTTP 401 or 403), which Config.OnUpstreamRefusal receives.
// It carries identifiers only, never the upstream's message, which may
// quote a masked credential.
type UpstreamRefusal struct {
	RequestID  string
	Provider   string
	Deployment string
	Status     int
}

// credentialRefused tells the application that an upstream refused the
// operator's credential: a log line with identifiers and the hook.
func (g *Gateway) credentialRefused(ctx context.Context, s *state, d *providers.Deployment, status int) {
	ev := UpstreamRefusal{RequestID: s.id, Provider: d.Provider.Name(), Deployment: d.Name, Status: status}
	g.cfg.Logger.Error("wicket: upstream refused the gateway's credential",
		slog.String("request_id", ev.RequestID), slog.String("provider", ev.Provider),
		slog.String("deployment", ev.Deployment), slog.Int("status", status))
	if g.cfg.OnUpstreamRefusal != nil {
		func() {
			defer g.recoverHook("OnUpstreamRefusal", s.id)
			g.cfg.OnUpstreamRefusal(ctx, ev)
		}()
	}
}
