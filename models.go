package wicket

import (
	"net/http"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// models answers a front door's model-listing route with the Router's
// listed models that the caller's key may use, in the door's shape.
func (g *Gateway) models(door providers.FrontDoor, route providers.Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := stateFrom(r.Context())
		if s != nil {
			s.outcome.Endpoint = route.Path
		}
		if !g.admit(w, r, s) {
			return
		}
		rec, _ := keys.PrincipalFrom(r.Context())
		var visible []providers.ModelInfo
		for _, m := range g.cfg.Router.Models() {
			if rec == nil || rec.Scopes.AllowsModel(m.ID) {
				visible = append(visible, m)
			}
		}
		if e := door.WriteModels(w, r, route, visible); e != nil {
			if s != nil {
				s.outcome.ErrorClass = metering.ClassInvalidRequest
			}
			fail(w, r, e)
		}
	})
}
