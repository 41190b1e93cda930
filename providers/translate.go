package providers

import (
	"context"
	"net/http"

	"github.com/wicket-gw/wicket/providers/canon"
)

// A Translator is a FrontDoor that can carry its clients' calls to
// upstreams of other dialects: it turns a decoded call into the canonical
// form and writes canonical answers back in its own dialect. Same-dialect
// calls never use it: they pass through.
type Translator interface {
	FrontDoor
	// ToCanon converts a decoded call to the canonical form. It refuses,
	// with a 400 naming the field, what the form cannot express, and with
	// a 501 an endpoint it does not translate.
	ToCanon(req *Request) (*canon.Request, *Error)
	// NewWriter returns a writer of the canonical answer to req, in the
	// door's dialect: streamed calls are written event by event and
	// flushed, whole answers gathered and written by Close. Nothing is
	// written to w before the first event.
	NewWriter(w http.ResponseWriter, req *Request) CanonWriter
}

// CanonWriter writes a canonical answer in a client's dialect.
type CanonWriter interface {
	// Write writes one event.
	Write(canon.Event) error
	// Close ends the answer: the terminal event of a stream, or the whole
	// answer.
	Close() error
}

// A CanonSender is a Provider that can send canonical calls, for clients
// of another dialect.
type CanonSender interface {
	Provider
	// SendCanon sends req, the canonical form of call, and returns once the
	// upstream's status and headers have arrived, as Send does.
	SendCanon(ctx context.Context, call *Call, req *canon.Request) (CanonResponse, error)
}

// CanonResponse is an upstream answer read as canonical events.
type CanonResponse interface {
	// StatusCode is the upstream's HTTP status.
	StatusCode() int
	// Events reads a 2xx answer, calling emit for each canonical event in
	// order, and reports the usage it saw (Result's byte and event counts
	// are the caller's). An answer that ends before it is complete (a
	// stream without its terminal event) is an error wrapping
	// ErrIncomplete.
	Events(emit func(canon.Event) error) (Result, error)
	// Close releases the response; it is safe to call more than once.
	Close() error
}

// A WaitNotifier is a CanonResponse that tells when it is about to wait
// for more of its upstream's answer, so that the writer of a translated
// stream can flush the events it wrote at that moment, not after each one:
// events that arrived together leave in one write, as on the pass-through
// path.
type WaitNotifier interface {
	// OnWait registers f, which Events calls each time it is about to
	// read more of the upstream's answer and that read may wait (not when
	// what it reads has arrived already); an error from f ends Events
	// with that error. Call it before Events. The end of a complete
	// answer is left to the caller to flush.
	OnWait(f func() error)
}
