package wicket

import (
	"cmp"
	"net/http"
	"strconv"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/ratelimit"
)

// Reserve is the step that reserves what the call may use before it is
// forwarded: its token estimate from the key's tokens-per-minute bucket,
// then its worst-case cost (prompt estimate plus the output cap, at the
// priciest deployment it may reach) from the key's and the owner's
// budgets. Both are settled to the exact usage when the call ends, and a
// budget reservation is released when the call fails. A refusal answers
// 429 in the caller's dialect (insufficient_quota for budgets) and costs
// no rate-limit quota.
//
// So that a budget is never overspent, the worst case is a true bound:
// every body byte counts as an input token, every choice (n) may use the
// whole output cap, and a request with a budget that sets no output cap
// gets one added upstream (the model's MaxOutputTokens, else
// Config.DefaultMaxOutputTokens). A key with a budget may not use an
// unpriced model (403) unless Config.Prices has a fallback price, nor
// Responses calls that pull in stored context (previous_response_id,
// conversation), whose input the gateway cannot see. It needs
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
				s.outcome.Err = metering.ClassInvalidRequest
				param := "max_tokens"
				if s.req.Endpoint == providers.EndpointResponses {
					param = "max_output_tokens"
				}
				fail(w, r, &providers.Error{Status: http.StatusBadRequest, Param: param, Code: "invalid_value",
					Message: "The requested output cap is larger than this gateway allows (" + strconv.FormatInt(g.cfg.MaxOutputTokens, 10) + " tokens)."})
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
