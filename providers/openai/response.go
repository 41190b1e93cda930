package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers"
)

// response is an upstream answer being relayed.
type response struct {
	p        *Provider
	call     *providers.Call
	resp     *http.Response
	header   http.Header
	cancel   context.CancelCauseFunc
	timer    *time.Timer
	injected bool
	scratch  []byte // reused for rewritten events

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
// ended without its terminal event: the client must not take the events
// it got for a whole answer.
var errTruncated = fmt.Errorf("openai: stream ended without its terminal event: %w", providers.ErrIncomplete)

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func (r *response) Relay(w http.ResponseWriter) (providers.Result, error) {
	defer r.Close()
	if isEventStream(r.resp) && r.resp.StatusCode < 300 {
		return r.relayStream(w)
	}
	return r.relayBody(w)
}

// tailSize is how much of a non-streamed body is kept to find its usage;
// OpenAI puts usage at the end of every JSON answer.
const tailSize = 16 << 10

// relayBody copies a JSON (or error) body and reads usage from it. Nothing
// is written to w before the first body byte.
func (r *response) relayBody(w http.ResponseWriter) (providers.Result, error) {
	var res providers.Result
	bp := r.p.bufs.Get().(*[]byte)
	defer r.p.bufs.Put(bp)
	buf := *bp
	var tail tailBuffer
	src := readerFunc(r.read)
	for {
		n, rerr := src.Read(buf)
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
	if r.resp.StatusCode < 300 {
		res.Usage, res.UsageKnown = usageFromTail(tail.bytes(), tail.whole())
	}
	return res, nil
}

// relayStream forwards SSE events one by one and reads usage from the
// events that carry it. Writes are flushed whenever the reader is about to
// wait for the upstream, so every event reaches the client as soon as it
// arrived, while events that arrived together leave in one write. Nothing
// is written to w, not even a flush, before the first event.
//
// A stream that ends without its dialect's terminal event (see
// isTerminal), whether cut mid-event or between events, is an error: the
// events before it are still flushed, and the caller aborts the answer.
// Every failure on the upstream's side is a *providers.UpstreamError.
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
	responses := r.call.Endpoint == providers.EndpointResponses
	ended := false // the terminal event was seen
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
			case !ended:
				return res, providers.NewUpstreamError(r.p.name, errTruncated)
			}
			return res, ferr
		}
		if !ended && isTerminal(ev.Data, responses) {
			ended = true
		}
		if hasUsageObject(ev.Data) {
			if u, ok := usageFromEvent(ev.Data, responses); ok {
				res.Usage, res.UsageKnown = u, true
				if r.injected && isUsageOnlyChunk(ev.Data) {
					continue // the client did not ask for this chunk
				}
			}
		}
		raw := ev.Raw
		if r.injected {
			raw = r.withoutNullUsage(ev.Raw, ev.Data)
		}
		if res.Events == 0 {
			res.FirstByte = time.Now()
		}
		if _, err := w.Write(raw); err != nil {
			return res, err
		}
		pending = true
		res.Events++
		res.BytesWritten += int64(len(raw))
	}
}

// Quoted values of the "type" member of the Responses stream events that
// end a stream, as the official SDK names them.
const (
	typeCompleted  = `"response.completed"`
	typeIncomplete = `"response.incomplete"`
	typeFailed     = `"response.failed"`
	typeError      = `"error"`
)

// isTerminal reports whether an event's data ends its stream. A Chat
// Completions stream ends with "data: [DONE]". A Responses stream has no
// [DONE]: it ends with an event, a valid JSON object, whose type is
// response.completed, response.incomplete, response.failed or error. The
// substring test spares the parse of nearly every event: the type's value
// must appear, quotes included, for the member to hold it.
func isTerminal(data []byte, responses bool) bool {
	if !responses {
		return sse.IsDone(data)
	}
	if !bytes.Contains(data, []byte(typeCompleted)) && !bytes.Contains(data, []byte(typeIncomplete)) &&
		!bytes.Contains(data, []byte(typeFailed)) && !bytes.Contains(data, []byte(typeError)) {
		return false
	}
	v, _, _, ok := jsonx.Get(data, "type")
	if !ok {
		return false
	}
	switch string(v) {
	case typeCompleted, typeIncomplete, typeFailed, typeError:
		return json.Valid(data)
	}
	return false
}

// nullUsage is how a chunk ends when include_usage is on and the chunk
// carries no usage: the member the client, who did not ask for usage,
// must not see.
const nullUsage = `,"usage":null}`

// withoutNullUsage returns the event with a trailing "usage":null member
// removed from its data, as OpenAI sends chunks to clients that did not ask
// for usage. Only the common framing (one data line) is rewritten; the
// member is top-level because it directly precedes the object's final
// brace. Other events are returned as they are.
func (r *response) withoutNullUsage(raw, data []byte) []byte {
	const prefix = "data: "
	if !bytes.HasSuffix(data, []byte(nullUsage)) || len(raw) != len(prefix)+len(data)+2 ||
		!bytes.HasPrefix(raw, []byte(prefix)) || !bytes.HasSuffix(raw, []byte("\n\n")) {
		return raw
	}
	r.scratch = append(r.scratch[:0], prefix...)
	r.scratch = append(r.scratch, data[:len(data)-len(nullUsage)]...)
	r.scratch = append(r.scratch, "}\n\n"...)
	return r.scratch
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
