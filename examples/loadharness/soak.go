package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/providers/fake"
)

// The soak (-soak) runs the wicket gateway alone, at saturation, for a
// long time, with some clients leaving mid-stream, and checks that the
// process does not grow: its heap, goroutines and open files, taken idle
// after a warm-up and again at the end, stay within a tolerance; and that
// the gateway still records exactly one metering event per request,
// abandoned ones included.

const (
	// abandonEvery: every abandonEvery-th request's client leaves
	// mid-stream (10%).
	abandonEvery = 10
	// soakChunkDelay paces the fake upstream's streamed words, so that a
	// client that leaves finds the gateway still relaying its stream (with
	// no pause the whole stream is in the sockets' buffers before the
	// client has read its headers, and the gateway never sees it leave).
	soakChunkDelay = 100 * time.Microsecond
	// maxSoakWarmUp bounds the soak's warm-up, a tenth of its length.
	maxSoakWarmUp = 3 * time.Second
	// soakMarks divides the run: a sample is taken under load at the end of
	// every part but the last, which ends with the end sample.
	soakMarks = 10
	// quiesceTimeout bounds each step of the wait for the process to be
	// idle before the start and end samples.
	quiesceTimeout = 10 * time.Second
	// heapObjects is the runtime/metrics name of the live heap, after a GC.
	heapObjects = "/memory/classes/heap/objects:bytes"
)

// The growth tolerated between the start and end samples: heap by
// heapGrowthFrac of the start or heapGrowthMin bytes, whichever is larger;
// goroutines and open files by a count.
const (
	heapGrowthFrac       = 0.20
	heapGrowthMin        = 5 << 20
	goroutineGrowthLimit = 10
	fdGrowthLimit        = 10
)

// cut is where and how a client abandons a stream.
type cut struct {
	// point indexes cutPoints: where the client leaves.
	point int
	// cancel makes the client cancel the request's context; otherwise it
	// closes the response body.
	cancel bool
}

// cutPointCount is the number of points where a client leaves.
const cutPointCount = 3

// cutPoints are the data lines a client reads before it leaves: none
// (right after the headers), one, and half the content events.
func cutPoints() [cutPointCount]int { return [...]int{0, 1, streamWords / 2} }

// cuts lists every point with both ways of leaving; the n-th abandoned
// request is cut as cuts()[n%len].
func cuts() []cut {
	var cs []cut
	for _, cancel := range []bool{true, false} {
		for p := range cutPointCount {
			cs = append(cs, cut{point: p, cancel: cancel})
		}
	}
	return cs
}

// pointName describes cut point p.
func pointName(p int) string {
	switch n := cutPoints()[p]; n {
	case 0:
		return "after the headers"
	case 1:
		return "after 1 event"
	default:
		return fmt.Sprintf("after %d events", n)
	}
}

// clientCounts is what the soak's clients did.
type clientCounts struct {
	// sent counts requests sent; completed those read to their end with
	// streamEvents events; failed those that failed (a cut stream's end is
	// not a failure); cut those abandoned, by cut point.
	sent, completed, failed atomic.Int64
	cut                     [cutPointCount]atomic.Int64

	mu sync.Mutex
	// failure describes the first failure.
	failure string
}

func (c *clientCounts) fail(what string) {
	c.failed.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failure == "" {
		c.failure = what
	}
}

// abandoned is the requests the clients cut.
func (c *clientCounts) abandoned() int64 {
	var n int64
	for i := range c.cut {
		n += c.cut[i].Load()
	}
	return n
}

// counting wraps the gateway's handler and counts, from the server's side,
// the requests it started and how each ended: served (the handler returned
// with the client still there), gone (it returned after the client left)
// or aborted (it panicked, as the gateway does with http.ErrAbortHandler
// when it cannot finish a stream it has begun).
type counting struct {
	h                              http.Handler
	started, served, gone, aborted atomic.Int64
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.started.Add(1)
	returned := false
	defer func() {
		switch {
		case !returned:
			c.aborted.Add(1)
		case r.Context().Err() != nil:
			c.gone.Add(1)
		default:
			c.served.Add(1)
		}
	}()
	c.h.ServeHTTP(w, r)
	returned = true
}

// abandoned is the requests whose client left before the gateway finished
// them, as far as the gateway could tell.
func (c *counting) abandoned() int64 { return c.gone.Load() + c.aborted.Load() }

// sample is the process's state at one point of the soak.
type sample struct {
	label   string
	elapsed time.Duration
	// heap is the live heap in bytes after two GCs; goroutines the
	// goroutines; fds the open file descriptors, -1 where unknown.
	heap       uint64
	goroutines int
	fds        int
	// requests, served and abandoned are the gateway's counts so far,
	// warm-up included; events the metering events recorded so far; rps
	// the requests a second since the previous sample, 0 for none.
	requests, served, abandoned, events int64
	rps                                 float64
}

// soak is one soak run: the fake upstream, the gateway in front of it
// behind a counting wrapper, and the clients.
type soak struct {
	cfg      soakConfig
	upstream *server
	front    *server
	gw       *counting
	// events counts the metering events the gateway's Recorder received.
	events *atomic.Int64
	client *http.Client
	// url, auth and body make every request.
	url, auth string
	body      []byte
	clients   clientCounts
}

// runSoak runs the soak and writes its report to out: a table of samples,
// the clients' and the gateway's counts, the metering check and the
// verdict. It fails if a request fails, if the metering events are not
// one per request, if the process was not idle in time for a sample, or
// if the heap, goroutines or open files grew beyond the tolerance.
func runSoak(out io.Writer, cfg soakConfig) error {
	upstream, err := serve(fake.Handler(&fake.Options{Chunks: answerWords, ChunkDelay: soakChunkDelay}), "")
	if err != nil {
		return err
	}
	defer upstream.Close()
	gw, key, events, err := gateway(upstream.URL)
	if err != nil {
		return err
	}
	defer gw.Close(context.Background())
	counted := &counting{h: gw}
	front, err := serve(counted, "")
	if err != nil {
		return err
	}
	defer front.Close()
	client := &http.Client{
		// One connection a client at most, as in load.
		Transport: &http.Transport{MaxIdleConnsPerHost: cfg.concurrency, MaxConnsPerHost: cfg.concurrency, DisableCompression: true},
		Timeout:   30 * time.Second,
	}
	defer client.CloseIdleConnections()
	_, body := bodies()
	s := &soak{cfg: cfg, upstream: upstream, front: front, gw: counted, events: events, client: client,
		url: front.URL + "/v1/chat/completions", auth: "Bearer " + key, body: body}
	return s.run(out)
}

func (s *soak) run(out io.Writer) error {
	warm := min(s.cfg.duration/10, maxSoakWarmUp)
	s.header(out, warm)
	s.load(warm, nil)
	if n := s.clients.failed.Load(); n > 0 {
		return fmt.Errorf("soak warm-up: %d requests failed; the first: %s", n, s.clients.failure)
	}
	var busy []string
	if b := s.quiesce(); b != "" {
		busy = append(busy, "start: "+b)
	}
	start := s.sample("start", 0, nil)
	fmt.Fprintf(out, sampleColumns, "at", "elapsed-s", "heap-mb", "goroutines", "open-fds", "requests", "served", "abandoned", "events", "req/s")
	s.print(out, start)
	began := time.Now()
	prev := start
	s.load(s.cfg.duration, func(i int) {
		smp := s.sample(fmt.Sprintf("%d%%", 100*i/soakMarks), time.Since(began), &prev)
		s.print(out, smp)
		prev = smp
	})
	loadEnded := time.Since(began)
	if b := s.quiesce(); b != "" {
		busy = append(busy, "end: "+b)
	}
	end := s.sample("end", time.Since(began), nil)
	if d := loadEnded - prev.elapsed; d > 0 {
		end.rps = float64(end.requests-prev.requests) / d.Seconds()
	}
	s.print(out, end)
	fmt.Fprintln(out)

	c := &s.clients
	var points []string
	for i := range c.cut {
		points = append(points, fmt.Sprintf("%d %s", c.cut[i].Load(), pointName(i)))
	}
	fmt.Fprintf(out, "clients: %d requests sent, %d read to the end, %d abandoned (%s; half by cancelling the request, half by closing the body), %d failed\n",
		c.sent.Load(), c.completed.Load(), c.abandoned(), strings.Join(points, ", "), c.failed.Load())
	fmt.Fprintf(out, "gateway: %d requests, %d served, %d abandoned (%d returned after the client left, %d aborted)\n",
		s.gw.started.Load(), s.gw.served.Load(), s.gw.abandoned(), s.gw.gone.Load(), s.gw.aborted.Load())
	started, recorded := s.gw.started.Load(), s.events.Load()
	match := "ok"
	if recorded != started {
		match = "MISMATCH"
	}
	fmt.Fprintf(out, "metering: %d events recorded for %d requests: %s\n", recorded, started, match)
	line, grew := verdict(start, end)
	fmt.Fprintln(out, line)

	var errs []error
	if n := c.failed.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("%d requests failed; the first: %s", n, c.failure))
	}
	if c.sent.Load() != started {
		errs = append(errs, fmt.Errorf("the clients sent %d requests; the gateway started %d", c.sent.Load(), started))
	}
	if recorded != started {
		errs = append(errs, fmt.Errorf("%d metering events for %d requests; want one each", recorded, started))
	}
	if len(busy) > 0 {
		errs = append(errs, fmt.Errorf("not idle in time (%v a step) for the samples: %s", quiesceTimeout, strings.Join(busy, "; ")))
	}
	if grew {
		errs = append(errs, errGrowth)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	return nil
}

// errGrowth reports that the soak's end sample grew beyond the tolerance.
var errGrowth = errors.New("heap, goroutines or open files grew beyond the tolerance")

// header writes what the soak does and measures.
func (s *soak) header(out io.Writer, warm time.Duration) {
	fmt.Fprintf(out, "loadharness soak: wicket gateway alone (keys, rate limits, budget, metering on), %d clients at once, %v after a %v warm-up\n",
		s.cfg.concurrency, s.cfg.duration, warm)
	fmt.Fprintf(out, "fake upstream, gateway and clients in this one process on 127.0.0.1; %s %s/%s, GOMAXPROCS %d, %d CPUs\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU())
	var points []string
	for i := range cutPointCount {
		points = append(points, pointName(i))
	}
	fmt.Fprintf(out, "streams of %d content events (%v upstream pause before each); every %dth request abandoned by its client: %s, in turn;\n",
		streamWords, soakChunkDelay, abandonEvery, strings.Join(points, ", "))
	fmt.Fprintf(out, "  half of them by cancelling the request's context, half by closing the body\n")
	fmt.Fprintf(out, "start and end are taken idle: load stopped, metering events drained, every connection closed (the clients' and the gateway's\n")
	fmt.Fprintf(out, "  idle upstream ones), then two GCs; the samples in between under load, after two GCs\n")
	fmt.Fprintf(out, "heap-mb: runtime/metrics %s; open-fds: entries of /proc/self/fd (n/a without it)\n", heapObjects)
	fmt.Fprintf(out, "requests, served, abandoned: the gateway's handler's count so far, warm-up included (abandoned: it returned after the client\n")
	fmt.Fprintf(out, "  left, or aborted); events: metering events recorded so far; req/s: since the previous sample\n")
	fmt.Fprintf(out, "growth tolerated, end vs start: heap +%.0f%% or +%d MB whichever is larger, goroutines +%d, open files +%d\n\n",
		100*heapGrowthFrac, heapGrowthMin>>20, goroutineGrowthLimit, fdGrowthLimit)
}

// sampleColumns lays out the samples' table.
const sampleColumns = "%-6s %9s %8s %10s %8s %10s %10s %10s %10s %8s\n"

// print writes smp as a row of the samples' table.
func (s *soak) print(out io.Writer, smp sample) {
	fds, rps := "n/a", "-"
	if smp.fds >= 0 {
		fds = fmt.Sprint(smp.fds)
	}
	if smp.rps > 0 {
		rps = fmt.Sprintf("%.0f", smp.rps)
	}
	fmt.Fprintf(out, sampleColumns, smp.label, fmt.Sprintf("%.1f", smp.elapsed.Seconds()), fmt.Sprintf("%.2f", float64(smp.heap)/(1<<20)),
		fmt.Sprint(smp.goroutines), fds, fmt.Sprint(smp.requests), fmt.Sprint(smp.served), fmt.Sprint(smp.abandoned), fmt.Sprint(smp.events), rps)
}

// load runs s.cfg.concurrency clients for d and, if at is not nil, calls
// at(i) at the end of the i-th of soakMarks equal parts of d, but the
// last.
func (s *soak) load(d time.Duration, at func(i int)) {
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range s.cfg.concurrency {
		wg.Go(func() {
			buf := make([]byte, 32<<10)
			for time.Now().Before(deadline) {
				s.do(s.clients.sent.Add(1), buf)
			}
		})
	}
	if at != nil {
		for i := 1; i < soakMarks; i++ {
			time.Sleep(time.Until(start.Add(d * time.Duration(i) / soakMarks)))
			at(i)
		}
	}
	wg.Wait()
}

// do sends the n-th request, and reads its stream to the end or, for
// every abandonEvery-th, cuts it as cuts() says.
func (s *soak) do(n int64, buf []byte) {
	c := &s.clients
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(s.body))
	if err != nil {
		c.fail(err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", s.auth)
	resp, err := s.client.Do(req)
	if err != nil {
		c.fail(err.Error())
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.fail(resp.Status)
		return
	}
	if n%abandonEvery == 0 {
		all := cuts()
		ct := all[(n/abandonEvery)%int64(len(all))]
		want := cutPoints()[ct.point]
		if got, err := readEvents(resp.Body, buf, want); err != nil {
			c.fail(fmt.Sprintf("reading %d events before leaving, got %d: %v", want, got, err))
			return
		}
		if ct.cancel {
			cancel()
		} else {
			resp.Body.Close()
		}
		c.cut[ct.point].Add(1)
		return
	}
	_, events, err := readAnswer(resp.Body, buf, time.Now())
	switch {
	case err != nil:
		c.fail(fmt.Sprintf("reading the stream: %v", err))
	case events != streamEvents:
		c.fail(fmt.Sprintf("a stream of %d events; want %d", events, streamEvents))
	default:
		c.completed.Add(1)
	}
}

// readEvents reads body through buf, which must hold more than
// len(dataLine) bytes, until it has seen at least n data lines (none for
// n = 0), and returns how many it saw. A body that ends first is an error.
func readEvents(body io.Reader, buf []byte, n int) (int, error) {
	// As in readAnswer: buf starts with what the last read left that may
	// begin a data line.
	buf[0] = '\n'
	kept, events := 1, 0
	for events < n {
		r, err := body.Read(buf[kept:])
		seen := buf[:kept+r]
		events += bytes.Count(seen, []byte(dataLine))
		kept = copy(buf, seen[len(seen)-min(len(seen), len(dataLine)-1):])
		if events >= n {
			break
		}
		if errors.Is(err, io.EOF) {
			return events, io.ErrUnexpectedEOF
		}
		if err != nil {
			return events, err
		}
	}
	return events, nil
}

// quiesce waits, up to quiesceTimeout a step, until the process is idle:
// the clients' connections closed, every request the gateway started has
// its metering event, the gateway's idle upstream connections closed (by
// the upstream server, which then lets keep-alives on again) and the
// goroutine count steady. It returns what was still busy, or "".
func (s *soak) quiesce() string {
	s.client.CloseIdleConnections()
	until := func(done func() bool) bool {
		deadline := time.Now().Add(quiesceTimeout)
		for !done() {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(5 * time.Millisecond)
		}
		return true
	}
	var busy []string
	if !until(func() bool { return s.front.open.Load() == 0 }) {
		busy = append(busy, fmt.Sprintf("%d client connections open", s.front.open.Load()))
	}
	if !until(func() bool { return s.events.Load() >= s.gw.started.Load() }) {
		busy = append(busy, fmt.Sprintf("%d metering events owed", s.gw.started.Load()-s.events.Load()))
	}
	// SetKeepAlivesEnabled(false) closes the server's idle connections;
	// any that were not idle yet close when their answer ends.
	if !until(func() bool { s.upstream.srv.SetKeepAlivesEnabled(false); return s.upstream.open.Load() == 0 }) {
		busy = append(busy, fmt.Sprintf("%d upstream connections open", s.upstream.open.Load()))
	}
	s.upstream.srv.SetKeepAlivesEnabled(true)
	// The other ends of the closed connections wind down: wait until the
	// goroutine count has not changed for 100 ms.
	last, since := runtime.NumGoroutine(), time.Now()
	if !until(func() bool {
		if n := runtime.NumGoroutine(); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) >= 100*time.Millisecond
	}) {
		busy = append(busy, "goroutine count still changing")
	}
	return strings.Join(busy, ", ")
}

// sample takes the process's state after two GCs (the second frees what
// the first's finalizers and the sync.Pools' victims let go). prev, if
// not nil, is the sample before, for the request rate.
func (s *soak) sample(label string, elapsed time.Duration, prev *sample) sample {
	runtime.GC()
	runtime.GC()
	m := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(m)
	smp := sample{
		label: label, elapsed: elapsed, heap: m[0].Value.Uint64(), goroutines: runtime.NumGoroutine(), fds: openFiles(),
		requests: s.gw.started.Load(), served: s.gw.served.Load(), abandoned: s.gw.abandoned(), events: s.events.Load(),
	}
	if prev != nil && elapsed > prev.elapsed {
		smp.rps = float64(smp.requests-prev.requests) / (elapsed - prev.elapsed).Seconds()
	}
	return smp
}

// openFiles counts this process's open file descriptors (the directory
// read to count them included), or returns -1 where /proc/self/fd does
// not list them.
func openFiles() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// verdict compares the end sample with the start's and returns the
// verdict line, and whether any figure grew beyond its tolerance.
func verdict(start, end sample) (string, bool) {
	var over []string
	mb := func(b uint64) float64 { return float64(b) / (1 << 20) }
	heapGrowth := int64(end.heap) - int64(start.heap)
	heapAllowed := max(int64(heapGrowthFrac*float64(start.heap)), heapGrowthMin)
	if heapGrowth > heapAllowed {
		over = append(over, "heap")
	}
	line := fmt.Sprintf("verdict: heap-mb %.2f -> %.2f (%+.2f, allowed +%.2f), goroutines %d -> %d (%+d, allowed +%d)",
		mb(start.heap), mb(end.heap), float64(heapGrowth)/(1<<20), mb(uint64(heapAllowed)),
		start.goroutines, end.goroutines, end.goroutines-start.goroutines, goroutineGrowthLimit)
	if end.goroutines-start.goroutines > goroutineGrowthLimit {
		over = append(over, "goroutines")
	}
	if start.fds < 0 || end.fds < 0 {
		line += ", open-fds n/a"
	} else {
		line += fmt.Sprintf(", open-fds %d -> %d (%+d, allowed +%d)", start.fds, end.fds, end.fds-start.fds, fdGrowthLimit)
		if end.fds-start.fds > fdGrowthLimit {
			over = append(over, "open-fds")
		}
	}
	if len(over) > 0 {
		return line + ": GROWTH (" + strings.Join(over, ", ") + ")", true
	}
	return line + ": flat", false
}
