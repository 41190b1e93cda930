package h1

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// head is a response head as read: the header lines' names and values laid
// out in one buffer, made into an http.Header with one string.
type head struct {
	buf    []byte
	fields []field
}

// field locates one header line's name and value in head.buf.
type field struct{ k0, k1, v0, v1 int }

var (
	errMalformedStatus = errors.New("h1: malformed status line")
	errMalformedHeader = errors.New("h1: malformed header line")
	errHeadTooLarge    = errors.New("h1: response head too large")
	errTooMany1xx      = errors.New("h1: too many informational responses")
	errSwitching       = errors.New("h1: unexpected 101 Switching Protocols")
	errContentLength   = errors.New("h1: invalid Content-Length")
	errTransferCoding  = errors.New("h1: unsupported Transfer-Encoding")
)

// readResponse reads the answer to req up to its body, skipping
// informational (1xx) answers, and sets c.body up to read the body.
func (c *conn) readResponse(req *http.Request) (*http.Response, error) {
	for n := 0; ; n++ {
		if n > max1xx {
			return nil, errTooMany1xx
		}
		budget := maxHeadBytes
		line, err := c.readLine(budget)
		if err != nil {
			return nil, err
		}
		budget -= len(line)
		major, minor, code, reason, ok := parseStatusLine(line)
		if !ok {
			return nil, errMalformedStatus
		}
		status := statusText(code, reason)
		if err := c.readFields(budget); err != nil {
			return nil, err
		}
		if code == http.StatusSwitchingProtocols {
			return nil, errSwitching
		}
		if code < 200 {
			continue
		}
		resp := &http.Response{
			Status: status, StatusCode: code,
			Proto: protoText(major, minor), ProtoMajor: major, ProtoMinor: minor,
			Request: req,
		}
		if err := c.frame(resp, req, minor); err != nil {
			return nil, err
		}
		return resp, nil
	}
}

// parseStatusLine parses "HTTP/1.x NNN reason".
func parseStatusLine(line []byte) (major, minor, code int, reason []byte, ok bool) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return 0, 0, 0, nil, false
	}
	switch line[7] {
	case '0':
	case '1':
		minor = 1
	default:
		return 0, 0, 0, nil, false
	}
	d := line[9:12]
	if d[0] < '1' || d[0] > '9' || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9' {
		return 0, 0, 0, nil, false
	}
	code = int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	switch {
	case len(line) == 12:
	case line[12] == ' ':
		reason = line[13:]
	default:
		return 0, 0, 0, nil, false
	}
	return 1, minor, code, reason, true
}

// readFields reads header lines up to the empty line into c.head, in at
// most budget bytes. An obsolete folded line joins the one before with a
// space.
func (c *conn) readFields(budget int) error {
	h := &c.head
	h.buf, h.fields = h.buf[:0], h.fields[:0]
	for {
		line, err := c.readLine(budget)
		if err != nil {
			if err == errLineTooLong {
				return errHeadTooLarge
			}
			return err
		}
		if len(line) == 0 {
			return nil
		}
		budget -= len(line) + 2
		if budget < 0 {
			return errHeadTooLarge
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(h.fields) == 0 {
				return errMalformedHeader
			}
			v := bytes.Trim(line, " \t")
			if !validValueBytes(v) {
				return errMalformedHeader
			}
			f := &h.fields[len(h.fields)-1]
			if len(v) > 0 {
				if f.v1 > f.v0 {
					h.buf = append(h.buf, ' ')
				}
				h.buf = append(h.buf, v...)
				f.v1 = len(h.buf)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return errMalformedHeader
		}
		name, v := line[:colon], bytes.Trim(line[colon+1:], " \t")
		if !validValueBytes(v) {
			return errMalformedHeader
		}
		var f field
		f.k0 = len(h.buf)
		for i, b := range name {
			if !isTokenByte(b) {
				return errMalformedHeader
			}
			upper := i == 0 || name[i-1] == '-'
			switch {
			case upper && 'a' <= b && b <= 'z':
				b -= 'a' - 'A'
			case !upper && 'A' <= b && b <= 'Z':
				b += 'a' - 'A'
			}
			h.buf = append(h.buf, b)
		}
		f.k1 = len(h.buf)
		h.buf = append(h.buf, v...)
		f.v0, f.v1 = f.k1, len(h.buf)
		h.fields = append(h.fields, f)
	}
}

func validValueBytes(v []byte) bool {
	for _, b := range v {
		if (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// frame builds resp's Header from c.head and decides how its body is
// delimited and whether the connection outlives it (RFC 9112, section 6).
func (c *conn) frame(resp *http.Response, req *http.Request, minor int) error {
	h := &c.head
	s := string(h.buf)
	hdr := make(http.Header, len(h.fields))
	slab := make([]string, len(h.fields))
	var te, cl []string
	for i, f := range h.fields {
		name, ok := c.t.names[s[f.k0:f.k1]]
		if !ok {
			name = s[f.k0:f.k1]
		}
		v := s[f.v0:f.v1]
		if old, ok := hdr[name]; ok {
			hdr[name] = append(old, v)
		} else {
			slab[i] = v
			hdr[name] = slab[i : i+1 : i+1]
		}
		switch name {
		case "Transfer-Encoding":
			te = hdr[name]
		case "Content-Length":
			cl = hdr[name]
		case "Connection":
			if hasToken(v, "close") {
				c.reusable = false
			}
		}
	}
	resp.Header = hdr
	if minor == 0 {
		c.reusable = false // HTTP/1.0 keep-alive is not worth its rules here
	}
	resp.ContentLength = -1
	noBody := req.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent ||
		resp.StatusCode == http.StatusNotModified
	switch {
	case noBody:
		resp.ContentLength = 0
		if req.Method == http.MethodHead && len(cl) == 1 {
			if n, ok := parseLength(cl[0]); ok {
				resp.ContentLength = n
			}
		}
		resp.Close = !c.reusable
		return nil
	case te != nil:
		if len(te) != 1 || !asciiEqualFold(te[0], "chunked") {
			return errTransferCoding
		}
		if cl != nil {
			delete(hdr, "Content-Length")
			c.reusable = false // both framings: RFC 9112 says close after
		}
		delete(hdr, "Transfer-Encoding")
		resp.TransferEncoding = []string{"chunked"}
		c.body.reset(modeChunked, 0)
	case cl != nil:
		n, ok := parseLength(cl[0])
		for _, v := range cl[1:] {
			if v != cl[0] {
				ok = false
			}
		}
		if !ok {
			return errContentLength
		}
		resp.ContentLength = n
		if n == 0 {
			resp.Close = !c.reusable
			return nil
		}
		c.body.reset(modeLength, n)
	default:
		c.reusable = false
		c.body.reset(modeClose, 0)
	}
	resp.Close = !c.reusable
	resp.Body = &body{c: c}
	return nil
}

// parseLength parses a Content-Length value: decimal digits only.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// hasToken reports whether the comma-separated list v holds token,
// ignoring case.
func hasToken(v, token string) bool {
	for v != "" {
		var item string
		if i := strings.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			item, v = v, ""
		}
		if asciiEqualFold(strings.Trim(item, " \t"), token) {
			return true
		}
	}
	return false
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// statusText returns resp.Status for code and reason, without an
// allocation for the usual pairs.
func statusText(code int, reason []byte) string {
	if string(reason) == http.StatusText(code) {
		switch code {
		case 200:
			return "200 OK"
		case 400:
			return "400 Bad Request"
		case 401:
			return "401 Unauthorized"
		case 404:
			return "404 Not Found"
		case 429:
			return "429 Too Many Requests"
		case 500:
			return "500 Internal Server Error"
		case 502:
			return "502 Bad Gateway"
		case 503:
			return "503 Service Unavailable"
		}
	}
	if reason == nil {
		return strconv.Itoa(code)
	}
	return strconv.Itoa(code) + " " + string(reason)
}

func protoText(major, minor int) string {
	if major == 1 && minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// commonNames returns the canonical header names an upstream's answers
// usually carry, so that reading them makes no string.
func commonNames() map[string]string {
	names := []string{
		"Accept-Ranges", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Age",
		"Alt-Svc", "Anthropic-Organization-Id", "Anthropic-Ratelimit-Input-Tokens-Limit",
		"Anthropic-Ratelimit-Input-Tokens-Remaining", "Anthropic-Ratelimit-Input-Tokens-Reset",
		"Anthropic-Ratelimit-Output-Tokens-Limit", "Anthropic-Ratelimit-Output-Tokens-Remaining",
		"Anthropic-Ratelimit-Output-Tokens-Reset", "Anthropic-Ratelimit-Requests-Limit",
		"Anthropic-Ratelimit-Requests-Remaining", "Anthropic-Ratelimit-Requests-Reset",
		"Anthropic-Ratelimit-Tokens-Limit", "Anthropic-Ratelimit-Tokens-Remaining",
		"Anthropic-Ratelimit-Tokens-Reset", "Cache-Control", "Cf-Cache-Status", "Cf-Ray",
		"Connection", "Content-Encoding", "Content-Length", "Content-Type", "Date", "Etag",
		"Expires", "Keep-Alive", "Last-Modified", "Openai-Model", "Openai-Organization",
		"Openai-Processing-Ms", "Openai-Project", "Openai-Version", "Pragma", "Request-Id",
		"Retry-After", "Retry-After-Ms", "Server", "Server-Timing", "Set-Cookie",
		"Strict-Transport-Security", "Trailer", "Transfer-Encoding", "Vary", "Via",
		"X-Cloud-Trace-Context", "X-Content-Type-Options", "X-Envoy-Upstream-Service-Time",
		"X-Frame-Options", "X-Goog-Api-Client", "X-Ratelimit-Limit-Requests",
		"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Requests",
		"X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Requests",
		"X-Ratelimit-Reset-Tokens", "X-Request-Id", "X-Robots-Tag", "X-Xss-Protection",
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = n
	}
	return m
}
