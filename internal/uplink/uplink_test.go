package uplink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers"
)

func newClient(idle time.Duration) *Client {
	return &Client{Name: "up", Prefix: "test", HTTP: &http.Client{}, Idle: idle,
		Header: http.Header{"X-Operator": {"op"}, "Accept": {"text/plain"}}}
}

func TestPostAndCopy(t *testing.T) {
	const answer = `{"id":"a","usage":{"n":1}}`
	for _, stream := range []bool{false, true} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			wantAccept := "application/json"
			if stream {
				wantAccept = "text/event-stream"
			}
			if r.Method != http.MethodPost || r.URL.Path != "/v1/x" || string(body) != `{"q":1}` ||
				r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Accept") != wantAccept ||
				r.Header.Get("X-Operator") != "op" || r.Header.Get("X-Key") != "k" {
				t.Errorf("upstream got %s %s %q %v", r.Method, r.URL.Path, body, r.Header)
			}
			io.WriteString(w, answer)
		}))
		c := newClient(time.Minute)
		var x Exchange
		err := c.Post(context.Background(), &x, srv.URL+"/v1/x", []byte(`{"q":1}`), stream, func(h http.Header) { h.Set("X-Key", "k") })
		if err != nil {
			t.Fatal(err)
		}
		if x.StatusCode() != http.StatusOK {
			t.Errorf("status %d", x.StatusCode())
		}
		w := httptest.NewRecorder()
		var tail Tail
		res, err := c.Copy(w, &x, &tail)
		if err != nil || w.Body.String() != answer || res.BytesWritten != int64(len(answer)) || res.FirstByte.IsZero() ||
			!tail.Whole() || string(tail.Bytes()) != answer {
			t.Errorf("Copy: %+v, %v; body %q, tail %q", res, err, w.Body, tail.Bytes())
		}
		if err := x.Close(); err != nil || x.Close() != nil {
			t.Errorf("Close: %v", err)
		}
		srv.Close()
	}
}

func TestPostUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var x Exchange
	err := newClient(time.Minute).Post(context.Background(), &x, url, nil, false, nil)
	if ue, ok := errors.AsType[*providers.UpstreamError](err); !ok || ue.Provider != "up" {
		t.Errorf("got %v; want an *UpstreamError of up", err)
	}
	if err := newClient(time.Minute).Post(context.Background(), &x, "://bad", nil, false, nil); err == nil ||
		err.Error() != `test: provider "up": building request failed` {
		t.Errorf("bad URL: %v", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"a":`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(50 * time.Millisecond)
	x := post(t, c, srv.URL, false)
	w := httptest.NewRecorder()
	res, err := c.Copy(w, x, nil)
	if ue, ok := errors.AsType[*providers.UpstreamError](err); !ok || !ue.Timeout {
		t.Fatalf("got %v; want a time-out", err)
	}
	if w.Body.String() != `{"a":` || res.BytesWritten != 5 {
		t.Errorf("before the stall: %q, %+v", w.Body, res)
	}
}

// handler relays events as they are; the stream is complete once "END"
// was seen.
type handler struct{ ended bool }

var errCut = errors.New("cut")

func (h *handler) Event(s *Stream, ev sse.Event) error {
	if string(ev.Data) == "END" {
		h.ended = true
	}
	return s.WriteEvent(ev.Raw)
}

func (h *handler) Incomplete() error {
	if !h.ended {
		return errCut
	}
	return nil
}

// arrayHandler closes the stream with "]", as a Finisher.
type arrayHandler struct{ handler }

func (h *arrayHandler) Finish(s *Stream) error { return s.WriteBytes([]byte("]")) }

func TestRelay(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		h          EventHandler
		want       string
		events     int64
		err        error
	}{
		{"complete", "data: a\n\n: ping\n\ndata: END\n\n", &handler{}, "data: a\n\n: ping\n\ndata: END\n\n", 3, nil},
		{"finished", "data: a\n\ndata: END\n\n", &arrayHandler{}, "data: a\n\ndata: END\n\n]", 2, nil},
		{"truncated", "data: a\n\ndata: EN", &handler{}, "data: a\n\n", 1, errCut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := newClient(time.Minute)
			x := post(t, c, srv.URL, true)
			if !IsEventStream(x.Response) {
				t.Error("IsEventStream = false")
			}
			w := httptest.NewRecorder()
			res, err := c.Relay(w, x, tc.h)
			if tc.err != nil {
				ue, ok := errors.AsType[*providers.UpstreamError](err)
				if !ok || !errors.Is(err, tc.err) || ue.Provider != "up" {
					t.Errorf("got %v; want an *UpstreamError wrapping %v", err, tc.err)
				}
			} else if err != nil {
				t.Errorf("got %v", err)
			}
			if w.Body.String() != tc.want || res.Events != tc.events || res.BytesWritten != int64(len(tc.want)) || !w.Flushed {
				t.Errorf("relayed %q (flushed %v), %+v; want %q, %d events", w.Body, w.Flushed, res, tc.want, tc.events)
			}
		})
	}
}

// flushLog records, at each flush, how many bytes had been written, and
// tells onFlush, if set.
type flushLog struct {
	httptest.ResponseRecorder
	at      []int
	onFlush func(int)
}

func (f *flushLog) Flush() {
	f.at = append(f.at, f.Body.Len())
	if f.onFlush != nil {
		f.onFlush(f.Body.Len())
	}
}

// TestRelayFlushes: the first event leaves alone, at once; after it, what
// was written is flushed only before a read that waits for the upstream,
// so events that arrive together leave in one write; the end of a
// complete stream is left to the caller, and that of an incomplete one is
// flushed before the error.
func TestRelayFlushes(t *testing.T) {
	const a, b, end = "data: a\n\n", "data: b\n\n", "data: END\n\n"
	for _, tc := range []struct {
		name string
		// parts are the upstream's writes; each after the first waits until
		// the relay has flushed everything before it, so the relay must flush
		// before it waits for the upstream, or never get the next part.
		parts []string
		want  []int // the flushes, as bytes written by then
		err   error
	}{
		{"together", []string{a + b + end}, []int{len(a)}, nil},
		{"a wait", []string{a + b, end}, []int{len(a), len(a + b)}, nil},
		{"a wait each", []string{a, b, end}, []int{len(a), len(a + b)}, nil},
		{"incomplete", []string{a + b}, []int{len(a), len(a + b)}, errCut},
		{"incomplete after a wait", []string{a, b}, []int{len(a), len(a + b)}, errCut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &flushLog{ResponseRecorder: *httptest.NewRecorder()}
			flushed := make(chan int, 8)
			w.onFlush = func(n int) { flushed <- n }
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/event-stream")
				sent := 0
				for i, p := range tc.parts {
					if i > 0 && !flushedAt(flushed, sent) {
						t.Errorf("part %d: the relay waited for it without flushing the %d bytes before", i, sent)
					}
					io.WriteString(rw, p)
					sent += len(p)
					if i < len(tc.parts)-1 {
						rw.(http.Flusher).Flush()
					}
				}
			}))
			defer srv.Close()
			c := newClient(time.Minute)
			x := post(t, c, srv.URL, true)
			_, err := c.Relay(w, x, &handler{})
			if !errors.Is(err, tc.err) {
				t.Errorf("Relay: %v; want %v", err, tc.err)
			}
			if want := strings.Join(tc.parts, ""); !slices.Equal(w.at, tc.want) || w.Body.String() != want {
				t.Errorf("flushed at %v, relayed %q; want flushes at %v and %q", w.at, w.Body, tc.want, want)
			}
		})
	}
}

// scripted is a source whose reads return parts one by one, each read's
// readiness (Ready before it) set by the script, then io.EOF.
type scripted struct {
	parts []string
	ready []bool // Ready before each part's read, then before io.EOF's
	next  int
}

func (s *scripted) Ready() bool { return s.ready[s.next] }

func (s *scripted) Read(p []byte) (int, error) {
	if s.next == len(s.parts) {
		return 0, io.EOF
	}
	n := copy(p, s.parts[s.next])
	s.next++
	return n, nil
}

// TestRelayFlushesOnlyBeforeWaits: a read that Ready says returns at once
// is not preceded by a flush; one that may wait is.
func TestRelayFlushesOnlyBeforeWaits(t *testing.T) {
	const a, b, c, end = "data: a\n\n", "data: b\n\n", "data: c\n\n", "data: END\n\n"
	for _, tc := range []struct {
		name  string
		ready []bool
		want  []int
	}{
		// a is flushed as the first event; b waits for c's read; c and END
		// arrived with what was read before; the end is the caller's.
		{"mixed", []bool{false, true, false, true, true}, []int{len(a), len(a + b)}},
		{"never ready", []bool{false, false, false, false, false}, []int{len(a), len(a + b), len(a + b + c), len(a + b + c + end)}},
		{"always ready", []bool{true, true, true, true, true}, []int{len(a)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &scripted{parts: []string{a, b, c, end}, ready: tc.ready}
			w := &flushLog{ResponseRecorder: *httptest.NewRecorder()}
			if _, err := newClient(time.Minute).Relay(w, src, &handler{}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(w.at, tc.want) || w.Body.String() != a+b+c+end {
				t.Errorf("flushed at %v, relayed %q; want flushes at %v", w.at, w.Body, tc.want)
			}
		})
	}
}

// flushedAt reports whether a flush at n bytes comes from flushed within
// a few seconds.
func flushedAt(flushed <-chan int, n int) bool {
	timeout := time.After(3 * time.Second)
	for {
		select {
		case m := <-flushed:
			if m == n {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

// failWriter fails every write.
type failWriter struct{ httptest.ResponseRecorder }

func (*failWriter) Write([]byte) (int, error) { return 0, errors.New("client gone") }

func TestRelayWriteError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: a\n\ndata: END\n\n")
	}))
	defer srv.Close()
	c := newClient(time.Minute)
	x := post(t, c, srv.URL, true)
	_, err := c.Relay(&failWriter{*httptest.NewRecorder()}, x, &handler{})
	if err == nil || err.Error() != "client gone" {
		t.Errorf("got %v; want the write error as it is", err)
	}
	if strings.Contains(err.Error(), "upstream") {
		t.Error("a client's failure reported as the upstream's")
	}
}

// post posts to url through c, fails t if that fails, and closes the
// exchange when t ends.
func post(t *testing.T, c *Client, url string, stream bool) *Exchange {
	t.Helper()
	x := new(Exchange)
	if err := c.Post(context.Background(), x, url, nil, stream, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}
