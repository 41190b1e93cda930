package gemini

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/wicket-gw/wicket/providers/canon"
)

// StreamDecoder turns the chunks of a streamGenerateContent?alt=sse answer
// (each SSE event's data is a whole GenerateContentResponse) into
// canonical events. The zero value is ready to use. It is not safe for
// concurrent use.
//
// How chunks map to events: the first chunk emits EventStart (responseId,
// modelVersion). Text parts of consecutive chunks continue one canonical
// part (thought text likewise, as a thinking part) until a part of
// another kind arrives, or a part that brings a second signature; each
// functionCall is a part start, one delta with its whole arguments and a
// stop; a candidate's finishReason stops its open part and emits
// EventFinish (FinishToolCalls if the candidate called functions);
// usageMetadata emits EventUsage (Gemini repeats running counts: the last
// one counts). A chunk {"error": …} emits EventError; a blocked prompt
// (no candidates, promptFeedback.blockReason) finishes choice 0 with
// canon.FinishContentFilter.
type StreamDecoder struct {
	started bool
	done    bool
	choices []decChoice
}

type decChoice struct {
	next     int // next part index
	open     int // index of the open text or thinking part, or -1 via openKind == 0
	openKind canon.PartKind
	openSig  bool
	calls    bool
	finished bool
}

// Done reports whether a finishReason was decoded.
func (d *StreamDecoder) Done() bool { return d.done }

// Decode decodes the data of one SSE event and calls emit for each
// canonical event, stopping at emit's first error. Malformed chunks and
// events out of order are errors (wrapping canon.ErrSequence for the
// latter) that carry no body text.
func (d *StreamDecoder) Decode(data []byte, emit func(canon.Event) error) error {
	var w wResponse
	if err := json.Unmarshal(data, &w); err != nil {
		return errors.New("gemini: stream chunk is not a GenerateContentResponse")
	}
	if w.Error != nil {
		return emit(canon.Event{Kind: canon.EventError, Error: &canon.Error{
			Status: w.Error.Code, Type: w.Error.Status, Message: w.Error.Message}})
	}
	if !d.started {
		d.started = true
		if err := emit(canon.Event{Kind: canon.EventStart, ID: w.ResponseID, Model: w.ModelVersion}); err != nil {
			return err
		}
	}
	if blocked(&w) {
		w.Candidates = []wCandidate{{FinishReason: w.PromptFeedback.BlockReason}}
	}
	for k, c := range w.Candidates {
		idx := k
		if c.Index != nil {
			idx = *c.Index
		}
		if idx < 0 || idx >= canon.MaxChoices {
			return fmt.Errorf("%w: candidate index %d out of range", canon.ErrSequence, idx)
		}
		for len(d.choices) <= idx {
			d.choices = append(d.choices, decChoice{})
		}
		ch := &d.choices[idx]
		if ch.finished {
			return fmt.Errorf("%w: chunk for finished candidate %d", canon.ErrSequence, idx)
		}
		if c.Content != nil {
			for _, p := range c.Content.Parts {
				if err := d.part(idx, ch, p, emit); err != nil {
					return err
				}
			}
		}
		if c.FinishReason != "" {
			if err := ch.stop(idx, emit); err != nil {
				return err
			}
			ch.finished, d.done = true, true
			if err := emit(canon.Event{Kind: canon.EventFinish, Choice: idx,
				Finish: finishToCanon(c.FinishReason, ch.calls), RawFinish: c.FinishReason}); err != nil {
				return err
			}
		}
	}
	if w.UsageMetadata != nil {
		return emit(canon.Event{Kind: canon.EventUsage, Usage: usageToCanon(w.UsageMetadata)})
	}
	return nil
}

func (d *StreamDecoder) part(ci int, ch *decChoice, p wPart, emit func(canon.Event) error) error {
	if p.FunctionCall != nil {
		if err := ch.stop(ci, emit); err != nil {
			return err
		}
		if ch.next >= canon.MaxParts {
			return fmt.Errorf("%w: too many parts", canon.ErrSequence)
		}
		part, err := partToCanon(p, ci, ch.next)
		if err != nil {
			return err
		}
		i := ch.next
		ch.next++
		ch.calls = true
		if err := emit(canon.Event{Kind: canon.EventPartStart, Choice: ci, Index: i, PartKind: canon.PartToolCall,
			ID: part.ToolCall.ID, Name: part.ToolCall.Name, Signature: part.Signature}); err != nil {
			return err
		}
		if err := emit(canon.Event{Kind: canon.EventPartDelta, Choice: ci, Index: i, Text: part.ToolCall.Arguments}); err != nil {
			return err
		}
		return emit(canon.Event{Kind: canon.EventPartStop, Choice: ci, Index: i})
	}
	part, err := partToCanon(p, ci, ch.next)
	if err != nil {
		return err
	}
	if part.Text == "" && part.Signature == "" {
		return nil // Gemini sends empty text parts; they add nothing
	}
	if ch.openKind != part.Kind || (part.Signature != "" && ch.openSig) {
		if err := ch.stop(ci, emit); err != nil {
			return err
		}
		if ch.next >= canon.MaxParts {
			return fmt.Errorf("%w: too many parts", canon.ErrSequence)
		}
		ch.open, ch.openKind, ch.openSig = ch.next, part.Kind, part.Signature != ""
		ch.next++
		if err := emit(canon.Event{Kind: canon.EventPartStart, Choice: ci, Index: ch.open, PartKind: part.Kind,
			Signature: part.Signature}); err != nil {
			return err
		}
		if part.Text == "" {
			return nil
		}
		return emit(canon.Event{Kind: canon.EventPartDelta, Choice: ci, Index: ch.open, Text: []byte(part.Text)})
	}
	ch.openSig = ch.openSig || part.Signature != ""
	return emit(canon.Event{Kind: canon.EventPartDelta, Choice: ci, Index: ch.open, Text: []byte(part.Text),
		Signature: part.Signature})
}

// stop ends the open text or thinking part, if any.
func (ch *decChoice) stop(ci int, emit func(canon.Event) error) error {
	if ch.openKind == 0 {
		return nil
	}
	ch.openKind, ch.openSig = 0, false
	return emit(canon.Event{Kind: canon.EventPartStop, Choice: ci, Index: ch.open})
}

// Finish stops the parts still open, at the end of the stream (Gemini has
// no terminal event: the stream simply ends after the chunk with the
// finishReason, or is cut short). Candidates without a finishReason get no
// EventFinish.
func (d *StreamDecoder) Finish(emit func(canon.Event) error) error {
	for i := range d.choices {
		if err := d.choices[i].stop(i, emit); err != nil {
			return err
		}
	}
	return nil
}

// StreamEncoder writes canonical events as a streamGenerateContent?alt=sse
// answer: each chunk a GenerateContentResponse in one SSE event,
// "data: <json>\r\n\r\n" as Google frames them, carrying responseId and
// modelVersion.
//
// Each text or thinking delta is written at once as a chunk with one part
// (Gemini streams text as it comes); a functionCall is written whole when
// its part stops, as Gemini only sends complete calls, its arguments
// checked to be a JSON object; a signature is written on the part that
// carries the delta it came with (or on an empty text part at the stop, if
// no delta carried it). Finish reasons and usage are held and written
// together on the last chunk, at Close. An EventError is written as
// {"error": {code, message, status}} and ends the stream.
//
// Encode refuses events out of order with an error wrapping
// canon.ErrSequence, writing nothing. It is not safe for concurrent use.
type StreamEncoder struct {
	w       io.Writer
	array   bool // elements of a JSON array rather than SSE events
	started bool
	closed  bool
	id      string
	model   string
	choices []encChoice
	usage   *wUsage
	wrote   bool
	ended   bool // the array's closing bracket was written
	buf     []byte
}

type encChoice struct {
	parts    map[int]*encPart
	finish   string
	finished bool
}

type encPart struct {
	kind    canon.PartKind
	id      string
	name    string
	sig     string
	args    []byte
	written bool // a delta carried the signature
}

// NewStreamEncoder returns a StreamEncoder that writes to w.
func NewStreamEncoder(w io.Writer) *StreamEncoder { return &StreamEncoder{w: w} }

// NewArrayStreamEncoder returns a StreamEncoder that writes the same
// chunks to w as the elements of one JSON array, the form of
// streamGenerateContent without alt=sse: "[" before the first chunk,
// ",\r\n" between chunks, and "]" at Close ("[]" if there was no chunk).
func NewArrayStreamEncoder(w io.Writer) *StreamEncoder {
	return &StreamEncoder{w: w, array: true}
}

// Encode writes the chunk, if any, that ev calls for.
func (e *StreamEncoder) Encode(ev canon.Event) error {
	if e.closed {
		return fmt.Errorf("%w: event after the end", canon.ErrSequence)
	}
	switch ev.Kind {
	case canon.EventStart:
		if e.started {
			return fmt.Errorf("%w: second start", canon.ErrSequence)
		}
		e.started, e.id, e.model = true, ev.ID, ev.Model
		return nil
	case canon.EventError:
		e.closed = true
		return e.write(&wResponse{Error: errorFromCanon(ev.Error)})
	}
	if !e.started {
		return fmt.Errorf("%w: %s before start", canon.ErrSequence, ev.Kind)
	}
	if ev.Kind == canon.EventUsage {
		e.usage = usageFromCanon(ev.Usage)
		return nil
	}
	if ev.Choice < 0 || ev.Choice >= canon.MaxChoices {
		return fmt.Errorf("%w: choice index %d out of range", canon.ErrSequence, ev.Choice)
	}
	for len(e.choices) <= ev.Choice {
		e.choices = append(e.choices, encChoice{})
	}
	c := &e.choices[ev.Choice]
	if c.finished {
		return fmt.Errorf("%w: %s for finished choice %d", canon.ErrSequence, ev.Kind, ev.Choice)
	}
	switch ev.Kind {
	case canon.EventPartStart:
		if ev.Index < 0 || ev.Index >= canon.MaxParts {
			return fmt.Errorf("%w: part index %d out of range", canon.ErrSequence, ev.Index)
		}
		if c.parts == nil {
			c.parts = map[int]*encPart{}
		}
		if _, dup := c.parts[ev.Index]; dup {
			return fmt.Errorf("%w: part %d started twice", canon.ErrSequence, ev.Index)
		}
		switch ev.PartKind {
		case canon.PartText, canon.PartRefusal, canon.PartThinking, canon.PartToolCall, canon.PartRedactedThinking:
		default:
			return fmt.Errorf("gemini: a %s part cannot be streamed", ev.PartKind)
		}
		c.parts[ev.Index] = &encPart{kind: ev.PartKind, id: ev.ID, name: ev.Name, sig: ev.Signature}
		return nil
	case canon.EventPartDelta, canon.EventPartStop:
		p := c.parts[ev.Index]
		if p == nil {
			return fmt.Errorf("%w: %s for part %d, which is not open", canon.ErrSequence, ev.Kind, ev.Index)
		}
		if ev.Kind == canon.EventPartDelta {
			return e.delta(ev, p)
		}
		delete(c.parts, ev.Index) // bounded: only open parts are kept
		return e.stop(ev.Choice, p)
	case canon.EventFinish:
		if len(c.parts) > 0 {
			return fmt.Errorf("%w: finish with open parts", canon.ErrSequence)
		}
		c.finished, c.finish = true, finishFromCanon(ev.Finish, ev.RawFinish)
		if c.finish == "" {
			c.finish = "STOP"
		}
		return nil
	}
	return fmt.Errorf("%w: unknown event kind %d", canon.ErrSequence, ev.Kind)
}

// errorFromCanon returns Gemini's error object for an upstream's
// failure: its status and message, and its type when that is spelled as
// Gemini spells a status (RESOURCE_EXHAUSTED); INTERNAL and 500 when it
// says nothing.
func errorFromCanon(f *canon.Error) *wError {
	we := wError{Message: "upstream error", Status: "INTERNAL", Code: http.StatusInternalServerError}
	if f != nil {
		we.Message = f.Message
		if f.Status != 0 {
			we.Code = f.Status
		}
		if f.Type != "" && strings.ToUpper(f.Type) == f.Type {
			we.Status = f.Type
		}
	}
	return &we
}

func (e *StreamEncoder) delta(ev canon.Event, p *encPart) error {
	switch p.kind {
	case canon.PartToolCall:
		if len(p.args)+len(ev.Text) > maxArgs {
			return errors.New("gemini: tool call arguments too long")
		}
		p.args = append(p.args, ev.Text...)
		p.sig += ev.Signature
		return nil
	case canon.PartRedactedThinking:
		return nil
	}
	sig := ev.Signature
	if !p.written {
		sig = p.sig + sig
	}
	if len(ev.Text) == 0 && sig == "" {
		return nil
	}
	if sig != "" {
		p.written = true
	}
	text := string(ev.Text)
	wp := wPart{Text: &text, Thought: p.kind == canon.PartThinking, ThoughtSignature: sig}
	return e.write(e.chunk(ev.Choice, wp))
}

// maxArgs bounds the arguments of one streamed call that the encoder
// holds until the call is complete.
const maxArgs = 16 << 20

func (e *StreamEncoder) stop(ci int, p *encPart) error {
	switch p.kind {
	case canon.PartToolCall:
		fc, err := encodeCall(canon.ToolCall{ID: p.id, Name: p.name, Arguments: p.args})
		if err != nil {
			return err
		}
		return e.write(e.chunk(ci, wPart{FunctionCall: fc, ThoughtSignature: p.sig}))
	case canon.PartRedactedThinking:
		return nil
	}
	if p.sig != "" && !p.written {
		return e.write(e.chunk(ci, wPart{Text: ptr(""), Thought: p.kind == canon.PartThinking, ThoughtSignature: p.sig}))
	}
	return nil
}

func (e *StreamEncoder) chunk(ci int, p wPart) *wResponse {
	return &wResponse{ResponseID: e.id, ModelVersion: e.model, Candidates: []wCandidate{{
		Index: ptr(ci), Content: &wContent{Role: "model", Parts: []wPart{p}}}}}
}

func (e *StreamEncoder) write(w *wResponse) error {
	b, err := marshal(w)
	if err != nil {
		return err
	}
	switch {
	case !e.array:
		e.buf = append(append(append(e.buf[:0], "data: "...), b...), "\r\n\r\n"...)
	case e.wrote:
		e.buf = append(append(e.buf[:0], ",\r\n"...), b...)
	default:
		e.buf = append(append(e.buf[:0], '['), b...)
	}
	e.wrote = true
	_, err = e.w.Write(e.buf)
	return err
}

// Close writes the last chunk: the finish reasons of the finished choices
// and the usage, if any. It writes no chunk after an error event, nor if
// there is nothing to say and a chunk was written (a stream that said
// nothing else still gets one chunk, with its responseId and
// modelVersion). An array encoder then closes the array. Closing twice
// writes nothing more.
func (e *StreamEncoder) Close() error {
	err := e.lastChunk()
	if !e.array || e.ended || err != nil {
		return err
	}
	e.ended = true
	end := "]"
	if !e.wrote {
		end = "[]"
	}
	_, err = io.WriteString(e.w, end)
	return err
}

// lastChunk writes the chunk Close writes, if any.
func (e *StreamEncoder) lastChunk() error {
	if e.closed || !e.started {
		e.closed = true
		return nil
	}
	e.closed = true
	w := &wResponse{ResponseID: e.id, ModelVersion: e.model, UsageMetadata: e.usage}
	for i, c := range e.choices {
		if c.finished {
			w.Candidates = append(w.Candidates, wCandidate{Index: ptr(i), FinishReason: c.finish})
		}
	}
	if len(w.Candidates) == 0 && w.UsageMetadata == nil && e.wrote {
		return nil
	}
	return e.write(w)
}
