package h1

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// writeRequest writes req's request line, headers and body to c and
// flushes them: one write for a request that fits the buffer. It closes
// req's body.
func (c *conn) writeRequest(req *http.Request) (err error) {
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody {
		defer req.Body.Close()
	}
	w := c.bw
	u := req.URL
	w.WriteString(methodOf(req))
	w.WriteByte(' ')
	if u.Opaque != "" {
		w.WriteString(u.Opaque)
	} else if p := u.EscapedPath(); p != "" {
		w.WriteString(p)
	} else {
		w.WriteByte('/')
	}
	if u.ForceQuery || u.RawQuery != "" {
		w.WriteByte('?')
		w.WriteString(u.RawQuery)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	if req.Host != "" {
		w.WriteString(req.Host)
	} else {
		w.WriteString(u.Host)
	}
	w.WriteString("\r\n")
	if _, ok := req.Header["User-Agent"]; !ok {
		w.WriteString("User-Agent: Go-http-client/1.1\r\n")
	}
	for k, vs := range req.Header {
		if framing(k) {
			continue // the transport frames the message itself
		}
		for _, v := range vs { // checked by checkRequest
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	if req.Close {
		w.WriteString("Connection: close\r\n")
	}
	chunked := false
	switch {
	case hasBody && req.ContentLength > 0:
		w.WriteString("Content-Length: ")
		var num [20]byte
		w.Write(strconv.AppendInt(num[:0], req.ContentLength, 10))
		w.WriteString("\r\n")
	case hasBody:
		chunked = true
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		w.WriteString("Content-Length: 0\r\n")
	}
	w.WriteString("\r\n")
	if hasBody {
		if chunked {
			err = writeChunked(w, req.Body)
		} else {
			// No more than ContentLength bytes are sent, so that a longer
			// body cannot put a second request on the connection.
			var n int64
			n, err = io.Copy(w, io.LimitReader(req.Body, req.ContentLength))
			if err == nil && n != req.ContentLength {
				err = fmt.Errorf("h1: request body is %d bytes; ContentLength says %d", n, req.ContentLength)
			}
			if err == nil {
				var one [1]byte
				if m, _ := io.ReadFull(req.Body, one[:]); m > 0 {
					err = fmt.Errorf("h1: request body is longer than ContentLength %d", req.ContentLength)
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return w.Flush()
}

// writeChunked writes body in the chunked encoding, one chunk per read.
func writeChunked(w io.Writer, body io.Reader) error {
	var buf [4 << 10]byte
	var size [18]byte
	for {
		n, err := body.Read(buf[:])
		if n > 0 {
			hdr := append(strconv.AppendInt(size[:0], int64(n), 16), '\r', '\n')
			if _, werr := w.Write(hdr); werr != nil {
				return werr
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if _, werr := io.WriteString(w, "\r\n"); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			_, werr := io.WriteString(w, "0\r\n\r\n")
			return werr
		}
		if err != nil {
			return err
		}
	}
}

// framing reports whether a header is one the transport writes itself
// from the request's fields, in whatever case it was set.
func framing(k string) bool {
	switch len(k) {
	case 4:
		return asciiEqualFold(k, "Host")
	case 7:
		return asciiEqualFold(k, "Trailer")
	case 10:
		return asciiEqualFold(k, "Connection")
	case 14:
		return asciiEqualFold(k, "Content-Length")
	case 17:
		return asciiEqualFold(k, "Transfer-Encoding")
	}
	return false
}

// validTarget reports whether a request target part (a query or an
// opaque URL) can be written as it is: no space or control byte.
func validTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b == 0x7f {
			return false
		}
	}
	return true
}

// validToken reports whether s is a non-empty RFC 9110 token, as header
// names and methods must be.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}

func isTokenByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validValue reports whether s may be sent as a header value: no control
// byte but the tab, so that no value can end its line early.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// validHost reports whether a Host value can be written as it is.
func validHost(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b == 0x7f || b == '/' || b == '?' || b == '#' || b == '@' {
			return false
		}
	}
	return true
}
