package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wicket-gw/wicket/internal/inflight"
)

const (
	readBufferSize  = 4 << 10
	writeBufferSize = 8 << 10
	// maxHeadBytes bounds a response's status line and headers together,
	// and maxTrailerBytes a chunked body's trailers.
	maxHeadBytes    = 1 << 20
	maxTrailerBytes = 64 << 10
	// keepBuffer is the most a connection keeps of the buffers it grew
	// for a long response head.
	keepBuffer = 64 << 10
	// max1xx bounds the informational answers skipped before the final one.
	max1xx = 10
)

// errClosed is what a body's Read returns after Close.
var errClosed = errors.New("h1: read on closed response body")

// aLongTimeAgo is the deadline that unblocks a read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// conn is one keep-alive connection. One call at a time uses it: the
// fields below the line belong to the call in progress.
type conn struct {
	t         *Transport
	p         *pool // set by pool.get's caller before the first call
	nc        net.Conn
	raw       syscall.RawConn // of the TCP connection under nc, for alive; nil if none
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	peekFn    func(fd uintptr) bool // c.peek, made once
	peekAlive bool                  // what the last peek found

	// The call in progress. ctx, headBy and headLate are read by check
	// while the call is in the Transport's set of calls.
	ctx         context.Context
	headBy      atomic.Int64 // when the head is late, on the Transport's clock; 0 once it came
	headLate    bool         // check interrupted the call for its late head
	interrupted atomic.Bool
	link        inflight.Link[conn] // in the Transport's set of calls
	nothingRead bool                // no byte of an answer arrived
	reusable    bool                // the call leaves the connection fit for another
	body        bodyState
	head        head
	line        []byte // a line longer than br's buffer, put together
}

func newConn(t *Transport, nc net.Conn) *conn {
	c := &conn{t: t, nc: nc, br: bufio.NewReaderSize(nc, readBufferSize), bw: bufio.NewWriterSize(nc, writeBufferSize)}
	c.peekFn = c.peek
	under := nc
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok {
		under = tc.NetConn()
	}
	if sc, ok := under.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.raw = rc
		}
	}
	return c
}

// interrupt unblocks the call's reads and writes once its context ends or
// its head is late; check calls it.
func (c *conn) interrupt() {
	c.interrupted.Store(true)
	c.nc.SetDeadline(aLongTimeAgo)
}

func (c *conn) close() { c.nc.Close() }

// failure is what a call reports for err: errHeaderTimeout when the head
// was late, or the context's cause when the context ended it.
func (c *conn) failure(err error) error {
	if c.interrupted.Load() {
		if c.headLate {
			return errHeaderTimeout
		}
		return context.Cause(c.ctx)
	}
	return err
}

// roundTrip sends req on c and reads the answer's head. On failure the
// call is over and c closed; nothingRead tells whether any byte arrived.
func (c *conn) roundTrip(req *http.Request) (*http.Response, error) {
	c.ctx = req.Context()
	c.interrupted.Store(false)
	c.headLate = false
	c.nothingRead = true
	c.reusable = !req.Close
	if d := c.t.o.ResponseHeaderTimeout; d > 0 {
		c.headBy.Store(c.t.now() + int64(d))
	}
	c.t.calls.Add(&c.link, c, watchEvery, (*conn).check)
	if err := c.writeRequest(req); err != nil {
		err = c.failure(err)
		c.finish(false)
		return nil, err
	}
	resp, err := c.readResponse(req)
	c.headBy.Store(0)
	if err != nil {
		err = c.failure(err)
		c.finish(false)
		return nil, err
	}
	if resp.Body == nil {
		c.finish(c.reusable)
		resp.Body = http.NoBody
		return resp, nil
	}
	return resp, nil
}

// errHeaderTimeout is the failure of a call whose answer's head took
// longer than ResponseHeaderTimeout.
var errHeaderTimeout = &timeoutError{"h1: timeout awaiting response headers"}

type timeoutError struct{ msg string }

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// finish ends the call in progress: c goes back to its pool if reuse and
// the context's interruption has not fired, else it is closed.
func (c *conn) finish(reuse bool) {
	c.t.calls.Remove(&c.link) // no interruption from here on
	c.ctx = nil
	c.headBy.Store(0)
	if reuse && c.interrupted.Load() {
		reuse = false // c's deadline is spent
	}
	if !reuse {
		c.close() // a Read may still be running: touch nothing it uses
		return
	}
	// A rare long head or line is not kept for the connection's life.
	if cap(c.line) > keepBuffer {
		c.line = nil
	}
	if cap(c.head.buf) > keepBuffer {
		c.head.buf = nil
	}
	c.p.put(c)
}

// readLine returns the next line without its line ending; it is valid
// until the next read. A line longer than limit is an error.
func (c *conn) readLine(limit int) ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if len(line) > 0 {
		c.nothingRead = false
	}
	if err == bufio.ErrBufferFull {
		c.line = append(c.line[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(c.line) > limit {
				return nil, errLineTooLong
			}
			line, err = c.br.ReadSlice('\n')
			c.line = append(c.line, line...)
		}
		line = c.line
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if len(line) > limit {
		return nil, errLineTooLong
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

var errLineTooLong = errors.New("h1: response line too long")
