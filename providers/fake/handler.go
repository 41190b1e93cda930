package fake

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wicket-gw/wicket/internal/apierror"
)

// Options configures the fake model. A nil *Options, and every zero field,
// means the default documented on the field.
type Options struct {
	// Chunks, if positive, makes every answer exactly this many words (the
	// echoed words repeat as needed), so a stream has Chunks content
	// chunks. Default: the echoed text's own words.
	Chunks int
	// ChunkDelay is the pause before each streamed chunk. Default none.
	ChunkDelay time.Duration
	// Created is the "created" timestamp in answers. Default 1700000000,
	// so answers are byte-for-byte reproducible.
	Created int64
	// Dimensions is the length of embedding vectors. Default 8.
	Dimensions int
	// MaxBodyBytes caps request bodies. Default 8 MiB.
	MaxBodyBytes int64
}

// Models are the model names the fake lists.
var Models = []string{"fake-echo", "fake-embed", "fake-error-429", "fake-error-500", "fake-error-503", "fake-hang"}

type handler struct{ o Options }

// Handler returns an http.Handler speaking the OpenAI wire format. It
// serves POST .../chat/completions, POST .../embeddings and GET .../models
// under any prefix (so both /v1/chat/completions and /chat/completions
// work).
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
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models"):
		h.models(w)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions"):
		h.chat(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/embeddings"):
		h.embeddings(w, r)
	default:
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "Unknown fake endpoint.")
	}
}

// chatRequest is what the fake reads of a chat completion request.
type chatRequest struct {
	Model         string          `json:"model"`
	Messages      []chatMessage   `json:"messages"`
	Stream        bool            `json:"stream"`
	StreamOptions *streamOptions  `json:"stream_options"`
	MaxTokens     *int            `json:"max_tokens"`
	MaxCompletion *int            `json:"max_completion_tokens"`
	N             json.RawMessage `json:"n"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text returns the message's text: a string, or the text parts of an array.
func (m chatMessage) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			if p.Type == "text" {
				b.WriteString(p.Text)
			}
		}
		return b.String()
	}
	return ""
}

// PromptTokens is the fake's token count for a prompt of n bytes: n/4
// rounded up, the same rule as the gateway's default estimator.
func PromptTokens(n int) int64 { return int64((n + 3) / 4) }

func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "Request body too large.")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "We could not parse the JSON body of your request.")
		return false
	}
	return true
}

// failure answers the error-selecting model names and reports whether it did.
func failure(w http.ResponseWriter, r *http.Request, model string) bool {
	switch model {
	case "fake-error-429":
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "Rate limit reached for fake-error-429.")
	case "fake-error-500":
		writeError(w, http.StatusInternalServerError, "server_error", "", "The fake server had an error while processing your request.")
	case "fake-error-503":
		writeError(w, http.StatusServiceUnavailable, "server_error", "", "The fake engine is currently overloaded.")
	case "fake-hang":
		<-r.Context().Done()
	default:
		return false
	}
	return true
}

func (h *handler) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.Model == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "missing_required_parameter", "You must provide a model parameter.")
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "missing_required_parameter", "Missing required parameter: 'messages'.")
		return
	}
	if failure(w, r, req.Model) {
		return
	}
	promptBytes, last := 0, ""
	for _, m := range req.Messages {
		t := m.text()
		promptBytes += len(t)
		if m.Role == "user" {
			last = t
		}
	}
	words := h.words(last)
	if limit := firstSet(req.MaxCompletion, req.MaxTokens); limit >= 0 && limit < len(words) {
		words = words[:limit]
	}
	a := answer{id: "chatcmpl-fake" + strconv.FormatUint(hash(last), 36), model: req.Model, created: h.o.Created,
		words: words, prompt: PromptTokens(promptBytes)}
	if req.Stream {
		h.stream(w, r, a, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a.completion())
}

func firstSet(ps ...*int) int {
	for _, p := range ps {
		if p != nil {
			return *p
		}
	}
	return -1
}

// words splits the echoed text into the answer's words, padded or cut to
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

func (h *handler) stream(w http.ResponseWriter, r *http.Request, a answer, includeUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	wait := func() bool {
		if h.o.ChunkDelay <= 0 {
			return r.Context().Err() == nil
		}
		t := time.NewTimer(h.o.ChunkDelay)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
			return false
		}
	}
	for i := range a.words {
		if !wait() || !send(a.chunk(i, includeUsage)) {
			return
		}
	}
	if !send(a.finalChunk(includeUsage)) {
		return
	}
	if includeUsage && !send(a.usageChunk()) {
		return
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	rc.Flush()
}

type embeddingRequest struct {
	Model string          `json:"model"`
	Input json.RawMessage `json:"input"`
}

func (h *handler) embeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingRequest
	if !h.decode(w, r, &req) {
		return
	}
	if failure(w, r, req.Model) {
		return
	}
	var inputs []string
	var one string
	if json.Unmarshal(req.Input, &one) == nil {
		inputs = []string{one}
	} else if json.Unmarshal(req.Input, &inputs) != nil || len(inputs) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_type", "Invalid type for 'input': expected a string or an array of strings.")
		return
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  struct {
			PromptTokens int64 `json:"prompt_tokens"`
			TotalTokens  int64 `json:"total_tokens"`
		} `json:"usage"`
	}{Object: "list", Model: req.Model}
	var n int
	for i, in := range inputs {
		n += len(in)
		vec := make([]float64, h.o.Dimensions)
		seed := hash(in)
		var norm float64
		for j := range vec {
			seed = seed*6364136223846793005 + 1442695040888963407
			vec[j] = float64(int64(seed>>11)%2000-1000) / 1000
			norm += vec[j] * vec[j]
		}
		for j := range vec {
			vec[j] = math.Round(vec[j]/math.Sqrt(norm)*1e6) / 1e6
		}
		out.Data = append(out.Data, item{Object: "embedding", Index: i, Embedding: vec})
	}
	out.Usage.PromptTokens = PromptTokens(n)
	out.Usage.TotalTokens = out.Usage.PromptTokens
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (h *handler) models(w http.ResponseWriter) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, m := range Models {
		out.Data = append(out.Data, model{ID: m, Object: "model", Created: h.o.Created, OwnedBy: "wicket-fake"})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	apierror.Write(w, status, apierror.Body{Status: status, Type: typ, Code: code, Message: msg}.OpenAI())
}
