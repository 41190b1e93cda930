package openai

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/wicket-gw/wicket/providers"
)

// FrontDoor is the OpenAI dialect's front door:
//
//	POST /v1/chat/completions   Chat Completions, streamed or not
//	POST /v1/embeddings         Embeddings
//	POST /v1/responses          Responses (OpenAI-dialect upstreams)
//	GET  /v1/models             the models the calling key may use
//	GET  /v1/models/{model}     one of them
//
// The zero FrontDoor is ready to use; it is safe for concurrent use.
type FrontDoor struct{}

var routes = []providers.Route{
	{Method: http.MethodPost, Path: "/v1/chat/completions", Endpoint: providers.EndpointChat},
	{Method: http.MethodPost, Path: "/v1/embeddings", Endpoint: providers.EndpointEmbeddings},
	{Method: http.MethodPost, Path: "/v1/responses", Endpoint: providers.EndpointResponses},
	{Method: http.MethodGet, Path: "/v1/models", Endpoint: providers.EndpointModels},
	{Method: http.MethodGet, Path: "/v1/models/{model...}", Endpoint: providers.EndpointModels},
}

// Dialect implements providers.FrontDoor.
func (FrontDoor) Dialect() providers.Dialect { return providers.DialectOpenAI }

// Routes implements providers.FrontDoor.
func (FrontDoor) Routes() []providers.Route { return append([]providers.Route(nil), routes...) }

// Decode implements providers.FrontDoor: see Decode.
func (FrontDoor) Decode(route providers.Route, _ *http.Request, body []byte) (*providers.Request, *providers.Error) {
	return Decode(route.Endpoint, body)
}

// model is one entry of OpenAI's model list.
type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// WriteModels implements providers.FrontDoor: {"object":"list","data":[…]}
// for /v1/models, one model object for /v1/models/{model}.
func (FrontDoor) WriteModels(w http.ResponseWriter, r *http.Request, route providers.Route, models []providers.ModelInfo) *providers.Error {
	if strings.Contains(route.Path, "{model") {
		id := r.PathValue("model")
		for _, m := range models {
			if m.ID == id {
				writeJSON(w, model{ID: m.ID, Object: "model", OwnedBy: m.OwnedBy})
				return nil
			}
		}
		return providers.ErrorModelNotFound()
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, m := range models {
		list.Data = append(list.Data, model{ID: m.ID, Object: "model", OwnedBy: m.OwnedBy})
	}
	writeJSON(w, list)
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
