package sdkcheck_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	anthropicsdk "github.com/anthropics/anthropic-sdk-go/v2"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/v2/option"
)

// anthropicClient drives the matrix with github.com/anthropics/anthropic-sdk-go.
type anthropicClient struct{ c anthropicsdk.Client }

func newAnthropicClient(url, key string, hc *http.Client, retries int) anthropicClient {
	return anthropicClient{anthropicsdk.NewClient(
		anthropicopt.WithBaseURL(url+"/"),
		anthropicopt.WithAPIKey(key),
		anthropicopt.WithHTTPClient(hc),
		anthropicopt.WithMaxRetries(retries),
	)}
}

func (a anthropicClient) params(model, prompt string) anthropicsdk.MessageNewParams {
	return anthropicsdk.MessageNewParams{
		Model:     model,
		MaxTokens: 256,
		Messages:  []anthropicsdk.MessageParam{anthropicsdk.NewUserMessage(anthropicsdk.NewTextBlock(prompt))},
	}
}

// text joins the text blocks of a message.
func text(m *anthropicsdk.Message) string {
	var b strings.Builder
	for _, c := range m.Content {
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

func (a anthropicClient) chat(ctx context.Context, model, prompt string) (string, error) {
	got, err := a.c.Messages.New(ctx, a.params(model, prompt))
	if err != nil {
		return "", err
	}
	return text(got), nil
}

// accumulate reads a stream into a message with the SDK's Accumulate.
func (a anthropicClient) accumulate(ctx context.Context, p anthropicsdk.MessageNewParams) (*anthropicsdk.Message, error) {
	stream := a.c.Messages.NewStreaming(ctx, p)
	defer stream.Close()
	var msg anthropicsdk.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			return nil, err
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	return &msg, nil
}

func (a anthropicClient) stream(ctx context.Context, model, prompt string) (string, error) {
	got, err := a.accumulate(ctx, a.params(model, prompt))
	if err != nil {
		return "", err
	}
	return text(got), nil
}

func (a anthropicClient) toolParams(model, prompt string) anthropicsdk.MessageNewParams {
	p := a.params(model, prompt)
	p.Tools = []anthropicsdk.ToolUnionParam{{OfTool: &anthropicsdk.ToolParam{
		Name:        weatherTool,
		Description: anthropicsdk.String("The weather in a city."),
		InputSchema: anthropicsdk.ToolInputSchemaParam{
			Properties: map[string]any{weatherParam: map[string]any{"type": "string"}},
			Required:   []string{weatherParam},
		},
	}}}
	return p
}

func (a anthropicClient) callTool(ctx context.Context, model, prompt string, streamed bool) ([]toolCall, error) {
	var got *anthropicsdk.Message
	var err error
	if streamed {
		got, err = a.accumulate(ctx, a.toolParams(model, prompt))
	} else {
		got, err = a.c.Messages.New(ctx, a.toolParams(model, prompt))
	}
	if err != nil {
		return nil, err
	}
	if got.StopReason != "tool_use" {
		return nil, errors.New("stop reason " + string(got.StopReason) + ", want tool_use")
	}
	var calls []toolCall
	for _, c := range got.Content {
		if c.Type != "tool_use" {
			continue
		}
		tc := toolCall{ID: c.ID, Name: c.Name}
		if err := json.Unmarshal(c.Input, &tc.Args); err != nil {
			return nil, err
		}
		calls = append(calls, tc)
	}
	return calls, nil
}

func (a anthropicClient) answerTool(ctx context.Context, model, prompt string, call toolCall) (string, error) {
	p := a.toolParams(model, prompt)
	p.Messages = append(p.Messages,
		anthropicsdk.NewAssistantMessage(anthropicsdk.NewToolUseBlock(call.ID, call.Args, call.Name)),
		anthropicsdk.NewUserMessage(anthropicsdk.NewToolResultBlock(call.ID, toolAnswer, false)),
	)
	got, err := a.c.Messages.New(ctx, p)
	if err != nil {
		return "", err
	}
	return text(got), nil
}

func (a anthropicClient) badField(ctx context.Context, model string) error {
	p := a.params(model, matrixPrompt)
	p.MaxTokens = -1
	_, err := a.c.Messages.New(ctx, p)
	return err
}

func (a anthropicClient) status(err error) int {
	if e, ok := errors.AsType[*anthropicsdk.Error](err); ok {
		return e.StatusCode
	}
	return 0
}
