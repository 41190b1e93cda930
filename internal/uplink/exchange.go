package uplink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/providers"
)

// errIdle is the cause with which the idle timer ends a call.
var errIdle = errors.New("upstream: idle too long")

// Exchange is one call's answer, as Client.Post leaves it: the response,
// whose body is read through Read (which keeps the idle timer going) and
// released by Close. A dialect's response type embeds it. Its zero value
// is not usable; it must not be copied after Post.
type Exchange struct {
	// Response is the upstream's answer; read its body with Read.
	Response *http.Response

	c         *Client
	cancel    context.CancelCauseFunc
	closeOnce sync.Once

	// The Client's watchdog keeps the calls in progress in a list; seen
	// is its tick at this call's last read.
	seen       atomic.Int64
	prev, next *Exchange
	watched    bool
}

// start begins x with resp, whose context cancel ends, and sets its idle
// timer going.
func (x *Exchange) start(c *Client, resp *http.Response, cancel context.CancelCauseFunc) {
	x.Response, x.c, x.cancel = resp, c, cancel
	c.watch.add(x, max(c.Idle/watchTicks, time.Millisecond))
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
// time-out if the idle timer ended the call.
func (x *Exchange) Read(p []byte) (int, error) {
	n, err := x.Response.Body.Read(p)
	x.seen.Store(x.c.watch.tick.Load())
	if err != nil && err != io.EOF {
		if errors.Is(context.Cause(x.Response.Request.Context()), errIdle) {
			err = context.DeadlineExceeded
		}
		return n, providers.NewUpstreamError(x.c.Name, err)
	}
	return n, err
}

// Close stops watching the call for idleness, closes the body and ends the
// call's context.
// It is safe to call more than once, and always returns nil.
func (x *Exchange) Close() error {
	x.closeOnce.Do(func() {
		x.c.watch.remove(x)
		x.Response.Body.Close()
		x.cancel(nil)
	})
	return nil
}

// IsEventStream reports whether resp is a stream of server-sent events,
// by its Content-Type.
func IsEventStream(resp *http.Response) bool {
	return strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
}
