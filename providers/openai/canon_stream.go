package openai

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

// errChunk is the error StreamDecoder.Decode wraps for an event it cannot
// read; the wrapping names the member at fault, never body text.
var errChunk = errors.New("openai: malformed chat completion chunk")

// StreamDecoder turns the events of an upstream's chat completions stream
// into canonical events. Give it the data of each SSE event in order (the
// caller drops comments and keep-alives). The zero value is ready to use.
// A StreamDecoder is not safe for concurrent use.
//
// How chunks map to events:
//   - the first chunk that is not an error starts the stream (its id,
//     model and created);
//   - within a choice, parts get canonical indexes in order of first
//     appearance: the text (delta.content, started by its first value, even
//     ""), the refusal (delta.refusal), and each tool call, which is known
//     by its tool_calls[].index; a call starts with its first delta (its id
//     and name), and a later delta at the same index that brings a
//     different id starts a new call (some OpenAI-compatible servers number
//     parallel calls alike); argument fragments are deltas of their call's
//     part, however they interleave with other calls;
//   - finish_reason stops every open part of its choice, in index order,
//     then finishes the choice; a usage object reports usage;
//   - an error chunk ({"error": {…}}) becomes an EventError;
//   - "[DONE]" stops the parts still open in unfinished choices and ends
//     the stream (see Done); data after it is an error.
//
// Role-only deltas produce no event. Members the canonical form has no use
// for (logprobs, obfuscation, system_fingerprint and the like) are ignored;
// a delta that carries audio or a function_call, which requests the
// converters refuse cannot produce, is an error rather than dropped.
type StreamDecoder struct {
	started bool
	done    bool
	choices []decChoice // by choice index
	scratch []byte      // unescaped strings, reused
}

type decChoice struct {
	next     int // next part index
	text     int // part index + 1 of the text part; 0: none yet
	refusal  int // same, of the refusal part
	tools    []decTool
	finished bool // finish_reason seen
	closed   bool // its parts were stopped
}

// decTool maps an OpenAI tool-call index to a canonical part.
type decTool struct {
	index int64 // tool_calls[].index
	part  int
	id    string
}

// Done reports whether the stream's terminal event, "[DONE]", was decoded:
// a stream that ends before it was cut short.
func (d *StreamDecoder) Done() bool { return d.done }

// Reset makes d ready for a new stream, keeping its buffers.
func (d *StreamDecoder) Reset() {
	*d = StreamDecoder{choices: d.choices[:0], scratch: d.scratch[:0]}
}

// Decode decodes the data of one SSE event and calls emit for each
// canonical event it yields, in order. An event's Text may alias data or
// the decoder's buffers and is valid only until emit returns. Decode stops
// at the first error emit returns and returns it; other errors wrap
// errChunk or canon.ErrSequence (a delta for a finished choice, an index
// out of range). Events emitted before an error stand.
func (d *StreamDecoder) Decode(data []byte, emit func(canon.Event) error) error {
	if d.done {
		return fmt.Errorf("%w: data after [DONE]", canon.ErrSequence)
	}
	if sse.IsDone(data) {
		d.done = true
		for i := range d.choices {
			if err := d.stopParts(i, emit); err != nil {
				return err
			}
		}
		return nil
	}
	if !jsonx.Valid(data) {
		return fmt.Errorf("%w: not valid JSON", errChunk)
	}
	var raw [6][]byte
	if !pickMembers(data, []string{"id", "model", "created", "choices", "usage", "error"}, raw[:]) {
		return fmt.Errorf("%w: not an object", errChunk)
	}
	if raw[5] != nil && !jsonx.IsNull(raw[5]) {
		e, err := decodeStreamError(raw[5])
		if err != nil {
			return err
		}
		return emit(canon.Event{Kind: canon.EventError, Error: e})
	}
	if !d.started {
		ev := canon.Event{Kind: canon.EventStart}
		var err error
		if ev.ID, err = optString(raw[0], "id"); err != nil {
			return err
		}
		if ev.Model, err = optString(raw[1], "model"); err != nil {
			return err
		}
		if ev.Created, err = optUnixTime(raw[2], "created"); err != nil {
			return err
		}
		d.started = true
		if err := emit(ev); err != nil {
			return err
		}
	}
	if raw[3] != nil && !jsonx.IsNull(raw[3]) {
		var err error
		ok := eachElement(raw[3], func(i int, e []byte) bool {
			err = d.decodeChoice(i, e, emit)
			return err == nil
		})
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: choices is not an array", errChunk)
		}
	}
	if raw[4] != nil && !jsonx.IsNull(raw[4]) {
		u, err := decodeUsage(raw[4])
		if err != nil {
			return err
		}
		return emit(canon.Event{Kind: canon.EventUsage, Usage: u})
	}
	return nil
}

// Members of a streamed choice.
const (
	chIndex = iota
	chDelta
	chFinishReason
)

// Members of a delta.
const (
	dlContent = iota
	dlRefusal
	dlToolCalls
	dlAudio
	dlFunctionCall
)

// decodeChoice decodes element i of a chunk's choices.
func (d *StreamDecoder) decodeChoice(i int, v []byte, emit func(canon.Event) error) error {
	var raw [3][]byte
	if !pickMembers(v, []string{"index", "delta", "finish_reason"}, raw[:]) {
		return fmt.Errorf("%w: choice is not an object", errChunk)
	}
	ci := i
	if raw[chIndex] != nil && !jsonx.IsNull(raw[chIndex]) {
		n, ok := jsonx.Int(raw[chIndex])
		if !ok {
			return fmt.Errorf("%w: choice index is not an integer", errChunk)
		}
		if n < 0 || n >= canon.MaxChoices {
			return fmt.Errorf("%w: choice index %d out of range", canon.ErrSequence, n)
		}
		ci = int(n)
	}
	var dl [5][]byte
	if raw[chDelta] != nil && !jsonx.IsNull(raw[chDelta]) &&
		!pickMembers(raw[chDelta], []string{"content", "refusal", "tool_calls", "audio", "function_call"}, dl[:]) {
		return fmt.Errorf("%w: delta is not an object", errChunk)
	}
	given := func(v []byte) bool { return v != nil && !jsonx.IsNull(v) }
	if given(dl[dlAudio]) || given(dl[dlFunctionCall]) {
		return errors.New("openai: chat completion chunk carries audio or a function_call, which the canonical form cannot hold")
	}
	finish, err := optString(raw[chFinishReason], "finish_reason")
	if err != nil {
		return err
	}
	for ci >= len(d.choices) {
		d.choices = append(d.choices, decChoice{})
	}
	c := &d.choices[ci]
	if c.finished || c.closed {
		if given(dl[dlContent]) || given(dl[dlRefusal]) || given(dl[dlToolCalls]) || finish != "" {
			return fmt.Errorf("%w: chunk continues finished choice %d", canon.ErrSequence, ci)
		}
		return nil // an empty trailing delta, as some servers send
	}
	for k, kind := range [...]canon.PartKind{dlContent: canon.PartText, dlRefusal: canon.PartRefusal} {
		if !given(dl[k]) {
			continue
		}
		s, ok := d.unquote(dl[k])
		if !ok {
			return fmt.Errorf("%w: delta %s is not a string", errChunk, kind)
		}
		slot := &c.text
		if kind == canon.PartRefusal {
			slot = &c.refusal
		}
		if *slot == 0 {
			idx, err := c.newPart(ci)
			if err != nil {
				return err
			}
			*slot = idx + 1
			if err := emit(canon.Event{Kind: canon.EventPartStart, Choice: ci, Index: idx, PartKind: kind}); err != nil {
				return err
			}
		}
		if len(s) > 0 {
			if err := emit(canon.Event{Kind: canon.EventPartDelta, Choice: ci, Index: *slot - 1, Text: s}); err != nil {
				return err
			}
		}
	}
	if given(dl[dlToolCalls]) {
		ok := eachElement(dl[dlToolCalls], func(j int, e []byte) bool {
			err = d.decodeToolCallDelta(ci, j, e, emit)
			return err == nil
		})
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: delta tool_calls is not an array", errChunk)
		}
	}
	if finish == "" {
		return nil
	}
	if err := d.stopParts(ci, emit); err != nil {
		return err
	}
	c.finished = true
	return emit(canon.Event{Kind: canon.EventFinish, Choice: ci, Finish: finishFromOpenAI(finish), RawFinish: finish})
}

// newPart returns the next part index of c.
func (c *decChoice) newPart(ci int) (int, error) {
	if c.next >= canon.MaxParts {
		return 0, fmt.Errorf("%w: choice %d has too many parts", canon.ErrSequence, ci)
	}
	c.next++
	return c.next - 1, nil
}

// decodeToolCallDelta decodes element j of a delta's tool_calls:
// {"index", "id", "type", "function": {"name", "arguments"}}.
func (d *StreamDecoder) decodeToolCallDelta(ci, j int, v []byte, emit func(canon.Event) error) error {
	var raw [4][]byte
	if !pickMembers(v, []string{"index", "id", "type", "function"}, raw[:]) {
		return fmt.Errorf("%w: tool call delta is not an object", errChunk)
	}
	var fn [2][]byte
	if raw[3] != nil && !jsonx.IsNull(raw[3]) && !pickMembers(raw[3], []string{"name", "arguments"}, fn[:]) {
		return fmt.Errorf("%w: tool call function is not an object", errChunk)
	}
	index := int64(j)
	if raw[0] != nil && !jsonx.IsNull(raw[0]) {
		n, ok := jsonx.Int(raw[0])
		if !ok {
			return fmt.Errorf("%w: tool call index is not an integer", errChunk)
		}
		index = n
	}
	id, err := d.optBytes(raw[1], "tool call id")
	if err != nil {
		return err
	}
	c := &d.choices[ci]
	var t *decTool
	for k := len(c.tools) - 1; k >= 0; k-- {
		if c.tools[k].index == index {
			t = &c.tools[k]
			break
		}
	}
	if t == nil || (len(id) > 0 && t.id != "" && string(id) != t.id) {
		typ, err := optString(raw[2], "tool call type")
		if err != nil {
			return err
		}
		if typ != "" && typ != "function" {
			return errors.New("openai: chat completion chunk carries a tool call of a type the canonical form cannot hold")
		}
		ev := canon.Event{Kind: canon.EventPartStart, Choice: ci, PartKind: canon.PartToolCall, ID: string(id)}
		if ev.Name, err = optString(fn[0], "tool call name"); err != nil {
			return err
		}
		if ev.Index, err = c.newPart(ci); err != nil {
			return err
		}
		c.tools = append(c.tools, decTool{index: index, part: ev.Index, id: ev.ID})
		t = &c.tools[len(c.tools)-1]
		if err := emit(ev); err != nil {
			return err
		}
	}
	args, err := d.optBytes(fn[1], "tool call arguments")
	if err != nil || len(args) == 0 {
		return err
	}
	return emit(canon.Event{Kind: canon.EventPartDelta, Choice: ci, Index: t.part, Text: args})
}

// stopParts stops the parts of choice ci, in index order, once.
func (d *StreamDecoder) stopParts(ci int, emit func(canon.Event) error) error {
	c := &d.choices[ci]
	if c.closed {
		return nil
	}
	c.closed = true
	for i := range c.next {
		if err := emit(canon.Event{Kind: canon.EventPartStop, Choice: ci, Index: i}); err != nil {
			return err
		}
	}
	return nil
}

// unquote decodes a JSON string without copying when it needs no
// decoding; otherwise into d.scratch.
func (d *StreamDecoder) unquote(v []byte) ([]byte, bool) {
	if s, ok := unquoteSimple(v); ok {
		return s, true
	}
	s, ok := appendUnquoted(d.scratch[:0], v)
	if ok {
		d.scratch = s[:0]
	}
	return s, ok
}

// optBytes decodes a string member that may be missing or null.
func (d *StreamDecoder) optBytes(v []byte, name string) ([]byte, error) {
	if v == nil || jsonx.IsNull(v) {
		return nil, nil
	}
	s, ok := d.unquote(v)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a string", errChunk, name)
	}
	return s, nil
}

// decodeStreamError reads an error object: message, type, code (a string
// or a number).
func decodeStreamError(v []byte) (*canon.Error, error) {
	var raw [3][]byte
	if !pickMembers(v, []string{"message", "type", "code"}, raw[:]) {
		return nil, fmt.Errorf("%w: error is not an object", errChunk)
	}
	e := &canon.Error{}
	var err error
	if e.Message, err = optString(raw[0], "error message"); err != nil {
		return nil, err
	}
	if e.Type, err = optString(raw[1], "error type"); err != nil {
		return nil, err
	}
	if c := raw[2]; c != nil && !jsonx.IsNull(c) {
		if c[0] == '"' {
			e.Code, err = optString(c, "error code")
		} else if _, ok := jsonx.Int(c); ok {
			e.Code = string(c)
		} else {
			err = fmt.Errorf("%w: error code is neither a string nor an integer", errChunk)
		}
	}
	return e, err
}

// StreamOptions configures a StreamEncoder. A nil *StreamOptions means
// the zero value.
type StreamOptions struct {
	// IncludeUsage writes what stream_options.include_usage asks for:
	// "usage":null on every chunk and, right before "data: [DONE]", one
	// usage-only chunk (empty choices) with the last EventUsage. False (the
	// client did not ask) writes neither; the gateway reads usage from the
	// events either way.
	IncludeUsage bool
}

// StreamEncoder writes canonical events as a chat completions stream, for
// OpenAI-dialect clients of other dialects' upstreams. Create one with
// NewStreamEncoder. It is not safe for concurrent use.
//
// Each chunk is one SSE event ("data: {…}\n\n"), flushed as written, and
// carries the id, created and model of the EventStart and the object
// "chat.completion.chunk". The state machine OpenAI clients expect:
//   - EventStart writes a chunk whose delta holds only role "assistant"
//     for choice 0; the first chunk of every other choice carries the role
//     too;
//   - a text part's start writes content "" and its deltas the text; a
//     refusal part likewise in delta.refusal; several text parts of a
//     choice all continue its content;
//   - a tool call's start writes delta.tool_calls[0] with the call's
//     OpenAI index (0, 1, … per choice, in order of starts), id, type and
//     name, and arguments ""; each argument delta writes only that index
//     and the fragment, so interleaved calls stay apart;
//   - thinking parts write nothing (Chat Completions shows no reasoning;
//     its tokens stay in usage); part stops write nothing;
//   - EventFinish writes an empty delta with the finish reason ("stop" if
//     none was given; an upstream's own spelling when OpenAI has no
//     equivalent);
//   - EventUsage writes nothing at once: the last one goes in the
//     usage-only chunk that Close writes before [DONE], if
//     StreamOptions.IncludeUsage (other dialects report usage more than
//     once, OpenAI clients expect it once, at the end);
//   - EventError writes {"error": {…}}; the caller then ends the stream
//     without Close.
//
// Encode refuses, with an error wrapping canon.ErrSequence and writing
// nothing, events out of order: a second start, a part started twice, a
// delta or stop of a part that is not open, an event for a finished
// choice. An image or tool result part is an error: a chunk cannot carry
// it. After a write error every call returns that error.
type StreamEncoder struct {
	w       *sse.Writer
	usage   bool
	started bool
	closed  bool
	err     error // sticky write error
	last    metering.Usage
	hasLast bool        // last holds an EventUsage
	head    []byte      // `data: {"id":…,"object":…,"created":…,"model":…`
	choices []encChoice // by choice index
	buf     []byte      // the chunk being written
}

type encChoice struct {
	roleSent bool
	finished bool
	tools    int32     // OpenAI tool indexes handed out
	parts    []encPart // by canonical part index
}

type encPart struct {
	kind    canon.PartKind // 0: not started
	tool    int32          // OpenAI tool index of a tool call
	stopped bool
}

// NewStreamEncoder returns a StreamEncoder that writes to w, flushing
// after every chunk when w can flush (see sse.NewWriter). The caller sets
// the response headers first.
func NewStreamEncoder(w io.Writer, opts *StreamOptions) *StreamEncoder {
	e := &StreamEncoder{w: sse.NewWriter(w), buf: make([]byte, 0, 512)}
	if opts != nil {
		e.usage = opts.IncludeUsage
	}
	return e
}

// Encode writes the chunk, if any, that ev calls for.
func (e *StreamEncoder) Encode(ev canon.Event) error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return fmt.Errorf("%w: %s after close", canon.ErrSequence, ev.Kind)
	}
	switch ev.Kind {
	case canon.EventStart:
		if e.started {
			return fmt.Errorf("%w: second start", canon.ErrSequence)
		}
		e.started = true
		h := append(e.head[:0], `data: {"id":`...)
		h = appendJSONString(h, ev.ID)
		h = append(h, `,"object":"chat.completion.chunk","created":`...)
		h = appendUnix(h, ev.Created)
		h = append(h, `,"model":`...)
		h = appendJSONString(h, ev.Model)
		e.head = h
		c, _ := e.choice(0)
		b := e.openChoice(0, c)
		return e.write(e.closeChoice(b, ""))
	case canon.EventError:
		return e.write(appendStreamError(e.buf[:0], ev.Error))
	}
	if !e.started {
		return fmt.Errorf("%w: %s before start", canon.ErrSequence, ev.Kind)
	}
	if ev.Kind == canon.EventUsage {
		e.last, e.hasLast = ev.Usage, true
		return nil
	}
	c, err := e.choice(ev.Choice)
	if err != nil {
		return err
	}
	if c.finished {
		return fmt.Errorf("%w: %s for finished choice %d", canon.ErrSequence, ev.Kind, ev.Choice)
	}
	switch ev.Kind {
	case canon.EventPartStart:
		return e.partStart(ev, c)
	case canon.EventPartDelta, canon.EventPartStop:
		var p *encPart
		if ev.Index >= 0 && ev.Index < len(c.parts) {
			p = &c.parts[ev.Index]
		}
		if p == nil || p.kind == 0 || p.stopped {
			return fmt.Errorf("%w: %s for part %d of choice %d, which is not open", canon.ErrSequence, ev.Kind, ev.Index, ev.Choice)
		}
		if ev.Kind == canon.EventPartStop {
			p.stopped = true
			return nil
		}
		if len(ev.Text) == 0 {
			return nil
		}
		var b []byte
		switch p.kind {
		case canon.PartText:
			b = append(e.openChoice(ev.Choice, c), `"content":"`...)
		case canon.PartRefusal:
			b = append(e.openChoice(ev.Choice, c), `"refusal":"`...)
		case canon.PartToolCall:
			b = append(e.openChoice(ev.Choice, c), `"tool_calls":[{"index":`...)
			b = strconv.AppendInt(b, int64(p.tool), 10)
			b = append(b, `,"function":{"arguments":"`...)
		default: // thinking: no place in Chat Completions
			return nil
		}
		b = appendJSONStringBody(b, ev.Text)
		b = append(b, '"')
		if p.kind == canon.PartToolCall {
			b = append(b, "}}]"...)
		}
		return e.write(e.closeChoice(b, ""))
	case canon.EventFinish:
		c.finished = true
		reason := finishToOpenAI(ev.Finish, ev.RawFinish)
		if reason == "" {
			reason = "stop"
		}
		b := e.openChoice(ev.Choice, c)
		return e.write(e.closeChoice(b, reason))
	}
	return fmt.Errorf("%w: unknown event kind %d", canon.ErrSequence, ev.Kind)
}

// partStart handles an EventPartStart.
func (e *StreamEncoder) partStart(ev canon.Event, c *encChoice) error {
	if ev.Index < 0 || ev.Index >= canon.MaxParts {
		return fmt.Errorf("%w: part index %d out of range", canon.ErrSequence, ev.Index)
	}
	if ev.Index < len(c.parts) && c.parts[ev.Index].kind != 0 {
		return fmt.Errorf("%w: part %d of choice %d started twice", canon.ErrSequence, ev.Index, ev.Choice)
	}
	switch ev.PartKind {
	case canon.PartText, canon.PartRefusal, canon.PartToolCall, canon.PartThinking, canon.PartRedactedThinking:
	case canon.PartImage, canon.PartToolResult:
		return fmt.Errorf("openai: a chat completion chunk cannot carry a %s part", ev.PartKind)
	default:
		return fmt.Errorf("%w: unknown part kind %d", canon.ErrSequence, ev.PartKind)
	}
	for ev.Index >= len(c.parts) {
		c.parts = append(c.parts, encPart{})
	}
	p := &c.parts[ev.Index]
	p.kind = ev.PartKind
	var b []byte
	switch ev.PartKind {
	case canon.PartText:
		b = append(e.openChoice(ev.Choice, c), `"content":""`...)
	case canon.PartRefusal:
		b = append(e.openChoice(ev.Choice, c), `"refusal":""`...)
	case canon.PartToolCall:
		p.tool = c.tools
		c.tools++
		b = append(e.openChoice(ev.Choice, c), `"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(p.tool), 10)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, ev.ID)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendJSONString(b, ev.Name)
		b = append(b, `,"arguments":""}}]`...)
	default:
		return nil // thinking
	}
	return e.write(e.closeChoice(b, ""))
}

// choice returns the state of choice i.
func (e *StreamEncoder) choice(i int) (*encChoice, error) {
	if i < 0 || i >= canon.MaxChoices {
		return nil, fmt.Errorf("%w: choice index %d out of range", canon.ErrSequence, i)
	}
	for i >= len(e.choices) {
		e.choices = append(e.choices, encChoice{})
	}
	return &e.choices[i], nil
}

// openChoice starts a chunk in e.buf up to the inside of choice i's delta,
// with the role if the choice has not had it, and a comma after it if
// something follows: the caller appends the delta's members.
func (e *StreamEncoder) openChoice(i int, c *encChoice) []byte {
	b := append(e.buf[:0], e.head...)
	b = append(b, `,"choices":[{"index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"delta":{`...)
	if !c.roleSent {
		c.roleSent = true
		b = append(b, `"role":"assistant",`...)
	}
	return b
}

// closeChoice ends the chunk that openChoice began: the delta (dropping a
// trailing comma), the finish reason (null if ""), usage null if asked
// for, and the SSE framing.
func (e *StreamEncoder) closeChoice(b []byte, finish string) []byte {
	if b[len(b)-1] == ',' {
		b = b[:len(b)-1]
	}
	b = append(b, `},"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, finish)
	}
	b = append(b, "}]"...)
	if e.usage {
		b = append(b, `,"usage":null`...)
	}
	return append(b, "}\n\n"...)
}

// appendStreamError appends an error event: {"error": {"message", "type",
// "param", "code"}}. An empty type is written as OpenAI names the status
// (null if there is none either).
func appendStreamError(b []byte, ce *canon.Error) []byte {
	var ev canon.Error
	if ce != nil {
		ev = *ce
	}
	typ := ev.Type
	if typ == "" && ev.Status != 0 {
		switch {
		case ev.Status == 429:
			typ = "rate_limit_error"
		case ev.Status >= 500:
			typ = "server_error"
		default:
			typ = "invalid_request_error"
		}
	}
	b = append(b, `data: {"error":{"message":`...)
	b = appendJSONString(b, ev.Message)
	b = append(b, `,"type":`...)
	if typ == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, typ)
	}
	b = append(b, `,"param":null,"code":`...)
	if ev.Code == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, ev.Code)
	}
	return append(b, "}}\n\n"...)
}

// write writes one framed chunk.
func (e *StreamEncoder) write(b []byte) error {
	e.buf = b[:0]
	if err := e.w.WriteRaw(b); err != nil {
		e.err = fmt.Errorf("openai: writing stream: %w", err)
		return e.err
	}
	return nil
}

// Close writes the usage-only chunk (see StreamOptions.IncludeUsage) and
// the terminal event, "data: [DONE]", in one write. Call it only when the
// stream ended as it should; after an EventError, or when the upstream's
// stream was cut short, end the response without it, so that the client
// does not take a partial answer for a whole one. Close is idempotent.
func (e *StreamEncoder) Close() error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return nil
	}
	e.closed = true
	b := e.buf[:0]
	if e.usage && e.hasLast && e.started {
		b = append(b, e.head...)
		b = append(b, `,"choices":[],"usage":`...)
		b = appendUsage(b, e.last)
		b = append(b, "}\n\n"...)
	}
	return e.write(append(b, "data: [DONE]\n\n"...))
}
