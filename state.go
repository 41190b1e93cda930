package wicket

import (
	"context"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/ratelimit"
)

// state is what the chain's steps share about one request. Guard puts one
// in the context; steps mounted without Guard get one lazily.
type state struct {
	id       string
	clientIP netip.Addr
	dialect  providers.Dialect
	start    time.Time
	req      *providers.Request
	door     providers.FrontDoor // the front door that decoded req
	canon    *canon.Request      // req in the canonical form, once a translation needed it
	plan     providers.Plan      // set by Authorize; the zero Plan has Len 0
	// maxOutput is the output-token cap assumed for the call: the
	// request's own, else the model's maximum.
	maxOutput     int64
	permit        *ratelimit.Permit
	tokenEstimate int64
	// inputEstimate is the prompt's estimated tokens, for budgets and for
	// usage when the upstream reports none.
	inputEstimate int64
	// reservation is the budget reservation's ID, until settled; reserved
	// its amount, and capped whether any account charged has a limit.
	reservation string
	reserved    int64
	capped      bool
	// enforceMaxOutput is an output cap to add upstream (see Reserve).
	enforceMaxOutput int64
	// upstreamTook: an upstream accepted the call (answered 2xx) or may
	// have (the client left while it was working), so it may bill for it.
	upstreamTook bool
	// events and bytesWritten count what reached the client.
	events, bytesWritten int64
	commit               commitWriter   // the relay's writer, reused per attempt
	gate                 *atomic.Int32  // the deadline's gate (see Forward), while attempts run
	outcome              metering.Event // the request's one record, for OnEvent and the Recorder
	usageKnown           bool           // the upstream reported outcome.Usage
	firstByte            time.Time      // the first body byte reached the client
	finished             bool           // outcome handed to OnEvent and the Recorder
	rec                  *keys.Record   // set by begin, whose caller owns finish

	// Storage that the request's steps use instead of allocating: the
	// request-ID header values, the writer Guard wraps, the first
	// attempt's call and the budget's accounts.
	idHeader    [2]string
	tw          trackingWriter
	firstCall   providers.Call
	accounts    [4]metering.Account
	permitStore ratelimit.Permit
	ctx         stateContext
	detached    detachedContext
}

// detachedContext is a request's context without its cancellation, as
// context.WithoutCancel makes it, kept in the state: the request's end
// runs on it, so that a client that left still gets its usage settled.
type detachedContext struct{ parent context.Context }

func (c *detachedContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *detachedContext) Done() <-chan struct{}       { return nil }
func (c *detachedContext) Err() error                  { return nil }
func (c *detachedContext) Value(key any) any           { return c.parent.Value(key) }

// detach returns ctx without its cancellation, kept in s.
func (s *state) detach(ctx context.Context) context.Context {
	s.detached.parent = ctx
	return &s.detached
}

type stateKey struct{}

// stateContext is a request's context carrying its state: one value, the
// state, and through it the verified key's record (keys.PrincipalFrom),
// so that one context serves both.
type stateContext struct {
	context.Context
	s *state
}

// Value answers stateKey with the state and keys' principal key with the
// record once the key is verified.
func (c *stateContext) Value(key any) any {
	switch {
	case key == stateKey{}:
		return c.s
	case c.s.rec != nil && keys.IsPrincipalKey(key):
		return c.s.rec
	}
	return c.Context.Value(key)
}

// withState returns ctx carrying s, kept in s.
func withState(ctx context.Context, s *state) context.Context {
	s.ctx = stateContext{Context: ctx, s: s}
	return &s.ctx
}

func stateFrom(ctx context.Context) *state {
	s, _ := ctx.Value(stateKey{}).(*state)
	return s
}

// ensureState returns the request's state, adding one (and so a new
// request) when no Guard ran before.
func (g *Gateway) ensureState(r *http.Request) (*state, *http.Request) {
	if s := stateFrom(r.Context()); s != nil {
		return s, r
	}
	s := &state{id: newRequestID(), dialect: g.dialectOf(r.URL.Path), start: g.cfg.Now()}
	s.clientIP = keys.RemoteIP(r)
	return s, r.WithContext(withState(r.Context(), s))
}

// RequestID returns the request ID that Guard assigned, or "".
func RequestID(ctx context.Context) string {
	if s := stateFrom(ctx); s != nil {
		return s.id
	}
	return ""
}

// ClientIP returns the client address that Guard determined (see
// Config.TrustedProxies), or the zero Addr.
func ClientIP(ctx context.Context) netip.Addr {
	if s := stateFrom(ctx); s != nil {
		return s.clientIP
	}
	return netip.Addr{}
}

// principal returns the verified key of the request, recorded by Limit.
func (s *state) principal() (*keys.Record, bool) { return s.rec, s.rec != nil }

// begin records the verified key and makes the caller the owner of the
// request's end: it must defer finishOnExit, which then runs after every
// inner step's own deferred work (the concurrency slot's release
// included), once per authenticated request.
func (s *state) begin(rec *keys.Record) {
	o := &s.outcome
	o.RequestID, o.KeyID, o.Owner, o.Start = s.id, rec.ID, rec.Owner, s.start
	s.rec = rec
}
