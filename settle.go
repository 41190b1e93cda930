package wicket

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"sync"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/ratelimit"
)

// Settle is the last part of the walk: once the response is complete, the
// step that owns the request (Authenticate) finishes it: exact usage or an
// estimate, the token-bucket correction, the ledger settlement, the usage
// counts, OnEvent and the one metering event.

// finishOnExit is deferred by Authenticate, the one step that owns the
// request's end. On a panic it records the request as an internal failure
// (unless it was a deliberate abort), finishes it, and lets the panic go
// on to Guard.
func (g *Gateway) finishOnExit(r *http.Request, s *state) {
	if p := recover(); p != nil {
		if p != http.ErrAbortHandler {
			s.outcome.ErrorClass, s.outcome.Status = metering.ClassInternal, http.StatusInternalServerError
		}
		g.finish(r, s)
		panic(p)
	}
	g.finish(r, s)
}

// finish settles what the call used (tokens and budget), hands the
// outcome to OnEvent and records its metering event, once per request.
// It runs detached from the client's cancellation: a client that left
// still gets its usage settled and recorded. The event is recorded even if
// settling panics, and a panic in OnEvent is contained.
func (g *Gateway) finish(r *http.Request, s *state) {
	if s.finished {
		return
	}
	s.finished = true
	o := &s.outcome
	o.Latency = g.cfg.Now().Sub(o.Start)
	if !s.firstByte.IsZero() {
		o.TimeToFirstToken = s.firstByte.Sub(o.Start)
	}
	if o.Status == 0 {
		o.Status = http.StatusOK
	}
	ctx := s.detach(r.Context())
	defer func() {
		if g.meter != nil {
			if err := g.meter.Record(ctx, *o); err != nil {
				g.logError(s, "wicket: metering event not queued", err)
			}
		}
	}()
	g.settle(ctx, s)
	g.countUsage(s)
	g.abuse.tokens(o.KeyID, o.Usage.Total())
	g.accessRecord(ctx, s)
	if g.cfg.OnEvent != nil {
		func() {
			defer g.recoverHook("OnEvent", s.id)
			g.cfg.OnEvent(ctx, *o)
		}()
	}
}

// settle works out what the call used and cost (account), then settles the
// budget reservation and the rate limits (the token correction and the
// concurrency slot). When both live on a shared server, the request waits
// one round trip for both: the limiter's backend carries the ledger's
// settlement in its own (ratelimit.Carrier, metering.SettlementLedger), or
// else the two calls are made at once.
func (g *Gateway) settle(ctx context.Context, s *state) {
	g.account(s)
	if s.reservation != "" && s.permit != nil {
		if sl, ok := g.ledger.(metering.SettlementLedger); ok && g.limiter.Carries() {
			// One round trip for both, when the limiter's backend carries
			// the ledger's settlement (redisstore on one client).
			if err := g.settleTokens(ctx, s, sl.Settlement(s.reservation, s.outcome.CostMicros)); err != nil {
				g.logError(s, "wicket: settling the budget failed", err)
			}
			s.reservation = ""
			return
		}
		if g.limiter.Batches() && g.remoteLedger {
			var wg sync.WaitGroup
			wg.Go(func() { g.settleTokens(ctx, s, nil) })
			g.settleBudget(ctx, s)
			wg.Wait()
			return
		}
	}
	g.settleBudget(ctx, s)
	g.settleTokens(ctx, s, nil)
}

// account works out what the call used and cost: the exact usage when the
// upstream reported it; nothing when the upstream never took the call up or
// refused it; otherwise (the client left, the stream broke) an estimate of
// the prompt plus what was delivered, flagged as estimated, since the
// upstream bills what it did. A charge never exceeds what was reserved.
func (g *Gateway) account(s *state) {
	o := &s.outcome
	switch {
	case s.req != nil && s.req.Endpoint == providers.EndpointCountTokens:
		o.Usage = metering.Usage{} // counting is free, whoever answered
	case s.usageKnown:
	case !s.upstreamTook || (o.Status >= 400 && o.ErrorClass != metering.ClassClientDisconnect):
		o.Usage = metering.Usage{}
	default:
		out := s.bytesWritten / 4
		if o.Stream {
			out = s.events // about one token per streamed chunk
		}
		// An estimate stays within what was reserved: the output cap.
		if s.maxOutput > 0 {
			out = min(out, s.maxOutput)
		}
		in := s.inputEstimate
		if p, _, ok := g.prices.PriceFor(o.ServedModel); ok {
			// The upstream read the images too: at most their ceiling each.
			img, _ := p.MaxImageTokens(s.req.Images)
			in += min(img, math.MaxInt64-in)
		}
		o.Usage = metering.Usage{InputTokens: in, OutputTokens: out}
		o.UsageEstimated = true
	}
	if o.Usage != (metering.Usage{}) {
		cost, known := g.prices.Cost(o.ServedModel, o.Usage)
		o.CostMicros, o.PriceUnknown = cost, !known
	}
	if s.reservation != "" && s.capped && o.CostMicros > s.reserved {
		// The upstream reported more than the worst case allows (it
		// inflated its usage, or a bound was wrong): a budget is never
		// overspent, so the charge stops at what was reserved.
		g.logError(s, "wicket: usage exceeded the reserved worst case; charge capped", errUsageOverBound)
		o.CostMicros = s.reserved
	}
}

// settleBudget settles the budget reservation, if any, at the call's cost.
func (g *Gateway) settleBudget(ctx context.Context, s *state) {
	if s.reservation == "" {
		return
	}
	o := &s.outcome
	var err error
	if o.CostMicros > 0 {
		err = g.ledger.Settle(ctx, s.reservation, o.CostMicros)
	} else {
		err = g.ledger.Release(ctx, s.reservation)
	}
	if err != nil {
		g.logError(s, "wicket: settling the budget failed", err)
	}
	s.reservation = ""
}

var errUsageOverBound = errors.New("wicket: usage over the reserved bound")

// settleTokens corrects the token reservation to what the call used, as
// settle worked it out (exact, estimated, or nothing), and returns the
// concurrency slot: one step of the limiter's backend.
//
// budget, if not nil, is the ledger's settlement, made in the same step
// when the limiter's backend can carry it (else after it); its error is
// returned.
func (g *Gateway) settleTokens(ctx context.Context, s *state, budget ratelimit.Rider) error {
	err, budgetErr := s.permit.FinishWith(ctx, s.outcome.Usage.Total(), budget)
	if err != nil {
		g.cfg.Logger.Warn("wicket: settling tokens failed", slog.String("request_id", s.id), slog.String("error", errorClass(err)))
	}
	return budgetErr
}

// countUsage adds the finished call to its key's counts.
func (g *Gateway) countUsage(s *state) {
	o := &s.outcome
	if o.KeyID == "" {
		return
	}
	rec, ok := s.principal()
	if !ok {
		return
	}
	acct := keyAccount(rec)
	start, _ := acct.Period.Bounds(g.cfg.Now())
	c, ok := g.usage.cache.Get(acct.ID)
	if !ok {
		c = &keyCount{start: start}
		if prev, found, _ := g.usage.cache.PeekOrAdd(acct.ID, c); found {
			c = prev
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.start.Equal(start) { // a new period: start counting again
		c.start, c.requests, c.usage = start, 0, metering.Usage{}
	}
	c.requests++
	c.usage = c.usage.Add(o.Usage)
}
