package anthropic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// ToCanon implements providers.Translator for messages (see
// RequestToCanon); other endpoints, count_tokens among them, are not
// translated (501).
func (FrontDoor) ToCanon(req *providers.Request) (*canon.Request, *providers.Error) {
	if req.Endpoint != providers.EndpointChat {
		return nil, &providers.Error{Status: http.StatusNotImplemented, Code: "translation_not_supported",
			Message: "This endpoint cannot be served by a deployment that speaks another API dialect."}
	}
	return RequestToCanon(req.Body)
}

// NewWriter implements providers.Translator: a Messages stream (see
// StreamEncoder) for streamed calls, one message object (see
// ResponseFromCanon) otherwise.
func (FrontDoor) NewWriter(w http.ResponseWriter, req *providers.Request) providers.CanonWriter {
	if req.Stream {
		sw := &streamWriter{w: w, rc: http.NewResponseController(w)}
		sw.enc = NewStreamEncoder(writerFunc(sw.write))
		return sw
	}
	return &wholeWriter{w: w}
}

// streamWriter writes canonical events as a Messages stream, flushing
// each.
type streamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	enc     *StreamEncoder
	started bool
}

// write is the encoder's io.Writer: it sets the stream's headers first.
func (s *streamWriter) write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		sse.SetHeaders(s.w.Header())
	}
	return s.w.Write(p)
}

func (s *streamWriter) Write(ev canon.Event) error {
	if err := s.enc.Encode(ev); err != nil {
		return err
	}
	return s.flush()
}

func (s *streamWriter) Close() error {
	if err := s.enc.Close(); err != nil {
		return err
	}
	return s.flush()
}

func (s *streamWriter) flush() error {
	if !s.started {
		return nil
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// wholeWriter gathers canonical events and writes one message object.
type wholeWriter struct {
	w   http.ResponseWriter
	acc canon.Accumulator
}

func (a *wholeWriter) Write(ev canon.Event) error { return a.acc.Add(ev) }

func (a *wholeWriter) Close() error {
	body, err := ResponseFromCanon(a.acc.Response())
	if err != nil {
		return err
	}
	a.w.Header().Set("Content-Type", "application/json")
	_, err = a.w.Write(body)
	return err
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// maxTranslatedBody bounds a non-streamed answer read whole to translate.
const maxTranslatedBody = 32 << 20

var errTooLarge = errors.New("anthropic: answer too large to translate")

// SendCanon implements providers.CanonSender for messages: the canonical
// call is written as a Messages body (see RequestFromCanon) for the
// deployment's model, with the output cap the gateway must enforce, or
// DefaultMaxTokens when there is none, as Anthropic requires one. A
// feature Anthropic cannot express is refused with the
// *canon.UnsupportedError of RequestFromCanon, as it is.
func (p *Provider) SendCanon(ctx context.Context, call *providers.Call, req *canon.Request) (providers.CanonResponse, error) {
	if call.Endpoint != providers.EndpointChat {
		return nil, fmt.Errorf("anthropic: provider %q: endpoint %s is not translated", p.name, call.Endpoint)
	}
	r := *req
	r.Model, r.Stream = call.UpstreamModel, call.Stream
	if call.EnforceMaxOutput > 0 && r.MaxOutputTokens == nil {
		n := call.EnforceMaxOutput
		r.MaxOutputTokens = &n
	}
	body, err := RequestFromCanon(&r)
	if err != nil {
		return nil, err
	}
	target, err := p.target(call)
	if err != nil {
		return nil, err
	}
	resp, err := p.do(ctx, call, target, body)
	if err != nil {
		return nil, err
	}
	return &canonResponse{r: resp}, nil
}

// canonResponse reads an upstream's Messages answer as canonical events.
type canonResponse struct{ r *response }

func (c *canonResponse) StatusCode() int { return c.r.resp.StatusCode }
func (c *canonResponse) Close() error    { return c.r.Close() }

// Events implements providers.CanonResponse. A stream ends with
// message_stop or an error event (yielding canon.EventError); one that
// ends before either is an error wrapping providers.ErrIncomplete. Errors
// on the upstream's side are *providers.UpstreamError values; an error
// from emit is returned as it is.
func (c *canonResponse) Events(emit func(canon.Event) error) (providers.Result, error) {
	defer c.r.Close()
	var res providers.Result
	var emitErr error
	failed := false // an error event ended the stream
	// Usage is known once the answer finished (message_delta): the counts
	// of message_start alone are not final.
	finished, sawUsage := false, false
	note := func(ev canon.Event) error {
		switch ev.Kind {
		case canon.EventUsage:
			res.Usage, sawUsage = ev.Usage, true
			res.UsageKnown = finished
		case canon.EventFinish:
			finished = true
			res.UsageKnown = sawUsage
		case canon.EventError:
			failed = true
		}
		if err := emit(ev); err != nil {
			emitErr = err
			return err
		}
		return nil
	}
	src := readerFunc(c.r.read)
	if !isEventStream(c.r.resp) {
		body, err := io.ReadAll(io.LimitReader(src, maxTranslatedBody+1))
		if err != nil {
			return res, err
		}
		if len(body) > maxTranslatedBody {
			return res, providers.NewUpstreamError(c.r.p.name, errTooLarge)
		}
		whole, err := ResponseToCanon(body)
		if err != nil {
			return res, providers.NewUpstreamError(c.r.p.name, err)
		}
		if err := whole.Events(func(ev canon.Event) { _ = note(ev) }); err != nil {
			return res, providers.NewUpstreamError(c.r.p.name, err)
		}
		res.Usage, res.UsageKnown = whole.Usage, whole.UsageKnown
		return res, emitErr
	}
	rd := sse.NewReader(src, nil)
	var dec StreamDecoder
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			if !dec.Done() && !failed {
				return res, providers.NewUpstreamError(c.r.p.name, errTruncated)
			}
			return res, nil
		}
		if err != nil {
			if ue, ok := errors.AsType[*providers.UpstreamError](err); ok {
				return res, ue
			}
			return res, providers.NewUpstreamError(c.r.p.name, err)
		}
		if err := dec.Decode(eventName(ev.Type), ev.Data, note); err != nil {
			if emitErr != nil {
				return res, emitErr
			}
			return res, providers.NewUpstreamError(c.r.p.name, err)
		}
	}
}

// eventName returns the event type typ as a string, without allocating
// for the types Anthropic sends.
func eventName(typ []byte) string {
	switch string(typ) {
	case "content_block_delta":
		return "content_block_delta"
	case "content_block_start":
		return "content_block_start"
	case "content_block_stop":
		return "content_block_stop"
	case "message_start":
		return eventMessageStart
	case "message_delta":
		return eventMessageDelta
	case "message_stop":
		return eventMessageStop
	case "ping":
		return "ping"
	case "error":
		return eventError
	case "":
		return ""
	}
	return string(typ)
}
