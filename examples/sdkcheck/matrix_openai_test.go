package sdkcheck_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	openaisdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// openaiClient drives the matrix with github.com/openai/openai-go.
type openaiClient struct{ c openaisdk.Client }

func newOpenAIClient(url, key string, hc *http.Client, retries int) openaiClient {
	return openaiClient{openaisdk.NewClient(
		option.WithBaseURL(url+"/v1/"),
		option.WithAPIKey(key),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(retries),
	)}
}

func (o openaiClient) params(model, prompt string) openaisdk.ChatCompletionNewParams {
	return openaisdk.ChatCompletionNewParams{Model: model, Messages: []openaisdk.ChatCompletionMessageParamUnion{openaisdk.UserMessage(prompt)}}
}

func (o openaiClient) chat(ctx context.Context, model, prompt string) (string, error) {
	got, err := o.c.Chat.Completions.New(ctx, o.params(model, prompt))
	if err != nil {
		return "", err
	}
	if len(got.Choices) != 1 {
		return "", errors.New("want one choice")
	}
	return got.Choices[0].Message.Content, nil
}

// accumulate reads a stream through the SDK's accumulator.
func (o openaiClient) accumulate(ctx context.Context, p openaisdk.ChatCompletionNewParams) (*openaisdk.ChatCompletion, error) {
	stream := o.c.Chat.Completions.NewStreaming(ctx, p)
	defer stream.Close()
	var acc openaisdk.ChatCompletionAccumulator
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			return nil, errors.New("the accumulator refused a chunk")
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	if len(acc.Choices) != 1 {
		return nil, errors.New("want one choice")
	}
	return &acc.ChatCompletion, nil
}

func (o openaiClient) stream(ctx context.Context, model, prompt string) (string, error) {
	got, err := o.accumulate(ctx, o.params(model, prompt))
	if err != nil {
		return "", err
	}
	return got.Choices[0].Message.Content, nil
}

func (o openaiClient) toolParams(model, prompt string) openaisdk.ChatCompletionNewParams {
	p := o.params(model, prompt)
	p.Tools = []openaisdk.ChatCompletionToolUnionParam{openaisdk.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        weatherTool,
		Description: openaisdk.String("The weather in a city."),
		Parameters: shared.FunctionParameters{
			"type":       "object",
			"properties": map[string]any{weatherParam: map[string]any{"type": "string"}},
			"required":   []string{weatherParam},
		},
	})}
	return p
}

func (o openaiClient) callTool(ctx context.Context, model, prompt string, streamed bool) ([]toolCall, error) {
	var got *openaisdk.ChatCompletion
	var err error
	if streamed {
		got, err = o.accumulate(ctx, o.toolParams(model, prompt))
	} else {
		got, err = o.c.Chat.Completions.New(ctx, o.toolParams(model, prompt))
	}
	if err != nil {
		return nil, err
	}
	if len(got.Choices) != 1 {
		return nil, errors.New("want one choice")
	}
	if f := got.Choices[0].FinishReason; f != "tool_calls" {
		return nil, errors.New("finish reason " + f + ", want tool_calls")
	}
	var calls []toolCall
	for _, tc := range got.Choices[0].Message.ToolCalls {
		c := toolCall{ID: tc.ID, Name: tc.Function.Name}
		if err := json.Unmarshal([]byte(tc.Function.Arguments), &c.Args); err != nil {
			return nil, err
		}
		calls = append(calls, c)
	}
	return calls, nil
}

func (o openaiClient) answerTool(ctx context.Context, model, prompt string, call toolCall) (string, error) {
	args, _ := json.Marshal(call.Args)
	p := o.toolParams(model, prompt)
	p.Messages = append(p.Messages,
		openaisdk.ChatCompletionMessageParamUnion{OfAssistant: &openaisdk.ChatCompletionAssistantMessageParam{
			ToolCalls: []openaisdk.ChatCompletionMessageToolCallUnionParam{{OfFunction: &openaisdk.ChatCompletionMessageFunctionToolCallParam{
				ID:       call.ID,
				Function: openaisdk.ChatCompletionMessageFunctionToolCallFunctionParam{Name: call.Name, Arguments: string(args)},
			}}},
		}},
		openaisdk.ToolMessage(toolAnswer, call.ID),
	)
	got, err := o.c.Chat.Completions.New(ctx, p)
	if err != nil {
		return "", err
	}
	if len(got.Choices) != 1 {
		return "", errors.New("want one choice")
	}
	return got.Choices[0].Message.Content, nil
}

func (o openaiClient) badField(ctx context.Context, model string) error {
	p := o.params(model, matrixPrompt)
	p.MaxCompletionTokens = openaisdk.Int(-1)
	_, err := o.c.Chat.Completions.New(ctx, p)
	return err
}

func (o openaiClient) status(err error) int {
	if e, ok := errors.AsType[*openaisdk.Error](err); ok {
		return e.StatusCode
	}
	return 0
}
