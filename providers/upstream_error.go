package providers

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/wicket-gw/wicket/redact"
)

// UpstreamError is a failure to get a response from an upstream: a refused
// connection, a TLS failure, a time-out. Its message names the provider and
// the kind of failure only, never the URL (which may carry a key in its
// query) or any body.
type UpstreamError struct {
	// Provider is the provider's name.
	Provider string
	// Timeout reports a time-out (answered with 504 rather than 502).
	Timeout bool
	// Err is the underlying error, scrubbed (redact.ScrubError: no URL
	// query, userinfo or key-shaped text), for errors.Is; it is not
	// printed.
	Err error
}

// ErrIncomplete is wrapped by the *UpstreamError an adapter's Relay
// returns when the upstream's answer ended without its dialect's end (a
// stream closed before its terminal event): the answer is truncated, and
// the gateway aborts the client's connection rather than end it cleanly.
var ErrIncomplete = errors.New("providers: upstream answer incomplete")

// Error implements error.
func (e *UpstreamError) Error() string {
	switch {
	case e.Timeout:
		return "providers: " + e.Provider + ": upstream timed out"
	case errors.Is(e.Err, ErrIncomplete):
		return "providers: " + e.Provider + ": upstream answer incomplete"
	}
	return "providers: " + e.Provider + ": upstream unreachable"
}

// Unwrap returns the underlying error.
func (e *UpstreamError) Unwrap() error { return e.Err }

// NewUpstreamError classifies err from an upstream round trip.
func NewUpstreamError(provider string, err error) *UpstreamError {
	var ne net.Error
	timeout := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	return &UpstreamError{Provider: provider, Timeout: timeout, Err: redact.ScrubError(err)}
}

// ClientError returns the dialect error the gateway answers for err when
// no upstream answered: 504 for a time-out, 502 otherwise.
func (e *UpstreamError) ClientError() *Error {
	if e.Timeout {
		return &Error{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Message: "The upstream model provider did not answer in time."}
	}
	if errors.Is(e.Err, ErrIncomplete) {
		return &Error{Status: http.StatusBadGateway, Code: "upstream_incomplete", Message: "The upstream model provider's answer ended before it was complete."}
	}
	return &Error{Status: http.StatusBadGateway, Code: "upstream_unavailable", Message: "The upstream model provider could not be reached."}
}

// Retryable reports whether an upstream status deserves a try on another
// deployment (or the same one again): 408, 409, 429 and 5xx but 501, plus
// Anthropic's 529.
func Retryable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented:
		return false
	}
	return status >= 500
}
