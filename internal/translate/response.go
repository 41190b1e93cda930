package translate

import (
	"time"

	"github.com/wicket-gw/wicket/internal/uplink"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// Response is an upstream's answer to a translated call, read as
// canonical events by a dialect's Decoder: the providers.CanonResponse
// each dialect's SendCanon returns. It is also a providers.RetryAdviser
// and a providers.WaitNotifier.
type Response struct {
	Waiter
	// X is the upstream exchange the answer is read from.
	X *uplink.Exchange
	// D reads the answer.
	D Decoder
	// O configures Events; its Wait is the hook OnWait registered.
	O Options
}

// StatusCode implements providers.CanonResponse.
func (r *Response) StatusCode() int { return r.X.StatusCode() }

// RetryAfter implements providers.RetryAdviser.
func (r *Response) RetryAfter() time.Duration { return r.X.RetryAfter() }

// Close implements providers.CanonResponse.
func (r *Response) Close() error { return r.X.Close() }

// Events implements providers.CanonResponse (see Events); it closes the
// exchange when done.
func (r *Response) Events(emit func(canon.Event) error) (providers.Result, error) {
	defer r.X.Close()
	o := r.O
	o.Wait = r.Hook()
	return Events(r.X, r.D, &o, emit)
}
