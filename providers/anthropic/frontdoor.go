package anthropic

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/wicket-gw/wicket/providers"
)

// FrontDoor is the Anthropic dialect's front door:
//
//	POST /v1/messages               Messages, streamed or not
//	POST /v1/messages/count_tokens  the input token count of a Messages request
//
// It serves no model listing: GET /v1/models is the OpenAI door's route
// in the same mux. Its errors are Anthropic's ({"type":"error",…}), and
// its rate-limit headers anthropic-ratelimit-* (see WriteLimitHeaders).
// It implements providers.FrontDoor, providers.Translator,
// providers.TokenCounter and providers.LimitHeaderWriter.
//
// The zero FrontDoor is ready to use; it is safe for concurrent use.
type FrontDoor struct{}

// Interfaces the door implements.
var (
	_ providers.Translator        = FrontDoor{}
	_ providers.TokenCounter      = FrontDoor{}
	_ providers.LimitHeaderWriter = FrontDoor{}
)

var routes = []providers.Route{
	{Method: http.MethodPost, Path: "/v1/messages", Endpoint: providers.EndpointChat},
	{Method: http.MethodPost, Path: "/v1/messages/count_tokens", Endpoint: providers.EndpointCountTokens},
}

// Dialect implements providers.FrontDoor.
func (FrontDoor) Dialect() providers.Dialect { return providers.DialectAnthropic }

// Routes implements providers.FrontDoor.
func (FrontDoor) Routes() []providers.Route { return slices.Clone(routes) }

// Decode implements providers.FrontDoor: see Decode. The request's Header
// holds the client's anthropic-beta values (nil when it sent none), which
// same-dialect upstreams receive.
func (FrontDoor) Decode(route providers.Route, r *http.Request, body []byte) (*providers.Request, *providers.Error) {
	req, perr := Decode(route.Endpoint, body)
	if perr != nil {
		return nil, perr
	}
	if r != nil {
		if vs := r.Header.Values(headerBeta); len(vs) > 0 {
			req.Header = http.Header{headerBeta: slices.Clone(vs)}
		}
	}
	return req, nil
}

// WriteModels implements providers.FrontDoor. The door has no model
// listing route, so it writes nothing and returns
// providers.ErrorModelNotFound.
func (FrontDoor) WriteModels(http.ResponseWriter, *http.Request, providers.Route, []providers.ModelInfo) *providers.Error {
	return providers.ErrorModelNotFound()
}

// WriteTokenCount implements providers.TokenCounter with the body of
// Anthropic's count_tokens answer, {"input_tokens":n}. The answer has no
// field to mark n as an estimate.
func (FrontDoor) WriteTokenCount(w http.ResponseWriter, _ *providers.Request, inputTokens int64) {
	b := make([]byte, 0, 40)
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, max(inputTokens, 0), 10)
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// headerBeta is the request header that opts into beta features, in its
// canonical form.
const headerBeta = "Anthropic-Beta"
