package gemini

import (
	"fmt"
	"net/http"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/internal/uplink"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// response is an upstream answer being relayed; it is the
// uplink.EventHandler of its own stream.
type response struct {
	uplink.Exchange
	p       *Provider
	call    *providers.Call
	header  http.Header
	scratch []byte // reused for array elements

	end      streamEnd      // what the relayed stream says of its end
	last     metering.Usage // the last running totals seen
	sawUsage bool
}

func (r *response) Header() http.Header { return r.header }

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

// Relay implements providers.Response: a plain body (an answer, an
// error, a token count) is copied as it comes, with the usage of a
// generateContent answer read from its usageMetadata; a stream is relayed
// event by event (see Event). Nothing is written to w before the first
// body byte or event.
//
// A stream that ends before it is complete (see streamEnd) is an error
// wrapping providers.ErrIncomplete, returned after the events before it
// were flushed, and the array is left open; so is, in the array form, a
// chunk that is not JSON, which cannot be an element. Every failure on the
// upstream's side is a *providers.UpstreamError.
func (r *response) Relay(w http.ResponseWriter) (providers.Result, error) {
	defer r.Close()
	if streamed(r.Response) {
		return r.p.up.Relay(w, r, r)
	}
	if r.Response.StatusCode >= 300 || r.call.Endpoint != providers.EndpointChat {
		return r.p.up.Copy(w, r, nil)
	}
	var tail uplink.Tail
	res, err := r.p.up.Copy(w, r, &tail)
	if err == nil {
		res.Usage, res.UsageKnown = usageFromTail(tail.Bytes(), tail.Whole())
		res.FinishReasons = finishReasons(nil, tail.Bytes())
	}
	return res, err
}

// finishReasons appends the candidates' finishReason strings in data (a
// chunk, or the end of a whole answer) to dst, up to
// providers.MaxFinishReasons in all.
func finishReasons(dst []string, data []byte) []string {
	return providers.AppendFinishReasons(dst, data, "finishReason")
}

// Event implements uplink.EventHandler for the events of an alt=sse
// stream: they are written as they are when the client asked for
// server-sent events; as the elements of one JSON array ("[" before the
// first, ",\r\n" between, "]" at the end: see Finish) when it asked for
// Google's default form (Request.ArrayStream), leaving out comments and
// other blocks without data. Usage is read from the last usageMetadata
// (Gemini sends running totals).
func (r *response) Event(s *uplink.Stream, ev sse.Event) error {
	array := r.call.ArrayStream
	if ev.NoData {
		if array {
			return nil // a keep-alive has no place in an array
		}
		return s.WriteEvent(ev.Raw)
	}
	valid := jsonx.Valid(ev.Data)
	if valid {
		if len(s.Result.FinishReasons) < providers.MaxFinishReasons {
			s.Result.FinishReasons = finishReasons(s.Result.FinishReasons, ev.Data)
		}
		if u, ok := r.end.observe(ev.Data); ok {
			r.last, r.sawUsage = u, true
		}
		// Gemini repeats running totals: they are the answer's usage
		// only once it is complete, else the gateway estimates.
		if r.sawUsage && r.end.complete() {
			s.Result.Usage, s.Result.UsageKnown = r.last, true
		}
	}
	if !array {
		return s.WriteEvent(ev.Raw)
	}
	if !valid {
		if err := s.Flush(); err != nil {
			return err
		}
		return providers.NewUpstreamError(r.p.name, errBadChunk)
	}
	sep := ",\r\n"
	if s.Result.Events == 0 {
		sep = "["
	}
	r.scratch = append(append(r.scratch[:0], sep...), ev.Data...)
	return s.WriteEvent(r.scratch)
}

// Incomplete implements uplink.EventHandler (see streamEnd).
func (r *response) Incomplete() error {
	if !r.end.complete() {
		return errTruncated
	}
	return nil
}

// Finish implements uplink.Finisher: it closes the array of the array
// form.
func (r *response) Finish(s *uplink.Stream) error {
	if !r.call.ArrayStream {
		return nil
	}
	return s.WriteBytes([]byte("]")) // flushed with the end of the answer, as the last events are
}
