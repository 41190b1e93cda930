package fake

import (
	"encoding/json"
	"iter"
	"strings"
	"unicode/utf8"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

// reply is the fake model's answer to one request, in dialect-neutral
// terms: a text of words, or one tool call. Each dialect writes it in its
// own shapes.
type reply struct {
	// seed is what the answer's IDs derive from.
	seed string
	// words is the text answer, when call is nil.
	words []string
	// call is the tool the model calls, if any (its ID is the dialect's).
	call *canon.ToolCall
	// prompt is the input token count.
	prompt int64
}

// badRequest is a request the model cannot answer, such as a tool choice
// naming a tool the request does not offer.
type badRequest struct{ param, msg string }

// answer runs the fake model on req (see the package documentation for the
// rules).
func (h *handler) answer(req *canon.Request) (reply, *badRequest) {
	var lastUser string
	promptBytes := 0
	turn := 0 // the messages after the last assistant message
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case canon.RoleUser:
			lastUser = m.Text()
		case canon.RoleAssistant:
			turn = i + 1
		}
		for _, p := range m.Parts {
			promptBytes += partBytes(p)
		}
	}
	r := reply{seed: lastUser, prompt: PromptTokens(promptBytes)}
	var said []string
	user := false
	for _, m := range req.Messages[turn:] {
		user = user || m.Role == canon.RoleUser
		for _, p := range m.Parts {
			if p.Kind == canon.PartToolResult {
				said = append(said, toolSaid(req, p.ToolResult))
			}
		}
	}
	switch {
	case len(said) > 0:
		text := strings.Join(said, " ")
		r.seed, r.words = "result\x00"+text, h.capped(text, req.MaxOutputTokens)
	case user && len(req.Tools) > 0 && req.ToolChoice.Mode != canon.ToolChoiceNone:
		tool := &req.Tools[0]
		if req.ToolChoice.Mode == canon.ToolChoiceTool {
			tool = findTool(req.Tools, req.ToolChoice.Name)
			if tool == nil {
				return reply{}, &badRequest{"tool_choice", "The tool that tool_choice names is not among the tools offered."}
			}
		}
		args := arguments(tool.Parameters, lastUser)
		r.seed = "call\x00" + tool.Name + "\x00" + string(args)
		r.call = &canon.ToolCall{Name: tool.Name, Arguments: args}
	default:
		r.words = h.capped(lastUser, req.MaxOutputTokens)
	}
	return r, nil
}

// capped returns the words of text, cut to limit if it is set.
func (h *handler) capped(text string, limit *int64) []string {
	ws := h.words(text)
	if limit != nil && *limit >= 0 && *limit < int64(len(ws)) {
		ws = ws[:*limit]
	}
	return ws
}

// partBytes is what a part adds to the prompt's size: its text, a tool
// call's arguments, a tool result's text. Images, names and tool
// definitions add nothing.
func partBytes(p canon.Part) int {
	switch p.Kind {
	case canon.PartText:
		return len(p.Text)
	case canon.PartToolCall:
		return len(p.ToolCall.Arguments)
	case canon.PartToolResult:
		n := 0
		for _, c := range p.ToolResult.Content {
			n += partBytes(c)
		}
		return n
	}
	return 0
}

// toolSaid is the model's report of one tool result.
func toolSaid(req *canon.Request, res canon.ToolResult) string {
	name := res.Name
	if name == "" {
		name = req.ToolName(res.CallID)
	}
	if name == "" {
		name = res.CallID
	}
	var text strings.Builder
	for _, c := range res.Content {
		if c.Kind == canon.PartText {
			text.WriteString(c.Text)
		}
	}
	return "tool " + name + " said: " + text.String()
}

func findTool(tools []canon.Tool, name string) *canon.Tool {
	for i := range tools {
		if tools[i].Name == name {
			return &tools[i]
		}
	}
	return nil
}

// text is the answer's text: its words joined by spaces.
func (r *reply) text() string { return strings.Join(r.words, " ") }

// outputTokens is the answer's output token count: one a word, or for a
// tool call, PromptTokens of its arguments' bytes.
func (r *reply) outputTokens() int64 {
	if r.call != nil {
		return PromptTokens(len(r.call.Arguments))
	}
	return int64(len(r.words))
}

func (r *reply) usage() metering.Usage {
	return metering.Usage{InputTokens: r.prompt, OutputTokens: r.outputTokens()}
}

func (r *reply) finish() canon.FinishReason {
	if r.call != nil {
		return canon.FinishToolCalls
	}
	return canon.FinishStop
}

// response is the answer whole, in canonical form, with callID as its tool
// call's ID.
func (r *reply) response(id, model, callID string) *canon.Response {
	c := canon.Choice{Finish: r.finish(), Parts: []canon.Part{}}
	switch {
	case r.call != nil:
		c.Parts = append(c.Parts, canon.ToolCallPart(callID, r.call.Name, r.call.Arguments))
	case len(r.words) > 0:
		c.Parts = append(c.Parts, canon.TextPart(r.text()))
	}
	return &canon.Response{ID: id, Model: model, Choices: []canon.Choice{c}, Usage: r.usage(), UsageKnown: true}
}

// events is the answer as a stream: the start, the input usage, then a
// text part with one delta a word (" word" after the first) or a tool call
// whose arguments come in two deltas, the finish and the whole usage.
func (r *reply) events(id, model, callID string) iter.Seq[canon.Event] {
	return func(yield func(canon.Event) bool) {
		if !yield(canon.Event{Kind: canon.EventStart, ID: id, Model: model}) ||
			!yield(canon.Event{Kind: canon.EventUsage, Usage: metering.Usage{InputTokens: r.prompt}}) {
			return
		}
		switch {
		case r.call != nil:
			if !yield(canon.Event{Kind: canon.EventPartStart, PartKind: canon.PartToolCall, ID: callID, Name: r.call.Name}) {
				return
			}
			for _, frag := range halves(r.call.Arguments) {
				if !yield(canon.Event{Kind: canon.EventPartDelta, Text: frag}) {
					return
				}
			}
			if !yield(canon.Event{Kind: canon.EventPartStop}) {
				return
			}
		case len(r.words) > 0:
			if !yield(canon.Event{Kind: canon.EventPartStart, PartKind: canon.PartText}) {
				return
			}
			for i, w := range r.words {
				if i > 0 {
					w = " " + w
				}
				if !yield(canon.Event{Kind: canon.EventPartDelta, Text: []byte(w)}) {
					return
				}
			}
			if !yield(canon.Event{Kind: canon.EventPartStop}) {
				return
			}
		}
		if yield(canon.Event{Kind: canon.EventFinish, Finish: r.finish()}) {
			yield(canon.Event{Kind: canon.EventUsage, Usage: r.usage()})
		}
	}
}

// halves splits JSON text in two at a rune boundary near its middle, so
// that a streamed tool call exercises its clients' argument accumulators.
func halves(b json.RawMessage) [][]byte {
	k := len(b) / 2
	for k > 0 && !utf8.RuneStart(b[k]) {
		k--
	}
	if k == 0 {
		return [][]byte{b}
	}
	return [][]byte{b[:k], b[k:]}
}
