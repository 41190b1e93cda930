package fake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/canon"
)

// messagesRequest is what the fake reads of a Messages API request,
// leniently: members it has no use for (cache_control, metadata, thinking,
// …) are ignored, as they do not change its answer.
type messagesRequest struct {
	Model      string          `json:"model"`
	System     json.RawMessage `json:"system"`
	Messages   []anthMessage   `json:"messages"`
	MaxTokens  *int64          `json:"max_tokens"`
	Stream     bool            `json:"stream"`
	Tools      []anthTool      `json:"tools"`
	ToolChoice *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
}

type anthMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type anthBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

type anthTool struct {
	Name        string          `json:"name"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// anthBlocks reads content that is a string (one text block) or an array
// of blocks.
func anthBlocks(content json.RawMessage) ([]anthBlock, bool) {
	var s string
	if json.Unmarshal(content, &s) == nil {
		return []anthBlock{{Type: "text", Text: s}}, true
	}
	var blocks []anthBlock
	if json.Unmarshal(content, &blocks) != nil {
		return nil, false
	}
	return blocks, true
}

// anthText returns the text of content: a string, or its text blocks.
func anthText(content json.RawMessage) string {
	blocks, _ := anthBlocks(content)
	var b bytes.Buffer
	for _, bl := range blocks {
		if bl.Type == "text" {
			b.WriteString(bl.Text)
		}
	}
	return b.String()
}

// canon returns the request in canonical form, as far as the model reads
// it. A user message's tool results become a tool message, and its other
// blocks a user message after it, as anthropic.RequestToCanon places them.
// Tools without an input_schema (Anthropic's server tools) are left out:
// the fake cannot call them.
func (m *messagesRequest) canon() (*canon.Request, string) {
	r := &canon.Request{Model: m.Model, Stream: m.Stream, MaxOutputTokens: m.MaxTokens}
	if len(m.System) > 0 && string(m.System) != "null" {
		r.Messages = append(r.Messages, canon.Message{Role: canon.RoleSystem, Parts: []canon.Part{canon.TextPart(anthText(m.System))}})
	}
	for i, msg := range m.Messages {
		blocks, ok := anthBlocks(msg.Content)
		if !ok {
			return nil, "messages." + strconv.Itoa(i) + ".content"
		}
		switch msg.Role {
		case "user":
			var results, rest []canon.Part
			others := false
			for _, b := range blocks {
				switch b.Type {
				case "tool_result":
					results = append(results, canon.ToolResultPart(b.ToolUseID, canon.TextPart(anthText(b.Content))))
				case "text":
					rest, others = append(rest, canon.TextPart(b.Text)), true
				default:
					others = true
				}
			}
			if len(results) > 0 {
				r.Messages = append(r.Messages, canon.Message{Role: canon.RoleTool, Parts: results})
			}
			if others || len(results) == 0 {
				r.Messages = append(r.Messages, canon.Message{Role: canon.RoleUser, Parts: rest})
			}
		case "assistant":
			a := canon.Message{Role: canon.RoleAssistant}
			for _, b := range blocks {
				switch b.Type {
				case "text":
					a.Parts = append(a.Parts, canon.TextPart(b.Text))
				case "tool_use":
					a.Parts = append(a.Parts, canon.ToolCallPart(b.ID, b.Name, compact(b.Input)))
				}
			}
			r.Messages = append(r.Messages, a)
		default:
			return nil, "messages." + strconv.Itoa(i) + ".role"
		}
	}
	for _, t := range m.Tools {
		if len(t.InputSchema) > 0 && string(t.InputSchema) != "null" {
			r.Tools = append(r.Tools, canon.Tool{Name: t.Name, Parameters: t.InputSchema})
		}
	}
	if tc := m.ToolChoice; tc != nil {
		switch tc.Type {
		case "none":
			r.ToolChoice.Mode = canon.ToolChoiceNone
		case "tool":
			r.ToolChoice = canon.ToolChoice{Mode: canon.ToolChoiceTool, Name: tc.Name}
		}
	}
	return r, ""
}

// anthropicRequest reads and checks a Messages API request body, answering
// the client itself (and returning nil) when it cannot go on: a body that
// is not a request, or a model that fails by name. Every Anthropic answer
// carries a request-id header, derived from the body.
func (h *handler) anthropicRequest(w http.ResponseWriter, r *http.Request, needMaxTokens bool) (*messagesRequest, *canon.Request) {
	const d = providers.DialectAnthropic
	body, ok := h.readBody(w, r)
	w.Header().Set("Request-Id", idFrom("req_fake", string(body)))
	if !ok {
		tooLarge(w, d)
		return nil, nil
	}
	var req messagesRequest
	if json.Unmarshal(body, &req) != nil || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		fail(w, d, http.StatusBadRequest, "", "", "The request body is not valid JSON, or not a Messages API request.")
		return nil, nil
	}
	var missing string
	switch {
	case req.Model == "":
		missing = "model"
	case req.Messages == nil:
		missing = "messages"
	case needMaxTokens && req.MaxTokens == nil:
		missing = "max_tokens"
	}
	if missing != "" {
		fail(w, d, http.StatusBadRequest, "", "", missing+": Field required")
		return nil, nil
	}
	if len(req.Messages) == 0 {
		fail(w, d, http.StatusBadRequest, "", "", "messages: at least one message is required")
		return nil, nil
	}
	c, bad := req.canon()
	if bad != "" {
		fail(w, d, http.StatusBadRequest, "", "", bad+": invalid value")
		return nil, nil
	}
	if failure(w, r, d, req.Model) {
		return nil, nil
	}
	return &req, c
}

func (h *handler) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	const d = providers.DialectAnthropic
	req, c := h.anthropicRequest(w, r, true)
	if req == nil {
		return
	}
	rep, bad := h.answer(c)
	if bad != nil {
		fail(w, d, http.StatusBadRequest, "", "", bad.param+": "+bad.msg)
		return
	}
	id, callID := idFrom("msg_fake", rep.seed), idFrom("toolu_fake", rep.seed)
	if !req.Stream {
		b, err := anthropic.ResponseFromCanon(rep.response(id, req.Model, callID))
		if err != nil {
			fail(w, d, http.StatusInternalServerError, "", "", "The fake could not write its answer.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(b, '\n'))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	out := newFlusher(w)
	enc := anthropic.NewStreamEncoder(out)
	pinged := false
	ok := h.play(r.Context(), rep.events(id, req.Model, callID), func(ev canon.Event) error {
		if err := enc.Encode(ev); err != nil {
			return err
		}
		if ev.Kind == canon.EventPartStart && !pinged {
			// Anthropic pings once the first content block has started.
			pinged = true
			_, err := out.Write([]byte("event: ping\ndata: {\"type\": \"ping\"}\n\n"))
			return err
		}
		return nil
	})
	if ok {
		_ = enc.Close()
	}
}

func (h *handler) anthropicCountTokens(w http.ResponseWriter, r *http.Request) {
	req, c := h.anthropicRequest(w, r, false)
	if req == nil {
		return
	}
	rep, _ := h.answer(c) // the prompt's size does not depend on the tool choice
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"input_tokens":` + strconv.FormatInt(rep.prompt, 10) + "}\n"))
}

// anthropicModels answers GET /v1/models as Anthropic lists models.
func (h *handler) anthropicModels(w http.ResponseWriter) {
	w.Header().Set("Request-Id", idFrom("req_fake", "models"))
	type model struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		CreatedAt   string `json:"created_at"`
	}
	out := struct {
		Data    []model `json:"data"`
		HasMore bool    `json:"has_more"`
		FirstID string  `json:"first_id"`
		LastID  string  `json:"last_id"`
	}{FirstID: Models[0], LastID: Models[len(Models)-1]}
	created := time.Unix(h.o.Created, 0).UTC().Format(time.RFC3339)
	for _, m := range Models {
		out.Data = append(out.Data, model{Type: "model", ID: m, DisplayName: m, CreatedAt: created})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
