package gemini

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/wicket-gw/wicket/providers"
)

// FrontDoor is the Gemini dialect's front door, as the Gemini API
// (google.golang.org/genai with the Gemini API backend) calls it:
//
//	POST /v1beta/models/{model}:generateContent        EndpointChat
//	POST /v1beta/models/{model}:streamGenerateContent  EndpointChat, streamed (?alt=sse: server-sent events; else a JSON array)
//	POST /v1beta/models/{model}:countTokens            EndpointCountTokens
//	GET  /v1beta/models                                 the models the calling key may use
//	GET  /v1beta/models/{model}                         one of them ("models/" before the id is allowed)
//
// The three POST forms are one route, as http.ServeMux cannot match part
// of a segment; Decode tells them apart. The wildcard takes the rest of
// the path, so that a public model name may hold a slash. The key may come
// in x-goog-api-key or in ?key=; the gateway reads it, and it is never
// sent upstream.
//
// The zero FrontDoor is ready to use; it is safe for concurrent use. It
// implements providers.FrontDoor, providers.Translator and
// providers.TokenCounter.
type FrontDoor struct{}

var routes = []providers.Route{
	{Method: http.MethodPost, Path: "/v1beta/models/{model...}", Endpoint: providers.EndpointChat},
	{Method: http.MethodGet, Path: "/v1beta/models", Endpoint: providers.EndpointModels},
	{Method: http.MethodGet, Path: "/v1beta/models/{model...}", Endpoint: providers.EndpointModels},
}

// Dialect implements providers.FrontDoor.
func (FrontDoor) Dialect() providers.Dialect { return providers.DialectGemini }

// Routes implements providers.FrontDoor.
func (FrontDoor) Routes() []providers.Route { return append([]providers.Route(nil), routes...) }

// generationMethods are the methods a listed model supports: all the
// door serves.
var generationMethods = []string{actionGenerate, actionStream, actionCount}

// model is one entry of Gemini's model list: only what the gateway knows
// (no token limits, versions or sampling defaults, which it would have to
// make up).
type model struct {
	Name                       string   `json:"name"`
	DisplayName                string   `json:"displayName"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

func newModel(id string) model {
	return model{Name: "models/" + id, DisplayName: id, SupportedGenerationMethods: generationMethods}
}

// WriteModels implements providers.FrontDoor: {"models":[…]} for
// /v1beta/models (all at once: no nextPageToken, whatever pageSize asks),
// one model object for /v1beta/models/{model}, whose id may come with or
// without "models/".
func (FrontDoor) WriteModels(w http.ResponseWriter, r *http.Request, route providers.Route, models []providers.ModelInfo) *providers.Error {
	if strings.Contains(route.Path, "{model") {
		id := strings.TrimPrefix(modelPath(r), "models/")
		for _, m := range models {
			if m.ID == id {
				writeJSON(w, newModel(m.ID))
				return nil
			}
		}
		return providers.ErrorModelNotFound()
	}
	list := struct {
		Models []model `json:"models"`
	}{Models: make([]model, 0, len(models))}
	for _, m := range models {
		list.Models = append(list.Models, newModel(m.ID))
	}
	writeJSON(w, list)
	return nil
}

// WriteTokenCount implements providers.TokenCounter: a CountTokensResponse,
// {"totalTokens":n}. It has no field to mark n as the gateway's estimate
// rather than the upstream's count.
func (FrontDoor) WriteTokenCount(w http.ResponseWriter, _ *providers.Request, inputTokens int64) {
	writeJSON(w, struct {
		TotalTokens int64 `json:"totalTokens"`
	}{max(inputTokens, 0)})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

var (
	_ providers.Translator   = FrontDoor{}
	_ providers.TokenCounter = FrontDoor{}
	_ providers.CanonSender  = (*Provider)(nil)
)
