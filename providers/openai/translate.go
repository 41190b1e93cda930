package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/internal/translate"
	"github.com/wicket-gw/wicket/internal/uplink"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// ToCanon implements providers.Translator for Chat Completions (see
// RequestToCanon); other endpoints are not translated (501).
func (FrontDoor) ToCanon(req *providers.Request) (*canon.Request, *providers.Error) {
	if req.Endpoint != providers.EndpointChat {
		return nil, translate.NotTranslated()
	}
	return RequestToCanon(req.Body)
}

// NewWriter implements providers.Translator: a chat.completion.chunk
// stream (with the usage chunk if the client asked for it) for streamed
// calls, one chat.completion object otherwise.
func (FrontDoor) NewWriter(w http.ResponseWriter, req *providers.Request) providers.CanonWriter {
	if req.Stream {
		opts := &StreamOptions{IncludeUsage: req.IncludeUsage}
		return translate.NewStreamWriter(w, "", func(out io.Writer) translate.Encoder {
			return NewStreamEncoder(out, opts)
		})
	}
	return translate.NewWholeWriter(w, "application/json", encodeWhole)
}

// encodeWhole writes gathered events as one chat.completion.
func encodeWhole(acc *canon.Accumulator) ([]byte, error) { return ResponseFromCanon(acc.Response()) }

// SendCanon implements providers.CanonSender for Chat Completions: the
// canonical call is written as an OpenAI chat completions body for the
// deployment's model, with the output cap the gateway must enforce.
func (p *Provider) SendCanon(ctx context.Context, call *providers.Call, req *canon.Request) (providers.CanonResponse, error) {
	if call.Endpoint != providers.EndpointChat {
		return nil, fmt.Errorf("openai: provider %q: endpoint %s is not translated", p.name, call.Endpoint)
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
		Stream: uplink.IsEventStream(resp.Response), TooLarge: errTooLarge}}, nil
}

// canonDecoder is the translate.Decoder of an upstream's answer to a
// translated call. A stream ends with "data: [DONE]"; one that ends before
// it is an error wrapping providers.ErrIncomplete.
type canonDecoder struct {
	dec StreamDecoder
}

// Whole implements translate.Decoder.
func (c *canonDecoder) Whole(body []byte) (*canon.Response, error) { return ResponseToCanon(body) }

// Event implements translate.Decoder.
func (c *canonDecoder) Event(ev sse.Event, e *translate.Emitter) (bool, error) {
	return false, c.dec.Decode(ev.Data, e.Emit)
}

// End implements translate.Decoder.
func (c *canonDecoder) End(*translate.Emitter) (incomplete, err error) {
	if !c.dec.Done() {
		return errTruncated, nil
	}
	return nil, nil
}

var errTooLarge = errors.New("openai: answer too large to translate")
