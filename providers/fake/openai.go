package fake

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strings"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// chatRequest is what the fake reads of a chat completion request. It is
// read leniently, as OpenAI reads it: members the fake has no use for are
// ignored.
type chatRequest struct {
	Model         string          `json:"model"`
	Messages      []chatMessage   `json:"messages"`
	Stream        bool            `json:"stream"`
	StreamOptions *streamOptions  `json:"stream_options"`
	MaxTokens     *int64          `json:"max_tokens"`
	MaxCompletion *int64          `json:"max_completion_tokens"`
	Tools         []chatTool      `json:"tools"`
	ToolChoice    json.RawMessage `json:"tool_choice"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []chatToolCall  `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type chatToolCall struct {
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatTool struct {
	Type     string `json:"type"`
	Function struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"function"`
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

// canon returns the request in canonical form, as far as the model reads
// it.
func (c *chatRequest) canon() *canon.Request {
	r := &canon.Request{Model: c.Model, Stream: c.Stream, MaxOutputTokens: c.MaxCompletion}
	if r.MaxOutputTokens == nil {
		r.MaxOutputTokens = c.MaxTokens
	}
	for _, m := range c.Messages {
		text := canon.TextPart(m.text())
		switch m.Role {
		case "user":
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleUser, Parts: []canon.Part{text}})
		case "assistant":
			msg := canon.Message{Role: canon.RoleAssistant, Parts: []canon.Part{text}}
			for _, tc := range m.ToolCalls {
				args := []byte(tc.Function.Arguments)
				if json.Valid(args) {
					args = compact(args)
				}
				msg.Parts = append(msg.Parts, canon.ToolCallPart(tc.ID, tc.Function.Name, args))
			}
			r.Messages = append(r.Messages, msg)
		case "tool":
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleTool,
				Parts: []canon.Part{canon.ToolResultPart(m.ToolCallID, text)}})
		default: // system, developer, and roles the fake does not know
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleSystem, Parts: []canon.Part{text}})
		}
	}
	for _, t := range c.Tools {
		if t.Type == "function" || t.Type == "" {
			r.Tools = append(r.Tools, canon.Tool{Name: t.Function.Name, Parameters: t.Function.Parameters})
		}
	}
	var mode string
	var named struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	switch {
	case json.Unmarshal(c.ToolChoice, &mode) == nil && mode == "none":
		r.ToolChoice.Mode = canon.ToolChoiceNone
	case bytes.HasPrefix(bytes.TrimSpace(c.ToolChoice), []byte("{")) && json.Unmarshal(c.ToolChoice, &named) == nil && named.Function.Name != "":
		r.ToolChoice = canon.ToolChoice{Mode: canon.ToolChoiceTool, Name: named.Function.Name}
	}
	return r
}

func (h *handler) chat(w http.ResponseWriter, r *http.Request) {
	const d = providers.DialectOpenAI
	body, ok := h.readBody(w, r)
	if !ok {
		tooLarge(w, d)
		return
	}
	var req chatRequest
	if json.Unmarshal(body, &req) != nil {
		fail(w, d, http.StatusBadRequest, "invalid_request_error", "invalid_json", "We could not parse the JSON body of your request.")
		return
	}
	if req.Model == "" {
		fail(w, d, http.StatusBadRequest, "invalid_request_error", "missing_required_parameter", "You must provide a model parameter.")
		return
	}
	if len(req.Messages) == 0 {
		fail(w, d, http.StatusBadRequest, "invalid_request_error", "missing_required_parameter", "Missing required parameter: 'messages'.")
		return
	}
	if failure(w, r, d, req.Model) {
		return
	}
	rep, bad := h.answer(req.canon())
	if bad != nil {
		fail(w, d, http.StatusBadRequest, "invalid_request_error", "invalid_value", bad.msg)
		return
	}
	a := answer{reply: rep, id: idFrom("chatcmpl-fake", rep.seed), callID: idFrom("call_fake", rep.seed),
		model: req.Model, created: h.o.Created}
	if req.Stream {
		h.openAIStream(w, r, a, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a.completion())
}

func (h *handler) openAIStream(w http.ResponseWriter, r *http.Request, a answer, includeUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	sw := newFlusher(w)
	send := func(v any) bool {
		b, _ := json.Marshal(v)
		b = append(append([]byte("data: "), b...), "\n\n"...)
		_, err := sw.Write(b)
		return err == nil
	}
	for content, c := range a.chunks(includeUsage) {
		if content && !h.wait(r.Context()) {
			return
		}
		if !send(c) {
			return
		}
	}
	_, _ = sw.Write([]byte("data: [DONE]\n\n"))
}

type embeddingRequest struct {
	Model string          `json:"model"`
	Input json.RawMessage `json:"input"`
}

func (h *handler) embeddings(w http.ResponseWriter, r *http.Request) {
	const d = providers.DialectOpenAI
	body, ok := h.readBody(w, r)
	if !ok {
		tooLarge(w, d)
		return
	}
	var req embeddingRequest
	if json.Unmarshal(body, &req) != nil {
		fail(w, d, http.StatusBadRequest, "invalid_request_error", "invalid_json", "We could not parse the JSON body of your request.")
		return
	}
	if failure(w, r, d, req.Model) {
		return
	}
	var inputs []string
	var one string
	if json.Unmarshal(req.Input, &one) == nil {
		inputs = []string{one}
	} else if json.Unmarshal(req.Input, &inputs) != nil || len(inputs) == 0 {
		fail(w, d, http.StatusBadRequest, "invalid_request_error", "invalid_type", "Invalid type for 'input': expected a string or an array of strings.")
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
		out.Data = append(out.Data, item{Object: "embedding", Index: i, Embedding: h.vector(in)})
	}
	out.Usage.PromptTokens = PromptTokens(n)
	out.Usage.TotalTokens = out.Usage.PromptTokens
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// vector is the embedding of in: Dimensions pseudo-random values seeded by
// in, normalized to length 1.
func (h *handler) vector(in string) []float64 {
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
	return vec
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
