package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
)

func TestChunkReady(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chunk int
		buf   string
		want  bool
	}{
		{"data byte", chunkData, "x", true},
		{"no data yet", chunkData, "", false},
		{"end of chunk and the next whole size line and a byte", chunkEnd, "\r\n5\r\nh", true},
		{"end of chunk only", chunkEnd, "\r\n", false},
		{"half a CRLF", chunkEnd, "\r", false},
		{"bad chunk end fails at once", chunkEnd, "xy", true},
		{"size line without data", chunkHead, "5\r\n", false},
		{"half a size line", chunkHead, "5\r", false},
		{"size line and data", chunkHead, "5;ext=1\r\nhe", true},
		{"last chunk and the end", chunkHead, "0\r\n\r\n", true},
		{"last chunk, end not yet", chunkHead, "0\r\n\r", false},
		{"last chunk with a trailer", chunkHead, "0\r\nX-Sum: 1\r\n\r\n", false},
		{"malformed size fails at once", chunkHead, "zz\r\n", true},
		{"bare LF fails at once", chunkHead, "5\n", true},
		{"CR inside the line fails at once", chunkHead, "5\r;\r\n", true},
		{"empty", chunkHead, "", false},
	} {
		if got := chunkReady([]byte(tc.buf), tc.chunk); got != tc.want {
			t.Errorf("%s: chunkReady(%q) = %v; want %v", tc.name, tc.buf, got, tc.want)
		}
	}
}

// TestBodyReady: Ready is true exactly when the next Read returns without
// waiting for the server: the server sends the answer in two parts, the
// second only once the client has seen Ready turn false.
func TestBodyReady(t *testing.T) {
	for _, tc := range []struct {
		name, first, second string
		// reads are the sizes of the Reads of the first part, each after a
		// Ready that must be true; after them Ready must be false.
		reads []int
		body  string
	}{
		{"length", "Content-Length: 10\r\n\r\nhello", "world", []int{5}, "helloworld"},
		{"chunked", "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n", "0\r\n\r\n", []int{5, 5}, "helloabc"},
		{"chunked, mid-chunk", "Transfer-Encoding: chunked\r\n\r\n8\r\nhello", "abc\r\n0\r\n\r\n", []int{8}, "helloabc"},
		{"until close", "Connection: close\r\n\r\nhello", "world", []int{8}, "helloworld"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := newRawServer(t, func(s *rawServer, _ int, c net.Conn) {
				if _, _, err := s.readRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\n"+tc.first)
				<-release
				io.WriteString(c, tc.second)
			})
			tr := newTransport(t, nil)
			resp, err := tr.RoundTrip(mustRequest(t, context.Background(), http.MethodGet, srv.url("/"), nil))
			if err != nil {
				close(release)
				t.Fatal(err)
			}
			defer resp.Body.Close()
			r, ok := resp.Body.(interface{ Ready() bool })
			if !ok {
				close(release)
				t.Fatal("the body has no Ready")
			}
			var got []byte
			for i, n := range tc.reads {
				if !r.Ready() {
					t.Errorf("read %d: Ready = false with bytes buffered", i)
				}
				p := make([]byte, n)
				m, err := resp.Body.Read(p)
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				got = append(got, p[:m]...)
			}
			if r.Ready() {
				t.Error("Ready = true with nothing buffered")
			}
			close(release)
			rest, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got = append(got, rest...); string(got) != tc.body {
				t.Errorf("body %q; want %q", got, tc.body)
			}
			if !r.Ready() {
				t.Error("Ready = false after the end: a Read returns at once")
			}
		})
	}
}

// arrived is a connection's bytes: what has arrived, returned by the first
// read, then a read that would wait, which it notes.
type arrived struct {
	data   []byte
	waited bool
}

var errWouldWait = errors.New("would wait")

func (a *arrived) Read(p []byte) (int, error) {
	if len(a.data) == 0 {
		a.waited = true
		return 0, errWouldWait
	}
	n := copy(p, a.data)
	a.data = a.data[n:]
	return n, nil
}

// FuzzChunkReady: when ready says so, the next read of a chunked body
// returns without reading from the network, whatever has arrived.
func FuzzChunkReady(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n"), uint8(4))
	f.Add([]byte("5;x=y\r\nhel"), uint8(2))
	f.Add([]byte("3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"), uint8(9))
	f.Add([]byte("0\r\n\r\n"), uint8(1))
	f.Add([]byte("1\r\na\r\n0\r\n\r"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		src := &arrived{data: data}
		c := &conn{br: bufio.NewReaderSize(src, max(16, len(data)))}
		if _, err := c.br.Peek(len(data)); err != nil {
			t.Fatal(err)
		}
		c.body.reset(modeChunked, 0)
		p := make([]byte, int(size)%16+1)
		for range len(data) + 2 {
			ready := c.ready()
			_, err := c.readChunked(p)
			if ready && src.waited {
				t.Fatalf("ready, but the read waited for the network (state %+v)", c.body)
			}
			if err != nil {
				return
			}
		}
	})
}
