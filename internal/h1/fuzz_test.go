package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// pipeResult is what a call over pipeCall produced.
type pipeResult struct {
	resp    *http.Response
	body    []byte // what the body gave before its end or failure
	headErr error  // from the round trip
	bodyErr error  // from reading the body
}

// pipeCall makes one call of method on a conn over net.Pipe whose other
// end drains the request and answers with answer, then closes. It reads
// the head and the whole body, and fails tb if that takes more than ten
// seconds (the request's context ends it then).
func pipeCall(tb testing.TB, tr *Transport, method string, answer []byte) pipeResult {
	cli, srv := net.Pipe()
	c := newConn(tr, cli)
	p := &pool{t: tr, key: hostKey{addr: "fuzz.invalid:80"}, addr: "fuzz.invalid:80"}
	c.p = p
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(io.Discard, srv) // the request
	}()
	go func() {
		defer wg.Done()
		srv.Write(answer)
		srv.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://fuzz.invalid/", nil)
	if err != nil {
		tb.Fatal(err)
	}
	var r pipeResult
	r.resp, r.headErr = c.roundTrip(req)
	if r.headErr == nil {
		r.body, r.bodyErr = io.ReadAll(r.resp.Body)
		r.resp.Body.Close()
	}
	hung := ctx.Err() != nil
	srv.Close()
	cli.Close()
	wg.Wait()
	p.closeIdle()
	if hung {
		tb.Fatalf("the call hung until its context's deadline: head %v, body %v", r.headErr, r.bodyErr)
	}
	return r
}

// stdResponse reads data as net/http's Transport would the answer to a
// POST: http.ReadResponse, skipping 1xx answers as Transport does (and h1,
// up to the same count), then the whole body.
func stdResponse(data []byte) (*http.Response, []byte, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	req, _ := http.NewRequest(http.MethodPost, "http://fuzz.invalid/", nil)
	for range max1xx + 1 {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			// Transport hands the connection over; h1 refuses it by
			// design. Nothing to compare.
			return nil, nil, errors.New("101")
		}
		if 100 <= resp.StatusCode && resp.StatusCode < 200 {
			continue
		}
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	return nil, nil, errors.New("too many 1xx")
}

// maxSeed bounds the seeds taken from the table tests: the fuzzer spends
// long minimizing what it derives from large ones, and the tables cover
// the limits (line and head sizes) already.
const maxSeed = 1 << 10

// seedAnswers adds the answers of the package's table tests.
func seedAnswers(f *testing.F) {
	for _, tc := range framingCases {
		if len(tc.answer) <= maxSeed {
			f.Add([]byte(tc.answer))
		}
	}
	for _, tc := range malformedCases {
		if len(tc.answer) <= maxSeed {
			f.Add([]byte(tc.answer))
		}
	}
}

// FuzzResponse feeds arbitrary bytes as a server's answer. The call must
// neither panic nor hang, and whenever both h1 and net/http read the head
// and the whole body without error they must agree on the status code, the
// body and ContentLength.
func FuzzResponse(f *testing.F) {
	seedAnswers(f)
	f.Add([]byte("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n 0\r\n\r\n0123456789"))
	tr, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := pipeCall(t, tr, http.MethodPost, data)
		if r.headErr == nil && r.resp.StatusCode < 200 {
			t.Errorf("h1 returned an informational answer: %d", r.resp.StatusCode)
		}
		if r.headErr != nil || r.bodyErr != nil {
			return
		}
		ref, refBody, refErr := stdResponse(data)
		if refErr != nil {
			return // h1 is laxer here; only agreement between successes is asked
		}
		// Exception: net/http ignores Transfer-Encoding in an HTTP/1.0
		// message (transfer.go, golang.org/issue/12785) and frames it by
		// Content-Length or the close; h1 decodes it as chunked and closes
		// the connection after. RFC 9112 §6.1 calls such framing faulty,
		// so neither reading is the right one.
		if r.resp.ProtoMinor == 0 && r.resp.TransferEncoding != nil {
			return
		}
		if r.resp.StatusCode != ref.StatusCode {
			t.Errorf("StatusCode: h1 %d; net/http %d", r.resp.StatusCode, ref.StatusCode)
		}
		if !bytes.Equal(r.body, refBody) {
			t.Errorf("body: h1 %q; net/http %q", r.body, refBody)
		}
		if r.resp.ContentLength != ref.ContentLength {
			t.Errorf("ContentLength: h1 %d; net/http %d", r.resp.ContentLength, ref.ContentLength)
		}
	})
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// stdChunked decodes body with httputil's chunked reader. When that fails
// it also returns the last line the reader took: it is fed one byte at a
// time, so it has read nothing past the line its error is about.
func stdChunked(body []byte) (out, lastLine []byte, err error) {
	cr := &countReader{r: bytes.NewReader(body)}
	out, err = io.ReadAll(httputil.NewChunkedReader(iotest.OneByteReader(cr)))
	if err != nil {
		end := cr.n
		start := bytes.LastIndexByte(body[:max(end-1, 0)], '\n') + 1
		lastLine = body[start:end]
	}
	return out, lastLine, err
}

// bwsBeforeExt matches a chunk-size line with whitespace before its
// extension, which RFC 9112 §7.1.1 allows (chunk-ext = *( BWS ";" ...))
// and h1 accepts, but net/http rejects.
var bwsBeforeExt = regexp.MustCompile(`^[0-9A-Fa-f]+[ \t]+;`)

// FuzzChunked checks the chunked body decoder against net/http's: when
// both succeed the bytes are equal; when net/http's fails, so does h1's
// (bar the documented exceptions); when h1's alone fails, it is in the
// trailers, which net/http's chunked reader leaves to its caller, after
// the same bytes.
func FuzzChunked(f *testing.F) {
	for _, tc := range framingCases {
		if i := strings.Index(tc.answer, "\r\n\r\n"); i >= 0 && strings.Contains(tc.answer[:i], "chunked") && len(tc.answer) <= maxSeed {
			f.Add([]byte(tc.answer[i+4:]))
		}
	}
	for _, tc := range malformedCases {
		if body, ok := strings.CutPrefix(tc.answer, chunkedHead); ok && len(body) <= maxSeed {
			f.Add([]byte(body))
		}
	}
	f.Add([]byte("5 ;ext\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("0000000000000001\r\na\r\n0\r\n\r\n"))
	f.Add([]byte("1;" + strings.Repeat("x", 100) + "\r\na\r\n0\r\n\r\n"))
	f.Add([]byte("3\r\nabc\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n"))
	tr, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := pipeCall(t, tr, http.MethodGet, append([]byte(chunkedHead), body...))
		if r.headErr != nil {
			t.Fatalf("head: %v", r.headErr)
		}
		if !slices.Equal(r.resp.TransferEncoding, []string{"chunked"}) {
			t.Fatalf("TransferEncoding: got %q; want [chunked]", r.resp.TransferEncoding)
		}
		ref, line, refErr := stdChunked(body)
		switch {
		case refErr == nil && r.bodyErr == nil:
			if !bytes.Equal(r.body, ref) {
				t.Errorf("body: h1 %q; net/http %q", r.body, ref)
			}
		case refErr != nil && r.bodyErr == nil:
			msg := refErr.Error()
			switch {
			case strings.Contains(msg, "too much non-data"):
				// net/http's guard against a sender padding chunks
				// with extensions; h1 has none, and reads them all.
			case msg == "invalid byte in chunk length" && bwsBeforeExt.Match(line):
			default:
				t.Errorf("net/http: %v (line %q); h1 read %q without error", refErr, line, r.body)
			}
		case refErr == nil && r.bodyErr != nil:
			// h1 caps a chunk size at 15 hex digits, leading zeros
			// included; net/http at 16.
			if errors.Is(r.bodyErr, errChunkSize) {
				return
			}
			if !bytes.Equal(r.body, ref) {
				t.Errorf("h1 failed (%v) after %q; net/http read %q", r.bodyErr, r.body, ref)
			}
		}
	})
}
