package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

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
	return &canonResponse{r: resp}, nil
}

// canonResponse reads an upstream's chat completions answer as canonical
// events; it is the translate.Decoder of its own answer.
type canonResponse struct {
	translate.Waiter
	r   *response
	dec StreamDecoder
}

func (c *canonResponse) StatusCode() int { return c.r.StatusCode() }

// RetryAfter implements providers.RetryAdviser.
func (c *canonResponse) RetryAfter() time.Duration { return c.r.RetryAfter() }
func (c *canonResponse) Close() error              { return c.r.Close() }

// Events implements providers.CanonResponse (see translate.Events). A
// stream ends with "data: [DONE]"; one that ends before it is an error
// wrapping providers.ErrIncomplete.
func (c *canonResponse) Events(emit func(canon.Event) error) (providers.Result, error) {
	defer c.r.Close()
	return translate.Events(c.r, c, &translate.Options{Name: c.r.p.name,
		Stream: uplink.IsEventStream(c.r.Response), TooLarge: errTooLarge, Wait: c.Hook()}, emit)
}

// Whole implements translate.Decoder.
func (c *canonResponse) Whole(body []byte) (*canon.Response, error) { return ResponseToCanon(body) }

// Event implements translate.Decoder.
func (c *canonResponse) Event(ev sse.Event, e *translate.Emitter) (bool, error) {
	return false, c.dec.Decode(ev.Data, e.Emit)
}

// End implements translate.Decoder.
func (c *canonResponse) End(*translate.Emitter) (incomplete, err error) {
	if !c.dec.Done() {
		return errTruncated, nil
	}
	return nil, nil
}

var errTooLarge = errors.New("openai: answer too large to translate")
