package providers

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/wicket-gw/wicket/internal/h1"
)

// TransportOptions configures NewTransport. Zero fields take the defaults
// documented on them.
type TransportOptions struct {
	// MaxIdleConnsPerHost caps idle keep-alive connections kept per upstream
	// host; size it for the gateway's concurrency. Default 512.
	MaxIdleConnsPerHost int
	// ResponseHeaderTimeout bounds the wait for an upstream's status line
	// after the request is sent. Non-streamed completions send headers only
	// when the whole answer is ready, so this is generous. Default 10 minutes.
	ResponseHeaderTimeout time.Duration
	// DialTimeout bounds a TCP connect. Default 10s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake. Default 10s.
	TLSHandshakeTimeout time.Duration
	// IdleConnTimeout closes keep-alive connections idle this long.
	// Default 90s.
	IdleConnTimeout time.Duration
	// HTTP2 makes NewTransport return net/http's Transport, which speaks
	// HTTP/2 to upstreams that offer it (many calls share one TLS
	// connection), instead of the HTTP/1.1 transport that serves each call
	// on the caller's goroutine.
	HTTP2 bool
}

// NewTransport returns the upstream transport that providers share: a
// keep-alive pool sized for concurrency, TLS 1.2 at least, and a
// response-header time-out but no whole-request time-out (streams may last
// long; adapters enforce an idle time-out between events instead).
//
// By default it speaks HTTP/1.1 and serves each call on the caller's
// goroutine, with no goroutine hand-off per request as net/http's
// Transport has: the cheaper way for a gateway, whose calls each hold a
// connection anyway. Hosts that the environment's HTTP_PROXY, HTTPS_PROXY
// and NO_PROXY send through a proxy are served by net/http's Transport,
// as are all hosts when opts.HTTP2 is set. The result is safe for
// concurrent use; http.Client.CloseIdleConnections reaches it.
func NewTransport(opts *TransportOptions) http.RoundTripper {
	o := transportDefaults(opts)
	std := stdTransport(o)
	if o.HTTP2 {
		return std
	}
	t, err := h1.New(&h1.Options{
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       o.IdleConnTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		DialTimeout:           o.DialTimeout,
		TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
		Fallback:              std,
		Delegate:              proxied,
	})
	if err != nil { // the defaults above make every field valid
		return std
	}
	return t
}

// proxied reports whether the environment sends requests to scheme and
// addr through a proxy.
func proxied(scheme, addr string) bool {
	u, err := http.ProxyFromEnvironment(&http.Request{URL: &url.URL{Scheme: scheme, Host: addr}})
	return err != nil || u != nil
}

func transportDefaults(opts *TransportOptions) TransportOptions {
	var o TransportOptions
	if opts != nil {
		o = *opts
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 512
	}
	def(&o.ResponseHeaderTimeout, 10*time.Minute)
	def(&o.DialTimeout, 10*time.Second)
	def(&o.TLSHandshakeTimeout, 10*time.Second)
	def(&o.IdleConnTimeout, 90*time.Second)
	return o
}

// stdTransport is net/http's Transport configured by o (with defaults).
func stdTransport(o TransportOptions) *http.Transport {
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          4 * o.MaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       o.IdleConnTimeout,
	}
}
