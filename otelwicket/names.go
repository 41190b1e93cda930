package otelwicket

import (
	"strings"

	"github.com/wicket-gw/wicket/providers"
)

// Operation names (gen_ai.operation.name): the conventions' where they
// have one, wicket's own otherwise.
const (
	opChat        = "chat"
	opEmbeddings  = "embeddings"
	opCountTokens = "count_tokens"
	opModels      = "list_models"
)

// operation names the operation of an endpoint.
func operation(e providers.Endpoint) string {
	switch e {
	case providers.EndpointEmbeddings:
		return opEmbeddings
	case providers.EndpointCountTokens:
		return opCountTokens
	case providers.EndpointModels:
		return opModels
	}
	return opChat
}

// operationOfRoute names the operation of a request that made no upstream
// attempt, from its route pattern and method.
func operationOfRoute(method, route string) string {
	switch {
	case strings.Contains(route, "embeddings"):
		return opEmbeddings
	case strings.Contains(route, "count_tokens"):
		return opCountTokens
	case method == "GET":
		return opModels
	}
	return opChat
}

// providerName is gen_ai.provider.name for an upstream's dialect, as the
// conventions spell it; "" when no upstream was tried.
func providerName(d providers.Dialect) string {
	switch d {
	case providers.DialectOpenAI:
		return "openai"
	case providers.DialectAnthropic:
		return "anthropic"
	case providers.DialectGemini:
		return "gcp.gemini"
	}
	return ""
}
