package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// DefaultMaxEventSize is the MaxEventSize a Reader uses when its options
// leave it zero: 1 MiB.
const DefaultMaxEventSize = 1 << 20

// readSize is the Reader's initial buffer size, and how much it may hold
// beyond MaxEventSize: a whole event plus the next read.
const readSize = 4096

// maxEmptyReads is how many reads in a row may return no bytes and no error
// before the Reader gives up with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// bom is the UTF-8 byte order mark.
const bom = "\xEF\xBB\xBF"

// ErrEventTooLarge is returned by [Reader.Next] for a block whose raw bytes
// exceed [ReaderOptions.MaxEventSize]. The Reader cannot go on after it.
var ErrEventTooLarge = errors.New("sse: event too large")

// errBadRead reports an io.Reader that returned an impossible count. Next
// wraps it as "sse: read: ...".
var errBadRead = errors.New("invalid count from Read")

// ReaderOptions configures a Reader. A nil *ReaderOptions means the zero
// value: every field at its default.
type ReaderOptions struct {
	// MaxEventSize bounds the raw bytes of one block, from its first line
	// through the blank line that ends it (the length of [Event.Raw]). A
	// larger block, whether or not it would be dispatched and whether or not
	// the stream finishes it, makes Next return [ErrEventTooLarge]. If zero
	// or negative, DefaultMaxEventSize is used.
	MaxEventSize int

	// All makes Next also return blocks that have no "data" line, with
	// [Event.NoData] set: comment-only keep-alives and blocks that only set
	// "id", "retry" or "event". The standard does not dispatch those; a proxy
	// that forwards [Event.Raw] wants them anyway. If false, they are
	// skipped (an "id" they carry still sets the last event ID).
	All bool
}

// Reader reads events from an event stream. Create one with [NewReader];
// the zero value is not usable. A Reader is not safe for concurrent use.
type Reader struct {
	rd  io.Reader
	max int
	all bool

	// buf[start:end] holds the bytes read and not yet released: the block
	// being parsed from start, complete lines up to pos, and bytes from pos
	// on that do not yet hold a complete line. buf[pos:scan] is known to
	// hold no CR or LF.
	buf   []byte
	start int
	pos   int
	scan  int
	end   int

	// lf is the index of the first LF at or after scan, if it is known
	// (lf >= scan); otherwise buf[scan:lfFrom] is known to hold no LF. This
	// keeps lines that end in CR from searching the same bytes for an LF
	// again and again.
	lf     int
	lfFrom int

	rerr    error // from rd; no more reads once set (io.EOF included)
	err     error // sticky: every later Next returns it
	bomDone bool  // the stream start has been checked for a BOM

	// The block being parsed. Offsets are relative to start, so that they
	// survive moving the block to the front of buf.
	inBlock  bool // a non-blank line of the block has been seen
	prevCRLF bool // the block's last line ended in CRLF
	typOff   int
	typLen   int
	ndata    int // number of "data" lines
	dataOff  int // the single data value, while ndata == 1
	dataLen  int
	data     []byte // the joined data values, once ndata > 1
	retry    time.Duration

	id []byte // last event ID; outlives blocks, so it is copied
}

// NewReader returns a Reader that reads the event stream from rd, with the
// options in opts (nil means defaults). The Reader does its own buffering;
// rd need not be buffered.
func NewReader(rd io.Reader, opts *ReaderOptions) *Reader {
	r := &Reader{max: DefaultMaxEventSize}
	if opts != nil {
		if opts.MaxEventSize > 0 {
			r.max = opts.MaxEventSize
		}
		r.all = opts.All
	}
	r.buf = make([]byte, readSize)
	r.Reset(rd)
	return r
}

// Reset discards the Reader's state and makes it read a new stream from rd,
// with the same options, keeping its buffer. Events returned before are no
// longer valid. Reset lets a pool of Readers serve many streams.
func (r *Reader) Reset(rd io.Reader) {
	r.rd = rd
	r.start, r.pos, r.scan, r.end = 0, 0, 0, 0
	r.lf, r.lfFrom = -1, 0
	r.rerr, r.err = nil, nil
	r.bomDone = false
	r.resetBlock()
	r.id = r.id[:0]
}

// Next returns the next event. At the end of the stream it returns io.EOF,
// discarding an unfinished block as the standard requires; if the
// underlying reader fails, Next returns its error, wrapped. It returns
// [ErrEventTooLarge] for a block larger than the limit. After an error,
// every later call returns the same error.
//
// The returned Event aliases the Reader's buffers and is valid only until
// the next call to Next or Reset; see [Event.Clone].
func (r *Reader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	r.start = r.pos // release the previous event
	for {
		if ev, ok := r.parse(); ok {
			return ev, nil
		}
		if r.err != nil {
			return Event{}, r.err
		}
		// buf[start:end] all belongs to the unfinished block (or line), so
		// the block is at least that long; a pending BOM is not counted.
		if r.bomDone && r.end-r.start > r.max {
			r.err = ErrEventTooLarge
			return Event{}, r.err
		}
		if r.rerr != nil {
			r.err = r.rerr
			if r.err != io.EOF {
				r.err = fmt.Errorf("sse: read: %w", r.err)
			}
			return Event{}, r.err
		}
		r.fill()
	}
}

// fill reads more bytes into buf, first moving the unreleased bytes to the
// front and growing buf if it is full. It sets r.rerr if the read fails.
func (r *Reader) fill() {
	if r.start > 0 {
		n := copy(r.buf, r.buf[r.start:r.end])
		r.pos -= r.start
		r.scan -= r.start
		r.lf -= r.start // stays below scan if it was
		r.lfFrom -= r.start
		r.end = n
		r.start = 0
	}
	if r.end == len(r.buf) {
		// Next checked that end <= max, so the limit leaves room to grow.
		nb := make([]byte, min(2*len(r.buf), r.max+readSize))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for range maxEmptyReads {
		n, err := r.rd.Read(r.buf[r.end:])
		if n < 0 || n > len(r.buf)-r.end {
			r.rerr = errBadRead
			return
		}
		r.end += n
		if err != nil {
			r.rerr = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.rerr = io.ErrNoProgress
}

// parse consumes the complete lines in buf until a block is ready to be
// returned. It reports false when it needs more bytes, or when it set r.err.
func (r *Reader) parse() (Event, bool) {
	atEOF := r.rerr != nil // no more bytes will come
	for {
		if !r.bomDone {
			rest := r.buf[r.pos:r.end]
			if len(rest) < len(bom) && !atEOF && string(rest) == bom[:len(rest)] {
				return Event{}, false
			}
			if len(rest) >= len(bom) && string(rest[:len(bom)]) == bom {
				r.pos += len(bom)
				r.start, r.scan = r.pos, r.pos
			}
			r.bomDone = true
		}
		eol, next, ok := r.lineEnd(atEOF)
		if !ok {
			return Event{}, false
		}
		if eol > r.pos {
			r.inBlock = true
			r.prevCRLF = next-eol == 2
			r.field(r.pos, eol)
			r.pos, r.scan = next, next
			if next-r.start > r.max {
				r.err = ErrEventTooLarge
				return Event{}, false
			}
			continue
		}
		// A blank line.
		r.pos, r.scan = next, next
		if !r.inBlock {
			r.start = next // between blocks: belongs to no event
			continue
		}
		if next-r.start > r.max {
			r.err = ErrEventTooLarge
			return Event{}, false
		}
		ev := r.event(next)
		r.resetBlock()
		if !ev.NoData || r.all {
			return ev, true
		}
		r.start = next // a skipped block
	}
}

// lineEnd finds the end of the line that starts at pos: the index of its
// CR or LF, and the index after its line ending. It reports false if
// buf holds no complete line yet.
func (r *Reader) lineEnd(atEOF bool) (eol, next int, ok bool) {
	if r.lf < r.scan {
		from := max(r.scan, r.lfFrom)
		if i := bytes.IndexByte(r.buf[from:r.end], '\n'); i >= 0 {
			r.lf = from + i
		} else {
			r.lf, r.lfFrom = -1, r.end
		}
	}
	seg := r.buf[r.scan:r.end]
	lf := -1
	if r.lf >= r.scan {
		lf = r.lf - r.scan
		seg = seg[:lf]
	}
	if cr := bytes.IndexByte(seg, '\r'); cr >= 0 {
		eol = r.scan + cr
		switch {
		case eol+1 < r.end:
			if r.buf[eol+1] == '\n' {
				return eol, eol + 2, true
			}
			return eol, eol + 1, true
		case atEOF, eol == r.pos && !r.waitForLF(eol+1):
			return eol, eol + 1, true
		}
		// The CR is the last byte so far; an LF may follow.
		r.scan = eol
		return 0, 0, false
	}
	if lf >= 0 {
		eol = r.scan + lf
		return eol, eol + 1, true
	}
	r.scan = r.end
	return 0, 0, false
}

// waitForLF decides, for a blank line ending in a CR that is the last byte
// read so far, whether to wait for the next byte in case it is an LF (the
// CR being half of a CRLF) rather than end the block now. Not waiting
// delivers events of a CR-only stream without delay; waiting keeps a CRLF
// stream's Raw exact. It waits when the block's previous line ended in CRLF
// or when one more byte would take the block over the limit (so that the
// limit does not depend on where reads split the stream).
func (r *Reader) waitForLF(next int) bool {
	return r.inBlock && (r.prevCRLF || next-r.start >= r.max)
}

// field parses the non-blank line buf[ls:eol].
func (r *Reader) field(ls, eol int) {
	line := r.buf[ls:eol]
	if line[0] == ':' {
		return // a comment
	}
	name := line
	vs := eol // the value starts here
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name = line[:i]
		vs = ls + i + 1
		if vs < eol && r.buf[vs] == ' ' {
			vs++
		}
	}
	value := r.buf[vs:eol]
	switch string(name) {
	case "data":
		switch r.ndata {
		case 0:
			r.dataOff, r.dataLen = vs-r.start, eol-vs
		case 1:
			first := r.start + r.dataOff
			r.data = append(r.data[:0], r.buf[first:first+r.dataLen]...)
			fallthrough
		default:
			r.data = append(r.data, '\n')
			r.data = append(r.data, value...)
		}
		r.ndata++
	case "event":
		r.typOff, r.typLen = vs-r.start, eol-vs
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			r.id = append(r.id[:0], value...)
		}
	case "retry":
		if d, ok := parseRetry(value); ok {
			r.retry = d
		}
	}
}

// event returns the finished block that ends before buf[next].
func (r *Reader) event(next int) Event {
	ev := Event{
		ID:    r.id[:len(r.id):len(r.id)],
		Retry: r.retry,
		Raw:   r.buf[r.start:next:next],
	}
	if r.typLen > 0 {
		i := r.start + r.typOff
		ev.Type = r.buf[i : i+r.typLen : i+r.typLen]
	}
	switch r.ndata {
	case 0:
		ev.NoData = true
	case 1:
		i := r.start + r.dataOff
		ev.Data = r.buf[i : i+r.dataLen : i+r.dataLen]
	default:
		ev.Data = r.data[:len(r.data):len(r.data)]
	}
	return ev
}

// resetBlock clears the state of the block being parsed.
func (r *Reader) resetBlock() {
	r.inBlock, r.prevCRLF = false, false
	r.typOff, r.typLen = 0, 0
	r.ndata, r.dataOff, r.dataLen = 0, 0, 0
	r.retry = 0
}

// parseRetry parses a "retry" value: milliseconds, ASCII digits only. It
// refuses an empty value and one too large for a time.Duration.
func parseRetry(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	const limit = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		ms = ms*10 + int64(c-'0')
		if ms > limit {
			return 0, false
		}
	}
	return time.Duration(ms) * time.Millisecond, true
}
