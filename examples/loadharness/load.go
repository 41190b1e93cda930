package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one target showed under one kind of load.
type result struct {
	requests, failures int64
	elapsed            time.Duration
	// latencies run from sending a request to the last byte of its answer;
	// ttfb to the first byte of the answer's body. Sorted once sort has
	// run.
	latencies, ttfb []time.Duration
	// events counts the "data:" lines of all streams; minEvents and
	// maxEvents are the fewest and most in one stream.
	events               int64
	minEvents, maxEvents int
	// conns counts the client connections the target accepted.
	conns int64
	// use is the process's CPU time and allocations over the load.
	use usage
	// failure describes the first failure, if any.
	failure string
}

// merge adds o's figures to r's. The latencies are left unsorted.
func (r result) merge(o result) result {
	m := result{
		requests: r.requests + o.requests, failures: r.failures + o.failures,
		elapsed:   r.elapsed + o.elapsed,
		latencies: slices.Concat(r.latencies, o.latencies), ttfb: slices.Concat(r.ttfb, o.ttfb),
		events: r.events + o.events, minEvents: r.minEvents, maxEvents: max(r.maxEvents, o.maxEvents),
		conns: r.conns + o.conns, use: r.use.add(o.use), failure: cmp.Or(r.failure, o.failure),
	}
	if r.requests == 0 || (o.requests > 0 && o.minEvents < m.minEvents) {
		m.minEvents = o.minEvents
	}
	return m
}

// sort sorts the latencies, once the load is over: sorting them while it
// runs would add to the CPU time measured.
func (r result) sort() result {
	slices.Sort(r.latencies)
	slices.Sort(r.ttfb)
	return r
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// pct is the p-quantile of sorted durations, 0 if there are none.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// requestTimeout bounds each request of load, answer included.
const requestTimeout = 30 * time.Second

// load runs concurrency clients, each on its own keep-alive connection,
// posting body to url until duration passes or maxRequests have been sent,
// and reports what it saw. A request fails if it gets no answer, an answer
// other than 200, or an answer cut short.
func load(url, key string, body []byte, duration time.Duration, concurrency, maxRequests int) result {
	// At most one connection a client: without MaxConnsPerHost, a request
	// sent before the last answer's connection is back in the pool dials
	// another, and the pool closes one, which costs the target it happens
	// to.
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency, DisableCompression: true},
		Timeout:   requestTimeout,
	}
	defer client.CloseIdleConnections()
	var sent atomic.Int64
	var mu sync.Mutex
	var total result
	deadline := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			w := worker{client: client, url: url + "/v1/chat/completions", auth: "Bearer " + key, body: body, buf: make([]byte, 32<<10)}
			for time.Now().Before(deadline) && sent.Add(1) <= int64(maxRequests) {
				w.do()
			}
			mu.Lock()
			total = total.merge(w.result)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}

// worker is one client's loop.
type worker struct {
	client    *http.Client
	url, auth string
	body, buf []byte
	result    result
}

// do sends one request, reads the answer to its end and adds what it saw
// to w.result.
func (w *worker) do() {
	t0 := time.Now()
	req, err := http.NewRequest(http.MethodPost, w.url, bytes.NewReader(w.body))
	if err != nil {
		w.fail(err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", w.auth)
	resp, err := w.client.Do(req)
	if err != nil {
		w.fail(err.Error())
		return
	}
	defer resp.Body.Close()
	first, events, err := readAnswer(resp.Body, w.buf, t0)
	switch {
	case err != nil:
		w.fail(fmt.Sprintf("reading the answer after %v: %v", time.Since(t0), err))
		return
	case resp.StatusCode != http.StatusOK:
		w.fail(resp.Status)
		return
	case first == 0:
		w.fail("empty answer")
		return
	}
	r := &w.result
	r.latencies = append(r.latencies, time.Since(t0))
	r.ttfb = append(r.ttfb, first)
	if r.requests == 0 || events < r.minEvents {
		r.minEvents = events
	}
	r.maxEvents = max(r.maxEvents, events)
	r.events += int64(events)
	r.requests++
}

// fail counts a failure, and describes it if it is the first.
func (w *worker) fail(what string) {
	w.result.failures++
	if w.result.failure == "" {
		w.result.failure = what
	}
}

// readAnswer reads body to its end through buf, which must hold more than
// len(dataLine) bytes, and returns how long after start its first byte
// came (0 if it had none) and how many lines it has that begin with
// "data:", as server-sent events' data lines do.
func readAnswer(body io.Reader, buf []byte, start time.Time) (first time.Duration, events int, err error) {
	// buf starts with what the last read left that may begin a data line
	// (a line break before the first read); the read goes after it.
	buf[0] = '\n'
	kept := 1
	for {
		n, err := body.Read(buf[kept:])
		if n > 0 && first == 0 {
			first = max(time.Since(start), 1)
		}
		seen := buf[:kept+n]
		events += bytes.Count(seen, []byte(dataLine))
		kept = copy(buf, seen[len(seen)-min(len(seen), len(dataLine)-1):])
		if errors.Is(err, io.EOF) {
			return first, events, nil
		}
		if err != nil {
			return first, events, err
		}
	}
}

// dataLine is how a server-sent event's data line begins, after the end of
// the line before it.
const dataLine = "\ndata:"
