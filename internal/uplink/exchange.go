package uplink

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/internal/inflight"
	"github.com/wicket-gw/wicket/providers"
)

// Exchange is one call's answer, as Client.Post leaves it: the response,
// whose body is read through Read (which keeps the idle timer going) and
// released by Close. A dialect's response type embeds it. Its zero value
// is not usable; it must not be copied after Post.
type Exchange struct {
	// Response is the upstream's answer; read its body with Read.
	Response *http.Response

	c         *Client
	closeOnce sync.Once
	// idled is set by the watchdog before it closes the body of a call
	// idle too long, which ends a Read blocked on it (net/http's bodies
	// and h1's allow a Close during a Read): no context per call.
	idled atomic.Bool

	// The Client's watchdog keeps the calls in progress in a set; seen
	// is its tick at this call's last read.
	seen atomic.Int64
	link inflight.Link[Exchange]
	// readier is the body's Ready, if it has one (h1's).
	readier readier
	// body is the request's body, as Post sent it.
	body requestBody
}

// A readier tells whether its next Read returns without waiting for the
// network (see h1's body).
type readier interface{ Ready() bool }

// start begins x with resp and sets its idle timer going.
func (x *Exchange) start(c *Client, resp *http.Response) {
	x.Response, x.c = resp, c
	x.readier, _ = resp.Body.(readier)
	x.seen.Store(c.calls.Tick())
	c.calls.Add(&x.link, x, max(c.Idle/watchTicks, time.Millisecond), (*Exchange).checkIdle)
}

// StatusCode is the upstream's HTTP status.
func (x *Exchange) StatusCode() int { return x.Response.StatusCode }

// RetryAfter implements providers.RetryAdviser from the upstream's
// retry-after-ms and retry-after headers.
func (x *Exchange) RetryAfter() time.Duration {
	return providers.ParseRetryAfter(x.Response.Header, time.Now())
}

// Read reads from the upstream body, pushing the idle deadline forward. A
// failure other than io.EOF is returned as a *providers.UpstreamError, a
// time-out (context.DeadlineExceeded) if the idle timer ended the call.
func (x *Exchange) Read(p []byte) (int, error) {
	n, err := x.Response.Body.Read(p)
	x.seen.Store(x.c.calls.Tick())
	if err != nil && err != io.EOF {
		if x.idled.Load() {
			err = context.DeadlineExceeded
		}
		return n, providers.NewUpstreamError(x.c.Name, err)
	}
	return n, err
}

// Ready reports whether the next Read returns without waiting for the
// upstream, because what it returns has arrived already. It errs on the
// side of false, and is always false for a body that cannot tell.
func (x *Exchange) Ready() bool { return x.readier != nil && x.readier.Ready() }

// Close stops watching the call for idleness and closes the body, which
// ends the call. It is safe to call more than once, and always returns
// nil.
func (x *Exchange) Close() error {
	x.closeOnce.Do(func() {
		x.c.calls.Remove(&x.link)
		x.Response.Body.Close()
	})
	return nil
}

// IsEventStream reports whether resp is a stream of server-sent events,
// by its Content-Type.
func IsEventStream(resp *http.Response) bool {
	return strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
}
