package redact

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// ScrubError returns an error whose message is err's without what must not
// reach a log or a client: the query, fragment and user information of
// every absolute URL (a *url.Error from net/http carries the full request
// URL, Gemini's ?key= included), and every credential Mask recognises. A
// *url.Error keeps its Op and its URL's scheme, host and path. ScrubError
// returns nil for nil, and an error it returned before as it is.
//
// The result does not unwrap to err, so that code that walks a chain of
// causes and prints each one (as some error reporters do) cannot print the
// original. errors.Is still sees through it: errors.Is(ScrubError(err),
// context.DeadlineExceeded) is errors.Is(err, context.DeadlineExceeded),
// and so for io.ErrUnexpectedEOF, syscall errors and any sentinel. If err
// has a Timeout or Temporary method somewhere in its chain, as net.Error
// and context.DeadlineExceeded do, so does the result, which then satisfies
// net.Error itself. errors.As for other types of err's chain fails: branch
// on those before scrubbing, at the boundary where an error leaves for a log
// or a client.
func ScrubError(err error) error { return masker{}.scrubError(err) }

// scrubbedError is what ScrubError returns.
type scrubbedError struct {
	msg   string
	cause error // for Is; never returned by Unwrap
}

func (e *scrubbedError) Error() string { return e.msg }

// Is reports whether the original error matches target, as errors.Is sees
// it.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.cause, target) }

// scrubbedNetError is a scrubbed error whose original had a Timeout or a
// Temporary method; it satisfies net.Error.
type scrubbedNetError struct {
	scrubbedError
	timeout, temporary bool
}

func (e *scrubbedNetError) Timeout() bool   { return e.timeout }
func (e *scrubbedNetError) Temporary() bool { return e.temporary }

func (m masker) scrubError(err error) error {
	switch err.(type) {
	case nil:
		return nil
	case *scrubbedError, *scrubbedNetError:
		return err
	}
	se := scrubbedError{msg: m.errorText(err), cause: err}
	var to interface{ Timeout() bool }
	var te interface{ Temporary() bool }
	isTimeout, isTemporary := errors.As(err, &to), errors.As(err, &te)
	if !isTimeout && !isTemporary {
		return &se
	}
	ne := &scrubbedNetError{scrubbedError: se}
	if isTimeout {
		ne.timeout = safely(to.Timeout)
	}
	if isTemporary {
		ne.temporary = safely(te.Temporary)
	}
	return ne
}

// safely calls f, taking a panic (a method called on a nil pointer) for
// false.
func safely(f func() bool) (b bool) {
	defer func() {
		if recover() != nil {
			b = false
		}
	}()
	return f()
}

// errorText returns err's message scrubbed, as ScrubError's. An Error
// method that panics yields a fixed text rather than the panic.
func (m masker) errorText(err error) (msg string) {
	switch e := err.(type) {
	case *scrubbedError:
		return e.msg
	case *scrubbedNetError:
		return e.msg
	case *url.Error:
		if e != nil {
			// Scrubbed parts can read differently once put together, as
			// in `Get "https://h/x-api-key:": v`: scrub the whole too.
			return m.scrubText(e.Op + " " + strconv.Quote(m.scrubURL(e.URL)) + ": " + m.errorText(e.Err))
		}
	}
	defer func() {
		if recover() != nil {
			msg = "[error text unavailable: Error panicked]"
		}
	}()
	if err == nil {
		return "<nil>"
	}
	return m.scrubText(err.Error())
}

// scrubText masks s and removes the queries, fragments and user
// information of its URLs. Removing a query can bring text together that
// Mask then reads differently, so it repeats until nothing changes (in
// practice at most twice).
func (m masker) scrubText(s string) string {
	for range 8 {
		out, changed := m.mask(s, true)
		if !changed {
			break
		}
		s = out
	}
	return s
}

// scrubURL returns raw without user information, query and fragment.
func (m masker) scrubURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Cut what does not parse by hand: from the first '?' or '#',
		// and up to the last '@' before the path.
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		host := 0
		if i := strings.Index(raw, "://"); i >= 0 {
			host = i + 3
		}
		end := len(raw)
		if i := strings.IndexByte(raw[host:], '/'); i >= 0 {
			end = host + i
		}
		if at := strings.LastIndexByte(raw[host:end], '@'); at >= 0 {
			raw = raw[:host] + raw[host+at+1:]
		}
		return m.scrubText(raw)
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return m.scrubText(u.String())
}
