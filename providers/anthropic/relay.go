package anthropic

import (
	"fmt"
	"net/http"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/internal/uplink"
	"github.com/wicket-gw/wicket/providers"
)

// response is an upstream answer being relayed; it is the
// uplink.EventHandler of its own stream.
type response struct {
	uplink.Exchange
	p      *Provider
	call   *providers.Call
	header http.Header
	su     streamUsage // the stream's usage and end, as relayed
}

func (r *response) Header() http.Header { return r.header }

// errTruncated is the cause of the error Relay returns for a stream that
// ended without message_stop or error: the client must not take the
// events it got for a whole answer.
var errTruncated = fmt.Errorf("anthropic: stream ended without message_stop: %w", providers.ErrIncomplete)

// Relay implements providers.Response: a 2xx event stream is relayed
// event by event, byte for byte (see Event), anything else copied. Usage
// is read from a message's answer (from the end of its body, where
// Anthropic writes it), never from a token count's. Nothing is written to
// w before the first body byte or event.
//
// A stream ends with message_stop, or with an error event (an
// overloaded_error mid-stream), which is relayed and ends the answer
// normally: the client's SDK raises it. A stream that ends without either
// is an error wrapping providers.ErrIncomplete (see uplink.Client.Relay).
func (r *response) Relay(w http.ResponseWriter) (providers.Result, error) {
	defer r.Close()
	if uplink.IsEventStream(r.Response) && r.Response.StatusCode < 300 {
		return r.p.up.Relay(w, r, r)
	}
	var tail uplink.Tail
	res, err := r.p.up.Copy(w, r, &tail)
	if err == nil && r.Response.StatusCode < 300 && r.call.Endpoint == providers.EndpointChat {
		res.Usage, res.UsageKnown = usageFromBody(tail.Bytes(), tail.Whole())
		res.FinishReasons = stopReasons(nil, tail.Bytes())
	}
	return res, err
}

// stopReasons appends the stop_reason strings in data (a message_delta
// event, or the end of a whole message) to dst, up to
// providers.MaxFinishReasons in all. A null one, as message_start
// carries, is none.
func stopReasons(dst []string, data []byte) []string {
	return providers.AppendFinishReasons(dst, data, "stop_reason")
}

// Event implements uplink.EventHandler: the event is relayed as it is,
// and its usage read from message_start and message_delta.
func (r *response) Event(s *uplink.Stream, ev sse.Event) error {
	if !ev.NoData && r.su.event(ev.Type, ev.Data) {
		s.Result.Usage, s.Result.UsageKnown = r.su.counts.usage(), true
	}
	if string(ev.Type) == "message_delta" && len(s.Result.FinishReasons) < providers.MaxFinishReasons {
		s.Result.FinishReasons = stopReasons(s.Result.FinishReasons, ev.Data)
	}
	return s.WriteEvent(ev.Raw)
}

// Incomplete implements uplink.EventHandler: a stream is complete once
// message_stop or an error event was seen.
func (r *response) Incomplete() error {
	if !r.su.ended {
		return errTruncated
	}
	return nil
}
