package providers

import (
	"net/http"
	"time"
)

// A FrontDoor is a dialect's client-facing side: the routes it serves,
// how it reads what routing, limits and budgets need from a client's
// request, and how it answers a model listing. Errors are written in its
// dialect by WriteError. The gateway mounts the front doors it is
// configured with and never names a route or a JSON field itself.
type FrontDoor interface {
	// Dialect is the wire format the door's clients speak.
	Dialect() Dialect
	// Routes lists the routes the door serves.
	Routes() []Route
	// Decode reads a model call made on route (whose Endpoint is not
	// EndpointModels): body is the whole request body, r the request (a
	// dialect may carry the model in the path). It refuses what it cannot
	// read with a 400 *Error naming the field, never quoting the body.
	Decode(route Route, r *http.Request, body []byte) (*Request, *Error)
	// WriteModels answers a model-listing route with models, those the
	// caller may use; for a route that names one model (in the path), that
	// model. It returns, without writing anything, the error to answer
	// instead (ErrorModelNotFound when the named model is not among them).
	WriteModels(w http.ResponseWriter, r *http.Request, route Route, models []ModelInfo) *Error
}

// Route is one route a FrontDoor serves.
type Route struct {
	// Method is the HTTP method, such as "POST".
	Method string
	// Path is the path pattern, as http.ServeMux reads it: "/v1/chat/completions",
	// "/v1/models/{model...}". Events name the endpoint called by it.
	Path string
	// Endpoint is the kind of call the route makes.
	Endpoint Endpoint
}

// Pattern returns the route as an http.ServeMux pattern: "POST /v1/chat/completions".
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// ErrorModelNotFound is the answer to a model the caller may not use or
// that does not exist. It does not echo the name, which came from the
// client.
func ErrorModelNotFound() *Error {
	return &Error{Status: http.StatusNotFound, Param: "model", Code: "model_not_found", Message: "The requested model does not exist or you do not have access to it."}
}

// A TokenCounter is a FrontDoor whose dialect has a token-counting
// endpoint (EndpointCountTokens). The gateway passes such calls to
// same-dialect upstreams; for a deployment of another dialect it answers
// itself with its token estimator's count of the prompt, written by the
// door. The dialects' answers have no field that marks a count as an
// estimate.
type TokenCounter interface {
	FrontDoor
	// WriteTokenCount answers req with inputTokens as its prompt's count.
	WriteTokenCount(w http.ResponseWriter, req *Request, inputTokens int64)
}

// A LimitHeaderWriter is a FrontDoor with its own convention for the
// rate-limit headers of answers (Anthropic's anthropic-ratelimit-*). The
// gateway writes OpenAI's x-ratelimit-* headers for doors without one.
type LimitHeaderWriter interface {
	FrontDoor
	// WriteLimitHeaders sets the rate-limit headers for l in h.
	WriteLimitHeaders(h http.Header, l RateLimits)
}

// RateLimits is the state of a caller's rate limits as answers report it.
type RateLimits struct {
	// Now is the time of the decision, for headers that carry a reset time.
	Now time.Time
	// RetryAfter, when positive, is how long a refused caller should wait.
	RetryAfter time.Duration
	// Requests and Tokens are the per-minute limits; a zero Limit means
	// unlimited or not checked, and gets no headers.
	Requests, Tokens Quota
}

// Quota is one rate limit's state.
type Quota struct {
	// Limit is the most the caller may use per minute.
	Limit int64
	// Remaining is what is left now, never negative.
	Remaining int64
	// Reset is when the caller's quota is full again, from RateLimits.Now.
	Reset time.Duration
}
