package wicket

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// sendTranslated sends a call to a deployment of another dialect: the
// client's front door turns the call into the canonical form (once per
// request), the deployment's provider sends that, and the answer is read
// as canonical events and written in the client's dialect by its door.
// It returns errDialect when the door or the provider cannot translate,
// and a *providers.Error for a call the translation refuses (400 naming
// the feature, 501 for an endpoint), which is the client's to fix.
func (g *Gateway) sendTranslated(ctx context.Context, s *state, d *providers.Deployment, call *providers.Call) (providers.Response, error) {
	tr, ok := s.door.(providers.Translator)
	sender, ok2 := d.Provider.(providers.CanonSender)
	if !ok || !ok2 {
		return nil, errDialect
	}
	if s.canon == nil {
		creq, perr := tr.ToCanon(s.req)
		if perr != nil {
			return nil, perr
		}
		s.canon = creq
	}
	resp, err := sender.SendCanon(ctx, call, s.canon)
	if ue, ok := errors.AsType[*canon.UnsupportedError](err); ok {
		return nil, &providers.Error{Status: http.StatusBadRequest, Code: "unsupported_by_deployment",
			Message: "The deployment serving this model speaks another API dialect, which cannot express a feature of this request (" + string(ue.Feature) + ")."}
	}
	if err != nil {
		return nil, err
	}
	return &translated{door: tr, req: s.req, resp: resp, now: g.cfg.Now}, nil
}

// translated is an answer from an upstream of another dialect, relayed in
// the client's dialect: a providers.Response, so that Forward falls back,
// holds and relays it as it does any other.
type translated struct {
	door providers.Translator
	req  *providers.Request
	resp providers.CanonResponse
	now  func() time.Time
}

func (t *translated) StatusCode() int { return t.resp.StatusCode() }

// RetryAfter implements providers.RetryAdviser with the upstream's advice.
func (t *translated) RetryAfter() time.Duration {
	if ra, ok := t.resp.(providers.RetryAdviser); ok {
		return ra.RetryAfter()
	}
	return 0
}
func (t *translated) Header() http.Header { return http.Header{} } // the door's writer sets its own
func (t *translated) Close() error        { return t.resp.Close() }

// Relay writes the answer in the client's dialect. An upstream error's
// body is in the upstream's dialect and not the client's: the client gets
// a plain error with the same status instead.
func (t *translated) Relay(w http.ResponseWriter) (providers.Result, error) {
	defer t.resp.Close()
	cw := &countingWriter{ResponseWriter: w}
	if wn, ok := t.resp.(providers.WaitNotifier); ok {
		// Flush when the upstream is about to be waited for, not after
		// each event: events that arrived together leave in one write.
		// An uplink's readiness (see uplink.Relay) keeps it from flushing
		// before reads that do not wait.
		cw.deferFlush = true
		wn.OnWait(cw.flushNow)
	}
	if st := t.resp.StatusCode(); st >= 300 {
		e := &providers.Error{Status: st, Code: "upstream_error", Message: "The upstream model provider refused or failed the request.", RequestID: t.req.RequestID}
		body := e.Body(t.door.Dialect())
		w.Header().Set("Content-Type", "application/json")
		n, err := w.Write(body)
		return providers.Result{FirstByte: t.now(), BytesWritten: int64(n)}, err
	}
	out := t.door.NewWriter(cw, t.req)
	var first time.Time
	var events int64
	var finish []string // the upstream's own words, as the same-dialect relays keep them
	res, err := t.resp.Events(func(ev canon.Event) error {
		if ev.Kind == canon.EventFinish && providers.IsFinishReason(ev.RawFinish) && len(finish) < providers.MaxFinishReasons {
			finish = append(finish, ev.RawFinish)
		}
		if err := out.Write(ev); err != nil {
			return err
		}
		if first.IsZero() && cw.n > 0 {
			first = t.now()
		}
		events++
		return nil
	})
	if err == nil {
		err = out.Close()
	}
	if err != nil {
		// What was written before the failure reaches the client; a
		// complete answer's end leaves with the end of the response, or
		// when the gateway flushes it (see Gateway.relay).
		_ = cw.flushNow()
	}
	if first.IsZero() && cw.n > 0 {
		first = t.now()
	}
	res.FirstByte, res.BytesWritten, res.Events, res.FinishReasons = first, cw.n, events, finish
	return res, err
}

// countingWriter counts the body bytes written through it. With
// deferFlush, a flush only marks what was written as pending, and
// flushNow flushes it.
type countingWriter struct {
	http.ResponseWriter
	n          int64
	deferFlush bool
	pending    bool
}

// FlushError flushes, or with deferFlush marks a flush as pending.
func (c *countingWriter) FlushError() error {
	if c.deferFlush {
		c.pending = true
		return nil
	}
	return flushTo(c.ResponseWriter)
}

// Flush implements http.Flusher.
func (c *countingWriter) Flush() { _ = c.FlushError() }

// flushNow flushes a pending flush.
func (c *countingWriter) flushNow() error {
	if !c.pending {
		return nil
	}
	c.pending = false
	return flushTo(c.ResponseWriter)
}

// flushTo flushes w; a writer that cannot flush is not an error.
func flushTo(w http.ResponseWriter) error {
	if err := http.NewResponseController(w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
