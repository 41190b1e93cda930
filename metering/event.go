package metering

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Event describes one request that passed through the gateway: who made it,
// what was asked for and served, how many tokens it used, what it cost and
// how it ended. The gateway emits exactly one Event per request, streaming
// requests and client disconnects included.
//
// Event carries no content, by construction: every string field is an
// identifier (an ID, a model or provider name, a route pattern, an
// enumerated class), and every other field is a number, a flag or a time.
// No field can hold a prompt, a completion, a header or a body, and a test
// fails if a field able to carry text is added without being reviewed as an
// identifier. Identifiers longer than MaxIDLen bytes are cut by Meter.Record,
// so that a client cannot park a large payload in, say, the model name.
//
// The zero Event is valid and describes nothing. Event is a plain value: copy
// it freely.
type Event struct {
	// RequestID is the gateway's ID for the request, unique per request
	// whatever the client sends: recorders deduplicate on it.
	RequestID string `json:"request_id"`
	// ClientRequestID is the request ID the client sent (X-Client-Request-Id
	// or X-Request-Id), if it was well formed: at most 128 letters, digits
	// and "-_.:". It is the client's to choose, so it identifies nothing on
	// its own and two events may share it.
	ClientRequestID string `json:"client_request_id,omitempty"`
	// KeyID is the public ID of the API key that made the request, never
	// the key itself.
	KeyID string `json:"key_id,omitempty"`
	// Owner is the ID of the key's owner (a user, team or tenant).
	Owner string `json:"owner,omitempty"`
	// Model is the model name the client asked for, once it names a
	// configured model; empty for a name that matches none, which is the
	// client's free text and is never recorded.
	Model string `json:"model,omitempty"`
	// ServedModel is the model name sent to the upstream that served the
	// request, which can differ from Model after routing, aliasing or
	// fallback.
	ServedModel string `json:"served_model,omitempty"`
	// Provider names the upstream that served the request ("openai",
	// "anthropic", "gemini", or the name of a deployment).
	Provider string `json:"provider,omitempty"`
	// Deployment names the deployment that answered (the last one tried,
	// if none did).
	Deployment string `json:"deployment,omitempty"`
	// Attempts counts upstream attempts, fallbacks and retries included.
	Attempts int `json:"attempts,omitempty"`
	// Endpoint is the route pattern of the API called, such as
	// "/v1/chat/completions"; never a URL with a query string.
	Endpoint string `json:"endpoint,omitempty"`
	// Stream reports whether the response was streamed.
	Stream bool `json:"stream,omitempty"`
	// Usage counts the tokens used.
	Usage Usage `json:"usage"`
	// CostMicros is the cost in micro-dollars (1 USD = 1,000,000).
	CostMicros int64 `json:"cost_micros"`
	// Status is the HTTP status code returned to the client.
	Status int `json:"status"`
	// ErrorClass says how the request failed; empty when it succeeded.
	ErrorClass ErrorClass `json:"error_class,omitempty"`
	// Start is when the gateway received the request.
	Start time.Time `json:"start"`
	// Latency is the time from Start to the last byte of the response.
	Latency time.Duration `json:"latency_ns"`
	// TimeToFirstToken is the time from Start to the first generated token
	// sent to the client; zero when none was sent.
	TimeToFirstToken time.Duration `json:"ttft_ns,omitempty"`
	// FinishReasons are why the upstream ended its answer, one per choice
	// or candidate that said, as its dialect names them ("stop",
	// "end_turn", "STOP"…); empty when it did not say.
	FinishReasons []string `json:"finish_reasons,omitempty"`
	// UsageEstimated reports that Usage was estimated by the gateway (the
	// upstream reported none, for instance because the client disconnected).
	UsageEstimated bool `json:"usage_estimated,omitempty"`
	// PriceUnknown reports that the served model had no price, so
	// CostMicros is zero or was computed from a fallback price.
	PriceUnknown bool `json:"price_unknown,omitempty"`
}

// MaxIDLen is the longest identifier, in bytes, that Meter.Record keeps in
// an Event's string fields; longer ones are cut at a UTF-8 boundary.
const MaxIDLen = 256

// limitIDs cuts every identifier of e to MaxIDLen bytes. The cut copies the
// string so that the queue does not keep a large backing array alive.
func (e *Event) limitIDs() {
	for _, s := range [...]*string{
		&e.RequestID, &e.ClientRequestID, &e.KeyID, &e.Owner, &e.Model,
		&e.ServedModel, &e.Provider, &e.Deployment, &e.Endpoint,
	} {
		*s = CutID(*s)
	}
	e.ErrorClass = ErrorClass(CutID(string(e.ErrorClass)))
}

// CutID returns s cut to at most MaxIDLen bytes at a UTF-8 boundary, as
// Meter.Record cuts an Event's identifiers; a cut string is a copy, so that
// it does not keep a large backing array alive. Apply it wherever else an
// identifier that a client chose (a model name) is kept.
func CutID(s string) string {
	if len(s) <= MaxIDLen {
		return s
	}
	n := MaxIDLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n])
}

// ErrorClass is a short enumerated reason for a failed request. The empty
// class, the zero value, means success. Applications may define further classes; keep them
// short, lower-case identifiers.
type ErrorClass string

// The error classes the gateway emits.
const (
	ClassNone             ErrorClass = ""                  // success
	ClassUpstreamError    ErrorClass = "upstream_error"    // the upstream failed or answered 5xx
	ClassTimeout          ErrorClass = "timeout"           // the upstream did not answer in time
	ClassClientDisconnect ErrorClass = "client_disconnect" // the client went away mid-request
	ClassIncomplete       ErrorClass = "incomplete"        // the upstream's answer ended before it was complete
	ClassRateLimited      ErrorClass = "rate_limited"      // a rate or concurrency limit refused it
	ClassBudgetExceeded   ErrorClass = "budget_exceeded"   // the budget could not cover the worst case
	ClassInvalidRequest   ErrorClass = "invalid_request"   // the request was malformed or not allowed
	ClassAuth             ErrorClass = "auth"              // the key was missing, invalid or revoked
	ClassInternal         ErrorClass = "internal"          // the gateway itself failed
)
