package fake

import "iter"

// answer is one chat completion, rendered whole or as chunks, in OpenAI's
// shapes: chat.completion and chat.completion.chunk. They are written here
// rather than with the openai package's encoders so that the fake sends
// what OpenAI sends (system_fingerprint, explicit nulls for refusal and
// logprobs), byte for byte as its tests and examples pin.
type answer struct {
	reply
	id      string
	callID  string
	model   string
	created int64
}

type usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

func (a *answer) openAIUsage() *usage {
	n := a.outputTokens()
	return &usage{PromptTokens: a.prompt, CompletionTokens: n, TotalTokens: a.prompt + n}
}

func (a *answer) finishReason() string {
	if a.call != nil {
		return "tool_calls"
	}
	return "stop"
}

type function struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type toolCall struct {
	Index    *int     `json:"index,omitempty"`
	ID       string   `json:"id,omitempty"`
	Type     string   `json:"type,omitempty"`
	Function function `json:"function"`
}

type message struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	Refusal   *string    `json:"refusal"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
}

type choice struct {
	Index        int     `json:"index"`
	Message      message `json:"message"`
	Logprobs     *string `json:"logprobs"`
	FinishReason string  `json:"finish_reason"`
}

type completion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []choice `json:"choices"`
	Usage             *usage   `json:"usage"`
	SystemFingerprint string   `json:"system_fingerprint"`
}

func (a *answer) completion() completion {
	m := message{Role: "assistant"}
	if a.call != nil {
		m.ToolCalls = []toolCall{{ID: a.callID, Type: "function",
			Function: function{Name: a.call.Name, Arguments: string(a.call.Arguments)}}}
	} else {
		text := a.text()
		m.Content = &text
	}
	return completion{
		ID: a.id, Object: "chat.completion", Created: a.created, Model: a.model,
		Choices:           []choice{{Message: m, FinishReason: a.finishReason()}},
		Usage:             a.openAIUsage(),
		SystemFingerprint: "fp_fake",
	}
}

type delta struct {
	Role      string     `json:"role,omitempty"`
	Content   string     `json:"content,omitempty"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
}

type chunkChoice struct {
	Index        int     `json:"index"`
	Delta        delta   `json:"delta"`
	Logprobs     *string `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

// chunk is a chat.completion.chunk. Usage is serialized as null on every
// chunk but the usage-only one when the client asked for usage, and left
// out otherwise, as OpenAI does.
type chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint"`
	Choices           []chunkChoice `json:"choices"`
	Usage             *usage        `json:"usage,omitempty"`
}

type chunkWithNullUsage struct {
	chunk
	Usage *usage `json:"usage"`
}

func (a *answer) base() chunk {
	return chunk{ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.model, SystemFingerprint: "fp_fake"}
}

func (a *answer) withUsage(c chunk, includeUsage bool) any {
	if includeUsage {
		return chunkWithNullUsage{chunk: c}
	}
	return c
}

func (a *answer) deltaChunk(d delta, includeUsage bool) any {
	c := a.base()
	c.Choices = []chunkChoice{{Delta: d}}
	return a.withUsage(c, includeUsage)
}

// chunks yields the stream's chunks in order, each with whether it
// carries content (and so waits for Options.ChunkDelay): for text, one
// chunk a word, the first with the role; for a tool call, a chunk that
// opens the call (role, id, name and empty arguments) and one for each
// half of its arguments. Then the finish chunk, and the usage-only chunk
// if the client asked for usage.
func (a *answer) chunks(includeUsage bool) iter.Seq2[bool, any] {
	return func(yield func(bool, any) bool) {
		if a.call != nil {
			zero := 0
			open := delta{Role: "assistant", ToolCalls: []toolCall{{Index: &zero, ID: a.callID, Type: "function",
				Function: function{Name: a.call.Name}}}}
			if !yield(false, a.deltaChunk(open, includeUsage)) {
				return
			}
			for _, frag := range halves(a.call.Arguments) {
				d := delta{ToolCalls: []toolCall{{Index: &zero, Function: function{Arguments: string(frag)}}}}
				if !yield(true, a.deltaChunk(d, includeUsage)) {
					return
				}
			}
		}
		for i, w := range a.words {
			d := delta{Content: w}
			if i > 0 {
				d.Content = " " + d.Content
			} else {
				d.Role = "assistant"
			}
			if !yield(true, a.deltaChunk(d, includeUsage)) {
				return
			}
		}
		c := a.base()
		finish := a.finishReason()
		c.Choices = []chunkChoice{{FinishReason: &finish}}
		if !yield(false, a.withUsage(c, includeUsage)) || !includeUsage {
			return
		}
		c = a.base()
		c.Choices = []chunkChoice{}
		c.Usage = a.openAIUsage()
		yield(false, c)
	}
}
