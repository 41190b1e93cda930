package wicket

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers"
)

// Authenticate is the step that verifies the caller's key (from
// Authorization, x-api-key, x-goog-api-key or Gemini's key parameter) and
// puts its record in the context (keys.PrincipalFrom). Refusals are
// answered in the caller's dialect: 401 for a missing, unknown, revoked or
// expired key, 403 for a client IP or endpoint the key does not allow, 503
// when the key store fails.
//
// With the failed-auth throttle on (Config.AuthThrottle), a client IP
// blocked after repeated failures gets 429 before any key is hashed or
// looked up, and every 401 other than a missing key counts as a failure.
func (g *Gateway) Authenticate() func(http.Handler) http.Handler {
	verify := g.cfg.Keys.Middleware(&keys.MiddlewareOptions{
		ClientIP:     g.clientIPOf,
		ErrorHandler: g.authFailed,
	})
	return func(next http.Handler) http.Handler {
		// Once the key is verified, this step owns the request's end: one
		// outcome and one metering event per authenticated request.
		inner := verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec, _ := keys.PrincipalFrom(r.Context())
			s, r := ensureState(r)
			s.begin(rec)
			defer g.finishOnExit(r, s)
			next.ServeHTTP(w, r)
		}))
		if g.throttle == nil {
			return inner
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if retry, blocked := g.throttle.Blocked(g.clientIPOf(r), g.cfg.Now()); blocked {
				w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(retry.Seconds())), 10))
				fail(w, keys.StripQueryKey(r), &providers.Error{Status: http.StatusTooManyRequests, Code: "too_many_failed_authentications",
					Message: "Too many failed authentication attempts from this address. Try again later."})
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
}

func (g *Gateway) clientIPOf(r *http.Request) netip.Addr {
	if s := stateFrom(r.Context()); s != nil {
		return s.clientIP
	}
	return keys.RemoteIP(r)
}

func (g *Gateway) authFailed(w http.ResponseWriter, r *http.Request, err error) {
	if g.throttle != nil && keys.StatusCode(err) == http.StatusUnauthorized && !errors.Is(err, keys.ErrMissing) {
		g.throttle.Fail(g.clientIPOf(r), g.cfg.Now())
	}
	status := keys.StatusCode(err)
	if status == http.StatusServiceUnavailable && g.cfg.Logger != nil {
		g.cfg.Logger.Error("wicket: key store failed", slog.String("request_id", RequestID(r.Context())))
	}
	e := &providers.Error{Status: status, Code: keys.ErrorCode(err), Message: keys.PublicMessage(err)}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wicket"`)
	}
	if errors.Is(err, keys.ErrForbidden) {
		e.Type = "permission_error"
	}
	fail(w, r, e)
}
