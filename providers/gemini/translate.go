package gemini

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/internal/translate"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// ToCanon implements providers.Translator for generateContent and
// streamGenerateContent (see RequestToCanon); countTokens is not
// translated (501): the gateway answers it with its own estimate.
func (FrontDoor) ToCanon(req *providers.Request) (*canon.Request, *providers.Error) {
	if req.Endpoint != providers.EndpointChat {
		return nil, translate.NotTranslated()
	}
	return RequestToCanon(req.Model, req.Stream, req.Body)
}

// NewWriter implements providers.Translator: for streamed calls, a
// streamGenerateContent answer (server-sent events, or a JSON array when
// req.ArrayStream), each chunk flushed as it is written; otherwise one
// GenerateContentResponse, written by Close (after an EventError, the
// error object Gemini writes instead:
// {"error":{"code","message","status"}}).
func (FrontDoor) NewWriter(w http.ResponseWriter, req *providers.Request) providers.CanonWriter {
	if req.Stream {
		if req.ArrayStream {
			return translate.NewStreamWriter(w, jsonType, newArrayStreamEncoder)
		}
		return translate.NewStreamWriter(w, "", newStreamEncoder)
	}
	return translate.NewWholeWriter(w, jsonType, encodeWhole)
}

// jsonType is the Content-Type of Gemini's JSON answers, streamed arrays
// included.
const jsonType = "application/json; charset=UTF-8"

func newStreamEncoder(w io.Writer) translate.Encoder      { return NewStreamEncoder(w) }
func newArrayStreamEncoder(w io.Writer) translate.Encoder { return NewArrayStreamEncoder(w) }

// encodeWhole writes gathered events as one GenerateContentResponse, or
// as the error object of their EventError.
func encodeWhole(acc *canon.Accumulator) ([]byte, error) {
	if f := acc.Failed(); f != nil {
		return errorBody(f)
	}
	return ResponseFromCanon(acc.Response())
}

// errorBody writes an upstream's in-stream failure as a Gemini error
// body, as the StreamEncoder writes it in a stream.
func errorBody(f *canon.Error) ([]byte, error) {
	return marshal(&wResponse{Error: errorFromCanon(f)})
}

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
	r := translate.Request(call, req)
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
	return &translate.Response{X: &resp.Exchange, D: &canonDecoder{}, O: translate.Options{Name: p.name,
		Stream: streamed(resp.Response), UsageAtFinish: true, TooLarge: errTooLarge}}, nil
}

// canonDecoder is the translate.Decoder of an upstream's answer to a
// translated call: a stream is read with a StreamDecoder, a whole answer
// with ResponseToCanon. A stream that ends before it is complete (see
// streamEnd) is an error wrapping providers.ErrIncomplete; one that carried
// an error object ends with its EventError. Gemini repeats running totals:
// the usage is the answer's once it finished, else the gateway estimates.
type canonDecoder struct {
	dec StreamDecoder
	end streamEnd
}

// Whole implements translate.Decoder.
func (c *canonDecoder) Whole(body []byte) (*canon.Response, error) { return ResponseToCanon(body) }

// Event implements translate.Decoder: an error object ends the answer.
func (c *canonDecoder) Event(ev sse.Event, e *translate.Emitter) (bool, error) {
	if err := c.dec.Decode(ev.Data, e.Emit); err != nil { // refuses what is not JSON
		return false, err
	}
	c.end.observe(ev.Data)
	return c.end.failed, nil
}

// End implements translate.Decoder.
func (c *canonDecoder) End(e *translate.Emitter) (incomplete, err error) {
	if !c.end.complete() {
		return errTruncated, nil
	}
	return nil, c.dec.Finish(e.Emit)
}

var errTooLarge = errors.New("gemini: answer too large to translate")
