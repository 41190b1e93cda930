package anthropic

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

// ToCanon implements providers.Translator for messages (see
// RequestToCanon); other endpoints, count_tokens among them, are not
// translated (501).
func (FrontDoor) ToCanon(req *providers.Request) (*canon.Request, *providers.Error) {
	if req.Endpoint != providers.EndpointChat {
		return nil, translate.NotTranslated()
	}
	return RequestToCanon(req.Body)
}

// NewWriter implements providers.Translator: a Messages stream (see
// StreamEncoder) for streamed calls, one message object (see
// ResponseFromCanon) otherwise.
func (FrontDoor) NewWriter(w http.ResponseWriter, req *providers.Request) providers.CanonWriter {
	if req.Stream {
		return translate.NewStreamWriter(w, "", newStreamEncoder)
	}
	return translate.NewWholeWriter(w, "application/json", encodeWhole)
}

func newStreamEncoder(w io.Writer) translate.Encoder { return NewStreamEncoder(w) }

// encodeWhole writes gathered events as one message object.
func encodeWhole(acc *canon.Accumulator) ([]byte, error) { return ResponseFromCanon(acc.Response()) }

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
		Stream: uplink.IsEventStream(resp.Response), UsageAtFinish: true, TooLarge: errTooLarge}}, nil
}

// canonDecoder is the translate.Decoder of an upstream's answer to a
// translated call. A stream ends with message_stop or an error event
// (yielding canon.EventError); one that ends before either is an error
// wrapping providers.ErrIncomplete. Usage is known once the answer
// finished (message_delta): the counts of message_start alone are not
// final.
type canonDecoder struct {
	dec StreamDecoder
}

// Whole implements translate.Decoder.
func (c *canonDecoder) Whole(body []byte) (*canon.Response, error) { return ResponseToCanon(body) }

// Event implements translate.Decoder.
func (c *canonDecoder) Event(ev sse.Event, e *translate.Emitter) (bool, error) {
	return false, c.dec.Decode(eventName(ev.Type), ev.Data, e.Emit)
}

// End implements translate.Decoder.
func (c *canonDecoder) End(e *translate.Emitter) (incomplete, err error) {
	if !c.dec.Done() && !e.Failed() {
		return errTruncated, nil
	}
	return nil, nil
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
