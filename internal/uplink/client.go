package uplink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/internal/inflight"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers"
)

// copyBufferSize is the size of the pooled buffers Copy reads with.
const copyBufferSize = 32 << 10

// Client sends calls to one upstream and holds what its relays reuse: a
// pool of stream readers and one of copy buffers. Its fields are set once,
// before first use; after that it is safe for concurrent use, and must not
// be copied.
type Client struct {
	// Name is the upstream's name, as *providers.UpstreamError values
	// carry it.
	Name string
	// Prefix starts the message of the errors that are not about the
	// upstream, such as "openai".
	Prefix string
	// HTTP sends the requests; it must not be nil. A client with no
	// Timeout, Jar or CheckRedirect is bypassed for its Transport (or
	// http.DefaultTransport), whose RoundTrip is called directly: an API
	// call follows no redirect, and http.Client's redirect bookkeeping
	// copies every request's headers. Any other client is used as it is.
	HTTP *http.Client
	// Header holds headers set on every request before any other.
	Header http.Header
	// Idle ends a call whose body sends nothing for this long (to within an
	// eighth more: see checkIdle); it must be positive.
	Idle time.Duration
	// MaxEventSize bounds one relayed event (see sse.ReaderOptions); zero
	// means sse's default.
	MaxEventSize int

	calls   inflight.Set[Exchange] // the calls in progress, for the watchdog
	readers sync.Pool              // of *sse.Reader
	bufs    sync.Pool              // of *[]byte, copy buffers
	// targets holds the parsed URLs posted to (string to *url.URL, read
	// only once stored); ntargets counts the stores tried.
	targets  sync.Map
	ntargets atomic.Int64

	// values holds the header values every request carries, made once and
	// shared (read only) by the requests' headers: Content-Type, then
	// Accept for JSON and for an event stream.
	valuesOnce sync.Once
	values     *[3][]string
}

// constant returns the shared values of the headers every request carries.
func (c *Client) constant() *[3][]string {
	c.valuesOnce.Do(func() {
		c.values = &[3][]string{{"application/json"}, {"application/json"}, {"text/event-stream"}}
	})
	return c.values
}

// Shared returns a header value shared by many requests: set it with
// h[key] = v; an append to it copies it rather than writing through.
func Shared(v string) []string { return []string{v}[:1:1] }

// Post sends body to target, a URL, as a JSON POST, with Accept asking
// for an event stream if stream is set (JSON otherwise), and starts x once
// the status and headers have arrived. The request carries c.Header, then
// Content-Type and Accept; header, if not nil, sets the rest (credentials,
// the dialect's own headers) last. A failure to reach the upstream is a
// *providers.UpstreamError.
//
// The wait for the status line is bounded by the transport's
// ResponseHeaderTimeout (long: non-streamed answers come whole); the idle
// timer starts with the body.
func (c *Client) Post(ctx context.Context, x *Exchange, target string, body []byte, stream bool, header func(http.Header)) error {
	u, err := c.target(target)
	if err != nil {
		return fmt.Errorf("%s: provider %q: building request failed", c.Prefix, c.Name)
	}
	// An empty URL parses in no time; the parsed target is copied in.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "", nil)
	if err != nil {
		return fmt.Errorf("%s: provider %q: building request failed", c.Prefix, c.Name)
	}
	*req.URL = *u
	req.Host = u.Host
	x.body.Reset(body) // the body's reader lives in the Exchange
	req.Body, req.ContentLength = &x.body, int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	h := req.Header
	for k, vs := range c.Header {
		h[k] = vs
	}
	// Shared, read-only values: the transport only reads a request's
	// headers, and a three-index slice makes an append copy.
	v := c.constant()
	h["Content-Type"] = v[0][:1:1]
	if stream {
		h["Accept"] = v[2][:1:1]
	} else {
		h["Accept"] = v[1][:1:1]
	}
	if header != nil {
		header(h)
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		return providers.NewUpstreamError(c.Name, err)
	}
	x.start(c, resp)
	return nil
}

// maxTargets bounds the parsed URLs a Client keeps: a dialect's few
// endpoints, or, where the URL names the model, a few per model.
const maxTargets = 256

// target returns raw parsed, from the Client's cache of the URLs it posts
// to. Like http.NewRequest, it drops an empty port from the host.
func (c *Client) target(raw string) (*url.URL, error) {
	if u, ok := c.targets.Load(raw); ok {
		return u.(*url.URL), nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	u.Host = strings.TrimSuffix(u.Host, ":")
	if c.ntargets.Add(1) <= maxTargets {
		c.targets.Store(raw, u)
	}
	return u, nil
}

// requestBody is a request's body, kept in its Exchange so that a call
// allocates no reader for it.
type requestBody struct{ bytes.Reader }

// Close implements io.Closer; there is nothing to release.
func (*requestBody) Close() error { return nil }

// roundTrip sends req through c.HTTP, or straight through its transport
// when the client adds nothing an API call needs (see HTTP). A redirect
// then comes back as the upstream's answer, as any other status does.
func (c *Client) roundTrip(req *http.Request) (*http.Response, error) {
	h := c.HTTP
	if h.Timeout != 0 || h.Jar != nil || h.CheckRedirect != nil {
		return h.Do(req)
	}
	rt := h.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return rt.RoundTrip(req)
}

// reader returns a pooled reader of the events in src, for relays.
func (c *Client) reader(src *source) *sse.Reader {
	rd, _ := c.readers.Get().(*sse.Reader)
	if rd == nil {
		return sse.NewReader(src, &sse.ReaderOptions{All: true, MaxEventSize: c.MaxEventSize})
	}
	rd.Reset(src)
	return rd
}

// putReader returns rd to the pool, holding on to nothing of its stream.
func (c *Client) putReader(rd *sse.Reader) {
	rd.Reset(nil)
	c.readers.Put(rd)
}

// buffer returns a pooled copy buffer; putBuffer gives it back.
func (c *Client) buffer() *[]byte {
	bp, _ := c.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, copyBufferSize)
		bp = &b
	}
	return bp
}

func (c *Client) putBuffer(bp *[]byte) { c.bufs.Put(bp) }
