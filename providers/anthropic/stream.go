package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/wicket-gw/wicket/internal/apierror"
	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

// errEvent is the error (wrapped) for a stream event that is not one
// Anthropic could have sent. It never carries event text.
var errEvent = errors.New("anthropic: malformed stream event")

// Part states, per content block index.
const (
	blockNone uint8 = iota
	blockOpen
	blockStopped
)

// StreamDecoder turns the events of a Messages API stream into canonical
// events, with one choice (0) whose part indexes are Anthropic's content
// block indexes. The zero value is ready to use. It is not safe for
// concurrent use.
//
// message_start yields EventStart and, if it has usage, EventUsage;
// content_block_start EventPartStart (and a delta for any initial text);
// content_block_delta EventPartDelta (text_delta, input_json_delta and
// thinking_delta in Text, signature_delta in Signature; citations_delta is
// ignored, as the canonical form has no citations); content_block_stop
// EventPartStop; message_delta EventFinish and EventUsage (its counts are
// cumulative and merged with those of message_start); error EventError.
// message_stop ends the stream (see Done); ping and event types it does
// not know are ignored, as Anthropic asks of clients. An event's Text may
// alias the data passed to Decode (content_block_delta strings without
// escapes are not copied) and is valid only until emit returns. Members
// it has no use for are ignored; content_block_delta members are matched
// exactly, the rarer events through encoding/json (whose matching of
// member names ignores case).
type StreamDecoder struct {
	started  bool
	done     bool
	failed   bool
	finished bool
	blocks   []uint8          // state by block index
	kinds    []canon.PartKind // kind by block index
	usage    metering.Usage
	raw      [5]int64 // input, cache creation, cache read, thinking, 1-hour cache writes, as Anthropic counts them
}

// Done reports whether message_stop was decoded: a stream that ends
// before it was cut short.
func (d *StreamDecoder) Done() bool { return d.done }

// Reset makes d ready for a new stream, keeping its buffers.
func (d *StreamDecoder) Reset() {
	*d = StreamDecoder{blocks: d.blocks[:0], kinds: d.kinds[:0]}
}

type wireEvent struct {
	Type    string `json:"type"`
	Index   *int   `json:"index"`
	Message *struct {
		ID      string            `json:"id"`
		Model   string            `json:"model"`
		Content []json.RawMessage `json:"content"`
		Usage   *wireUsage        `json:"usage"`
	} `json:"message"`
	ContentBlock *wireBlock `json:"content_block"`
	Delta        *struct {
		Type        string  `json:"type"`
		Text        string  `json:"text"`
		PartialJSON string  `json:"partial_json"`
		Thinking    string  `json:"thinking"`
		Signature   string  `json:"signature"`
		StopReason  *string `json:"stop_reason"`
	} `json:"delta"`
	Usage *wireUsage `json:"usage"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// Decode decodes one SSE event, its type (the event: field, or "" to take
// the type member of data) and its data, and calls emit for each canonical
// event it yields, in order. Decode stops at the first error emit returns
// and returns it; other errors wrap errEvent or canon.ErrSequence. Events
// emitted before an error stand.
func (d *StreamDecoder) Decode(eventType string, data []byte, emit func(canon.Event) error) error {
	if d.done || d.failed {
		return fmt.Errorf("%w: event after the end of the stream", canon.ErrSequence)
	}
	if eventType == "ping" {
		return nil
	}
	if eventType == "content_block_delta" && d.started {
		return d.fastDelta(data, emit)
	}
	var w wireEvent
	if b := bytes.TrimSpace(data); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &w) != nil {
		return fmt.Errorf("%w: not a JSON object", errEvent)
	}
	typ := w.Type
	if eventType != "" {
		if typ != "" && typ != eventType {
			return fmt.Errorf("%w: event type and data type differ", errEvent)
		}
		typ = eventType
	}
	if typ == "error" {
		ce := &canon.Error{Status: http.StatusInternalServerError}
		if w.Error != nil {
			ce.Type, ce.Message = w.Error.Type, w.Error.Message
			ce.Status = statusOf(ce.Type)
		}
		d.failed = true
		return emit(canon.Event{Kind: canon.EventError, Error: ce})
	}
	if typ == "message_start" {
		if d.started {
			return fmt.Errorf("%w: second message_start", canon.ErrSequence)
		}
		if w.Message == nil {
			return fmt.Errorf("%w: message_start without message", errEvent)
		}
		if len(w.Message.Content) > 0 {
			return fmt.Errorf("%w: message_start with content", errEvent)
		}
		d.started = true
		if err := emit(canon.Event{Kind: canon.EventStart, ID: w.Message.ID, Model: w.Message.Model}); err != nil {
			return err
		}
		if w.Message.Usage != nil {
			w.Message.Usage.merge(&d.usage, &d.raw)
			return emit(canon.Event{Kind: canon.EventUsage, Usage: d.usage})
		}
		return nil
	}
	switch typ {
	case "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop":
	default:
		return nil // ping, and types added after this decoder
	}
	if !d.started {
		return fmt.Errorf("%w: %s before message_start", canon.ErrSequence, typ)
	}
	switch typ {
	case "content_block_start":
		return d.blockStart(&w, emit)
	case "content_block_delta":
		return d.blockDelta(&w, emit)
	case "content_block_stop":
		i, err := d.index(&w, blockOpen)
		if err != nil {
			return err
		}
		d.blocks[i] = blockStopped
		return emit(canon.Event{Kind: canon.EventPartStop, Index: i})
	case "message_delta":
		if w.Delta != nil && w.Delta.StopReason != nil {
			if d.finished {
				return fmt.Errorf("%w: second stop_reason", canon.ErrSequence)
			}
			for i, s := range d.blocks {
				if s == blockOpen {
					return fmt.Errorf("%w: stop_reason with block %d open", canon.ErrSequence, i)
				}
			}
			raw := *w.Delta.StopReason
			if raw == "" {
				return fmt.Errorf("%w: empty stop_reason", errEvent)
			}
			d.finished = true
			if err := emit(canon.Event{Kind: canon.EventFinish, Finish: finishFromAnthropic(raw), RawFinish: raw}); err != nil {
				return err
			}
		}
		if w.Usage != nil {
			w.Usage.merge(&d.usage, &d.raw)
			return emit(canon.Event{Kind: canon.EventUsage, Usage: d.usage})
		}
		return nil
	}
	// message_stop
	for i, s := range d.blocks {
		if s == blockOpen {
			return fmt.Errorf("%w: message_stop with block %d open", canon.ErrSequence, i)
		}
	}
	d.done = true
	return nil
}

// index returns the event's block index, which must be in state want.
func (d *StreamDecoder) index(w *wireEvent, want uint8) (int, error) {
	if w.Index == nil {
		return 0, fmt.Errorf("%w: no index", errEvent)
	}
	i := *w.Index
	if i < 0 || i >= canon.MaxParts {
		return 0, fmt.Errorf("%w: block index out of range", canon.ErrSequence)
	}
	state := blockNone
	if i < len(d.blocks) {
		state = d.blocks[i]
	}
	if state != want {
		return 0, fmt.Errorf("%w: block %d not in the expected state", canon.ErrSequence, i)
	}
	return i, nil
}

func (d *StreamDecoder) blockStart(w *wireEvent, emit func(canon.Event) error) error {
	i, err := d.index(w, blockNone)
	if err != nil {
		return err
	}
	b := w.ContentBlock
	if b == nil {
		return fmt.Errorf("%w: content_block_start without content_block", errEvent)
	}
	ev := canon.Event{Kind: canon.EventPartStart, Index: i}
	var initial string
	switch b.Type {
	case "text":
		ev.PartKind = canon.PartText
		if b.Text != nil {
			initial = *b.Text
		}
	case "thinking":
		ev.PartKind, ev.Signature = canon.PartThinking, b.Signature
		if b.Thinking != nil {
			initial = *b.Thinking
		}
	case "redacted_thinking":
		ev.PartKind, ev.Signature = canon.PartRedactedThinking, b.Data
	case "tool_use":
		ev.PartKind, ev.ID, ev.Name = canon.PartToolCall, b.ID, b.Name
		if in := bytes.TrimSpace(b.Input); len(in) > 0 && string(in) != "{}" && !isNull(in) {
			if in[0] != '{' {
				return fmt.Errorf("%w: tool_use input is not an object", errEvent)
			}
			var c bytes.Buffer
			_ = json.Compact(&c, in)
			initial = c.String()
		}
	default:
		return fmt.Errorf("%w: unsupported content block type", errEvent)
	}
	for len(d.blocks) <= i {
		d.blocks = append(d.blocks, blockNone)
		d.kinds = append(d.kinds, 0)
	}
	d.blocks[i], d.kinds[i] = blockOpen, ev.PartKind
	if err := emit(ev); err != nil {
		return err
	}
	if initial != "" {
		return emit(canon.Event{Kind: canon.EventPartDelta, Index: i, Text: []byte(initial)})
	}
	return nil
}

func (d *StreamDecoder) blockDelta(w *wireEvent, emit func(canon.Event) error) error {
	i, err := d.index(w, blockOpen)
	if err != nil {
		return err
	}
	if w.Delta == nil {
		return fmt.Errorf("%w: content_block_delta without delta", errEvent)
	}
	kind := d.kinds[i]
	ev := canon.Event{Kind: canon.EventPartDelta, Index: i}
	var want canon.PartKind
	switch w.Delta.Type {
	case "text_delta":
		want, ev.Text = canon.PartText, []byte(w.Delta.Text)
	case "input_json_delta":
		want, ev.Text = canon.PartToolCall, []byte(w.Delta.PartialJSON)
	case "thinking_delta":
		want, ev.Text = canon.PartThinking, []byte(w.Delta.Thinking)
	case "signature_delta":
		want, ev.Signature = canon.PartThinking, w.Delta.Signature
	case "citations_delta":
		if kind != canon.PartText {
			return fmt.Errorf("%w: delta does not match its block", errEvent)
		}
		return nil
	default:
		return fmt.Errorf("%w: unsupported delta type", errEvent)
	}
	if want != kind {
		return fmt.Errorf("%w: delta does not match its block", errEvent)
	}
	if len(ev.Text) == 0 && ev.Signature == "" {
		return nil // such as the empty partial_json that starts a tool call
	}
	return emit(ev)
}

// statusOf returns the HTTP status Anthropic uses for an error type.
func statusOf(typ string) int {
	switch typ {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "billing_error":
		return http.StatusPaymentRequired
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "timeout_error":
		return http.StatusGatewayTimeout
	case "overloaded_error":
		return 529
	}
	return http.StatusInternalServerError
}

// StreamEncoder writes canonical events as a Messages API stream:
// "event: <type>\ndata: <json>\n\n" blocks, in Anthropic's order. It is not
// safe for concurrent use.
//
// message_start is written before the first event after EventStart that is
// not usage, so that it carries the usage known so far; each part becomes
// a content block numbered in the order parts start (content_block_start,
// deltas, content_block_stop); a redacted thinking part is written whole
// at its stop, since its data has no delta. Finish and usage are kept for
// the message_delta that Close writes before message_stop; both
// message_start and message_delta always carry usage, as Anthropic's
// schema requires, with zeros if no EventUsage came. A signature on
// a part other than thinking (Gemini's) has no place and is dropped; a
// refusal part is written as text. An event of a choice other than 0 is
// refused with a *canon.UnsupportedError for FeatureChoices, an image part
// with one for FeaturePart; events out of order wrap canon.ErrSequence.
// After EventError the stream is over and Close writes nothing more.
type StreamEncoder struct {
	w        io.Writer
	buf      []byte
	started  bool // EventStart seen
	opened   bool // message_start written
	closed   bool
	failed   bool
	finished bool
	id       string
	model    string
	usage    metering.Usage
	finish   string
	next     int       // next block number
	parts    []encPart // by canonical part index
	err      error     // sticky write error
}

type encPart struct {
	state    uint8
	kind     canon.PartKind
	block    int
	redacted []byte // data of a redacted thinking part, written at its stop
}

// NewStreamEncoder returns an encoder writing to w.
func NewStreamEncoder(w io.Writer) *StreamEncoder {
	return &StreamEncoder{w: w}
}

// Encode writes what ev requires, if anything yet.
func (e *StreamEncoder) Encode(ev canon.Event) error {
	if e.err != nil {
		return e.err
	}
	if e.closed || e.failed {
		return fmt.Errorf("%w: %s after the end of the stream", canon.ErrSequence, ev.Kind)
	}
	if ev.Kind == canon.EventStart {
		if e.started {
			return fmt.Errorf("%w: second start", canon.ErrSequence)
		}
		e.started, e.id, e.model = true, ev.ID, ev.Model
		return nil
	}
	if ev.Kind == canon.EventError {
		e.failed = true
		ce := canon.Error{}
		if ev.Error != nil {
			ce = *ev.Error
		}
		typ := ce.Type
		if typ == "" {
			typ = apierror.AnthropicType(ce.Status)
		}
		b := append(e.buf[:0], "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"...)
		b = appendString(b, typ)
		b = append(b, `,"message":`...)
		b = appendString(b, ce.Message)
		b = append(b, "}}\n\n"...)
		return e.write(b)
	}
	if !e.started {
		return fmt.Errorf("%w: %s before start", canon.ErrSequence, ev.Kind)
	}
	if ev.Kind == canon.EventUsage {
		e.usage = ev.Usage
		return nil
	}
	if ev.Choice != 0 {
		return canon.Unsupported(canon.FeatureChoices)
	}
	switch ev.Kind {
	case canon.EventPartStart:
		return e.partStart(ev)
	case canon.EventPartDelta:
		return e.partDelta(ev)
	case canon.EventPartStop:
		p, err := e.part(ev.Index, blockOpen)
		if err != nil {
			return err
		}
		p.state = blockStopped
		if err := e.open(); err != nil {
			return err
		}
		return e.stopBlock(p)
	case canon.EventFinish:
		if e.finished {
			return fmt.Errorf("%w: second finish", canon.ErrSequence)
		}
		for i := range e.parts {
			if e.parts[i].state == blockOpen {
				return fmt.Errorf("%w: finish with part %d open", canon.ErrSequence, i)
			}
		}
		e.finished = true
		e.finish = finishToAnthropic(ev.Finish, ev.RawFinish)
		return nil
	}
	return fmt.Errorf("%w: unknown event kind", canon.ErrSequence)
}

func (e *StreamEncoder) part(i int, want uint8) (*encPart, error) {
	if i < 0 || i >= canon.MaxParts {
		return nil, fmt.Errorf("%w: part index out of range", canon.ErrSequence)
	}
	state := blockNone
	if i < len(e.parts) {
		state = e.parts[i].state
	}
	if state != want {
		return nil, fmt.Errorf("%w: part %d not in the expected state", canon.ErrSequence, i)
	}
	for len(e.parts) <= i {
		e.parts = append(e.parts, encPart{})
	}
	return &e.parts[i], nil
}

func (e *StreamEncoder) partStart(ev canon.Event) error {
	switch ev.PartKind {
	case canon.PartText, canon.PartRefusal, canon.PartThinking, canon.PartRedactedThinking, canon.PartToolCall:
	default:
		return canon.UnsupportedAt(canon.FeaturePart, -1, ev.Index)
	}
	if e.finished {
		return fmt.Errorf("%w: part after finish", canon.ErrSequence)
	}
	p, err := e.part(ev.Index, blockNone)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	*p = encPart{state: blockOpen, kind: ev.PartKind, block: e.next}
	e.next++
	if p.kind == canon.PartRedactedThinking {
		p.redacted = append(p.redacted, ev.Signature...)
		return nil
	}
	b := e.event(e.buf[:0], "content_block_start")
	b = append(b, `{"type":"content_block_start","index":`...)
	b = appendInt(b, int64(p.block))
	switch p.kind {
	case canon.PartText, canon.PartRefusal:
		b = append(b, `,"content_block":{"type":"text","text":""}}`...)
	case canon.PartThinking:
		b = append(b, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`...)
	case canon.PartToolCall:
		b = append(b, `,"content_block":{"type":"tool_use","id":`...)
		b = appendString(b, ev.ID)
		b = append(b, `,"name":`...)
		b = appendString(b, ev.Name)
		b = append(b, `,"input":{}}}`...)
	}
	b = append(b, "\n\n"...)
	if err := e.write(b); err != nil {
		return err
	}
	if p.kind == canon.PartThinking && ev.Signature != "" {
		return e.delta(p.block, "signature_delta", "signature", ev.Signature)
	}
	return nil
}

func (e *StreamEncoder) partDelta(ev canon.Event) error {
	p, err := e.part(ev.Index, blockOpen)
	if err != nil {
		return err
	}
	switch p.kind {
	case canon.PartRedactedThinking:
		p.redacted = append(p.redacted, ev.Signature...)
		return nil
	case canon.PartThinking:
		if len(ev.Text) > 0 {
			if err := e.delta(p.block, "thinking_delta", "thinking", ev.Text); err != nil {
				return err
			}
		}
		if ev.Signature != "" {
			return e.delta(p.block, "signature_delta", "signature", ev.Signature)
		}
		return nil
	case canon.PartToolCall:
		if len(ev.Text) == 0 {
			return nil
		}
		return e.delta(p.block, "input_json_delta", "partial_json", ev.Text)
	}
	if len(ev.Text) == 0 {
		return nil
	}
	return e.delta(p.block, "text_delta", "text", ev.Text)
}

func (e *StreamEncoder) delta(block int, typ, member string, text any) error {
	b := e.event(e.buf[:0], "content_block_delta")
	b = append(b, `{"type":"content_block_delta","index":`...)
	b = appendInt(b, int64(block))
	b = append(b, `,"delta":{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","`...)
	b = append(b, member...)
	b = append(b, `":`...)
	switch t := text.(type) {
	case string:
		b = appendJSONString(b, t)
	case []byte:
		b = appendJSONString(b, t)
	}
	b = append(b, "}}\n\n"...)
	return e.write(b)
}

func (e *StreamEncoder) stopBlock(p *encPart) error {
	b := e.buf[:0]
	if p.kind == canon.PartRedactedThinking {
		b = e.event(b, "content_block_start")
		b = append(b, `{"type":"content_block_start","index":`...)
		b = appendInt(b, int64(p.block))
		b = append(b, `,"content_block":{"type":"redacted_thinking","data":`...)
		b = appendJSONString(b, p.redacted)
		b = append(b, "}}\n\n"...)
		p.redacted = nil
	}
	b = e.event(b, "content_block_stop")
	b = append(b, `{"type":"content_block_stop","index":`...)
	b = appendInt(b, int64(p.block))
	b = append(b, "}\n\n"...)
	return e.write(b)
}

// open writes message_start if it is not written yet.
func (e *StreamEncoder) open() error {
	if e.opened {
		return nil
	}
	e.opened = true
	b := e.event(e.buf[:0], "message_start")
	b = append(b, `{"type":"message_start","message":{"id":`...)
	b = appendString(b, e.id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, e.model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = appendUsage(b, e.usage)
	b = append(b, "}}\n\n"...)
	return e.write(b)
}

func (e *StreamEncoder) event(b []byte, typ string) []byte {
	b = append(b, "event: "...)
	b = append(b, typ...)
	return append(b, "\ndata: "...)
}

func (e *StreamEncoder) write(b []byte) error {
	e.buf = b[:0]
	if _, err := e.w.Write(b); err != nil {
		e.err = fmt.Errorf("anthropic: writing stream: %w", err)
		return e.err
	}
	return nil
}

// Close ends the stream: it stops any part still open, then writes
// message_delta with the stop reason and usage, and message_stop. It
// writes nothing after EventError, and refuses a stream that never
// started. Calling it again does nothing.
func (e *StreamEncoder) Close() error {
	if e.err != nil {
		return e.err
	}
	if e.closed || e.failed {
		e.closed = true
		return nil
	}
	e.closed = true
	if !e.started {
		return fmt.Errorf("%w: close before start", canon.ErrSequence)
	}
	if err := e.open(); err != nil {
		return err
	}
	for i := range e.parts {
		if p := &e.parts[i]; p.state == blockOpen {
			p.state = blockStopped
			if err := e.stopBlock(p); err != nil {
				return err
			}
		}
	}
	b := e.event(e.buf[:0], "message_delta")
	b = append(b, `{"type":"message_delta","delta":{"stop_reason":`...)
	if e.finish != "" {
		b = appendString(b, e.finish)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"stop_sequence":null},"usage":`...)
	b = appendUsage(b, e.usage)
	b = append(b, "}\n\n"...)
	b = e.event(b, "message_stop")
	b = append(b, "{\"type\":\"message_stop\"}\n\n"...)
	return e.write(b)
}

// fastDelta decodes a content_block_delta, the bulk of a stream, without
// reflection: members are matched exactly, and a string without escapes
// is passed on as a slice of data rather than copied.
func (d *StreamDecoder) fastDelta(data []byte, emit func(canon.Event) error) error {
	if !jsonx.Valid(data) {
		return fmt.Errorf("%w: not a JSON object", errEvent)
	}
	var typ, index, delta []byte
	if jsonx.Each(data, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("type"):
			typ = m.Value
		case m.KeyIs("index"):
			index = m.Value
		case m.KeyIs("delta"):
			delta = m.Value
		}
		return true
	}) != nil {
		return fmt.Errorf("%w: not a JSON object", errEvent)
	}
	if typ != nil && string(typ) != `"content_block_delta"` {
		return fmt.Errorf("%w: event type and data type differ", errEvent)
	}
	n, ok := jsonx.Int(index)
	if !ok || n < 0 || n >= canon.MaxParts {
		if index == nil || !ok {
			return fmt.Errorf("%w: no index", errEvent)
		}
		return fmt.Errorf("%w: block index out of range", canon.ErrSequence)
	}
	i := int(n)
	if i >= len(d.blocks) || d.blocks[i] != blockOpen {
		return fmt.Errorf("%w: block %d not in the expected state", canon.ErrSequence, i)
	}
	var dtyp, text, sig []byte
	var member string
	if delta == nil || jsonx.Each(delta, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("type"):
			dtyp = m.Value
		case m.KeyIs("signature"):
			sig = m.Value
		case m.KeyIs("text") && member == "text", m.KeyIs("partial_json") && member == "partial_json",
			m.KeyIs("thinking") && member == "thinking":
			text = m.Value
		}
		if dtyp != nil && member == "" {
			switch string(dtyp) {
			case `"text_delta"`:
				member = "text"
			case `"input_json_delta"`:
				member = "partial_json"
			case `"thinking_delta"`:
				member = "thinking"
			}
		}
		return true
	}) != nil {
		return fmt.Errorf("%w: content_block_delta without delta", errEvent)
	}
	if member != "" && text == nil {
		// The text member came before the type: look again.
		text, _, _, _ = jsonx.Get(delta, member)
	}
	ev := canon.Event{Kind: canon.EventPartDelta, Index: i}
	var want canon.PartKind
	switch string(dtyp) {
	case `"text_delta"`:
		want = canon.PartText
	case `"input_json_delta"`:
		want = canon.PartToolCall
	case `"thinking_delta"`:
		want = canon.PartThinking
	case `"signature_delta"`:
		want = canon.PartThinking
		s, ok := unquote(sig)
		if !ok {
			return fmt.Errorf("%w: signature is not a string", errEvent)
		}
		ev.Signature = string(s)
	case `"citations_delta"`:
		if d.kinds[i] != canon.PartText {
			return fmt.Errorf("%w: delta does not match its block", errEvent)
		}
		return nil
	default:
		return fmt.Errorf("%w: unsupported delta type", errEvent)
	}
	if want != d.kinds[i] {
		return fmt.Errorf("%w: delta does not match its block", errEvent)
	}
	if member != "" {
		if text == nil {
			return fmt.Errorf("%w: delta without its text", errEvent)
		}
		if ev.Text, ok = unquote(text); !ok {
			return fmt.Errorf("%w: delta text is not a string", errEvent)
		}
	}
	if len(ev.Text) == 0 && ev.Signature == "" {
		return nil
	}
	return emit(ev)
}

// unquote returns the content of the JSON string v: a slice of v when it
// has no escapes and is valid UTF-8, else a decoded copy.
func unquote(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner, true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}
