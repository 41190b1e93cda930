package wicket

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers"
)

// Authenticate is the step that verifies the caller's key (from
// Authorization, x-api-key, x-goog-api-key or Gemini's key parameter) and
// puts its record in the context (keys.PrincipalFrom). Refusals are
// answered in the caller's dialect: 401 for a missing, unknown, revoked or
// expired key, 403 for a suspended key or a client IP or endpoint the key
// does not allow, 503 when the key store fails. With Config.Abuse, each
// verified request, and each refusal of a known key's IP allowlist or
// endpoint scopes, is told to the abuse detector.
//
// With the failed-auth throttle on (Config.AuthThrottle), every 401 other
// than a missing key counts as a failure of the client address, and an
// address with too many failures is blocked for a cool-down. While it is
// blocked, keys this process has already verified and cached keep working
// (so one client's failures do not lock out everyone behind the same NAT
// or proxy), and every other key gets 429 with retry-after before any
// store lookup. When the throttle's shared backend fails and the throttle
// fails closed (ratelimit.AuthThrottleOptions.FailMode), requests are
// treated as from a blocked address but refused with 503 and Retry-After: 1
// (keys.ErrThrottleUnavailable); failing open, the throttle goes on with a
// local count and nothing changes here.
func (g *Gateway) Authenticate() func(http.Handler) http.Handler {
	opts := &keys.MiddlewareOptions{ClientIP: g.clientIPOf, ErrorHandler: g.authFailed, Attach: attachPrincipal}
	if g.throttle != nil {
		opts.Throttle = g.throttle
	}
	verify := g.cfg.Keys.Middleware(opts)
	return func(next http.Handler) http.Handler {
		// Once the key is verified, this step owns the request's end: one
		// outcome and one metering event per authenticated request.
		return verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec, _ := keys.PrincipalFrom(r.Context())
			s, r := g.ensureState(r)
			s.begin(rec)
			defer g.finishOnExit(r, s)
			g.abuse.request(rec.ID, s.clientIP)
			next.ServeHTTP(w, r)
		}))
	}
}

// attachPrincipal gives the verified record to the request's state, whose
// context then answers keys.PrincipalFrom; without a state (no Guard ran)
// it uses keys.WithPrincipal.
func attachPrincipal(r *http.Request, rec *keys.Record) *http.Request {
	if s := stateFrom(r.Context()); s != nil {
		s.rec = rec
		return r
	}
	return r.WithContext(keys.WithPrincipal(r.Context(), rec))
}

// Admin returns the key admin API (keys.NewAdmin) wired to the gateway:
// GET /keys/{id}/usage served by KeyUsage, DELETE /owners/{owner} by
// EraseOwner, callers' addresses found as
// Config.TrustedProxies say, and the gateway's failed-auth throttle, so
// that the admin API is protected from key guessing as the model routes
// are. opts may be nil; the fields it leaves empty are filled in.
func (g *Gateway) Admin(opts *keys.AdminOptions) http.Handler {
	var o keys.AdminOptions
	if opts != nil {
		o = *opts
	}
	if o.Usage == nil {
		o.Usage = g
	}
	if o.EraseOwner == nil {
		o.EraseOwner = func(ctx context.Context, owner string) (any, error) { return g.EraseOwner(ctx, owner) }
	}
	if o.ClientIP == nil {
		o.ClientIP = g.clientIPOf
	}
	if o.Throttle == nil && g.throttle != nil {
		o.Throttle = g.throttle
	}
	return keys.NewAdmin(g.cfg.Keys, &o)
}

// clientIPOf returns the client address Guard found, or, for handlers
// mounted without Guard, the one Config.TrustedProxies give.
func (g *Gateway) clientIPOf(r *http.Request) netip.Addr {
	if s := stateFrom(r.Context()); s != nil {
		return s.clientIP
	}
	return clientIP(r, g.cfg.TrustedProxies)
}

// authFailed answers a request the key check refused, in the caller's
// dialect, logging the failures of the services it depends on.
func (g *Gateway) authFailed(w http.ResponseWriter, r *http.Request, err error) {
	status := keys.StatusCode(err)
	switch {
	case errors.Is(err, keys.ErrThrottleUnavailable):
		g.cfg.Logger.Error("wicket: failed-auth throttle unavailable", slog.String("request_id", RequestID(r.Context())))
	case status == http.StatusServiceUnavailable:
		g.cfg.Logger.Error("wicket: key store failed", slog.String("request_id", RequestID(r.Context())))
	}
	if fe, ok := errors.AsType[*keys.ForbiddenError](err); ok {
		g.abuse.refused(fe.KeyID, g.clientIPOf(r))
	}
	keys.SetErrorHeaders(w.Header(), err)
	fail(w, r, &providers.Error{Status: status, Code: keys.ErrorCode(err), Message: keys.PublicMessage(err)})
}
