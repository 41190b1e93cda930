package canon

import (
	"errors"
	"fmt"
	"slices"
)

// Limits on what a stream may address, so that state kept per choice and
// per part stays bounded whatever an upstream sends.
const (
	// MaxChoices is the number of choices a stream may have (choice
	// indexes 0 to MaxChoices-1), as providers.MaxChoices bounds n.
	MaxChoices = 128
	// MaxParts is the number of parts a choice may have (part indexes 0
	// to MaxParts-1).
	MaxParts = 4096
)

// ErrSequence is the error (wrapped, with the offending indexes) for an
// event that breaks the order of a stream: a second start, a part started
// twice, a delta or stop for a part that is not open, an event for a
// finished choice, an index beyond MaxChoices or MaxParts. These are the
// usual translation bugs (duplicated start events, lost tool indexes);
// converters and the Accumulator refuse them rather than guess.
var ErrSequence = errors.New("canon: events out of order")

// Accumulator folds stream events into a whole Response. The zero value is
// ready to use. It keeps the whole answer in memory (that is its purpose),
// with choices and parts bounded by MaxChoices and MaxParts. It is not
// safe for concurrent use.
type Accumulator struct {
	started bool
	resp    Response
	choices []accChoice // by choice index; seen marks the used ones
	failure *Error
}

type accChoice struct {
	seen     bool
	finished bool
	finish   FinishReason
	raw      string
	parts    []accPart // in start order
	pos      []int32   // pos[part index] = position in parts + 1; 0: not started
}

type accPart struct {
	index   int
	kind    PartKind
	id      string
	name    string
	text    []byte // text, or arguments
	sig     []byte
	stopped bool
}

// Add folds e into the answer. It returns an error wrapping ErrSequence for
// an event out of order, and then the Accumulator is unchanged.
func (a *Accumulator) Add(e Event) error {
	switch e.Kind {
	case EventStart:
		if a.started {
			return fmt.Errorf("%w: second start", ErrSequence)
		}
		a.started = true
		a.resp.ID, a.resp.Model, a.resp.Created = e.ID, e.Model, e.Created
		return nil
	case EventError:
		var err Error
		if e.Error != nil {
			err = *e.Error
		}
		a.failure = &err
		return nil
	}
	if !a.started {
		return fmt.Errorf("%w: %s before start", ErrSequence, e.Kind)
	}
	if e.Kind == EventUsage {
		a.resp.Usage, a.resp.UsageKnown = e.Usage, true
		return nil
	}
	c, err := a.choice(e.Choice)
	if err != nil {
		return err
	}
	if c.finished {
		return fmt.Errorf("%w: %s for finished choice %d", ErrSequence, e.Kind, e.Choice)
	}
	switch e.Kind {
	case EventPartStart:
		if e.Index < 0 || e.Index >= MaxParts {
			return fmt.Errorf("%w: part index %d out of range", ErrSequence, e.Index)
		}
		if e.Index < len(c.pos) && c.pos[e.Index] != 0 {
			return fmt.Errorf("%w: part %d of choice %d started twice", ErrSequence, e.Index, e.Choice)
		}
		if e.Index >= len(c.pos) {
			c.pos = append(c.pos, make([]int32, e.Index+1-len(c.pos))...)
		}
		c.parts = append(c.parts, accPart{index: e.Index, kind: e.PartKind, id: e.ID, name: e.Name, sig: []byte(e.Signature)})
		c.pos[e.Index] = int32(len(c.parts))
		c.seen = true
	case EventPartDelta, EventPartStop:
		p := c.part(e.Index)
		if p == nil || p.stopped {
			return fmt.Errorf("%w: %s for part %d of choice %d, which is not open", ErrSequence, e.Kind, e.Index, e.Choice)
		}
		if e.Kind == EventPartStop {
			p.stopped = true
			break
		}
		p.text = append(p.text, e.Text...)
		p.sig = append(p.sig, e.Signature...)
	case EventFinish:
		c.seen, c.finished, c.finish, c.raw = true, true, e.Finish, e.RawFinish
	default:
		return fmt.Errorf("%w: unknown event kind %d", ErrSequence, e.Kind)
	}
	return nil
}

// choice returns the state of choice i, growing the table as needed.
func (a *Accumulator) choice(i int) (*accChoice, error) {
	if i < 0 || i >= MaxChoices {
		return nil, fmt.Errorf("%w: choice index %d out of range", ErrSequence, i)
	}
	if i >= len(a.choices) {
		a.choices = append(a.choices, make([]accChoice, i+1-len(a.choices))...)
	}
	return &a.choices[i], nil
}

func (c *accChoice) part(index int) *accPart {
	if index < 0 || index >= len(c.pos) || c.pos[index] == 0 {
		return nil
	}
	return &c.parts[c.pos[index]-1]
}

// Started reports whether an EventStart was added.
func (a *Accumulator) Started() bool { return a.started }

// Failed returns the failure of an EventError, or nil if none was added.
func (a *Accumulator) Failed() *Error { return a.failure }

// Response returns the answer so far: the choices that had any event, in
// index order, each with its parts in index order (open parts included, as
// they stand). The Response shares no memory with the Accumulator.
func (a *Accumulator) Response() *Response {
	r := a.resp
	r.Choices = nil
	for i := range a.choices {
		c := &a.choices[i]
		if !c.seen {
			continue
		}
		ch := Choice{Index: i, Finish: c.finish, RawFinish: c.raw}
		parts := slices.Clone(c.parts)
		slices.SortStableFunc(parts, func(x, y accPart) int { return x.index - y.index })
		for _, p := range parts {
			part := Part{Kind: p.kind, Signature: string(p.sig)}
			switch p.kind {
			case PartToolCall:
				part.ToolCall = ToolCall{ID: p.id, Name: p.name, Arguments: slices.Clone(p.text)}
			default:
				part.Text = string(p.text)
			}
			ch.Parts = append(ch.Parts, part)
		}
		r.Choices = append(r.Choices, ch)
	}
	return &r
}

// Events replays r as a stream: a start, then for each choice each part's
// start, one delta with its whole text or arguments (none if empty) and
// stop, then the choice's finish (if it has a reason), then the usage (if
// known). Part indexes are positions in Choice.Parts. It returns an error,
// before emitting anything, if a part cannot be streamed (images and tool
// results have no delta form) or a choice index is out of range.
func (r *Response) Events(emit func(Event)) error {
	for _, c := range r.Choices {
		if c.Index < 0 || c.Index >= MaxChoices || len(c.Parts) > MaxParts {
			return fmt.Errorf("%w: choice %d out of range", ErrSequence, c.Index)
		}
		for _, p := range c.Parts {
			if p.Kind == PartImage || p.Kind == PartToolResult {
				return fmt.Errorf("canon: a %s part cannot be streamed", p.Kind)
			}
		}
	}
	emit(Event{Kind: EventStart, ID: r.ID, Model: r.Model, Created: r.Created})
	for _, c := range r.Choices {
		for i, p := range c.Parts {
			start := Event{Kind: EventPartStart, Choice: c.Index, Index: i, PartKind: p.Kind, Signature: p.Signature}
			var text []byte
			if p.Kind == PartToolCall {
				start.ID, start.Name = p.ToolCall.ID, p.ToolCall.Name
				text = p.ToolCall.Arguments
			} else {
				text = []byte(p.Text)
			}
			emit(start)
			if len(text) > 0 {
				emit(Event{Kind: EventPartDelta, Choice: c.Index, Index: i, Text: text})
			}
			emit(Event{Kind: EventPartStop, Choice: c.Index, Index: i})
		}
		if c.Finish != FinishUnset || c.RawFinish != "" {
			emit(Event{Kind: EventFinish, Choice: c.Index, Finish: c.Finish, RawFinish: c.RawFinish})
		}
	}
	if r.UsageKnown {
		emit(Event{Kind: EventUsage, Usage: r.Usage})
	}
	return nil
}
