package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// framingCase is a well-formed answer and what the Response made of it
// must hold.
type framingCase struct {
	name   string
	method string // GET when empty
	answer string
	closes bool // the server closes the connection after answering

	status     int
	statusText string // Response.Status
	proto      string
	cl         int64
	te         []string
	header     http.Header
	body       string
	close      bool // Response.Close
	reused     bool // the next request goes on the same connection
}

var longValue = strings.Repeat("v", 10_000) // longer than the read buffer

var framingCases = []framingCase{
	{
		name: "content-length, canonical names, multiple values, obs-fold",
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-type: text/plain\r\nx-multi: a\r\nX-MULTI: b\r\n" +
			"X-Fold: one\r\n  two\r\n\tthree\r\nx-custom-thing:  padded \t\r\nX-Empty:\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 5, body: "hello", reused: true,
		header: http.Header{
			"Content-Length": {"5"}, "Content-Type": {"text/plain"}, "X-Multi": {"a", "b"},
			"X-Fold": {"one two three"}, "X-Custom-Thing": {"padded"}, "X-Empty": {""},
			"Set-Cookie": {"a=1", "b=2"},
		},
	},
	{
		name:   "header line longer than the read buffer",
		answer: "HTTP/1.1 200 OK\r\nX-Long: " + longValue + "\r\nContent-Length: 2\r\n\r\nok",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 2, body: "ok", reused: true,
		header: http.Header{"X-Long": {longValue}, "Content-Length": {"2"}},
	},
	{
		name: "chunked with extensions and trailers",
		answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n" +
			"5;name=value\r\nhello\r\nA;q=\"quoted ; string\"\r\n, chunked!\r\n0\r\nX-Checksum: abc\r\n\r\n",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: -1, te: []string{"chunked"},
		header: http.Header{"Trailer": {"X-Checksum"}}, body: "hello, chunked!", reused: true,
	},
	{
		name:   "chunked, one-byte chunks, lowercase hex, CHUNKED in capitals",
		answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n1\r\na\r\n1\r\nb\r\nc\r\n0123456789ab\r\n0\r\n\r\n",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: -1, te: []string{"chunked"},
		header: http.Header{}, body: "ab0123456789ab", reused: true,
	},
	{
		name:   "chunked, empty",
		answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: -1, te: []string{"chunked"},
		header: http.Header{}, body: "", reused: true,
	},
	{
		name:   "close-delimited",
		answer: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\ndata: 2\n\n", closes: true,
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: -1,
		header: http.Header{"Content-Type": {"text/event-stream"}}, body: "data: 1\n\ndata: 2\n\n", close: true,
	},
	{
		name:   "Content-Length 0",
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 0,
		header: http.Header{"Content-Length": {"0"}}, reused: true,
	},
	{
		name:   "204",
		answer: "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
		status: 204, statusText: "204 No Content", proto: "HTTP/1.1", cl: 0,
		header: http.Header{"X-A": {"1"}}, reused: true,
	},
	{
		name:   "304 with the representation's Content-Length",
		answer: "HTTP/1.1 304 Not Modified\r\nEtag: \"v1\"\r\nContent-Length: 1234\r\n\r\n",
		status: 304, statusText: "304 Not Modified", proto: "HTTP/1.1", cl: 0,
		header: http.Header{"Etag": {`"v1"`}, "Content-Length": {"1234"}}, reused: true,
	},
	{
		name: "HEAD", method: http.MethodHead,
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/plain\r\n\r\n",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 1234,
		header: http.Header{"Content-Length": {"1234"}, "Content-Type": {"text/plain"}}, reused: true,
	},
	{
		name: "100 Continue and 103 Early Hints before the answer",
		answer: "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n" +
			"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nX-Interim: 2\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nok",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 2, body: "ok", reused: true,
		header: http.Header{"Content-Length": {"2"}, "X-Final": {"yes"}},
	},
	{
		name:   "ten 1xx answers",
		answer: strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: <x>\r\n\r\n", 10) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 2, body: "ok", reused: true,
		header: http.Header{"Content-Length": {"2"}},
	},
	{
		name:   "Connection: close",
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", closes: true,
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 2, body: "ok", close: true,
		header: http.Header{"Content-Length": {"2"}, "Connection": {"close"}},
	},
	{
		name:   "Connection: keep-alive, Close",
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, Close\r\n\r\nok", closes: true,
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 2, body: "ok", close: true,
		header: http.Header{"Content-Length": {"2"}, "Connection": {"keep-alive, Close"}},
	},
	{
		name:   "Connection: close, Content-Length 0",
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", closes: true,
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 0, close: true,
		header: http.Header{"Content-Length": {"0"}, "Connection": {"close"}},
	},
	{
		name:   "Connection: close, 204",
		answer: "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", closes: true,
		status: 204, statusText: "204 No Content", proto: "HTTP/1.1", cl: 0, close: true,
		header: http.Header{"Connection": {"close"}},
	},
	{
		name:   "HTTP/1.0 with Content-Length",
		answer: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		status: 200, statusText: "200 OK", proto: "HTTP/1.0", cl: 2, body: "ok", close: true,
		header: http.Header{"Content-Length": {"2"}},
	},
	{
		name:   "HTTP/1.0 close-delimited",
		answer: "HTTP/1.0 200 OK\r\n\r\nto the end", closes: true,
		status: 200, statusText: "200 OK", proto: "HTTP/1.0", cl: -1, body: "to the end", close: true,
		header: http.Header{},
	},
	{
		name:   "Transfer-Encoding and Content-Length",
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: -1, te: []string{"chunked"}, body: "ok", close: true,
		header: http.Header{},
	},
	{
		name:   "duplicate equal Content-Length",
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 2, body: "ok", reused: true,
		header: http.Header{"Content-Length": {"2", "2"}},
	},
	{
		name:   "bare LF line ends in the head",
		answer: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		status: 200, statusText: "200 OK", proto: "HTTP/1.1", cl: 2, body: "ok", reused: true,
		header: http.Header{"Content-Length": {"2"}},
	},
	{
		name:   "status line without a reason",
		answer: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
		status: 200, statusText: "200", proto: "HTTP/1.1", cl: 2, body: "ok", reused: true,
		header: http.Header{"Content-Length": {"2"}},
	},
	{
		name:   "own reason phrase",
		answer: "HTTP/1.1 299 Custom Thing\r\nContent-Length: 2\r\n\r\nok",
		status: 299, statusText: "299 Custom Thing", proto: "HTTP/1.1", cl: 2, body: "ok", reused: true,
		header: http.Header{"Content-Length": {"2"}},
	},
	{
		name:   "429",
		answer: "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 4\r\n\r\nslow",
		status: 429, statusText: "429 Too Many Requests", proto: "HTTP/1.1", cl: 4, body: "slow", reused: true,
		header: http.Header{"Content-Length": {"4"}, "Retry-After": {"3"}},
	},
}

func TestResponseFraming(t *testing.T) {
	for _, tc := range framingCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, answerEach(tc.answer, tc.closes))
			tr := newTransport(t, nil)
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			for i := range 2 {
				req := mustRequest(t, context.Background(), method, srv.url("/"), nil)
				resp, body := do(t, tr, req)
				if i == 1 {
					if string(body) != tc.body {
						t.Errorf("second answer's body: got %q; want %q", body, tc.body)
					}
					break
				}
				if resp.StatusCode != tc.status {
					t.Errorf("StatusCode: got %d; want %d", resp.StatusCode, tc.status)
				}
				if resp.Status != tc.statusText {
					t.Errorf("Status: got %q; want %q", resp.Status, tc.statusText)
				}
				if resp.Proto != tc.proto || resp.ProtoMajor != 1 || resp.ProtoMinor != int(tc.proto[7]-'0') {
					t.Errorf("Proto: got %q %d.%d; want %q", resp.Proto, resp.ProtoMajor, resp.ProtoMinor, tc.proto)
				}
				if resp.ContentLength != tc.cl {
					t.Errorf("ContentLength: got %d; want %d", resp.ContentLength, tc.cl)
				}
				if !cmp.Equal(resp.TransferEncoding, tc.te) {
					t.Errorf("TransferEncoding: got %q; want %q", resp.TransferEncoding, tc.te)
				}
				if d := cmp.Diff(tc.header, resp.Header); d != "" {
					t.Errorf("Header (-want +got):\n%s", d)
				}
				if string(body) != tc.body {
					t.Errorf("body: got %q; want %q", body, tc.body)
				}
				if resp.Close != tc.close {
					t.Errorf("Close: got %v; want %v", resp.Close, tc.close)
				}
				if resp.Request != req {
					t.Errorf("Request: not the request sent")
				}
			}
			want := int32(2)
			if tc.reused {
				want = 1
			}
			if n := srv.accepts.Load(); n != want {
				t.Errorf("connections for two requests: got %d; want %d", n, want)
			}
		})
	}
}

// malformedCase is an answer that must make the call fail.
type malformedCase struct {
	name   string
	answer string
	closes bool  // the server closes after answering; else it waits for the client to
	inBody bool  // the head is fine: the failure comes from reading the body
	want   error // the error errors.Is must find, if any in particular
}

const chunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

var malformedCases = []malformedCase{
	// Status lines.
	{name: "HTTP/2.0", answer: "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", want: errMalformedStatus},
	{name: "HTTP/1.2", answer: "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", want: errMalformedStatus},
	{name: "lowercase protocol", answer: "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", want: errMalformedStatus},
	{name: "two-digit code", answer: "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", want: errMalformedStatus},
	{name: "four-digit code", answer: "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", want: errMalformedStatus},
	{name: "code below 100", answer: "HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n", want: errMalformedStatus},
	{name: "missing code", answer: "HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n", want: errMalformedStatus},
	{name: "protocol alone", answer: "HTTP/1.1\r\n\r\n", want: errMalformedStatus},
	{name: "non-digit code", answer: "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", want: errMalformedStatus},
	{name: "no space after code", answer: "HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n", want: errMalformedStatus},
	{name: "two spaces before code", answer: "HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n", want: errMalformedStatus},
	{name: "garbage", answer: "garbage\r\n\r\n", want: errMalformedStatus},
	{name: "empty line", answer: "\r\n\r\n", want: errMalformedStatus},
	{name: "status line cut by EOF", answer: "HTTP/1.1 200 O", closes: true, want: io.ErrUnexpectedEOF},
	{name: "nothing then EOF", answer: "", closes: true},
	{name: "head cut by EOF", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", closes: true},
	{name: "status line over 1 MiB", answer: "HTTP/1.1 200 " + strings.Repeat("r", maxHeadBytes+10) + "\r\n\r\n", want: errLineTooLong},
	// Header lines.
	{name: "no colon", answer: "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "space before colon", answer: "HTTP/1.1 200 OK\r\nKey : v\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "tab before colon", answer: "HTTP/1.1 200 OK\r\nKey\t: v\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "space before Content-Length's colon", answer: "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", want: errMalformedHeader},
	{name: "empty name", answer: "HTTP/1.1 200 OK\r\n: v\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "control byte in name", answer: "HTTP/1.1 200 OK\r\nK\x01ey: v\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "high byte in name", answer: "HTTP/1.1 200 OK\r\nK\xffey: v\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "separator in name", answer: "HTTP/1.1 200 OK\r\nKe(y): v\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "NUL in value", answer: "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "CR in value", answer: "HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "DEL in value", answer: "HTTP/1.1 200 OK\r\nX: a\x7fb\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "NUL in folded value", answer: "HTTP/1.1 200 OK\r\nX: a\r\n b\x00\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "fold before any field", answer: "HTTP/1.1 200 OK\r\n folded\r\nContent-Length: 0\r\n\r\n", want: errMalformedHeader},
	{name: "head over 1 MiB", answer: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\r\n", 1100) + "\r\n", want: errHeadTooLarge},
	{name: "header line over 1 MiB", answer: "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", maxHeadBytes+10) + "\r\n\r\n", want: errHeadTooLarge},
	// Framing.
	{name: "Transfer-Encoding gzip", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", want: errTransferCoding},
	{name: "Transfer-Encoding gzip, chunked", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", want: errTransferCoding},
	{name: "Transfer-Encoding chunked, chunked", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", want: errTransferCoding},
	{name: "Transfer-Encoding twice", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: errTransferCoding},
	{name: "Transfer-Encoding identity", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nok", want: errTransferCoding},
	{name: "Transfer-Encoding empty", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 2\r\n\r\nok", want: errTransferCoding},
	{name: "differing Content-Lengths", answer: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", want: errContentLength},
	{name: "Content-Length list", answer: "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", want: errContentLength},
	{name: "non-numeric Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", want: errContentLength},
	{name: "negative Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", want: errContentLength},
	{name: "signed Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", want: errContentLength},
	{name: "hex Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello", want: errContentLength},
	{name: "empty Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", want: errContentLength},
	{name: "huge Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", want: errContentLength},
	{name: "101 Switching Protocols", answer: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", want: errSwitching},
	{name: "eleven 1xx answers", answer: strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 11) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", want: errTooMany1xx},
	// Bodies.
	{name: "chunk size not hex", answer: chunkedHead + "zz\r\nhello\r\n0\r\n\r\n", inBody: true, want: errChunkSize},
	{name: "chunk size empty", answer: chunkedHead + "\r\nhello\r\n0\r\n\r\n", inBody: true, want: errChunkSize},
	{name: "chunk size 0x prefix", answer: chunkedHead + "0x5\r\nhello\r\n0\r\n\r\n", inBody: true, want: errChunkSize},
	{name: "chunk size negative", answer: chunkedHead + "-5\r\nhello\r\n0\r\n\r\n", inBody: true, want: errChunkSize},
	{name: "chunk size leading space", answer: chunkedHead + " 5\r\nhello\r\n0\r\n\r\n", inBody: true, want: errChunkSize},
	{name: "chunk size 16 hex digits", answer: chunkedHead + "1000000000000000\r\nhello\r\n0\r\n\r\n", inBody: true, want: errChunkSize},
	{name: "chunk size line too long", answer: chunkedHead + "5;" + strings.Repeat("e", 5000) + "\r\nhello\r\n0\r\n\r\n", inBody: true, want: errLineTooLong},
	{name: "no CRLF after chunk data", answer: chunkedHead + "5\r\nhelloXX\r\n0\r\n\r\n", inBody: true, want: errChunkEnd},
	{name: "bare LF after chunk data", answer: chunkedHead + "5\r\nhello\n0\r\n\r\n", inBody: true, want: errChunkEnd},
	{name: "truncated mid-chunk", answer: chunkedHead + "5\r\nhel", closes: true, inBody: true, want: io.ErrUnexpectedEOF},
	{name: "truncated in a chunk size", answer: chunkedHead + "5", closes: true, inBody: true, want: io.ErrUnexpectedEOF},
	{name: "truncated before the last chunk", answer: chunkedHead + "5\r\nhello\r\n", closes: true, inBody: true, want: io.ErrUnexpectedEOF},
	{name: "truncated after chunk data", answer: chunkedHead + "5\r\nhello", closes: true, inBody: true, want: io.ErrUnexpectedEOF},
	{name: "truncated in trailers", answer: chunkedHead + "5\r\nhello\r\n0\r\nX-T: 1\r\n", closes: true, inBody: true, want: io.ErrUnexpectedEOF},
	{name: "trailers over 64 KiB", answer: chunkedHead + "0\r\n" + strings.Repeat("X-T: "+strings.Repeat("t", 1000)+"\r\n", 70) + "\r\n", inBody: true, want: errTrailer},
	// RFC 9112 errata 7633, as net/http since go1.24.2 (CVE-2025-22871):
	// a chunk line must end in CRLF, with no other CR, or a front end
	// that reads the chunks another way desynchronizes from this one.
	{name: "bare LF after chunk size", answer: chunkedHead + "5\nhello\r\n0\r\n\r\n", inBody: true},
	{name: "bare LF after last chunk size", answer: chunkedHead + "5\r\nhello\r\n0\n\r\n", inBody: true},
	{name: "CR inside a chunk extension", answer: chunkedHead + "5;a\rb\r\nhello\r\n0\r\n\r\n", inBody: true},
	{name: "body shorter than Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", closes: true, inBody: true, want: io.ErrUnexpectedEOF},
}

func TestMalformedResponses(t *testing.T) {
	for _, tc := range malformedCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, func(s *rawServer, _ int, c net.Conn) {
				if _, _, err := s.readRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, tc.answer)
				if !tc.closes {
					drain(c)
				}
			})
			tr := newTransport(t, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			resp, err := tr.RoundTrip(mustRequest(t, ctx, http.MethodGet, srv.url("/v1?key=SECRETQ"), nil))
			if tc.inBody {
				if err != nil {
					t.Fatalf("RoundTrip: %v; want the head read and the failure in the body", err)
				}
				var body []byte
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					t.Fatalf("reading the body: got %q, nil; want an error", body)
				}
			} else if err == nil {
				resp.Body.Close()
				t.Fatalf("RoundTrip: got %d %v, nil; want an error", resp.StatusCode, resp.Header)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("failed after %v; want promptly", el)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err: %v; the call hung until the context's deadline", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err: got %v; want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRETQ") {
				t.Errorf("error %q contains the query", err)
			}
			waitFor(t, "the connection to be closed", func() bool { return srv.done.Load() == srv.accepts.Load() })
			if n := idleCount(tr); n != 0 {
				t.Errorf("idle connections after a failure: got %d; want 0", n)
			}
		})
	}
}

func TestParseStatusLine(t *testing.T) {
	tests := []struct {
		line         string
		ok           bool
		minor, code  int
		reason       string
		wantedReason bool
	}{
		{line: "HTTP/1.1 200 OK", ok: true, minor: 1, code: 200, reason: "OK"},
		{line: "HTTP/1.0 404 Not Found", ok: true, minor: 0, code: 404, reason: "Not Found"},
		{line: "HTTP/1.1 999 ", ok: true, minor: 1, code: 999, reason: ""},
		{line: "HTTP/1.1 100", ok: true, minor: 1, code: 100},
		{line: "HTTP/1.1 200 OK \x00 odd", ok: true, minor: 1, code: 200, reason: "OK \x00 odd"},
		{line: "HTTP/1.1 099 X"},
		{line: "HTTP/1.1 20"},
		{line: "HTTP/1.1 2000"},
		{line: "HTTP/1.1 20a OK"},
		{line: "HTTP/1.2 200 OK"},
		{line: "HTTP/2.0 200 OK"},
		{line: "HTTP/1.1\t200 OK"},
		{line: "HTTP/1.1 200\tOK"},
		{line: "HTTP/1.1 -20 OK"},
		{line: ""},
	}
	for _, tt := range tests {
		major, minor, code, reason, ok := parseStatusLine([]byte(tt.line))
		if ok != tt.ok {
			t.Errorf("parseStatusLine(%q): ok %v; want %v", tt.line, ok, tt.ok)
			continue
		}
		if ok && (major != 1 || minor != tt.minor || code != tt.code || string(reason) != tt.reason) {
			t.Errorf("parseStatusLine(%q): got %d.%d %d %q; want 1.%d %d %q", tt.line, major, minor, code, reason, tt.minor, tt.code, tt.reason)
		}
	}
}

func TestParseChunkSize(t *testing.T) {
	tests := []struct {
		line string
		n    int64
		ok   bool
	}{
		{"0", 0, true},
		{"a", 10, true},
		{"FF", 255, true},
		{"00000000000001f", 31, true},
		{"7fffffffffffffff"[1:], 0xfffffffffffffff, true},
		{"5;ext=1", 5, true},
		{"5\t;ext", 5, true},
		{"5 ", 5, true},
		{"", 0, false},
		{";ext", 0, false},
		{" 5", 0, false},
		{"0x5", 0, false},
		{"-5", 0, false},
		{"g", 0, false},
		{"1000000000000000", 0, false},
		{"5 5", 0, false},
	}
	for _, tt := range tests {
		n, ok := parseChunkSize([]byte(tt.line))
		if n != tt.n || ok != tt.ok {
			t.Errorf("parseChunkSize(%q): got %d, %v; want %d, %v", tt.line, n, ok, tt.n, tt.ok)
		}
	}
}

func TestParseLength(t *testing.T) {
	tests := []struct {
		s  string
		n  int64
		ok bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"007", 7, true},
		{"999999999999999999", 999999999999999999, true},
		{"9999999999999999999", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1 ", 0, false},
		{"1,1", 0, false},
		{"١", 0, false},
	}
	for _, tt := range tests {
		n, ok := parseLength(tt.s)
		if n != tt.n || ok != tt.ok {
			t.Errorf("parseLength(%q): got %d, %v; want %d, %v", tt.s, n, ok, tt.n, tt.ok)
		}
	}
}

func TestHasToken(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"close", true},
		{"Close", true},
		{" keep-alive ,\tCLOSE ", true},
		{"keep-alive", false},
		{"closed", false},
		{"x-close", false},
		{"", false},
		{",,close,,", true},
	}
	for _, tt := range tests {
		if got := hasToken(tt.v, "close"); got != tt.want {
			t.Errorf("hasToken(%q, close): got %v; want %v", tt.v, got, tt.want)
		}
	}
}

func TestValidators(t *testing.T) {
	tokens := map[string]bool{"GET": true, "X-Custom_1.2~!": true, "": false, "a b": false, "a:b": false, "é": false, "a\x00": false, "(x)": false}
	for s, want := range tokens {
		if got := validToken(s); got != want {
			t.Errorf("validToken(%q): got %v; want %v", s, got, want)
		}
	}
	values := map[string]bool{"": true, "a\tb": true, "ünïcode": true, "a\rb": false, "a\nb": false, "a\x00": false, "a\x7f": false, "a\x1f": false}
	for s, want := range values {
		if got := validValue(s); got != want {
			t.Errorf("validValue(%q): got %v; want %v", s, got, want)
		}
		if got := validValueBytes([]byte(s)); got != want {
			t.Errorf("validValueBytes(%q): got %v; want %v", s, got, want)
		}
	}
	hosts := map[string]bool{"example.com": true, "[::1]:80": true, "a:1": true, "a/b": false, "a b": false, "a?b": false, "a#b": false, "u@h": false, "a\x7f": false, "a\tb": false}
	for s, want := range hosts {
		if got := validHost(s); got != want {
			t.Errorf("validHost(%q): got %v; want %v", s, got, want)
		}
	}
}

func TestStatusText(t *testing.T) {
	tests := []struct {
		code   int
		reason string
		want   string
	}{
		{200, "OK", "200 OK"},
		{404, "Not Found", "404 Not Found"},
		{503, "Service Unavailable", "503 Service Unavailable"},
		{201, "Created", "201 Created"},
		{200, "Fine", "200 Fine"},
		{299, "", "299 "},
	}
	for _, tt := range tests {
		if got := statusText(tt.code, []byte(tt.reason)); got != tt.want {
			t.Errorf("statusText(%d, %q): got %q; want %q", tt.code, tt.reason, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { statusText(200, []byte("OK")) }); n != 0 {
		t.Errorf("statusText(200, OK) allocations: got %v; want 0", n)
	}
}
