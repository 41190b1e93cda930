package fake

import (
	"context"
	"io"
	"iter"
	"net/http"

	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/providers/canon"
)

// flusher is an io.Writer that flushes the response after every write, so
// that each event reaches the client as it is written.
type flusher struct{ sw *sse.Writer }

func newFlusher(w http.ResponseWriter) io.Writer { return flusher{sse.NewWriter(w)} }

func (f flusher) Write(p []byte) (int, error) {
	if err := f.sw.WriteRaw(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// play feeds events to encode, pausing before each delta for
// Options.ChunkDelay, and reports whether all of them were written: it
// stops when the client leaves or a write fails.
func (h *handler) play(ctx context.Context, events iter.Seq[canon.Event], encode func(canon.Event) error) bool {
	for ev := range events {
		if ev.Kind == canon.EventPartDelta && !h.wait(ctx) {
			return false
		}
		if encode(ev) != nil {
			return false
		}
	}
	return true
}
