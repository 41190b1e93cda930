package h1

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/wicket-gw/wicket/internal/inflight"
)

// Options configures New. Zero fields take the defaults documented on them.
type Options struct {
	// MaxIdleConnsPerHost caps the keep-alive connections kept idle per
	// host; more are closed when they come back. Default 512.
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes a keep-alive connection idle this long.
	// Default 90s.
	IdleConnTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the status line and headers
	// once the request is written. Zero means no bound.
	ResponseHeaderTimeout time.Duration
	// DialTimeout bounds a TCP connect. Default 10s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake. Default 10s.
	TLSHandshakeTimeout time.Duration
	// TLSConfig is cloned for each TLS connection, with ServerName set
	// from the URL when empty and NextProtos set to http/1.1. Nil means a
	// config with TLS 1.2 at least.
	TLSConfig *tls.Config
	// DialContext makes the TCP connections. Nil means a net.Dialer with
	// DialTimeout and a 30s keep-alive.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Fallback, if set, serves the requests to the hosts Delegate names
	// (asked once per scheme and host:port), such as those an HTTP proxy
	// must reach, which Transport does not speak to.
	Fallback http.RoundTripper
	// Delegate reports whether the requests to a scheme ("http" or
	// "https") and host:port go to Fallback. Nil means none do.
	Delegate func(scheme, addr string) bool
}

// Transport is an HTTP/1.1 http.RoundTripper that serves each call on the
// caller's goroutine (see the package doc). Its zero value is not usable;
// make one with New. It is safe for concurrent use.
type Transport struct {
	o     Options
	names map[string]string // canonical header names, interned

	mu    sync.Mutex
	hosts map[hostKey]*pool

	calls inflight.Set[conn] // in progress, checked every watchEvery
	epoch time.Time          // the start of the Transport's clock (now)
}

// hostKey names a pool: connections are shared by the requests to the same
// scheme and URL host.
type hostKey struct {
	tls  bool
	addr string // the URL's host, with or without a port
}

// New returns a Transport configured by opts, which may be nil.
func New(opts *Options) (*Transport, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case o.MaxIdleConnsPerHost < 0:
		return nil, errors.New("h1: MaxIdleConnsPerHost must not be negative")
	case o.IdleConnTimeout < 0:
		return nil, errors.New("h1: IdleConnTimeout must not be negative")
	case o.ResponseHeaderTimeout < 0:
		return nil, errors.New("h1: ResponseHeaderTimeout must not be negative")
	case o.DialTimeout < 0:
		return nil, errors.New("h1: DialTimeout must not be negative")
	case o.TLSHandshakeTimeout < 0:
		return nil, errors.New("h1: TLSHandshakeTimeout must not be negative")
	case o.Delegate != nil && o.Fallback == nil:
		return nil, errors.New("h1: Delegate needs a Fallback")
	}
	if o.MaxIdleConnsPerHost == 0 {
		o.MaxIdleConnsPerHost = 512
	}
	if o.IdleConnTimeout == 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.TLSHandshakeTimeout == 0 {
		o.TLSHandshakeTimeout = 10 * time.Second
	}
	if o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if o.DialContext == nil {
		d := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
		o.DialContext = d.DialContext
	}
	return &Transport{o: o, names: commonNames(), hosts: make(map[hostKey]*pool), epoch: time.Now()}, nil
}

// RoundTrip implements http.RoundTripper for http and https URLs. It sends
// req on an idle connection to its host, or a new one, and returns once
// the status and headers have arrived; the connection goes back to the
// pool when the body has been read to its end (or is closed by Close
// before that). A request whose connection turns out to have been closed
// by the server before any answer arrived is sent again on a new one when
// it can be replayed: its method is idempotent or it carries an
// Idempotency-Key, and its body can be had again (GetBody, or none).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	key, err := checkRequest(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, context.Cause(ctx)
	}
	p := t.pool(key)
	if p.delegated {
		return t.o.Fallback.RoundTrip(req)
	}
	for attempt := 0; ; attempt++ {
		c, reused, err := p.get(ctx)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := c.roundTrip(req)
		if err == nil {
			return resp, nil
		}
		if attempt == 0 && reused && c.nothingRead && err != errHeaderTimeout && ctx.Err() == nil && replayable(req) {
			if body, ok := rewind(req); ok {
				req = body
				continue
			}
		}
		return nil, err
	}
}

// CloseIdleConnections closes the connections now idle in every pool; it
// is what http.Client.CloseIdleConnections calls.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	pools := make([]*pool, 0, len(t.hosts))
	for _, p := range t.hosts {
		pools = append(pools, p)
	}
	t.mu.Unlock()
	for _, p := range pools {
		p.closeIdle()
	}
}

// pool returns the pool for key, making it on first use.
func (t *Transport) pool(key hostKey) *pool {
	t.mu.Lock()
	p := t.hosts[key]
	if p == nil {
		p = &pool{t: t, key: key, addr: dialAddr(key)}
		if t.o.Delegate != nil {
			scheme := "http"
			if key.tls {
				scheme = "https"
			}
			p.delegated = t.o.Delegate(scheme, p.addr)
		}
		t.hosts[key] = p
	}
	t.mu.Unlock()
	return p
}

// checkRequest checks req (its URL, method and headers, so that nothing
// invalid takes a connection) and names its pool.
func checkRequest(req *http.Request) (hostKey, error) {
	u := req.URL
	if u == nil {
		return hostKey{}, errors.New("h1: request has no URL")
	}
	var k hostKey
	switch u.Scheme {
	case "http":
	case "https":
		k.tls = true
	default:
		return k, errors.New("h1: unsupported URL scheme")
	}
	if u.Host == "" {
		return k, errors.New("h1: request URL has no host")
	}
	if !validHost(u.Host) || (req.Host != "" && !validHost(req.Host)) {
		return k, errors.New("h1: invalid host")
	}
	if !validToken(methodOf(req)) {
		return k, errors.New("h1: invalid method")
	}
	if !validTarget(u.RawQuery) || !validTarget(u.Opaque) {
		return k, errors.New("h1: invalid character in request URL")
	}
	for name, vs := range req.Header {
		if !validToken(name) {
			return k, errors.New("h1: invalid header name")
		}
		for _, v := range vs {
			if !validValue(v) {
				return k, errors.New("h1: invalid header value")
			}
		}
	}
	k.addr = u.Host
	return k, nil
}

// dialAddr is the host:port to dial for k, the scheme's port if the URL
// gave none.
func dialAddr(k hostKey) string {
	u := url.URL{Host: k.addr}
	if u.Port() != "" {
		return k.addr
	}
	port := "80"
	if k.tls {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func methodOf(req *http.Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

// replayable reports whether req may be sent twice, as net/http judges it.
func replayable(req *http.Request) bool {
	switch methodOf(req) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, a := req.Header["Idempotency-Key"]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

// rewind returns req with its body to be read again from the start, if it
// has none or can get it again.
func rewind(req *http.Request) (*http.Request, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	r := *req
	r.Body = body
	return &r, true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// dial makes a new connection to addr, TLS included if key says so,
// within ctx.
func (t *Transport) dial(ctx context.Context, key hostKey, addr string) (*conn, error) {
	nc, err := t.o.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, fmt.Errorf("h1: dial: %w", scrub(err))
	}
	if key.tls {
		host, _, _ := net.SplitHostPort(addr)
		cfg := t.o.TLSConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		hctx, cancel := context.WithTimeout(ctx, t.o.TLSHandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, fmt.Errorf("h1: tls handshake: %w", err)
		}
		nc = tc
	}
	return newConn(t, nc), nil
}

// scrub keeps a dial error's kind without the address it names: a
// *net.OpError's Addr is the upstream's, which is not secret, but an
// error here must name no URL part beyond the host, and the host is in
// the caller's hands already.
func scrub(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err
	}
	return err
}

// Options returns the options t was made with, defaults filled in.
func (t *Transport) Options() Options { return t.o }
