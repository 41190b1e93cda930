package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync/atomic"
)

// How a body ends.
const (
	modeLength  = iota + 1 // after Content-Length bytes
	modeChunked            // after the chunked encoding's last chunk and trailers
	modeClose              // when the server closes the connection
)

// Where a chunked body's reader stands.
const (
	chunkHead = iota // before a chunk's size line
	chunkData        // inside a chunk's data
	chunkEnd         // after a chunk's data, before its CRLF
)

var (
	errChunkSize = errors.New("h1: malformed chunk size")
	errChunkEnd  = errors.New("h1: malformed chunk end")
	errTrailer   = errors.New("h1: trailers too large")
)

// bodyState is the conn's side of reading a body.
type bodyState struct {
	mode  int
	left  int64 // bytes left: of the body (modeLength) or of the chunk (chunkData)
	chunk int   // chunkHead, chunkData or chunkEnd
}

func (b *bodyState) reset(mode int, n int64) {
	*b = bodyState{mode: mode, left: n}
}

// body is a response's Body. Reading it to its end gives the connection
// back to its pool; closing it before then closes the connection. Close
// may be called while a Read is blocked, which it ends.
type body struct {
	c    *conn
	over atomic.Bool // the call has ended, by EOF, failure or Close
	err  error       // what Read returns once over; read and set by Read only
}

func (b *body) Read(p []byte) (int, error) {
	if b.over.Load() {
		if b.err != nil {
			return 0, b.err
		}
		return 0, errClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	c := b.c
	n, err := c.readBody(p)
	if err == nil {
		return n, nil
	}
	if !b.over.CompareAndSwap(false, true) {
		return n, errClosed // Close ended the call during the read
	}
	if err == io.EOF {
		b.err = io.EOF
		c.finish(c.reusable)
		return n, io.EOF
	}
	b.err = c.failure(err)
	c.finish(false)
	return n, b.err
}

func (b *body) Close() error {
	if b.over.CompareAndSwap(false, true) {
		b.c.finish(false)
	}
	return nil
}

// readBody reads the body's next bytes into p (not empty). It returns
// io.EOF at the body's end, with or after its last bytes; a connection that
// ends before then is io.ErrUnexpectedEOF.
func (c *conn) readBody(p []byte) (int, error) {
	s := &c.body
	switch s.mode {
	case modeLength:
		if int64(len(p)) > s.left {
			p = p[:s.left]
		}
		n, err := c.br.Read(p)
		s.left -= int64(n)
		if s.left == 0 {
			return n, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	case modeClose:
		return c.br.Read(p)
	}
	return c.readChunked(p)
}

// readChunked reads chunked data into p. It returns what it has as soon
// as the next step would wait for the network, and reads the last chunk
// and trailers with the data before them when they have arrived.
func (c *conn) readChunked(p []byte) (n int, err error) {
	s := &c.body
	for {
		switch s.chunk {
		case chunkHead:
			if n > 0 && !c.ready() { // the next chunk, or the end, is not all here
				return n, nil
			}
			line, err := c.readChunkLine()
			if err != nil {
				return n, err
			}
			size, ok := parseChunkSize(line)
			if !ok {
				return n, errChunkSize
			}
			if size == 0 {
				if err := c.skipTrailers(); err != nil {
					return n, err
				}
				return n, io.EOF
			}
			s.left, s.chunk = size, chunkData
		case chunkData:
			if n == len(p) || (n > 0 && c.br.Buffered() == 0) {
				return n, nil
			}
			q := p[n:]
			if int64(len(q)) > s.left {
				q = q[:s.left]
			}
			m, err := c.br.Read(q)
			n += m
			s.left -= int64(m)
			if s.left == 0 {
				s.chunk = chunkEnd
			} else if err != nil {
				return n, unexpected(err)
			}
		case chunkEnd:
			if n > 0 && c.br.Buffered() < 2 {
				return n, nil
			}
			crlf, err := c.br.Peek(2)
			if err != nil {
				return n, unexpected(err)
			}
			if crlf[0] != '\r' || crlf[1] != '\n' {
				return n, errChunkEnd
			}
			c.br.Discard(2)
			s.chunk = chunkHead
		}
	}
}

// readChunkLine returns a chunk-size line without its CRLF. As net/http
// does (RFC 9112 errata 7633), it takes no bare LF and no CR inside the
// line: read differently by two parties, they let bytes pass for framing.
func (c *conn) readChunkLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if len(line) > 0 {
		c.nothingRead = false
	}
	if err == bufio.ErrBufferFull {
		return nil, errLineTooLong
	}
	if err != nil {
		return nil, unexpected(err)
	}
	if len(line) < 2 || bytes.IndexByte(line, '\r') != len(line)-2 {
		return nil, errChunkSize
	}
	return line[:len(line)-2], nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseChunkSize parses a chunk-size line: hex digits, then optional
// whitespace and extensions, which are ignored.
func parseChunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, b := range line {
		switch {
		case '0' <= b && b <= '9':
			b -= '0'
		case 'a' <= b && b <= 'f':
			b -= 'a' - 10
		case 'A' <= b && b <= 'F':
			b -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | int64(b)
	}
	return n, true
}

// skipTrailers reads the trailer lines after the last chunk, up to the
// empty line, and drops them.
func (c *conn) skipTrailers() error {
	budget := maxTrailerBytes
	for {
		line, err := c.readLine(budget)
		if err == errLineTooLong {
			return errTrailer
		}
		if err != nil {
			return unexpected(err)
		}
		if len(line) == 0 {
			return nil
		}
		budget -= len(line) + 2
		if budget < 0 {
			return errTrailer
		}
	}
}

// Ready reports whether the next Read returns at once, without waiting
// for the network: some of the body, or its end, has arrived already (or
// the call is over). It errs on the side of false. Like Read, it must not
// be called during a Read; unlike Read, it never reads from the network.
func (b *body) Ready() bool {
	if b.over.Load() {
		return true
	}
	return b.c.ready()
}

// ready is Ready for the call in progress.
func (c *conn) ready() bool {
	s := &c.body
	n := c.br.Buffered()
	switch s.mode {
	case modeLength:
		return s.left == 0 || n > 0
	case modeClose:
		return n > 0
	}
	buf, _ := c.br.Peek(n) // no read: n bytes are buffered
	return chunkReady(buf, s.chunk)
}

// chunkReady reports whether readChunked, standing at chunk with buf
// buffered, returns without reading from the network: it has a data byte
// to return, the body's whole end (the last chunk and an empty trailer
// section) to take, or an error to report.
func chunkReady(buf []byte, chunk int) bool {
	switch chunk {
	case chunkData:
		return len(buf) > 0
	case chunkEnd:
		if len(buf) < 2 {
			return false
		}
		if buf[0] != '\r' || buf[1] != '\n' {
			return true // errChunkEnd
		}
		buf = buf[2:]
	}
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return false
	}
	line, rest := buf[:i+1], buf[i+1:]
	if len(line) < 2 || bytes.IndexByte(line, '\r') != len(line)-2 {
		return true // errChunkSize
	}
	size, ok := parseChunkSize(line[:len(line)-2])
	switch {
	case !ok:
		return true // errChunkSize
	case size > 0:
		return len(rest) > 0
	}
	// The last chunk: the body ends once its trailers have, here only
	// when there are none.
	return len(rest) >= 2 && rest[0] == '\r' && rest[1] == '\n'
}
