package openai

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/internal/uplink"
	"github.com/wicket-gw/wicket/providers"
)

// response is an upstream answer being relayed; it is the
// uplink.EventHandler of its own stream.
type response struct {
	uplink.Exchange
	p        *Provider
	call     *providers.Call
	header   http.Header
	injected bool
	scratch  []byte // reused for rewritten events

	responses bool // the stream is a Responses API stream
	ended     bool // the stream's terminal event was seen
}

func (r *response) Header() http.Header { return r.header }

// errTruncated is the cause of the error Relay returns for a stream that
// ended without its terminal event: the client must not take the events
// it got for a whole answer.
var errTruncated = fmt.Errorf("openai: stream ended without its terminal event: %w", providers.ErrIncomplete)

// Relay implements providers.Response: a 2xx event stream is relayed
// event by event (see Event), anything else copied, with usage read from
// the end of a 2xx body. Nothing is written to w before the first body
// byte or event.
func (r *response) Relay(w http.ResponseWriter) (providers.Result, error) {
	defer r.Close()
	if uplink.IsEventStream(r.Response) && r.Response.StatusCode < 300 {
		r.responses = r.call.Endpoint == providers.EndpointResponses
		return r.p.up.Relay(w, r, r)
	}
	var tail uplink.Tail
	res, err := r.p.up.Copy(w, r, &tail)
	if err == nil && r.Response.StatusCode < 300 {
		res.Usage, res.UsageKnown = usageFromTail(tail.Bytes(), tail.Whole())
		if r.call.Endpoint == providers.EndpointChat {
			res.FinishReasons = finishReasons(nil, tail.Bytes())
		}
	}
	return res, err
}

// finishReasons appends the chat completion finish reasons in data (a
// chunk, or the end of a whole answer) to dst, up to
// providers.MaxFinishReasons in all. A null reason, as every chunk but the
// last carries, is none.
func finishReasons(dst []string, data []byte) []string {
	return providers.AppendFinishReasons(dst, data, "finish_reason")
}

// Event implements uplink.EventHandler: it notes the terminal event
// (see isTerminal) and the usage of the events that carry it, drops the
// usage-only chunk the client did not ask for, and strips the null usage
// from the other chunks then.
func (r *response) Event(s *uplink.Stream, ev sse.Event) error {
	if !r.ended && isTerminal(ev.Data, r.responses) {
		r.ended = true
	}
	if !r.responses && len(s.Result.FinishReasons) < providers.MaxFinishReasons {
		s.Result.FinishReasons = finishReasons(s.Result.FinishReasons, ev.Data)
	}
	if hasUsageObject(ev.Data) {
		if u, ok := usageFromEvent(ev.Data, r.responses); ok {
			s.Result.Usage, s.Result.UsageKnown = u, true
			if r.injected && isUsageOnlyChunk(ev.Data) {
				return nil // the client did not ask for this chunk
			}
		}
	}
	raw := ev.Raw
	if r.injected {
		raw = r.withoutNullUsage(ev.Raw, ev.Data)
	}
	return s.WriteEvent(raw)
}

// Incomplete implements uplink.EventHandler: a stream is complete once
// its terminal event was seen.
func (r *response) Incomplete() error {
	if !r.ended {
		return errTruncated
	}
	return nil
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
		return jsonx.Valid(data)
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
