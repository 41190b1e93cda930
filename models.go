package wicket

import (
	"encoding/json"
	"net/http"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// openAIModel is one entry of OpenAI's model list.
type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// visibleModels returns the Router's listed models that the caller's key
// may use.
func (g *Gateway) visibleModels(r *http.Request) []openAIModel {
	rec, _ := keys.PrincipalFrom(r.Context())
	out := []openAIModel{}
	for _, m := range g.cfg.Router.Models() {
		if rec == nil || rec.Scopes.AllowsModel(m.ID) {
			out = append(out, openAIModel{ID: m.ID, Object: "model", OwnedBy: m.OwnedBy})
		}
	}
	return out
}

func (g *Gateway) listModels(w http.ResponseWriter, r *http.Request) {
	markEndpoint(r, providers.EndpointModels)
	writeLimitHeaders(w, r)
	writeJSON(w, struct {
		Object string        `json:"object"`
		Data   []openAIModel `json:"data"`
	}{"list", g.visibleModels(r)})
}

func (g *Gateway) getModel(w http.ResponseWriter, r *http.Request) {
	markEndpoint(r, providers.EndpointModels)
	writeLimitHeaders(w, r)
	id := r.PathValue("model")
	for _, m := range g.visibleModels(r) {
		if m.ID == id {
			writeJSON(w, m)
			return
		}
	}
	if st := stateFrom(r.Context()); st != nil {
		st.outcome.Err = metering.ClassInvalidRequest
	}
	fail(w, r, &providers.Error{Status: http.StatusNotFound, Param: "model", Code: "model_not_found", Message: "The requested model does not exist or you do not have access to it."})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// markEndpoint names the endpoint in the request's outcome.
func markEndpoint(r *http.Request, e providers.Endpoint) {
	if s := stateFrom(r.Context()); s != nil {
		s.outcome.Endpoint = routeOf(e)
	}
}
