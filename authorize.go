package wicket

import (
	"net/http"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// Authorize is the step that checks the decoded call against the caller's
// key: the model must match the key's model scopes (403 otherwise) and be
// known to the Router (404 model_not_found otherwise). With Config.Abuse,
// a model-scope refusal counts toward the key's refusal bursts. It needs
// Decode and Authenticate before it.
func (g *Gateway) Authorize() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := stateFrom(r.Context())
			rec, ok := keys.PrincipalFrom(r.Context())
			if s == nil || s.req == nil || !ok {
				fail(w, r, misconfigured("Authorize needs Authenticate and Decode before it"))
				return
			}
			plan, routeErr := g.cfg.Router.Route(s.req.Model)
			if routeErr == nil {
				// A configured name, not free text: fit for events and logs
				// (bounded as events bound identifiers).
				s.outcome.Model = metering.CutID(s.req.Model)
			}
			if !rec.Scopes.AllowsModel(s.req.Model) {
				g.abuse.refused(rec.ID, s.clientIP)
				s.outcome.ErrorClass = metering.ClassInvalidRequest
				fail(w, r, &providers.Error{Status: http.StatusForbidden, Type: "permission_error", Param: "model", Code: "model_not_allowed", Message: "This API key may not use the requested model."})
				return
			}
			if routeErr != nil {
				s.outcome.ErrorClass = metering.ClassInvalidRequest
				fail(w, r, providers.ErrorModelNotFound())
				return
			}
			s.plan = plan
			next.ServeHTTP(w, r)
		})
	}
}
