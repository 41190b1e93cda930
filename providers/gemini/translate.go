package gemini

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

// ToCanon implements providers.Translator for generateContent and
// streamGenerateContent (see RequestToCanon); countTokens is not
// translated (501): the gateway answers it with its own estimate.
func (FrontDoor) ToCanon(req *providers.Request) (*canon.Request, *providers.Error) {
	if req.Endpoint != providers.EndpointChat {
		return nil, &providers.Error{Status: http.StatusNotImplemented, Code: "translation_not_supported",
			Message: "This endpoint cannot be served by a deployment that speaks another API dialect."}
	}
	return RequestToCanon(req.Model, req.Stream, req.Body)
}

// NewWriter implements providers.Translator: for streamed calls, a
// streamGenerateContent answer (server-sent events, or a JSON array when
// req.ArrayStream), each chunk flushed as it is written; otherwise one
// GenerateContentResponse, written by Close.
func (FrontDoor) NewWriter(w http.ResponseWriter, req *providers.Request) providers.CanonWriter {
	if req.Stream {
		sw := &streamWriter{w: w, rc: http.NewResponseController(w), array: req.ArrayStream}
		if req.ArrayStream {
			sw.enc = NewArrayStreamEncoder(writerFunc(sw.write))
		} else {
			sw.enc = NewStreamEncoder(writerFunc(sw.write))
		}
		return sw
	}
	return &wholeWriter{w: w}
}

// streamWriter writes canonical events as a Gemini stream, flushing each.
type streamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	enc     *StreamEncoder
	array   bool
	started bool
}

// write is the encoder's io.Writer: it sets the stream's headers first.
func (s *streamWriter) write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		sse.SetHeaders(s.w.Header())
		if s.array {
			s.w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		}
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

// wholeWriter gathers canonical events and writes one
// GenerateContentResponse; after an EventError, the error object Gemini
// writes instead ({"error":{"code","message","status"}}).
type wholeWriter struct {
	w   http.ResponseWriter
	acc canon.Accumulator
}

func (a *wholeWriter) Write(ev canon.Event) error { return a.acc.Add(ev) }

func (a *wholeWriter) Close() error {
	var body []byte
	var err error
	if f := a.acc.Failed(); f != nil {
		body, err = errorBody(f)
	} else {
		body, err = ResponseFromCanon(a.acc.Response())
	}
	if err != nil {
		return err
	}
	a.w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, err = a.w.Write(body)
	return err
}

// errorBody writes an upstream's in-stream failure as a Gemini error
// body, as the StreamEncoder writes it in a stream.
func errorBody(f *canon.Error) ([]byte, error) {
	return marshal(&wResponse{Error: errorFromCanon(f)})
}

// maxTranslatedBody bounds a non-streamed answer read whole to translate.
const maxTranslatedBody = 32 << 20

// SendCanon implements providers.CanonSender for chat calls of clients of
// other dialects: the canonical call is written as a generateContent body
// (RequestFromCanon) for the deployment's model, streamed or not as the
// call is, with the output cap the gateway must enforce when the request
// set none. A *canon.UnsupportedError from the conversion is returned as
// it is.
func (p *Provider) SendCanon(ctx context.Context, call *providers.Call, req *canon.Request) (providers.CanonResponse, error) {
	if call.Endpoint != providers.EndpointChat {
		return nil, fmt.Errorf("gemini: provider %q: endpoint %s is not translated", p.name, call.Endpoint)
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

// canonResponse reads an upstream's generateContent answer as canonical
// events.
type canonResponse struct{ r *response }

func (c *canonResponse) StatusCode() int { return c.r.resp.StatusCode }
func (c *canonResponse) Close() error    { return c.r.Close() }

// Events implements providers.CanonResponse: a stream is read with a
// StreamDecoder, a whole answer (at most 32 MiB) with ResponseToCanon. A
// stream that ends before it is complete (see streamEnd) is an error
// wrapping providers.ErrIncomplete; one that carried an error object ends
// with its EventError. Errors on the upstream's side are
// *providers.UpstreamError values; an error from emit is returned as it
// is.
func (c *canonResponse) Events(emit func(canon.Event) error) (providers.Result, error) {
	defer c.r.Close()
	var res providers.Result
	var emitErr error
	// Gemini repeats running totals: the usage is the answer's once it
	// finished, else the gateway estimates.
	finished, sawUsage := false, false
	note := func(ev canon.Event) error {
		switch ev.Kind {
		case canon.EventUsage:
			res.Usage, sawUsage = ev.Usage, true
			res.UsageKnown = finished
		case canon.EventFinish:
			finished = true
			res.UsageKnown = sawUsage
		}
		if err := emit(ev); err != nil {
			emitErr = err
			return err
		}
		return nil
	}
	name := c.r.p.name
	src := readerFunc(c.r.read)
	if !streamed(c.r.resp) {
		body, err := io.ReadAll(io.LimitReader(src, maxTranslatedBody+1))
		if err != nil {
			return res, err
		}
		if len(body) > maxTranslatedBody {
			return res, providers.NewUpstreamError(name, errTooLarge)
		}
		whole, err := ResponseToCanon(body)
		if err != nil {
			return res, providers.NewUpstreamError(name, err)
		}
		if err := whole.Events(func(ev canon.Event) {
			if emitErr == nil {
				_ = note(ev)
			}
		}); err != nil {
			return res, providers.NewUpstreamError(name, err)
		}
		res.Usage, res.UsageKnown = whole.Usage, whole.UsageKnown
		return res, emitErr
	}
	rd := sse.NewReader(src, nil)
	var dec StreamDecoder
	var end streamEnd
	fail := func(err error) (providers.Result, error) {
		if emitErr != nil {
			return res, emitErr
		}
		return res, providers.NewUpstreamError(name, err)
	}
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			if !end.complete() {
				return res, providers.NewUpstreamError(name, errTruncated)
			}
			if err := dec.Finish(note); err != nil {
				return fail(err)
			}
			return res, nil
		}
		if err != nil {
			if ue, ok := errors.AsType[*providers.UpstreamError](err); ok {
				return res, ue
			}
			return res, providers.NewUpstreamError(name, err)
		}
		if err := dec.Decode(ev.Data, note); err != nil { // refuses what is not JSON
			return fail(err)
		}
		end.observe(ev.Data)
		if end.failed {
			return res, nil // the EventError ends the answer
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

var errTooLarge = errors.New("gemini: answer too large to translate")
