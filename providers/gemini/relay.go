package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// response is an upstream answer being relayed.
type response struct {
	p       *Provider
	call    *providers.Call
	resp    *http.Response
	header  http.Header
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	scratch []byte // reused for array elements

	closeOnce sync.Once
}

func (r *response) StatusCode() int     { return r.resp.StatusCode }
func (r *response) Header() http.Header { return r.header }

func (r *response) Close() error {
	r.closeOnce.Do(func() {
		r.timer.Stop()
		r.resp.Body.Close()
		r.cancel(nil)
	})
	return nil
}

// read reads from the upstream body, pushing the idle deadline forward.
// A failure other than io.EOF is returned as a *providers.UpstreamError,
// a time-out if the idle timer ended the call.
func (r *response) read(p []byte) (int, error) {
	n, err := r.resp.Body.Read(p)
	r.timer.Reset(r.p.idle)
	if err != nil && err != io.EOF {
		if errors.Is(context.Cause(r.resp.Request.Context()), errIdle) {
			err = context.DeadlineExceeded
		}
		return n, providers.NewUpstreamError(r.p.name, err)
	}
	return n, err
}

// Errors of a stream that cannot be relayed whole. Both wrap
// providers.ErrIncomplete: the client must not take what it got for a
// whole answer.
var (
	errTruncated = fmt.Errorf("gemini: stream ended before every candidate finished: %w", providers.ErrIncomplete)
	errBadChunk  = fmt.Errorf("gemini: stream chunk is not JSON: %w", providers.ErrIncomplete)
)

// maxChunk bounds one streamed chunk. Gemini sends each generated image
// whole, base64 in one chunk, which can pass sse's default of 1 MiB.
const maxChunk = 16 << 20

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// Relay implements providers.Response: a plain body (an answer, an
// error, a token count) is copied as it comes, with the usage of a
// generateContent answer read from its usageMetadata; a stream is relayed
// event by event (see relayStream).
func (r *response) Relay(w http.ResponseWriter) (providers.Result, error) {
	defer r.Close()
	if streamed(r.resp) {
		return r.relayStream(w)
	}
	return r.relayBody(w)
}

// relayBody copies a JSON (or error) body and reads usage from it. Nothing
// is written to w before the first body byte.
func (r *response) relayBody(w http.ResponseWriter) (providers.Result, error) {
	var res providers.Result
	bp := r.p.bufs.Get().(*[]byte)
	defer r.p.bufs.Put(bp)
	buf := *bp
	var tail tailBuffer
	metered := r.resp.StatusCode < 300 && r.call.Endpoint == providers.EndpointChat
	for {
		n, rerr := r.read(buf)
		if n > 0 {
			if res.BytesWritten == 0 {
				res.FirstByte = time.Now()
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return res, werr
			}
			res.BytesWritten += int64(n)
			if metered {
				tail.write(buf[:n])
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return res, rerr
		}
	}
	if metered {
		res.Usage, res.UsageKnown = usageFromTail(tail.bytes(), tail.whole())
	}
	return res, nil
}

// relayStream forwards the events of an alt=sse stream: as they are when
// the client asked for server-sent events; as the elements of one JSON
// array ("[" before the first, ",\r\n" between, "]" at the end) when it
// asked for Google's default form (Request.ArrayStream), leaving out
// comments and other blocks without data. Usage is read from the last
// usageMetadata (Gemini sends running totals). Writes are flushed whenever
// the reader is about to wait for the upstream, so every event reaches the
// client as soon as it arrived, while events that arrived together leave
// in one write. Nothing is written to w, not even a flush, before the
// first event.
//
// A stream that ends before it is complete (see streamEnd) is an error
// wrapping providers.ErrIncomplete, returned after the events before it
// were flushed, and the array is left open; so is, in the array form, a
// chunk that is not JSON, which cannot be an element. Every failure on the
// upstream's side is a *providers.UpstreamError.
func (r *response) relayStream(w http.ResponseWriter) (providers.Result, error) {
	var res providers.Result
	rc := http.NewResponseController(w)
	pending := false
	var werr error
	flush := func() error {
		if !pending {
			return nil
		}
		pending = false
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	}
	src := readerFunc(func(p []byte) (int, error) {
		if werr = flush(); werr != nil {
			return 0, werr
		}
		return r.read(p)
	})
	rd, _ := r.p.readers.Get().(*sse.Reader)
	if rd == nil {
		rd = sse.NewReader(src, &sse.ReaderOptions{All: true, MaxEventSize: maxChunk})
	} else {
		rd.Reset(src)
	}
	defer func() {
		rd.Reset(nil)
		r.p.readers.Put(rd)
	}()
	array := r.call.ArrayStream
	write := func(b []byte) error {
		if res.Events == 0 {
			res.FirstByte = time.Now()
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		pending = true
		res.Events++
		res.BytesWritten += int64(len(b))
		return nil
	}
	var end streamEnd
	var last metering.Usage // the last running totals seen
	sawUsage := false
	for {
		ev, err := rd.Next()
		if werr != nil {
			return res, werr
		}
		if err != nil {
			ferr := flush() // the events before reach the client either way
			switch {
			case err != io.EOF:
				if ue, ok := errors.AsType[*providers.UpstreamError](err); ok {
					return res, ue
				}
				return res, providers.NewUpstreamError(r.p.name, err) // sse.ErrEventTooLarge
			case !end.complete():
				return res, providers.NewUpstreamError(r.p.name, errTruncated)
			}
			if ferr != nil || !array {
				return res, ferr
			}
			if _, err := io.WriteString(w, "]"); err != nil {
				return res, err
			}
			res.BytesWritten++
			pending = true
			return res, flush()
		}
		if ev.NoData {
			if array {
				continue // a keep-alive has no place in an array
			}
			if err := write(ev.Raw); err != nil {
				return res, err
			}
			continue
		}
		valid := json.Valid(ev.Data)
		if valid {
			if u, ok := end.observe(ev.Data); ok {
				last, sawUsage = u, true
			}
			// Gemini repeats running totals: they are the answer's usage
			// only once it is complete, else the gateway estimates.
			if sawUsage && end.complete() {
				res.Usage, res.UsageKnown = last, true
			}
		}
		if !array {
			if err := write(ev.Raw); err != nil {
				return res, err
			}
			continue
		}
		if !valid {
			if err := flush(); err != nil {
				return res, err
			}
			return res, providers.NewUpstreamError(r.p.name, errBadChunk)
		}
		sep := ",\r\n"
		if res.Events == 0 {
			sep = "["
		}
		r.scratch = append(append(r.scratch[:0], sep...), ev.Data...)
		if err := write(r.scratch); err != nil {
			return res, err
		}
	}
}
