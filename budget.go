package wicket

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// trackingPeriod is the period over which spend is tracked for keys that
// have no budget, for the admin API's usage view.
const trackingPeriod = metering.PeriodMonthly

// periodOf converts a key's budget period.
func periodOf(p keys.Period) metering.Period {
	switch p {
	case keys.PeriodDaily:
		return metering.PeriodDaily
	case keys.PeriodMonthly:
		return metering.PeriodMonthly
	case keys.PeriodTotal:
		return metering.PeriodTotal
	}
	return trackingPeriod
}

// keyAccount is the ledger account of a key: its budget, or an uncapped
// account that only tracks spend. Its ID is the key's account
// (keys.Record.Account), which a rotated key's successor shares, so that
// rotating a key neither resets its spend nor doubles its budget.
func keyAccount(rec *keys.Record) metering.Account {
	a := metering.Account{Kind: metering.AccountKey, ID: rec.Account(), Period: trackingPeriod}
	if rec.Budget.LimitMicros > 0 {
		a.Limit, a.Period = rec.Budget.LimitMicros, periodOf(rec.Budget.Period)
	}
	return a
}

// accountsFor lists the ledger accounts a call by rec is charged to, and
// whether any of them has a cap.
func (g *Gateway) accountsFor(ctx context.Context, rec *keys.Record) ([]metering.Account, bool) {
	accounts := []metering.Account{keyAccount(rec)}
	capped := accounts[0].Limit > 0
	if g.cfg.OwnerBudget != nil {
		if limit, period := g.cfg.OwnerBudget(ctx, rec.Owner); limit > 0 {
			accounts = append(accounts, metering.Account{Kind: metering.AccountOwner, ID: rec.Owner, Limit: limit, Period: period})
			capped = true
		}
	}
	return accounts, capped
}

// reserveBudget reserves the call's worst-case cost against the key's and
// the owner's budgets (step 7). It reports false after answering a refusal.
func (g *Gateway) reserveBudget(w http.ResponseWriter, r *http.Request, s *state, rec *keys.Record) bool {
	ctx := r.Context()
	accounts, capped := g.accountsFor(ctx, rec)
	if capped {
		if s.req.MaxOutputTokens == 0 {
			s.enforceMaxOutput = s.maxOutput / max(s.req.Choices, 1)
		}
		if p := s.req.Unbounded; p != "" {
			s.outcome.Err = metering.ClassInvalidRequest
			fail(w, r, &providers.Error{Status: http.StatusBadRequest, Param: p, Code: "unsupported_with_budget",
				Message: "This API key has a budget, and '" + p + "' brings in input or charges whose cost the gateway cannot bound. Send the input in full, as text or images."})
			return false
		}
	}
	// The worst case over every deployment the call may fall back to:
	// each body byte counted as an input token (no tokenizer makes more
	// tokens than bytes), plus each image at its model's ceiling.
	inputWorst := int64(len(s.req.Body))
	var worst int64
	priced, imagesBounded := true, true
	for i := range s.plan.Deployments() {
		p, ok := g.priceOf(s.plan.UpstreamModel(s.plan.At(i)))
		if !ok {
			priced = false
			continue
		}
		img, ok := p.MaxImageTokens(s.req.Images)
		if !ok {
			imagesBounded = false
			continue
		}
		worst = max(worst, p.MaxCost(inputWorst+min(img, math.MaxInt64-inputWorst), s.maxOutput))
	}
	if capped && !priced {
		s.outcome.Err = metering.ClassInvalidRequest
		fail(w, r, &providers.Error{Status: http.StatusForbidden, Type: "permission_error", Param: "model", Code: "model_not_priced",
			Message: "This API key has a budget, and the requested model has no price, so its cost cannot be counted."})
		return false
	}
	if capped && !imagesBounded {
		s.outcome.Err = metering.ClassInvalidRequest
		fail(w, r, &providers.Error{Status: http.StatusBadRequest, Param: "model", Code: "unsupported_with_budget",
			Message: "This API key has a budget, and the requested model has no image ceiling in the gateway's price table, so the cost of image inputs cannot be bounded."})
		return false
	}
	id, err := g.ledger.Reserve(ctx, accounts, worst)
	if err != nil {
		if be, ok := errors.AsType[*metering.BudgetError](err); ok {
			s.outcome.Err = metering.ClassBudgetExceeded
			if !be.Reset.IsZero() {
				w.Header().Set("Retry-After", strconv.FormatInt(int64(be.Reset.Sub(g.cfg.Now()).Seconds())+1, 10))
			}
			w.Header().Set("X-Should-Retry", "false")
			fail(w, r, &providers.Error{Status: http.StatusTooManyRequests, Type: "insufficient_quota", Code: "insufficient_quota",
				Message: "This request could cost more than the " + string(be.Account.Kind) + "'s remaining " + be.Account.Period.String() + " budget."})
			return false
		}
		s.outcome.Err = metering.ClassInternal
		g.logError(s, "wicket: budget ledger failed", err)
		w.Header().Set("Retry-After", "1")
		fail(w, r, &providers.Error{Status: http.StatusServiceUnavailable, Code: "service_unavailable", Message: "The budget service is unavailable; try again shortly."})
		return false
	}
	s.reservation, s.reserved, s.capped = id, worst, capped
	return true
}

// settle works out what the call used and cost, and settles the budget
// reservation: the exact usage when the upstream reported it; nothing when
// the upstream never took the call up or refused it; otherwise (the client
// left, the stream broke) an estimate of the prompt plus what was
// delivered, flagged as estimated, since the upstream bills what it did.
func (g *Gateway) settle(ctx context.Context, s *state) {
	o := &s.outcome
	switch {
	case o.UsageKnown:
	case !s.upstreamTook || (o.Status >= 400 && o.Err != metering.ClassClientDisconnect):
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
		if p, ok := g.priceOf(o.UpstreamModel); ok {
			// The upstream read the images too: at most their ceiling each.
			img, _ := p.MaxImageTokens(s.req.Images)
			in += min(img, math.MaxInt64-in)
		}
		o.Usage = metering.Usage{InputTokens: in, OutputTokens: out}
		o.UsageEstimated = true
	}
	if o.Usage != (metering.Usage{}) {
		cost, known := g.prices.Cost(o.UpstreamModel, o.Usage)
		o.CostMicros, o.PriceUnknown = cost, !known
	}
	if s.reservation == "" {
		return
	}
	if s.capped && o.CostMicros > s.reserved {
		// The upstream reported more than the worst case allows (it
		// inflated its usage, or a bound was wrong): a budget is never
		// overspent, so the charge stops at what was reserved.
		g.logError(s, "wicket: usage exceeded the reserved worst case; charge capped", errUsageOverBound)
		o.CostMicros = s.reserved
	}
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

// priceOf returns the price a call to model is charged at: its own, else
// the table's fallback; ok is false when it has neither.
func (g *Gateway) priceOf(model string) (metering.Price, bool) {
	if p, ok := g.prices.Lookup(model); ok {
		return p, true
	}
	return g.prices.Fallback()
}

func (g *Gateway) logError(s *state, msg string, err error) {
	g.cfg.Logger.Error(msg, slog.String("request_id", s.id), slog.String("error", errorClass(err)))
}
