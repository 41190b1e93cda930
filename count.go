package wicket

import (
	"net/http"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/ratelimit"
)

// countLocally answers a token-counting call (providers.EndpointCountTokens)
// whose deployment speaks another dialect, which has no such endpoint to
// pass it to: the count is the gateway's estimate of the request's prompt
// (Config.Estimator over its body), written by the client's front door.
// The dialects' answers have no field to mark it as an estimate. Counting
// is free: Reserve reserved nothing for it, and settle charges nothing.
func (g *Gateway) countLocally(w http.ResponseWriter, r *http.Request, s *state) {
	tc, ok := s.door.(providers.TokenCounter)
	if !ok {
		fail(w, r, &providers.Error{Status: http.StatusNotImplemented, Code: "translation_not_supported",
			Message: "Token counting is not available for this model's deployment."})
		return
	}
	s.outcome.Status = http.StatusOK
	tc.WriteTokenCount(w, s.req, g.estimator.EstimateTokens(ratelimit.EstimateInput{PromptBytes: int64(len(s.req.Body))}))
}
