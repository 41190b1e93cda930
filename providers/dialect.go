package providers

// Dialect is a wire format that clients speak and upstreams answer in.
type Dialect uint8

// Dialects.
const (
	DialectOpenAI Dialect = iota + 1
	DialectAnthropic
	DialectGemini
)

// String returns the dialect's lower-case name.
func (d Dialect) String() string {
	switch d {
	case DialectOpenAI:
		return "openai"
	case DialectAnthropic:
		return "anthropic"
	case DialectGemini:
		return "gemini"
	}
	return "unknown"
}

// RequestIDHeader names the response header, besides X-Request-Id, in
// which the dialect's SDKs read a request's ID: Anthropic's Request-Id;
// empty for the others.
func (d Dialect) RequestIDHeader() string {
	if d == DialectAnthropic {
		return "Request-Id"
	}
	return ""
}

// Endpoint names the kind of call, independent of dialect.
type Endpoint string

// Endpoints.
const (
	EndpointChat       Endpoint = "chat.completions" // POST /v1/chat/completions, /v1/messages, :generateContent
	EndpointEmbeddings Endpoint = "embeddings"       // POST /v1/embeddings
	EndpointResponses  Endpoint = "responses"        // POST /v1/responses
	EndpointModels     Endpoint = "models"           // GET /v1/models
	// EndpointCountTokens counts a chat request's input tokens without
	// generating anything (Anthropic's /v1/messages/count_tokens, Gemini's
	// :countTokens). It is free: the gateway charges no budget for it.
	EndpointCountTokens Endpoint = "count_tokens"
)
