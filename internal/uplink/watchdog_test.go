package uplink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/providers"
)

// A call whose upstream stalls after its first bytes is ended by the
// watchdog between Idle and Idle plus an eighth (and a scheduling margin),
// while one that keeps sending is never ended; the watchdog's goroutine
// stops once no call is in progress.
func TestWatchdog(t *testing.T) {
	const idle = 80 * time.Millisecond
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := w.(http.Flusher)
		if r.URL.Path == "/trickle" { // a byte every idle/4, for 3×idle
			for range 12 {
				io.WriteString(w, "x")
				f.Flush()
				time.Sleep(idle / 4)
			}
			return
		}
		io.WriteString(w, "stall")
		f.Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(idle)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 4 {
		wg.Go(func() {
			path := "/stall"
			if i%2 == 0 {
				path = "/trickle"
			}
			var x Exchange
			if err := c.Post(context.Background(), &x, srv.URL+path, nil, false, nil); err != nil {
				errs <- err
				return
			}
			defer x.Close()
			start := time.Now()
			_, err := io.Copy(io.Discard, &x)
			took := time.Since(start)
			switch {
			case path == "/trickle" && err != nil:
				errs <- errors.New("a call that kept sending was ended: " + err.Error())
			case path == "/stall":
				if ue, ok := errors.AsType[*providers.UpstreamError](err); !ok || !ue.Timeout {
					errs <- errors.New("a stalled call was not timed out")
				} else if took < idle || took > idle+idle/watchTicks+150*time.Millisecond {
					errs <- errors.New("a stalled call was ended after " + took.String())
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !c.calls.Stopped() {
		if time.Now().After(deadline) {
			t.Fatal("watchdog still running or watching 2s after every call closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
