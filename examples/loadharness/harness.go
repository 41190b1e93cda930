package main

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/wicket-gw/wicket/providers/fake"
)

const (
	// answerWords is the words in every text answer of the fake upstream,
	// so the whole (non-streamed) answers have this many.
	answerWords = 50
	// streamWords is the content events in a streamed answer, which the
	// streamed requests' max_tokens cuts it to.
	streamWords = 20
	// streamEvents is the data lines of one stream: the content events,
	// the finish, the usage and [DONE].
	streamEvents = streamWords + 3
	// maxWarmUp bounds the warm-up of each target with each body.
	maxWarmUp = 500 * time.Millisecond
)

// bodies returns the requests' bodies: for a whole answer (cut to
// answerWords by the fake) and for a stream (cut to streamWords by
// max_tokens).
func bodies() (whole, stream []byte) {
	whole = []byte(`{"model":"fake-echo","max_tokens":64,"messages":[{"role":"user","content":"hello wicket, how are you today"}]}`)
	stream = fmt.Appendf(nil, `{"model":"fake-echo","max_tokens":%d,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two three"}]}`, streamWords)
	return whole, stream
}

// run starts the fake upstream, the bare proxy and the gateway on
// loopback (the proxies in a child process with cfg.split), loads both
// proxies with each of cfg's kinds and writes the report to out. It fails
// if any request fails or a stream does not have streamEvents events.
func run(out io.Writer, cfg config) (err error) {
	upstream, err := serve(fake.Handler(&fake.Options{Chunks: answerWords}), "")
	if err != nil {
		return err
	}
	defer upstream.Close()
	var bare, wicket *target
	if cfg.split {
		// err is run's result here, for the deferred stop to set.
		var ch *child
		if ch, err = startChild(upstream.URL, cfg.childProfile, cfg.aa, runBound(cfg), os.Stderr); err != nil {
			return err
		}
		defer func() {
			if stopErr := ch.stop(); stopErr != nil && err == nil {
				err = fmt.Errorf("the proxies' child: %w", stopErr)
			}
		}()
		bare = &target{name: bareName, url: ch.hello.Bare, key: "unused", host: ch}
		wicket = &target{name: wicketName, url: ch.hello.Wicket, key: ch.hello.Key, host: ch}
		header(out, cfg, &ch.hello)
	} else {
		p, err := startProxies(upstream.URL, cfg.aa)
		if err != nil {
			return err
		}
		defer p.Close()
		bare = &target{name: bareName, url: p.bare.URL, key: "unused", host: p}
		wicket = &target{name: wicketName, url: p.wicket.URL, key: p.key, host: p}
		header(out, cfg, nil)
	}

	wholeBody, streamBody := bodies()
	var unsettled []string
	warm := min(cfg.duration/10, maxWarmUp)
	for _, t := range []*target{bare, wicket} {
		for _, body := range [][]byte{wholeBody, streamBody} {
			r := load(t.url, t.key, body, warm, cfg.concurrency, cfg.maxRequests)
			t.answered += r.requests
			if r.failures > 0 {
				return fmt.Errorf("warm-up: %d of %d requests to %s failed; the first: %s", r.failures, r.failures+r.requests, t.name, r.failure)
			}
		}
		switch rd, err := t.host.after(t.name, t.answered); {
		case err != nil:
			return err
		case !rd.Settled:
			unsettled = append(unsettled, "warm-up "+t.name)
		}
	}
	for _, k := range cfg.kinds {
		body, clients := wholeBody, cfg.concurrency
		if k.stream {
			body = streamBody
		}
		if k.single {
			clients = 1
		}
		var b, w result
		rounds := make([][]row, 0, cfg.rounds)
		for range cfg.rounds {
			rb, rw, late, err := measure(bare, wicket, body, clients, cfg.duration/2, cfg.maxRequests/cfg.rounds)
			if err != nil {
				return err
			}
			for _, name := range late {
				unsettled = append(unsettled, k.name+" "+name)
			}
			rounds = append(rounds, rowsOf(k, rb.sort(), rw.sort()))
			b, w = b.merge(rb), w.merge(rw)
		}
		b, w = b.sort(), w.sort()
		report(out, k, b, w)
		reportSpread(out, k, rounds)
		if w.failures > 0 || b.failures > 0 {
			return fmt.Errorf("%s: %d failures behind wicket, %d behind the bare proxy; the first: %s",
				k.name, w.failures, b.failures, cmp.Or(b.failure, w.failure))
		}
		if w.requests == 0 || b.requests == 0 {
			return fmt.Errorf("%s: no request answered in time", k.name)
		}
		if k.stream && (b.minEvents != streamEvents || b.maxEvents != streamEvents || w.minEvents != streamEvents || w.maxEvents != streamEvents) {
			return fmt.Errorf("%s: streams of %d to %d events behind the bare proxy, %d to %d behind wicket; want %d",
				k.name, b.minEvents, b.maxEvents, w.minEvents, w.maxEvents, streamEvents)
		}
	}
	if len(unsettled) > 0 {
		fmt.Fprintf(out, "note: still busy %v after these runs' load (open connections or metering events); some of their CPU and allocations may be counted in the next run: %v\n", settleTimeout, unsettled)
	}
	return nil
}

// measure runs one round of a kind: two halves of load for each target,
// each of length half, in the order bare, wicket, wicket, bare, so that
// warm-up and drift weigh on both alike; at most limit requests per
// target, half of them in its first half. It returns each target's
// results, merged and unsorted, and the names of the targets that did
// not settle in time after a half.
func measure(bare, wicket *target, body []byte, clients int, half time.Duration, limit int) (b, w result, late []string, err error) {
	firstCap := (limit + 1) / 2
	for i, t := range []*target{bare, wicket, wicket, bare} {
		res := &b
		if t == wicket {
			res = &w
		}
		n := firstCap
		if i >= 2 {
			n = max(1, limit-int(res.requests+res.failures))
		}
		r, settled, err := t.run(body, half, clients, n)
		if err != nil {
			return b, w, late, err
		}
		if !settled {
			late = append(late, t.name)
		}
		*res = res.merge(r)
	}
	return b, w, late, nil
}

// run loads t with clients posting body for d, at most limit requests, and
// measures the CPU and allocations of t's host from just before the load
// until t has settled. It reports whether t settled in time.
func (t *target) run(body []byte, d time.Duration, clients, limit int) (result, bool, error) {
	before, err := t.host.before(t.name)
	if err != nil {
		return result{}, false, err
	}
	r := load(t.url, t.key, body, d, clients, limit)
	t.answered += r.requests
	after, err := t.host.after(t.name, t.answered)
	if err != nil {
		return result{}, false, err
	}
	r.use = after.since(before)
	r.conns = after.Accepted - before.Accepted
	return r, after.Settled, nil
}

// runBound bounds a whole run, as a backstop for the proxies' child,
// which is killed once it has passed: every load's time (each round's),
// plus a request's timeout and a settle wait for each load, and a minute.
func runBound(cfg config) time.Duration {
	const overrun = requestTimeout + settleTimeout
	warmUps := 4 * (min(cfg.duration/10, maxWarmUp) + overrun)
	return warmUps + time.Duration(len(cfg.kinds)*cfg.rounds)*(2*cfg.duration+4*overrun) + time.Minute
}

// fullDuplex lets h go on reading the request body once it has begun its
// answer. A bare ReverseProxy needs it on HTTP/1 to be reliable: when the
// upstream's stream begins, the server drains and closes the inbound body,
// and if the transport has not yet made its last read of that body
// (checking that it ends where Content-Length says), the read fails, the
// transport drops the upstream connection and the stream is cut
// (golang/go#40747; seen here about once in 10,000 streams). Wicket reads
// the whole body before it forwards it, so it has no such race.
func fullDuplex(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		h.ServeHTTP(w, r)
	})
}

// header writes what the report measures and how. child is the proxies'
// child's hello with -split, nil without.
func header(out io.Writer, cfg config, child *hello) {
	if cfg.aa {
		fmt.Fprintf(out, "loadharness: A/A: bare httputil.ReverseProxy (full duplex, golang/go#40747) vs a second, identical bare proxy in wicket's column: the ratios are the harness's own noise\n")
	} else {
		fmt.Fprintf(out, "loadharness: bare httputil.ReverseProxy (full duplex, golang/go#40747) vs wicket gateway (keys, rate limits, budget, metering on)\n")
	}
	if child == nil {
		fmt.Fprintf(out, "fake upstream, both proxies and the clients in this one process on 127.0.0.1; %s %s/%s, GOMAXPROCS %d, %d CPUs\n",
			runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU())
	} else {
		fmt.Fprintf(out, "split: fake upstream and clients in this process (GOMAXPROCS %d), both proxies in a child process (pid %d, GOMAXPROCS %d), on 127.0.0.1; %s %s/%s, %d CPUs\n",
			runtime.GOMAXPROCS(0), child.PID, child.GOMAXPROCS, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	}
	if cfg.rounds > 1 {
		fmt.Fprintf(out, "per target and kind: %d rounds, each %v in two halves run bare, wicket, wicket, bare (after a %v warm-up), at most %d requests in all;\n",
			cfg.rounds, cfg.duration, min(cfg.duration/10, maxWarmUp), cfg.maxRequests)
		fmt.Fprintf(out, "  the tables pool the rounds; under each, every ratio's median, lowest and highest over the rounds, and each round's\n")
	} else {
		fmt.Fprintf(out, "per target and kind: %v in two halves run bare, wicket, wicket, bare (after a %v warm-up), at most %d requests\n",
			cfg.duration, min(cfg.duration/10, maxWarmUp), cfg.maxRequests)
	}
	fmt.Fprintf(out, "one-conn*: 1 client on one keep-alive connection (a new one each half), back to back; saturated*: %d clients, as many connections\n", cfg.concurrency)
	fmt.Fprintf(out, "answers: %d words whole; streams: %d content events + finish, usage and [DONE] = %d data lines (events/stream)\n",
		answerWords, streamWords, streamEvents)
	fmt.Fprintf(out, "latency-us: request sent to last byte of the answer; ttfb-us: to its body's first byte; µs\n")
	if child == nil {
		fmt.Fprintf(out, "cpu-us/req: process CPU, user+sys (getrusage RUSAGE_SELF), over the target's runs ÷ requests answered\n")
		fmt.Fprintf(out, "allocs/req, bytes/req: runtime.MemStats Mallocs and TotalAlloc over the same runs ÷ requests, after a GC before each run\n")
		fmt.Fprintf(out, "reads/req, writes/req: read and write system calls (syscr, syscw in /proc/self/io, Linux only) over the same runs ÷ requests\n")
		fmt.Fprintf(out, "  all count the whole process (clients, proxy, fake upstream); the clients and upstream do the same work for both targets\n")
	} else {
		fmt.Fprintf(out, "cpu-us/req: proxy process only: the child's CPU, user+sys (getrusage RUSAGE_SELF), over the target's runs ÷ requests answered\n")
		fmt.Fprintf(out, "allocs/req, bytes/req: proxy process only: the child's runtime.MemStats Mallocs and TotalAlloc over the same runs ÷ requests, after a GC before each run\n")
		fmt.Fprintf(out, "reads/req, writes/req: proxy process only: the child's read and write system calls (syscr, syscw in /proc/self/io, Linux only)\n")
		fmt.Fprintf(out, "  all count the child alone (both proxies, one idle, and two control calls a run), not the clients nor the fake upstream;\n")
		fmt.Fprintf(out, "  a request crosses between the processes four times and each may sleep in between: one-conn* pays more in wake-ups\n")
		fmt.Fprintf(out, "  (latency and CPU) than in one process, so compare split figures with split figures\n")
	}
	fmt.Fprintf(out, "  and each run waits, inside its interval, for wicket's metering events to reach the recorder\n")
	fmt.Fprintf(out, "ratio: wicket ÷ bare (below 1 is wicket cheaper or faster, except req/s where above 1 is wicket faster)\n\n")
}
