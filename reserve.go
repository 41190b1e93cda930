package wicket

import (
	"net/http"
)

// Reserve is the step that reserves what the call may use before it is
// forwarded: its token estimate from the key's tokens-per-minute bucket.
// The reservation is settled to the exact usage when the call ends. A
// refusal answers 429 in the caller's dialect and costs no quota. It needs
// Limit, Decode and Authorize before it (without Limit it reserves
// nothing).
func (g *Gateway) Reserve() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := stateFrom(r.Context())
			if s == nil || s.req == nil || !s.routed {
				fail(w, r, misconfigured("Reserve needs Decode and Authorize before it"))
				return
			}
			s.maxOutput = s.req.MaxOutputTokens
			if s.maxOutput == 0 {
				s.maxOutput = s.plan.MaxOutputTokens
			}
			if s.maxOutput == 0 {
				s.maxOutput = g.cfg.DefaultMaxOutputTokens
			}
			if !g.reserveTokens(w, r, s) {
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
