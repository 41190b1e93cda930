package wicket

import (
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
// expired key, 403 for a client IP or endpoint the key does not allow, 503
// when the key store fails.
func (g *Gateway) Authenticate() func(http.Handler) http.Handler {
	return g.cfg.Keys.Middleware(&keys.MiddlewareOptions{
		ClientIP: func(r *http.Request) netip.Addr {
			if s := stateFrom(r.Context()); s != nil {
				return s.clientIP
			}
			return remoteIP(r)
		},
		ErrorHandler: g.authFailed,
	})
}

func (g *Gateway) authFailed(w http.ResponseWriter, r *http.Request, err error) {
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
