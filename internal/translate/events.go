package translate

import (
	"errors"
	"io"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// MaxWholeBody bounds a non-streamed answer that Events reads whole to
// translate.
const MaxWholeBody = 32 << 20

// A Decoder is an upstream dialect's part of Events: it turns the
// dialect's answers into canonical events. The same Decoder reads one
// answer only.
type Decoder interface {
	// Whole converts a whole (non-streamed) answer.
	Whole(body []byte) (*canon.Response, error)
	// Event decodes one server-sent event, passing the canonical events it
	// yields to e.Emit. last reports that the event ended the answer with
	// nothing to follow (Gemini's error object): Events ends there.
	Event(ev sse.Event, e *Emitter) (last bool, err error)
	// End is called when the stream has ended. For a stream that ended
	// before it was complete it returns the cause, an error wrapping
	// providers.ErrIncomplete; otherwise it emits what it held back, and
	// err is a failure to decode.
	End(e *Emitter) (incomplete, err error)
}

// Options says how Events reads an answer. Every field but UsageAtFinish
// must be set.
type Options struct {
	// Name is the upstream's name, as *providers.UpstreamError values
	// carry it.
	Name string
	// Stream reports that the answer is a stream of server-sent events.
	Stream bool
	// UsageAtFinish holds the usage back until the answer has finished
	// (an EventFinish): for dialects whose streams repeat running or
	// partial counts before the final ones. Without it the last
	// EventUsage is the usage.
	UsageAtFinish bool
	// TooLarge is the cause of the error for a whole answer larger than
	// MaxWholeBody.
	TooLarge error
	// Wait, if set, is called each time Events is about to read more from
	// the source and may wait for the upstream (every read, unless the
	// source has a Ready method that tells the read returns at once); its
	// error ends Events. See providers.WaitNotifier and Waiter.
	Wait func() error
}

// Waiter implements providers.WaitNotifier for a CanonResponse that
// embeds it: its Hook goes in Options.Wait.
type Waiter struct{ f func() error }

// OnWait implements providers.WaitNotifier.
func (w *Waiter) OnWait(f func() error) { w.f = f }

// Hook returns the function OnWait registered, or nil.
func (w *Waiter) Hook() func() error { return w.f }

// waitingReader calls wait before each read of src that may wait for
// the upstream: every read, unless src has a Ready method that says the
// read returns at once (an uplink.Exchange's).
type waitingReader struct {
	src   io.Reader
	ready interface{ Ready() bool } // src's, or nil
	wait  func() error
}

func (r waitingReader) Read(p []byte) (int, error) {
	if r.ready == nil || !r.ready.Ready() {
		if err := r.wait(); err != nil {
			return 0, err
		}
	}
	return r.src.Read(p)
}

// Emitter passes canonical events on to Events' emit function, noting the
// usage they carry. A Decoder gets one from Events.
type Emitter struct {
	emit          func(canon.Event) error
	usageAtFinish bool
	res           providers.Result
	err           error // emit's
	finished      bool  // an EventFinish passed
	sawUsage      bool  // an EventUsage passed
	failed        bool  // an EventError passed
}

// Emit passes ev on. Once emit has failed, it passes nothing more and
// returns emit's error.
func (e *Emitter) Emit(ev canon.Event) error {
	if e.err != nil {
		return e.err
	}
	switch ev.Kind {
	case canon.EventUsage:
		e.res.Usage, e.sawUsage = ev.Usage, true
		e.res.UsageKnown = e.finished || !e.usageAtFinish
	case canon.EventFinish:
		e.finished = true
		if e.usageAtFinish {
			e.res.UsageKnown = e.sawUsage
		}
	case canon.EventError:
		e.failed = true
	}
	if err := e.emit(ev); err != nil {
		e.err = err
		return err
	}
	return nil
}

// Failed reports whether an EventError was emitted.
func (e *Emitter) Failed() bool { return e.failed }

// Events reads src, the body of an upstream's 2xx answer, as canonical
// events: a whole answer (at most MaxWholeBody bytes) through d.Whole, a
// stream event by event through d.Event. Each event goes to emit in order,
// and the usage they carry is reported. Errors on the upstream's side (a
// body that cannot be read or decoded, a stream that ended before it was
// complete) are *providers.UpstreamError values; an error from emit is
// returned as it is.
func Events(src io.Reader, d Decoder, o *Options, emit func(canon.Event) error) (providers.Result, error) {
	e := &Emitter{emit: emit, usageAtFinish: o.UsageAtFinish}
	if !o.Stream {
		return e.whole(src, d, o)
	}
	if o.Wait != nil {
		ready, _ := src.(interface{ Ready() bool })
		src = waitingReader{src, ready, o.Wait}
	}
	fail := func(err error) (providers.Result, error) {
		if e.err != nil {
			return e.res, e.err
		}
		return e.res, providers.NewUpstreamError(o.Name, err)
	}
	rd := sse.NewReader(src, nil)
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			incomplete, err := d.End(e)
			if incomplete != nil {
				return e.res, providers.NewUpstreamError(o.Name, incomplete)
			}
			if err != nil {
				return fail(err)
			}
			return e.res, nil
		}
		if err != nil {
			if ue, ok := errors.AsType[*providers.UpstreamError](err); ok {
				return e.res, ue
			}
			return e.res, providers.NewUpstreamError(o.Name, err)
		}
		last, err := d.Event(ev, e)
		if err != nil {
			return fail(err)
		}
		if last {
			return e.res, nil
		}
	}
}

// whole reads and emits a whole answer.
func (e *Emitter) whole(src io.Reader, d Decoder, o *Options) (providers.Result, error) {
	body, err := io.ReadAll(io.LimitReader(src, MaxWholeBody+1))
	if err != nil {
		return e.res, err
	}
	if len(body) > MaxWholeBody {
		return e.res, providers.NewUpstreamError(o.Name, o.TooLarge)
	}
	whole, err := d.Whole(body)
	if err != nil {
		return e.res, providers.NewUpstreamError(o.Name, err)
	}
	if err := whole.Events(func(ev canon.Event) { _ = e.Emit(ev) }); err != nil {
		return e.res, providers.NewUpstreamError(o.Name, err)
	}
	e.res.Usage, e.res.UsageKnown = whole.Usage, whole.UsageKnown
	return e.res, e.err
}
