package providers

import (
	"context"
	"net/http"
	"time"

	"github.com/wicket-gw/wicket/metering"
)

// Request is one client call as a front door decoded it: the few fields
// routing and limits need, and the raw body, which same-dialect upstreams
// receive unchanged but for the model name (and, for OpenAI streams,
// stream_options.include_usage).
type Request struct {
	// Dialect is the client's wire format.
	Dialect Dialect
	// Endpoint is the kind of call.
	Endpoint Endpoint
	// Model is the public model name the client asked for.
	Model string
	// Stream reports whether the client asked for a streamed answer.
	Stream bool
	// IncludeUsage reports whether the client itself asked for usage in
	// the stream (OpenAI's stream_options.include_usage).
	IncludeUsage bool
	// MaxOutputTokens is the request's cap on generated tokens (max_tokens,
	// max_completion_tokens or max_output_tokens); 0 if it set none.
	MaxOutputTokens int64
	// MaxOutputParam names, as the dialect spells it, the parameter that
	// set MaxOutputTokens, for errors about it; empty when none did.
	MaxOutputParam string
	// Choices is how many answers the request asks for (OpenAI's n); each
	// may generate up to MaxOutputTokens. At least 1.
	Choices int64
	// Images counts the image inputs of the request (OpenAI image_url and
	// input_image parts), each of which may cost up to its model's image
	// ceiling in input tokens.
	Images int64
	// Unbounded names, as the API spells it, the first request parameter or
	// input kind whose cost the gateway cannot bound from the request
	// itself (audio or file inputs, stored context, server-side tools);
	// empty when every input is text or images. Budgeted keys are refused
	// such requests.
	Unbounded string
	// Body is the request body as the client sent it. Read-only.
	Body []byte
	// ModelStart and ModelEnd locate the model value (with its quotes) in
	// Body, for rewriting; both are 0 when the dialect carries the model
	// elsewhere (Gemini puts it in the path).
	ModelStart, ModelEnd int
	// Header holds the client's request headers that the front door passes
	// to same-dialect upstreams (Anthropic's anthropic-beta); nil when none.
	Header http.Header
	// ArrayStream reports that a streamed call wants its answer as one
	// JSON array written piece by piece (Gemini's streamGenerateContent
	// without alt=sse) rather than as server-sent events.
	ArrayStream bool
	// RequestID is the gateway's ID for this request, sent upstream where
	// the dialect has a header for it.
	RequestID string
}

// Call is what a Provider sends: a Request bound to one deployment.
type Call struct {
	*Request
	// Deployment is the chosen deployment.
	Deployment *Deployment
	// UpstreamModel is the model name the upstream expects.
	UpstreamModel string
	// EnforceMaxOutput, when positive and the request set no output cap,
	// is a cap the adapter must add to the upstream request: the gateway
	// reserved a budget for that many output tokens and no more.
	EnforceMaxOutput int64
	// Propagate, if set, is called by the adapter with the upstream
	// request's context and headers, after its own headers, just before
	// the request is sent: it adds propagation headers such as W3C trace
	// context (the gateway's Config.Propagate).
	Propagate func(ctx context.Context, h http.Header)
}

// Provider sends calls to one upstream. Implementations are safe for
// concurrent use. A Provider holds its upstream's base URL and credential;
// deployments pair it with a model name.
type Provider interface {
	// Name identifies the provider in events and logs ("openai", "groq").
	Name() string
	// Dialect is the wire format the upstream speaks.
	Dialect() Dialect
	// Send makes the upstream call and returns once the upstream's status
	// and headers have arrived, before any of its body is read, so that
	// the gateway can still fall back to another deployment. An error
	// means no response: a *UpstreamError for network failures and time-outs.
	// ctx governs the whole exchange, body included: canceling it (the
	// client went away) cancels the upstream request.
	Send(ctx context.Context, call *Call) (Response, error)
}

// Response is an upstream answer whose status and headers have arrived.
// The gateway either relays it or, before relaying, closes it to try
// another deployment.
type Response interface {
	// StatusCode is the upstream's HTTP status.
	StatusCode() int
	// Header holds the response headers fit to pass to the client
	// (content type and the like; never the upstream's own rate-limit
	// headers, which describe the gateway's account, not the client's).
	Header() http.Header
	// Relay writes the body to w in the client's dialect, flushing
	// streamed events as they arrive (those that arrived together may
	// leave in one write), and reports what it saw. The caller has written
	// the status and headers; it flushes, or sends with the end of the
	// response, what a complete answer left unflushed. A non-nil error
	// after bytes were written means the answer is incomplete and the
	// connection must be aborted.
	Relay(w http.ResponseWriter) (Result, error)
	// Close releases the response; it is safe to call more than once and
	// after Relay.
	Close() error
}

// Result is what Relay saw of a response.
type Result struct {
	// Usage is the upstream's token count, valid when UsageKnown.
	Usage      metering.Usage
	UsageKnown bool
	// FirstByte is when the first body bytes were written to the client.
	FirstByte time.Time
	// BytesWritten counts body bytes written to the client.
	BytesWritten int64
	// Events counts streamed events written to the client.
	Events int64
	// FinishReasons are why the upstream ended its answer, one per choice
	// or candidate that said, in its dialect's words ("stop", "length",
	// "tool_calls"; "end_turn", "max_tokens"; "STOP", "MAX_TOKENS"): at
	// most MaxFinishReasons, none longer than 64 bytes.
	FinishReasons []string
}

// MaxFinishReasons bounds Result.FinishReasons.
const MaxFinishReasons = 8
