package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/gemini"
	"github.com/wicket-gw/wicket/providers/openai"
)

// NewProvider returns an in-process providers.Provider named "fake" that
// answers as Handler(opts) does, without a network: the same answers,
// streams and usage reach the gateway as from a real OpenAI-dialect upstream.
func NewProvider(opts *Options) providers.Provider {
	return NewDialectProvider(providers.DialectOpenAI, opts)
}

// NewDialectProvider is NewProvider for an upstream of dialect d: the
// fake model behind that dialect's own upstream adapter (openai.New,
// anthropic.New or gemini.New), named "fake-<dialect>" except for OpenAI's
// "fake". It panics for a dialect it does not know.
func NewDialectProvider(d providers.Dialect, opts *Options) providers.Provider {
	client := &http.Client{Transport: Transport(Handler(opts))}
	var p providers.Provider
	var err error
	switch d {
	case providers.DialectOpenAI:
		p, err = openai.New(&openai.Options{Name: "fake", BaseURL: "http://fake.invalid/v1", Client: client})
	case providers.DialectAnthropic:
		p, err = anthropic.New(&anthropic.Options{Name: "fake-anthropic", BaseURL: "http://fake.invalid/v1", Client: client})
	case providers.DialectGemini:
		p, err = gemini.New(&gemini.Options{Name: "fake-gemini", BaseURL: "http://fake.invalid/v1beta", Client: client})
	default:
		panic(fmt.Sprintf("fake: no upstream adapter for dialect %s", d))
	}
	if err != nil {
		panic(err) // the options above are constant and valid
	}
	return p
}

// Transport returns an http.RoundTripper that serves every request with h
// in-process. The response is returned as soon as h writes its header or
// first byte, and its body streams as h writes; closing the body, or
// canceling the request's context, ends h's writes.
//
// An http.Client over Transport(Handler(opts)) serves every dialect's
// routes without a network, whatever the host: an upstream adapter given
// the base URL http://fake.invalid/v1 reaches the OpenAI and Anthropic
// routes (/v1/chat/completions, /v1/messages), and one given
// http://fake.invalid/v1beta the Gemini routes
// (/v1beta/models/{model}:streamGenerateContent?alt=sse).
func Transport(h http.Handler) http.RoundTripper { return transport{h} }

type transport struct{ h http.Handler }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	rw := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				pw.CloseWithError(fmt.Errorf("fake: handler panicked"))
			}
			rw.commit(http.StatusOK)
			pw.Close()
		}()
		if req.Body != nil {
			defer req.Body.Close()
		}
		t.h.ServeHTTP(rw, req)
	}()
	select {
	case <-rw.ready:
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	resp := &http.Response{
		Status:        strconv.Itoa(rw.status) + " " + http.StatusText(rw.status),
		StatusCode:    rw.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.sent,
		Body:          &ctxBody{pr: pr, ctx: req.Context(), stop: context.AfterFunc(req.Context(), func() { pr.CloseWithError(req.Context().Err()) })},
		ContentLength: -1,
		Request:       req,
	}
	if n, err := strconv.ParseInt(rw.sent.Get("Content-Length"), 10, 64); err == nil {
		resp.ContentLength = n
	}
	return resp, nil
}

// ctxBody ends reads when the request's context is canceled, as a network
// body does.
type ctxBody struct {
	pr   *io.PipeReader
	ctx  context.Context
	stop func() bool
}

// Read returns the context's error once it is done, as a network body
// does, rather than whatever the pipe saw first (a clean EOF, if the
// handler finished in the same instant).
func (b *ctxBody) Read(p []byte) (int, error) {
	n, err := b.pr.Read(p)
	if err != nil && b.ctx.Err() != nil {
		return n, b.ctx.Err()
	}
	return n, err
}

func (b *ctxBody) Close() error {
	b.stop()
	return b.pr.CloseWithError(errors.New("fake: body closed"))
}

// pipeWriter is the http.ResponseWriter the handler writes to.
type pipeWriter struct {
	header http.Header
	sent   http.Header
	pw     *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
	status int
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) commit(status int) {
	w.once.Do(func() {
		w.status, w.sent = status, w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) WriteHeader(status int) { w.commit(status) }

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.commit(http.StatusOK)
	return w.pw.Write(p)
}

// Flush makes http.ResponseController.Flush succeed; writes to the pipe
// are unbuffered already.
func (w *pipeWriter) Flush() { w.commit(http.StatusOK) }
