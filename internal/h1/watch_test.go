package h1

import (
	"context"
	"net/http"
	"testing"
)

// TestWatchStopsWhenIdle: a finished call leaves the Transport's set of
// calls, whose goroutine then stops.
func TestWatchStopsWhenIdle(t *testing.T) {
	srv := newRawServer(t, answerEach(okAnswer, false))
	tr := newTransport(t, nil)
	do(t, tr, mustRequest(t, context.Background(), http.MethodGet, srv.url("/"), nil))
	if n := tr.calls.Len(); n != 0 {
		t.Errorf("%d finished calls still in the set of calls", n)
	}
	waitFor(t, "the finished call to leave the set of calls and its goroutine to stop", tr.calls.Stopped)
}
