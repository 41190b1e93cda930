package fake

import (
	"context"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wicket-gw/wicket/providers"
)

// Options configures the fake model. A nil *Options, and every zero field,
// means the default documented on the field.
type Options struct {
	// Chunks, if positive, makes every text answer exactly this many words
	// (the answer's words repeat as needed), so a stream has Chunks content
	// chunks. Tool calls are not affected. Default: the answer's own
	// words.
	Chunks int
	// ChunkDelay is the pause before each streamed chunk that carries
	// content (a word, or a fragment of a tool call's arguments). Default
	// none.
	ChunkDelay time.Duration
	// Created is the "created" timestamp in OpenAI answers and the
	// creation time in model lists. Default 1700000000, so answers are
	// byte-for-byte reproducible.
	Created int64
	// Dimensions is the length of embedding vectors. Default 8.
	Dimensions int
	// MaxBodyBytes caps request bodies. Default 8 MiB.
	MaxBodyBytes int64
}

// Models are the model names the fake lists.
var Models = []string{"fake-echo", "fake-embed", "fake-error-429", "fake-error-500", "fake-error-503", "fake-hang"}

type handler struct{ o Options }

// Handler returns an http.Handler that answers as the fake model in the
// OpenAI, Anthropic and Gemini wire formats, under any path prefix (so
// both /v1/chat/completions and /chat/completions work). The package
// documentation lists the routes.
func Handler(opts *Options) http.Handler {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Created == 0 {
		o.Created = 1_700_000_000
	}
	if o.Dimensions <= 0 {
		o.Dimensions = 8
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 8 << 20
	}
	return &handler{o: o}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	post := r.Method == http.MethodPost
	switch {
	case post && strings.HasSuffix(p, "/chat/completions"):
		h.chat(w, r)
	case post && strings.HasSuffix(p, "/embeddings"):
		h.embeddings(w, r)
	case post && strings.HasSuffix(p, "/messages/count_tokens"):
		h.anthropicCountTokens(w, r)
	case post && strings.HasSuffix(p, "/messages"):
		h.anthropicMessages(w, r)
	case post && isGeminiMethod(p):
		h.gemini(w, r)
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/models"):
		switch {
		case isGemini(r):
			h.geminiModels(w)
		case isAnthropic(r):
			h.anthropicModels(w)
		default:
			h.models(w)
		}
	default:
		d := providers.DialectOpenAI
		switch {
		case isGemini(r) || isGeminiMethod(p):
			d = providers.DialectGemini
		case isAnthropic(r):
			d = providers.DialectAnthropic
			w.Header().Set("Request-Id", idFrom("req_fake", r.Method+" "+r.URL.Path))
		}
		fail(w, d, http.StatusNotFound, "invalid_request_error", "not_found", "Unknown fake endpoint.")
	}
}

// isGemini reports whether a request is Gemini-shaped by more than its
// path's last segment: a v1beta or v1alpha path segment, an
// x-goog-api-key header, or a key query parameter, as Google's clients
// send them. It tells Gemini's model list from OpenAI's on GET .../models.
func isGemini(r *http.Request) bool {
	for seg := range strings.SplitSeq(r.URL.Path, "/") {
		if seg == "v1beta" || seg == "v1alpha" {
			return true
		}
	}
	return r.Header.Get("X-Goog-Api-Key") != "" || r.URL.Query().Has("key")
}

// isAnthropic reports whether a request carries the anthropic-version
// header, which Anthropic's API requires of every request.
func isAnthropic(r *http.Request) bool { return r.Header.Get("Anthropic-Version") != "" }

// isGeminiMethod reports whether path names a model method the Gemini way:
// .../models/{model}:{method}.
func isGeminiMethod(path string) bool {
	_, _, ok := geminiTarget(path)
	return ok
}

// geminiTarget splits .../models/{model}:{method} into model and method.
func geminiTarget(path string) (model, method string, ok bool) {
	i := strings.LastIndex(path, "/models/")
	if i < 0 {
		return "", "", false
	}
	model, method, ok = strings.Cut(path[i+len("/models/"):], ":")
	if !ok || model == "" || strings.Contains(model, "/") {
		return "", "", false
	}
	return model, method, true
}

// PromptTokens is the fake's token count for a prompt of n bytes: n/4
// rounded up, the same rule as the gateway's default estimator.
func PromptTokens(n int) int64 { return int64((n + 3) / 4) }

// readBody reads the request body, capped at MaxBodyBytes, and returns
// what it read. On failure it returns false; the caller answers with
// tooLarge once it has set its headers.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes))
	return body, err == nil
}

// tooLarge answers 413 in dialect d.
func tooLarge(w http.ResponseWriter, d providers.Dialect) {
	fail(w, d, http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "Request body too large.")
}

// wait pauses for ChunkDelay before a streamed chunk, and reports whether
// the client is still there.
func (h *handler) wait(ctx context.Context) bool {
	if h.o.ChunkDelay <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(h.o.ChunkDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// words splits the answer's text into its words, padded or cut to
// Options.Chunks when set.
func (h *handler) words(text string) []string {
	ws := strings.Fields(text)
	if len(ws) == 0 {
		ws = []string{"…"}
	}
	if h.o.Chunks <= 0 {
		return ws
	}
	out := make([]string, h.o.Chunks)
	for i := range out {
		out[i] = ws[i%len(ws)]
	}
	return out
}

func hash(s string) uint64 {
	f := fnv.New64a()
	io.WriteString(f, s)
	return f.Sum64()
}

// idFrom returns prefix followed by a short deterministic suffix of seed.
func idFrom(prefix, seed string) string {
	return prefix + strconv.FormatUint(hash(seed), 36)
}
