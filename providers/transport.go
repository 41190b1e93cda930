package providers

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
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
}

// NewTransport returns the upstream transport that providers share: a
// keep-alive pool sized for concurrency, HTTP/2 where the upstream offers
// it, TLS 1.2 at least, and a response-header time-out but no whole-request
// time-out (streams may last long; adapters enforce an idle time-out
// between events instead).
func NewTransport(opts *TransportOptions) *http.Transport {
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
