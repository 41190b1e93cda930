package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/providers"
)

// The targets' names, as the report and the child's control endpoint
// know them.
const (
	bareName   = "bare"
	wicketName = "wicket"
)

// settleTimeout bounds a wait for a target to settle: well past the
// Meter's one-second MaxWait.
const settleTimeout = 3 * time.Second

// host is the process the proxies run in, as the harness measures it:
// this one (*proxies), or a child (*child) with -split.
type host interface {
	// before collects the host's garbage, so that no run pays for
	// another's, and reads the host's figures and the named target's
	// accepted connections, just before that target's run.
	before(name string) (reading, error)
	// after waits until the named target has settled (see
	// proxies.settle), given the requests it has answered so far, and
	// reads the same figures, just after its run.
	after(name string, answered int64) (reading, error)
}

// proxies are the two targets, serving on loopback in front of one
// upstream: a bare httputil.ReverseProxy and a wicket gateway with every
// feature on. Their process is the host that before and after measure.
type proxies struct {
	bare, wicket *server
	gw           *wicket.Gateway // nil in an A/A run
	// key is the bearer key the gateway accepts.
	key string
	// events counts the metering events the gateway's Recorder received.
	events *atomic.Int64
}

// startProxies starts both targets in front of the upstream at
// upstreamURL. With aa, wicket's place holds a second bare proxy (an A/A
// run), and the gateway is not built.
func startProxies(upstreamURL string, aa bool) (*proxies, error) {
	u, err := url.Parse(upstreamURL)
	if err != nil {
		return nil, err
	}
	bare, err := serve(bareProxy(u), bareName)
	if err != nil {
		return nil, err
	}
	if aa {
		// The second proxy counts an event per request it has answered,
		// so that settling waits for its handlers as it waits for
		// wicket's metering.
		events := new(atomic.Int64)
		second := bareProxy(u)
		front, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			second.ServeHTTP(w, r)
			events.Add(1)
		}), wicketName)
		if err != nil {
			bare.Close()
			return nil, err
		}
		return &proxies{bare: bare, wicket: front, key: "unused", events: events}, nil
	}
	var (
		gw     *wicket.Gateway
		key    string
		events *atomic.Int64
	)
	// The gateway's own goroutines (its meter's worker) carry its label.
	labeled(wicketName, func() { gw, key, events, err = gateway(upstreamURL) })
	if err != nil {
		bare.Close()
		return nil, err
	}
	front, err := serve(gw, wicketName)
	if err != nil {
		gw.Close(context.Background())
		bare.Close()
		return nil, err
	}
	return &proxies{bare: bare, wicket: front, gw: gw, key: key, events: events}, nil
}

// bareProxy is a bare httputil.ReverseProxy to u, with its own
// transport, made full duplex.
func bareProxy(u *url.URL) http.Handler {
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = providers.NewTransport(&providers.TransportOptions{HTTP2: true})
	return fullDuplex(rp)
}

// Close stops both targets.
func (p *proxies) Close() {
	p.wicket.Close()
	if p.gw != nil {
		p.gw.Close(context.Background())
	}
	p.bare.Close()
}

// server returns the named target's server.
func (p *proxies) server(name string) (*server, error) {
	switch name {
	case bareName:
		return p.bare, nil
	case wicketName:
		return p.wicket, nil
	}
	return nil, fmt.Errorf("unknown target %q", name)
}

func (p *proxies) before(name string) (reading, error) {
	s, err := p.server(name)
	if err != nil {
		return reading{}, err
	}
	r := readBefore()
	r.Accepted = s.accepted.Load()
	return r, nil
}

func (p *proxies) after(name string, answered int64) (reading, error) {
	s, err := p.server(name)
	if err != nil {
		return reading{}, err
	}
	settled := p.settle(s, name == wicketName, answered)
	r := readAfter()
	r.Accepted, r.Settled = s.accepted.Load(), settled
	return r, nil
}

// settle waits until the clients' connections to s are closed and, if
// metered (wicket), the gateway has recorded a metering event for each of
// the answered requests, so that this work is counted in the run that
// caused it and not in the next. It reports false if that took longer
// than settleTimeout.
func (p *proxies) settle(s *server, metered bool, answered int64) bool {
	deadline := time.Now().Add(settleTimeout)
	for s.open.Load() > 0 || (metered && p.events.Load() < answered) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
