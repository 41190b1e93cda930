// Command loadharness measures what the wicket chain adds under concurrent
// load. It starts, on loopback in this one process, the deterministic fake
// upstream, a bare httputil.ReverseProxy in front of it, and a wicket
// gateway in front of it (keys, limits, budgets, metering all on), then
// drives each with the same bounded load and prints throughput, latency
// percentiles and the wicket/bare ratios:
//
//	go run ./examples/loadharness -duration 5s -concurrency 32
//
// Every request loop is bounded in count and time and stops by itself; all
// traffic stays on 127.0.0.1.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/ratelimit"
)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "load per target and kind")
	concurrency := flag.Int("concurrency", 32, "concurrent clients")
	maxRequests := flag.Int("max-requests", 1_000_000, "cap on requests per target and kind")
	flag.Parse()
	if err := run(os.Stdout, *duration, *concurrency, *maxRequests); err != nil {
		fmt.Fprintln(os.Stderr, "loadharness:", err)
		os.Exit(1)
	}
}

// result is one target's figures for one kind of request.
type result struct {
	requests, failures int64
	elapsed            time.Duration
	latencies          []time.Duration
}

func (r result) merge(o result) result {
	all := append(r.latencies, o.latencies...)
	slices.Sort(all)
	return result{requests: r.requests + o.requests, failures: r.failures + o.failures, elapsed: r.elapsed + o.elapsed, latencies: all}
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
}

func run(out io.Writer, duration time.Duration, concurrency, maxRequests int) error {
	upstream, err := serve(fake.Handler(&fake.Options{Chunks: 50}))
	if err != nil {
		return err
	}
	defer upstream.Close()
	target, _ := url.Parse(upstream.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = providers.NewTransport(nil)
	bare, err := serve(rp)
	if err != nil {
		return err
	}
	defer bare.Close()

	gw, key, err := gateway(upstream.URL)
	if err != nil {
		return err
	}
	defer gw.Close(context.Background())
	front, err := serve(gw)
	if err != nil {
		return err
	}
	defer front.Close()

	bodies := map[string]string{
		"non-streamed": `{"model":"fake-echo","max_tokens":64,"messages":[{"role":"user","content":"hello wicket, how are you today"}]}`,
		"streamed":     `{"model":"fake-echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two three"}]}`,
	}
	fmt.Fprintf(out, "%d clients, %v per run, fake upstream on loopback\n\n", concurrency, duration)
	fmt.Fprintf(out, "%-13s %-7s %10s %10s %10s %8s\n", "kind", "target", "req/s", "p50", "p99", "failed")
	for _, kind := range []string{"non-streamed", "streamed"} {
		// Bare, wicket, wicket, bare: warm-up and drift weigh on both alike.
		half := duration / 2
		b := load(bare.URL, "unused", bodies[kind], half, concurrency, maxRequests/2)
		w := load(front.URL, key, bodies[kind], half, concurrency, maxRequests/2)
		w = w.merge(load(front.URL, key, bodies[kind], half, concurrency, maxRequests/2))
		b = b.merge(load(bare.URL, "unused", bodies[kind], half, concurrency, maxRequests/2))
		for _, row := range []struct {
			name string
			r    result
		}{{"bare", b}, {"wicket", w}} {
			fmt.Fprintf(out, "%-13s %-7s %10.0f %10v %10v %8d\n", kind, row.name, row.r.rps(), row.r.pct(0.50).Round(time.Microsecond), row.r.pct(0.99).Round(time.Microsecond), row.r.failures)
		}
		fmt.Fprintf(out, "%-13s ratio   throughput %.3f, p50 %.3f, p99 %.3f\n\n", kind,
			w.rps()/b.rps(), ratio(w.pct(0.5), b.pct(0.5)), ratio(w.pct(0.99), b.pct(0.99)))
		if w.failures > 0 || b.failures > 0 {
			return fmt.Errorf("%s: %d failures behind wicket, %d behind the bare proxy", kind, w.failures, b.failures)
		}
	}
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// gateway builds a wicket gateway with every feature on, generous enough
// that nothing is refused.
func gateway(upstreamURL string) (*wicket.Gateway, string, error) {
	hasher, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{0x5a}, 32)})
	if err != nil {
		return nil, "", err
	}
	km, err := keys.NewManager(keys.NewMemoryStore(), hasher, nil)
	if err != nil {
		return nil, "", err
	}
	up, err := openai.New(&openai.Options{BaseURL: upstreamURL + "/v1"})
	if err != nil {
		return nil, "", err
	}
	router, err := providers.NewRouter([]providers.Model{{Name: "fake-echo", Deployments: []providers.Deployment{{Provider: up}}}}, nil)
	if err != nil {
		return nil, "", err
	}
	prices := metering.DefaultPrices()
	if err := prices.Set("fake-echo", metering.Price{Rates: metering.Rates{Input: 1, Output: 1}}); err != nil {
		return nil, "", err
	}
	var events atomic.Int64
	gw, err := wicket.New(wicket.Config{
		Keys:     km,
		Router:   router,
		Prices:   prices,
		Limits:   ratelimit.Limits{RequestsPerMinute: 60_000_000, TokensPerMinute: 50_000_000_000, MaxConcurrent: 100_000},
		Recorder: metering.RecorderFunc(func(context.Context, metering.Event) error { events.Add(1); return nil }),
	})
	if err != nil {
		return nil, "", err
	}
	key, _, err := km.Issue(context.Background(), keys.Spec{Owner: "load", Budget: keys.Budget{LimitMicros: 1 << 50, Period: keys.PeriodTotal}})
	return gw, key, err
}

// server is an http.Server on a loopback port.
type server struct {
	URL string
	srv *http.Server
}

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *server) Close() { s.srv.Close() }

// load runs concurrency clients against url until duration passes or
// maxRequests have been sent, and reports what it saw.
func load(url, key, body string, duration time.Duration, concurrency, maxRequests int) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, DisableCompression: true}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var sent, failed atomic.Int64
	var mu sync.Mutex
	var all []time.Duration
	deadline := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) && sent.Add(1) <= int64(maxRequests) {
				t0 := time.Now()
				req, _ := http.NewRequest("POST", url+"/v1/chat/completions", bytes.NewBufferString(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	return result{requests: int64(len(all)), failures: failed.Load(), elapsed: time.Since(start), latencies: all}
}
