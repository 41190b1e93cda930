package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/ratelimit"
)

// target is one proxy under load, as the clients see it.
type target struct {
	name string
	// url is where the target serves; key is the bearer key the clients
	// send.
	url, key string
	// host is the process the target runs in, which measures it.
	host host
	// answered counts the requests the target has answered so far, warm-up
	// included.
	answered int64
}

// gateway builds a wicket gateway with every feature on, generous enough
// that nothing is refused, and returns it with a key it accepts and the
// count of metering events its Recorder has received.
func gateway(upstreamURL string) (*wicket.Gateway, string, *atomic.Int64, error) {
	hasher, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{0x5a}, 32)})
	if err != nil {
		return nil, "", nil, err
	}
	km, err := keys.NewManager(keys.NewMemoryStore(), hasher, nil)
	if err != nil {
		return nil, "", nil, err
	}
	up, err := openai.New(&openai.Options{BaseURL: upstreamURL + "/v1"})
	if err != nil {
		return nil, "", nil, err
	}
	router, err := providers.NewRouter([]providers.Model{{Name: "fake-echo", Deployments: []providers.Deployment{{Provider: up}}}}, nil)
	if err != nil {
		return nil, "", nil, err
	}
	prices := metering.DefaultPrices()
	if err := prices.Set("fake-echo", metering.Price{Rates: metering.Rates{Input: 1, Output: 1}}); err != nil {
		return nil, "", nil, err
	}
	events := new(atomic.Int64)
	gw, err := wicket.New(wicket.Config{
		Keys:     km,
		Router:   router,
		Prices:   prices,
		Limits:   ratelimit.Limits{RequestsPerMinute: 60_000_000, TokensPerMinute: 50_000_000_000, MaxConcurrent: 100_000},
		Recorder: metering.RecorderFunc(func(context.Context, metering.Event) error { events.Add(1); return nil }),
	})
	if err != nil {
		return nil, "", nil, err
	}
	key, _, err := km.Issue(context.Background(), keys.Spec{Owner: "load", Budget: keys.Budget{LimitMicros: 1 << 50, Period: keys.PeriodTotal}})
	if err != nil {
		gw.Close(context.Background())
		return nil, "", nil, err
	}
	return gw, key, events, nil
}

// server is an http.Server on a loopback port that counts its client
// connections.
type server struct {
	URL string
	srv *http.Server
	// accepted counts the connections accepted; open those not yet closed.
	accepted, open atomic.Int64
}

// serve serves h on a loopback port. If name is not empty, every
// goroutine the server starts (connections, handlers, and those they
// start in turn) carries the profiler label target=name, so that one CPU
// profile of both proxies tells them apart:
//
//	go tool pprof -tagfocus target=wicket loadharness proxies.out
func serve(h http.Handler, name string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{URL: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: s.track}
	go labeled(name, func() { s.srv.Serve(ln) })
	return s, nil
}

// labeled runs f with the profiler label target=name, which the
// goroutines f starts inherit; with no name, it just runs f.
func labeled(name string, f func()) {
	if name == "" {
		f()
		return
	}
	pprof.Do(context.Background(), pprof.Labels("target", name), func(context.Context) { f() })
}

func (s *server) track(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.accepted.Add(1)
		s.open.Add(1)
	case http.StateClosed, http.StateHijacked:
		s.open.Add(-1)
	}
}

func (s *server) Close() { s.srv.Close() }
