package fake

// answer is one chat completion, rendered whole or as chunks, in OpenAI's
// shapes: chat.completion and chat.completion.chunk.
type answer struct {
	id      string
	model   string
	created int64
	words   []string
	prompt  int64
}

type usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

func (a answer) usage() *usage {
	n := int64(len(a.words))
	return &usage{PromptTokens: a.prompt, CompletionTokens: n, TotalTokens: a.prompt + n}
}

func (a answer) text() string {
	s := ""
	for i, w := range a.words {
		if i > 0 {
			s += " "
		}
		s += w
	}
	return s
}

type message struct {
	Role    string  `json:"role"`
	Content string  `json:"content"`
	Refusal *string `json:"refusal"`
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

func (a answer) completion() completion {
	return completion{
		ID: a.id, Object: "chat.completion", Created: a.created, Model: a.model,
		Choices:           []choice{{Message: message{Role: "assistant", Content: a.text()}, FinishReason: "stop"}},
		Usage:             a.usage(),
		SystemFingerprint: "fp_fake",
	}
}

type delta struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content,omitempty"`
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

func (a answer) base() chunk {
	return chunk{ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.model, SystemFingerprint: "fp_fake"}
}

func (a answer) withUsage(c chunk, includeUsage bool) any {
	if includeUsage {
		return chunkWithNullUsage{chunk: c}
	}
	return c
}

func (a answer) chunk(i int, includeUsage bool) any {
	c := a.base()
	d := delta{Content: a.words[i]}
	if i > 0 {
		d.Content = " " + d.Content
	} else {
		d.Role = "assistant"
	}
	c.Choices = []chunkChoice{{Delta: d}}
	return a.withUsage(c, includeUsage)
}

func (a answer) finalChunk(includeUsage bool) any {
	c := a.base()
	stop := "stop"
	c.Choices = []chunkChoice{{FinishReason: &stop}}
	return a.withUsage(c, includeUsage)
}

func (a answer) usageChunk() any {
	c := a.base()
	c.Choices = []chunkChoice{}
	c.Usage = a.usage()
	return c
}
