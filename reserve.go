package wicket

import (
	"cmp"
	"context"
	"errors"
	"github.com/wicket-gw/wicket/audit"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/wicket-gw/wicket/internal/glob"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/ratelimit"
)

// Reserve is the step that reserves what the call may use before it is
// forwarded: its token estimate from the key's tokens-per-minute bucket,
// then its worst-case cost (prompt estimate plus the output cap, at the
// priciest deployment it may reach) from every budget the call is charged
// to, at once: the key's, its model budgets matching the model, and those
// Config.BudgetScopes adds. Both are settled to the exact usage when the
// call ends, and a budget reservation is released when the call fails. A refusal answers
// 429 in the caller's dialect (insufficient_quota for budgets) and costs
// no rate-limit quota.
//
// So that a budget is never overspent, the worst case is a true bound:
// every body byte counts as an input token, every choice (n) may use the
// whole output cap, and a request with a budget that sets no output cap
// gets one added upstream (the model's MaxOutputTokens, else
// Config.DefaultMaxOutputTokens). A key with a budget may not use an
// unpriced model (403) unless Config.Prices has a fallback price, nor
// inputs whose cost the gateway cannot bound (the front door reports them
// in providers.Request.Unbounded: stored context, audio, files, server-side
// tools), and images only at their model's ceiling. Token counting
// (providers.EndpointCountTokens) is free and reserves nothing. It needs
// Authenticate, Decode and Authorize before it, and Limit for token
// limits.
func (g *Gateway) Reserve() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := stateFrom(r.Context())
			if s == nil || s.req == nil || s.plan.Len() == 0 {
				fail(w, r, misconfigured("Reserve needs Decode and Authorize before it"))
				return
			}
			if s.req.MaxOutputTokens > g.cfg.MaxOutputTokens {
				s.outcome.ErrorClass = metering.ClassInvalidRequest
				fail(w, r, &providers.Error{Status: http.StatusBadRequest, Param: s.req.MaxOutputParam, Code: "invalid_value",
					Message: "The requested output cap is larger than this gateway allows (" + strconv.FormatInt(g.cfg.MaxOutputTokens, 10) + " tokens)."})
				return
			}
			if s.req.Endpoint == providers.EndpointCountTokens {
				// Counting tokens generates nothing and costs nothing: no
				// token or budget reservation.
				if g.admit(w, r, s) {
					next.ServeHTTP(w, r)
				}
				return
			}
			s.maxOutput = s.req.MaxOutputTokens
			if s.maxOutput == 0 {
				s.maxOutput = cmp.Or(s.plan.MaxOutputTokens, g.cfg.DefaultMaxOutputTokens)
			}
			// Every choice (OpenAI's n) may generate up to the cap.
			s.maxOutput *= max(s.req.Choices, 1)
			s.inputEstimate = g.estimator.EstimateTokens(ratelimit.EstimateInput{PromptBytes: int64(len(s.req.Body))})
			if !g.reserveTokens(w, r, s) {
				return
			}
			if rec, ok := keys.PrincipalFrom(r.Context()); ok && !g.reserveBudget(w, r, s, rec) {
				s.permit.Cancel(r.Context()) // a budget refusal costs no rate-limit quota
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// trackingPeriod is the period over which spend is tracked for keys that
// have no budget, for the admin API's usage view.
const trackingPeriod = metering.PeriodMonthly

// periodOf converts a key's budget period.
func periodOf(p keys.Period) metering.Period {
	switch p {
	case keys.PeriodDaily:
		return metering.PeriodDaily
	case keys.PeriodWeekly:
		return metering.PeriodWeekly
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

// modelAccount is the ledger account of the key's budget mb: its ID joins
// the key's account and the budget's pattern (modelPattern takes it back).
func modelAccount(rec *keys.Record, mb keys.ModelBudget) metering.Account {
	return metering.Account{Kind: metering.AccountKeyModel, ID: rec.Account() + ":" + mb.Model, Limit: mb.LimitMicros, Period: periodOf(mb.Period)}
}

// modelPattern returns the model pattern of rec's model-budget account a.
func modelPattern(rec *keys.Record, a metering.Account) string {
	return strings.TrimPrefix(a.ID, rec.Account()+":")
}

// appendAccounts appends to accounts the ledger accounts a call by rec for
// model is charged to: the key's, its model budgets matching model (every
// one, for the empty model), and Config.BudgetScopes'.
func (g *Gateway) appendAccounts(ctx context.Context, accounts []metering.Account, rec *keys.Record, model string) ([]metering.Account, error) {
	accounts = append(accounts, keyAccount(rec))
	for _, mb := range rec.ModelBudgets {
		if model == "" || glob.Match(mb.Model, model) {
			accounts = append(accounts, modelAccount(rec, mb))
		}
	}
	if g.cfg.BudgetScopes != nil {
		return g.cfg.BudgetScopes(ctx, rec, model, accounts)
	}
	return accounts, nil
}

// accountsFor lists the ledger accounts a call by rec is charged to, and
// whether any of them has a cap.
func (g *Gateway) accountsFor(ctx context.Context, s *state, rec *keys.Record) ([]metering.Account, bool, error) {
	accounts, err := g.appendAccounts(ctx, s.accounts[:0], rec, s.req.Model)
	if err != nil {
		return nil, false, err
	}
	capped := false
	for _, a := range accounts {
		capped = capped || a.Limit > 0
	}
	return accounts, capped, nil
}

// reserveBudget reserves the call's worst-case cost against every budget
// the call is charged to (accountsFor). It reports false after answering a
// refusal.
func (g *Gateway) reserveBudget(w http.ResponseWriter, r *http.Request, s *state, rec *keys.Record) bool {
	ctx := r.Context()
	accounts, capped, err := g.accountsFor(ctx, s, rec)
	if err != nil {
		g.budgetUnavailable(w, r, s, "wicket: Config.BudgetScopes failed", err)
		return false
	}
	if capped {
		if s.req.MaxOutputTokens == 0 {
			s.enforceMaxOutput = s.maxOutput / max(s.req.Choices, 1)
		}
		if p := s.req.Unbounded; p != "" {
			s.outcome.ErrorClass = metering.ClassInvalidRequest
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
		p, _, ok := g.prices.PriceFor(s.plan.UpstreamModel(s.plan.At(i)))
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
		s.outcome.ErrorClass = metering.ClassInvalidRequest
		fail(w, r, &providers.Error{Status: http.StatusForbidden, Type: "permission_error", Param: "model", Code: "model_not_priced",
			Message: "This API key has a budget, and the requested model has no price, so its cost cannot be counted."})
		return false
	}
	if capped && !imagesBounded {
		s.outcome.ErrorClass = metering.ClassInvalidRequest
		fail(w, r, &providers.Error{Status: http.StatusBadRequest, Param: "model", Code: "unsupported_with_budget",
			Message: "This API key has a budget, and the requested model has no image ceiling in the gateway's price table, so the cost of image inputs cannot be bounded."})
		return false
	}
	id, err := g.ledger.Reserve(ctx, accounts, worst)
	if err != nil {
		if be, ok := errors.AsType[*metering.BudgetError](err); ok {
			s.outcome.ErrorClass = metering.ClassBudgetExceeded
			g.audit(s, audit.Event{Action: audit.ActionBudgetExhausted, Outcome: audit.OutcomeRefused, Reason: budgetReason(be.Account.Kind), Subject: be.Account.ID})
			if !be.Reset.IsZero() {
				w.Header().Set("Retry-After", strconv.FormatInt(int64(be.Reset.Sub(g.cfg.Now()).Seconds())+1, 10))
			}
			w.Header().Set("X-Should-Retry", "false")
			fail(w, r, &providers.Error{Status: http.StatusTooManyRequests, Type: "insufficient_quota", Code: "insufficient_quota",
				Message: "This request could cost more than what remains of " + budgetName(rec, be.Account) + "."})
			return false
		}
		if !capped {
			// No account has a limit: the ledger only tracks spend, and
			// its failure refuses nothing. The call's cost still reaches
			// the metering event; the ledger misses it.
			g.logError(s, "wicket: spend tracking failed; the call goes on untracked by the ledger", err)
			return true
		}
		g.budgetUnavailable(w, r, s, "wicket: budget ledger failed", err)
		return false
	}
	s.reservation, s.reserved, s.capped = id, worst, capped
	return true
}

// budgetUnavailable answers a call whose budgets cannot be checked: 503
// with Retry-After: 1, the failure logged as msg without its text.
func (g *Gateway) budgetUnavailable(w http.ResponseWriter, r *http.Request, s *state, msg string, err error) {
	s.outcome.ErrorClass = metering.ClassInternal
	g.logError(s, msg, err)
	w.Header().Set("Retry-After", "1")
	fail(w, r, &providers.Error{Status: http.StatusServiceUnavailable, Code: "service_unavailable", Message: "The budget service is unavailable; try again shortly."})
}

// budgetReason names the kind of an exhausted budget for audit events.
func budgetReason(k metering.AccountKind) audit.Reason {
	switch k {
	case metering.AccountKey:
		return audit.ReasonKeyBudget
	case metering.AccountKeyModel:
		return audit.ReasonModelBudget
	case metering.AccountOwner:
		return audit.ReasonOwnerBudget
	}
	return audit.ReasonScopeBudget
}

// budgetName names a budget of a call by rec for its refusal: by kind and
// ID (or pattern), never a secret.
func budgetName(rec *keys.Record, a metering.Account) string {
	switch a.Kind {
	case metering.AccountKey:
		return "this API key's " + a.Period.String() + " budget"
	case metering.AccountKeyModel:
		return "this API key's " + a.Period.String() + " budget for models matching " + strconv.Quote(modelPattern(rec, a))
	}
	return "the " + a.Period.String() + " budget of " + string(a.Kind) + " " + strconv.Quote(a.ID)
}

// reserveTokens takes the request's token estimate from the key's
// tokens-per-minute bucket (step 7). It reports false after answering a
// refusal.
func (g *Gateway) reserveTokens(w http.ResponseWriter, r *http.Request, s *state) bool {
	if s.permit == nil {
		return true
	}
	s.tokenEstimate = g.estimator.EstimateTokens(ratelimit.EstimateInput{
		PromptBytes:     int64(len(s.req.Body)),
		MaxOutputTokens: s.maxOutput,
	})
	if err := s.permit.ReserveTokens(r.Context(), s.tokenEstimate); err != nil {
		g.refuseLimit(w, r, s, err)
		return false
	}
	g.setLimitHeaders(w.Header(), r, s, s.permit.Decision())
	return true
}
