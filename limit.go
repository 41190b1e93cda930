package wicket

import (
	"errors"
	"github.com/wicket-gw/wicket/audit"
	"log/slog"
	"net/http"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/ratelimit"
)

// Limit is the step that applies the caller's requests-per-minute,
// tokens-per-minute and concurrency limits (Config.Limits, overridden by
// the key's own). It prepares the request's admission
// (ratelimit.Limiter.Defer), which is made once the request is decoded and
// its tokens estimated, by Reserve: slot, request and tokens in one step
// (one round trip with a shared backend such as Redis). A refusal is
// answered 429 in the caller's dialect with retry-after and the rate-limit
// headers its SDKs read (x-ratelimit-*, or the front door's own: see
// providers.LimitHeaderWriter). Model listings and token counts are
// admitted without tokens; a request answered before its admission (a
// malformed one, say) counts as one request. The concurrency slot is held
// until the response is complete and is returned on every exit path:
// success, upstream error, client disconnect, panic. It needs the gateway's
// Authenticate before it, which owns the request's end.
func (g *Gateway) Limit() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := stateFrom(r.Context())
			if s == nil || s.rec == nil {
				fail(w, r, misconfigured("Limit needs the gateway's Authenticate before it"))
				return
			}
			rec := s.rec
			lim := g.limitsFor(rec)
			permit := &s.permitStore
			if err := g.limiter.DeferInto(permit, rec.ID, lim); err != nil {
				g.refuseLimit(w, r, s, err)
				return
			}
			// The admission and the x-ratelimit headers are made by the
			// handler (Reserve, for model calls, once tokens are known), so
			// that they are made once; the request's end (finish) returns
			// the slot.
			s.permit = permit
			next.ServeHTTP(w, r)
		})
	}
}

// admit admits a request that takes no tokens (a model listing, a token
// count) and writes its rate-limit headers. It reports false after
// answering a refusal.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, s *state) bool {
	if s == nil || s.permit == nil {
		return true
	}
	if err := s.permit.Admit(r.Context()); err != nil {
		g.refuseLimit(w, r, s, err)
		return false
	}
	g.writeLimitHeaders(w, r)
	return true
}

// limitsFor merges the gateway's default limits with the key's overrides,
// under any cap an abuse policy placed on the key.
func (g *Gateway) limitsFor(rec *keys.Record) ratelimit.Limits {
	l := g.cfg.Limits
	if v := rec.Limits.RequestsPerMinute; v > 0 {
		l.RequestsPerMinute = v
	}
	if v := rec.Limits.TokensPerMinute; v > 0 {
		l.TokensPerMinute = v
	}
	if v := rec.Limits.MaxConcurrent; v > 0 {
		l.MaxConcurrent = v
	}
	return g.abuse.limits(rec.ID, l)
}

// writeLimitHeaders sets the rate-limit headers of an admitted request.
func (g *Gateway) writeLimitHeaders(w http.ResponseWriter, r *http.Request) {
	if s := stateFrom(r.Context()); s != nil && s.permit != nil {
		g.setLimitHeaders(w.Header(), r, s, s.permit.Decision())
	}
}

// setLimitHeaders writes d as rate-limit headers in the convention of the
// request's front door: its own (providers.LimitHeaderWriter, such as
// Anthropic's anthropic-ratelimit-*), else retry-after and OpenAI's
// x-ratelimit-*, which most SDKs read.
func (g *Gateway) setLimitHeaders(h http.Header, r *http.Request, s *state, d ratelimit.Decision) {
	door := s.door
	if door == nil {
		door = g.doorOf(r.URL.Path)
	}
	lw, ok := door.(providers.LimitHeaderWriter)
	if !ok {
		ratelimit.WriteHeaders(h, d)
		return
	}
	quota := func(q ratelimit.Quota) providers.Quota {
		return providers.Quota{Limit: q.Limit, Remaining: max(q.Remaining, 0), Reset: q.Reset}
	}
	lw.WriteLimitHeaders(h, providers.RateLimits{Now: g.cfg.Now(), RetryAfter: d.RetryAfter(), Requests: quota(d.Requests), Tokens: quota(d.Tokens)})
}

// refuseLimit answers a limiter refusal or failure.
func (g *Gateway) refuseLimit(w http.ResponseWriter, r *http.Request, s *state, err error) {
	s.outcome.ErrorClass = metering.ClassRateLimited
	if le, ok := errors.AsType[*ratelimit.LimitError](err); ok {
		g.setLimitHeaders(w.Header(), r, s, le.Decision)
		dim := le.Decision.Refused
		reason := audit.ReasonRequests
		switch dim {
		case ratelimit.Tokens:
			reason = audit.ReasonTokens
		case ratelimit.Concurrency:
			reason = audit.ReasonConcurrency
		}
		g.audit(s, audit.Event{Action: audit.ActionRateLimitExceeded, Outcome: audit.OutcomeRefused, Reason: reason, Subject: s.outcome.KeyID})
		typ := "requests"
		if dim == ratelimit.Tokens {
			typ = "tokens"
		}
		msg := "Rate limit reached for this API key on " + dim.String() + ". Try again later."
		if errors.Is(err, ratelimit.ErrTooLarge) {
			w.Header().Set("X-Should-Retry", "false")
			msg = "Request too large for this API key's " + dim.String() + " limit. Reduce the prompt or max tokens."
		}
		if dim == ratelimit.Concurrency {
			msg = "Too many concurrent requests for this API key. Try again when one finishes."
		}
		fail(w, r, &providers.Error{Status: http.StatusTooManyRequests, Type: typ, Code: "rate_limit_exceeded", Message: msg})
		return
	}
	s.outcome.ErrorClass = metering.ClassInternal
	if errors.Is(err, ratelimit.ErrInvalidLimits) {
		// A key's own limits are out of range: a configuration error, not
		// overload, and not the client's to retry.
		g.cfg.Logger.Error("wicket: the key's limits are invalid", slog.String("request_id", s.id), slog.String("key_id", s.outcome.KeyID))
		fail(w, r, misconfigured("this API key's rate limits are invalid"))
		return
	}
	g.cfg.Logger.Error("wicket: rate limiter failed", slog.String("request_id", s.id), slog.String("error", errorClass(err)))
	w.Header().Set("Retry-After", "1")
	fail(w, r, &providers.Error{Status: http.StatusServiceUnavailable, Code: "service_unavailable", Message: "The gateway is overloaded; try again shortly."})
}
