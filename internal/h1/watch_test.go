package h1

import (
	"context"
	"net/http"
	"testing"
)

// TestWatchStopsWhenIdle: the watch's goroutine runs only while calls are
// in progress, and a finished call leaves its list.
func TestWatchStopsWhenIdle(t *testing.T) {
	srv := newRawServer(t, answerEach(okAnswer, false))
	tr := newTransport(t, nil)
	do(t, tr, mustRequest(t, context.Background(), http.MethodGet, srv.url("/"), nil))
	tr.watch.mu.Lock()
	listed := tr.watch.head != nil
	tr.watch.mu.Unlock()
	if listed {
		t.Error("a finished call is still on the watch's list")
	}
	waitFor(t, "the watch to stop", func() bool {
		tr.watch.mu.Lock()
		defer tr.watch.mu.Unlock()
		return !tr.watch.running
	})
}
