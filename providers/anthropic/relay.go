package anthropic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers"
)

// response is an upstream answer being relayed.
type response struct {
	p      *Provider
	call   *providers.Call
	resp   *http.Response
	header http.Header
	cancel context.CancelCauseFunc
	timer  *time.Timer

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

// errTruncated is the cause of the error Relay returns for a stream that
// ended without message_stop or error: the client must not take the
// events it got for a whole answer.
var errTruncated = fmt.Errorf("anthropic: stream ended without message_stop: %w", providers.ErrIncomplete)

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// Relay implements providers.Response: a 2xx event stream is relayed
// event by event (relayStream), anything else copied (relayBody). Usage
// is read from a message's answer, never from a token count's.
func (r *response) Relay(w http.ResponseWriter) (providers.Result, error) {
	defer r.Close()
	if isEventStream(r.resp) && r.resp.StatusCode < 300 {
		return r.relayStream(w)
	}
	return r.relayBody(w)
}

// tailSize is how much of a non-streamed body is kept to find its usage;
// Anthropic writes usage last in a message object.
const tailSize = 16 << 10

// relayBody copies a JSON (or error) body and reads usage from a
// message's. Nothing is written to w before the first body byte.
func (r *response) relayBody(w http.ResponseWriter) (providers.Result, error) {
	var res providers.Result
	bp := r.p.bufs.Get().(*[]byte)
	defer r.p.bufs.Put(bp)
	buf := *bp
	var tail tailBuffer
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
			tail.write(buf[:n])
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return res, rerr
		}
	}
	if r.resp.StatusCode < 300 && r.call.Endpoint == providers.EndpointChat {
		res.Usage, res.UsageKnown = usageFromBody(tail.bytes(), tail.whole())
	}
	return res, nil
}

// relayStream forwards SSE events one by one, byte for byte, and reads
// usage from message_start and message_delta. Writes are flushed whenever
// the reader is about to wait for the upstream, so every event reaches
// the client as soon as it arrived, while events that arrived together
// leave in one write. Nothing is written to w, not even a flush, before
// the first event.
//
// The stream ends with message_stop, or with an error event (an
// overloaded_error mid-stream), which is relayed and ends the answer
// normally: the client's SDK raises it. A stream that ends without either,
// whether cut mid-event or between events, is an error wrapping
// providers.ErrIncomplete: the events before it are still flushed, and the
// caller aborts the answer. Every failure on the upstream's side is a
// *providers.UpstreamError.
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
		rd = sse.NewReader(src, &sse.ReaderOptions{All: true})
	} else {
		rd.Reset(src)
	}
	defer func() {
		rd.Reset(nil)
		r.p.readers.Put(rd)
	}()
	var su streamUsage
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
			case !su.ended:
				return res, providers.NewUpstreamError(r.p.name, errTruncated)
			}
			return res, ferr
		}
		if !ev.NoData && su.event(ev.Type, ev.Data) {
			res.Usage, res.UsageKnown = su.counts.usage(), true
		}
		if res.Events == 0 {
			res.FirstByte = time.Now()
		}
		if _, err := w.Write(ev.Raw); err != nil {
			return res, err
		}
		pending = true
		res.Events++
		res.BytesWritten += int64(len(ev.Raw))
	}
}

// tailBuffer keeps a body whole while it is at most 2×tailSize bytes, and
// past that only its last tailSize bytes (at least).
type tailBuffer struct {
	buf []byte
	cut bool // the start of the body was dropped
}

func (t *tailBuffer) write(p []byte) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailSize {
		t.cut = true
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
}

func (t *tailBuffer) bytes() []byte { return t.buf }

// whole reports whether bytes holds the entire body.
func (t *tailBuffer) whole() bool { return !t.cut }
