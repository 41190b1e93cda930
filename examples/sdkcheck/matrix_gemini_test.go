package sdkcheck_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genai"
)

// geminiClient drives the matrix with google.golang.org/genai.
type geminiClient struct{ c *genai.Client }

func newGeminiClient(t *testing.T, url, key string, hc *http.Client, retries int) geminiClient {
	t.Helper()
	attempts := int32(retries + 1)
	delay := 0.05
	c, err := genai.NewClient(t.Context(), &genai.ClientConfig{
		APIKey:     key,
		Backend:    genai.BackendGeminiAPI,
		HTTPClient: hc,
		HTTPOptions: genai.HTTPOptions{
			BaseURL:      url + "/",
			RetryOptions: &genai.HTTPRetryOptions{Attempts: &attempts, InitialDelay: &delay},
		},
	})
	if err != nil {
		t.Fatalf("genai.NewClient: %v", err)
	}
	return geminiClient{c}
}

// textOf joins the text parts of the first candidate, thoughts aside.
func textOf(resp *genai.GenerateContentResponse) string {
	if len(resp.Candidates) == 0 || resp.Candidates[0].Content == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range resp.Candidates[0].Content.Parts {
		if !p.Thought {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func (g geminiClient) chat(ctx context.Context, model, prompt string) (string, error) {
	got, err := g.c.Models.GenerateContent(ctx, model, genai.Text(prompt), nil)
	if err != nil {
		return "", err
	}
	return textOf(got), nil
}

func (g geminiClient) stream(ctx context.Context, model, prompt string) (string, error) {
	var b strings.Builder
	for chunk, err := range g.c.Models.GenerateContentStream(ctx, model, genai.Text(prompt), nil) {
		if err != nil {
			return "", err
		}
		b.WriteString(textOf(chunk))
	}
	return b.String(), nil
}

func (g geminiClient) toolConfig() *genai.GenerateContentConfig {
	return &genai.GenerateContentConfig{Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
		Name:        weatherTool,
		Description: "The weather in a city.",
		Parameters: &genai.Schema{
			Type:       genai.TypeObject,
			Properties: map[string]*genai.Schema{weatherParam: {Type: genai.TypeString}},
			Required:   []string{weatherParam},
		},
	}}}}}
}

func (g geminiClient) callTool(ctx context.Context, model, prompt string, streamed bool) ([]toolCall, error) {
	var calls []toolCall
	collect := func(resp *genai.GenerateContentResponse) {
		for _, fc := range resp.FunctionCalls() {
			calls = append(calls, toolCall{ID: fc.ID, Name: fc.Name, Args: fc.Args})
		}
	}
	if streamed {
		for chunk, err := range g.c.Models.GenerateContentStream(ctx, model, genai.Text(prompt), g.toolConfig()) {
			if err != nil {
				return nil, err
			}
			collect(chunk)
		}
		return calls, nil
	}
	got, err := g.c.Models.GenerateContent(ctx, model, genai.Text(prompt), g.toolConfig())
	if err != nil {
		return nil, err
	}
	collect(got)
	return calls, nil
}

func (g geminiClient) answerTool(ctx context.Context, model, prompt string, call toolCall) (string, error) {
	contents := []*genai.Content{
		{Role: genai.RoleUser, Parts: []*genai.Part{{Text: prompt}}},
		{Role: genai.RoleModel, Parts: []*genai.Part{{FunctionCall: &genai.FunctionCall{ID: call.ID, Name: call.Name, Args: call.Args}}}},
		{Role: genai.RoleUser, Parts: []*genai.Part{{FunctionResponse: &genai.FunctionResponse{ID: call.ID, Name: call.Name, Response: map[string]any{"output": toolAnswer}}}}},
	}
	got, err := g.c.Models.GenerateContent(ctx, model, contents, g.toolConfig())
	if err != nil {
		return "", err
	}
	return textOf(got), nil
}

func (g geminiClient) badField(ctx context.Context, model string) error {
	_, err := g.c.Models.GenerateContent(ctx, model, genai.Text(matrixPrompt), &genai.GenerateContentConfig{MaxOutputTokens: -1})
	return err
}

func (g geminiClient) status(err error) int {
	var e genai.APIError
	if errors.As(err, &e) {
		return e.Code
	}
	if e, ok := errors.AsType[*genai.APIError](err); ok {
		return e.Code
	}
	return 0
}
