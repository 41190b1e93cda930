package wicket

import (
	"bytes"
	"errors"
	"net/http"
	"time"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// maxHeldBody is the largest retryable answer kept while other deployments
// are tried: error bodies are small, and one larger is not worth keeping.
const maxHeldBody = 64 << 10

// heldAnswer is an upstream's retryable answer (a 429, a 503), read whole
// into memory and its connection released, so that no idle timer runs
// while Forward tries other deployments; relayed only if they all fail.
type heldAnswer struct {
	o      metering.Event // the attempt that answered: provider, deployment, model
	now    func() time.Time
	status int
	header http.Header
	body   []byte
	res    providers.Result
}

// holdAnswer reads resp whole (at most maxHeldBody) and closes it; ok is
// false when the body could not be read or is larger than that.
func holdAnswer(resp providers.Response, o metering.Event, now func() time.Time) (*heldAnswer, bool) {
	defer resp.Close()
	b := &bufferWriter{header: http.Header{}}
	res, err := resp.Relay(b)
	if err != nil || b.over {
		return nil, false
	}
	h := resp.Header().Clone()
	for k, vs := range b.header {
		h[k] = vs
	}
	return &heldAnswer{o: o, now: now, status: resp.StatusCode(), header: h, body: b.buf.Bytes(), res: res}, true
}

func (a *heldAnswer) StatusCode() int     { return a.status }
func (a *heldAnswer) Header() http.Header { return a.header }

// Close does nothing: the upstream is already released.
func (a *heldAnswer) Close() error { return nil }

func (a *heldAnswer) Relay(w http.ResponseWriter) (providers.Result, error) {
	res := a.res
	res.FirstByte, res.BytesWritten = time.Time{}, 0
	if len(a.body) == 0 {
		return res, nil
	}
	res.FirstByte = a.now()
	n, err := w.Write(a.body)
	res.BytesWritten = int64(n)
	return res, err
}

// bufferWriter is an http.ResponseWriter that keeps what is written, up to
// maxHeldBody bytes.
type bufferWriter struct {
	header http.Header
	buf    bytes.Buffer
	over   bool
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) WriteHeader(int)     {}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > maxHeldBody {
		b.over = true
		return 0, errHeldTooLarge
	}
	return b.buf.Write(p)
}

// errHeldTooLarge is why a retryable answer was not kept: too large to
// buffer, or unreadable.
var errHeldTooLarge = errors.New("wicket: retryable answer too large to keep")
